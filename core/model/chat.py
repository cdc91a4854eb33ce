"""Answer questions about a camera frame: `answer(...)` returns text, `stream_answer(...)` yields it.

Chat history is a list of {"role": "user" | "assistant", "content": str} (the Gradio Chatbot format);
the frame is attached to the current question. Generation is greedy.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from core.model.loader import LoadedModel
from core.model.worker import run, submit

log = logging.getLogger(__name__)

Message = dict[str, Any]


class ChatError(RuntimeError):
    """A question could not be answered (bad history, generation failure)."""


def _to_pil(image: np.ndarray | Image.Image) -> Image.Image:
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ChatError(f"expected an HxWx3 image, got shape {arr.shape}")
    return Image.fromarray(arr[..., :3].astype(np.uint8))


def build_messages(question: str, history: Sequence[Message] | None = None) -> list[Message]:
    """History turns as text, then the question with the image placeholder."""
    messages: list[Message] = []
    for turn in history or ():
        role, content = turn.get("role"), turn.get("content")
        if role not in ("user", "assistant") or not isinstance(content, str):
            continue  # skip system notes, files and other non-text turns
        messages.append({"role": role, "content": [{"type": "text", "text": content}]})
    messages.append({"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]})
    return messages


def prepare_inputs(loaded: LoadedModel, image: np.ndarray | Image.Image, question: str,
                   history: Sequence[Message] | None = None) -> dict[str, torch.Tensor]:
    processor = loaded.processor
    pil = _to_pil(image)
    if getattr(processor, "chat_template", None):
        text = processor.apply_chat_template(build_messages(question, history), add_generation_prompt=True,
                                             tokenize=False)
        inputs = processor(text=text, images=[pil], add_special_tokens=False, return_tensors="pt")
    else:  # e.g. PaliGemma: image placeholder + plain prompt; the processor expands the placeholder
        text = f"{getattr(processor, 'image_token', '') or ''}{question}"
        inputs = processor(text=text, images=[pil], return_tensors="pt")
    dtype = next(p.dtype for p in loaded.model.parameters() if p.is_floating_point())
    out = {}
    for k, v in inputs.items():
        if isinstance(v, torch.Tensor):
            v = v.to(loaded.device)
            if v.is_floating_point():
                v = v.to(dtype)
        out[k] = v
    return out


def _gen_kwargs(loaded: LoadedModel, max_new_tokens: int) -> dict[str, Any]:
    tok = getattr(loaded.processor, "tokenizer", loaded.processor)
    eos = [i for i in (tok.eos_token_id, tok.convert_tokens_to_ids("<end_of_turn>")) if isinstance(i, int)]
    eos = [i for i in eos if i != tok.unk_token_id]
    return {"max_new_tokens": max_new_tokens, "do_sample": False, "eos_token_id": eos or None,
            "pad_token_id": tok.pad_token_id if tok.pad_token_id is not None else (eos[0] if eos else 0)}


def answer(loaded: LoadedModel, image: np.ndarray | Image.Image, question: str,
           history: Sequence[Message] | None = None, max_new_tokens: int = 48) -> str:
    """The model's greedy answer to `question` about `image`."""
    def work() -> torch.Tensor:
        inputs = prepare_inputs(loaded, image, question, history)
        with torch.inference_mode():
            out = loaded.model.generate(**inputs, **_gen_kwargs(loaded, max_new_tokens))
        return out[0, inputs["input_ids"].shape[1]:]

    new = run(work)
    tok = getattr(loaded.processor, "tokenizer", loaded.processor)
    return tok.decode(new, skip_special_tokens=True).strip()


def stream_answer(loaded: LoadedModel, image: np.ndarray | Image.Image, question: str,
                  history: Sequence[Message] | None = None, max_new_tokens: int = 128) -> Iterator[str]:
    """Yield the answer piece by piece as it is generated (generation runs on the model thread)."""
    from transformers import TextIteratorStreamer

    inputs = run(prepare_inputs, loaded, image, question, history)
    tok = getattr(loaded.processor, "tokenizer", loaded.processor)
    streamer = TextIteratorStreamer(tok, skip_prompt=True, skip_special_tokens=True, timeout=120)
    errors: list[BaseException] = []

    def generate() -> None:
        try:
            with torch.inference_mode():
                loaded.model.generate(**inputs, **_gen_kwargs(loaded, max_new_tokens), streamer=streamer)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer thread
            errors.append(exc)
            streamer.end()

    done = submit(generate)
    for piece in streamer:
        if piece:
            yield piece
    done.result()
    if errors:
        raise ChatError(f"generation failed: {errors[0]}") from errors[0]
