"""Write a Gemma-3 text stack (adapter already merged) as a GGUF file for llama.cpp.

The file holds the decoder only, as llama.cpp's `gemma3` architecture (norm weights stored as 1 + w, as
llama.cpp's converter does): the prompt goes in as embeddings and the final-normed hidden states come
out (`core.model.engine_llama`), so the 262k-row embedding / head is not needed. Its vocabulary is a
handful of placeholder tokens ("none" tokenizer) with a matching tiny embedding / head: llama.cpp then
computes a head of 16 rows per token instead of 262,144, and the caller applies the rows the grammar
allows itself (the restricted-head trick).

Projections are stored Q8_0 (int8 in blocks of 32 with one fp16 scale each) or F32; norms stay F32.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from core.model.gemma_text import NORM_KEYS, PROJECTIONS, TextConfig, proj_key

PLACEHOLDER_VOCAB = 16
_GGUF_PROJ = {"q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v", "o_proj": "attn_output",
              "gate_proj": "ffn_gate", "up_proj": "ffn_up", "down_proj": "ffn_down"}
_GGUF_NORM = {"input": "attn_norm", "post_attention": "post_attention_norm", "pre_feedforward": "ffn_norm",
              "post_feedforward": "post_ffw_norm", "q": "attn_q_norm", "k": "attn_k_norm"}


class UnsupportedConfig(ValueError):
    """llama.cpp's gemma3 graph cannot compute this configuration as transformers does."""


def check_supported(config: TextConfig) -> None:
    """llama.cpp scales queries by head_dim ** -0.5 (it has no key for Gemma's query_pre_attn_scalar), which
    is right for Gemma-3 270M-12B (query_pre_attn_scalar == head_dim) but not for other settings."""
    if abs(config.query_scale - config.head_dim ** -0.5) > 1e-6 * config.query_scale:
        raise UnsupportedConfig(f"query_pre_attn_scalar {config.query_scale ** -2:g} differs from head_dim "
                                f"{config.head_dim}: llama.cpp's gemma3 graph would scale attention differently")
    if config.layers in (62,):
        raise UnsupportedConfig("llama.cpp treats a 62-layer Gemma-3 as the 27B, with its own attention scale")


def write_gguf(path: Path, config: TextConfig, state: Mapping[str, torch.Tensor], qtype: str = "Q8_0") -> Path:
    """Write `state` (text weights below the text model's prefix, fp32, adapter merged) to `path`
    atomically; `qtype` "Q8_0" or "F32" for the projections."""
    import gguf

    check_supported(config)
    q = getattr(gguf.GGMLQuantizationType, qtype)
    path = Path(path)
    tmp = path.with_suffix(".partial")
    w = gguf.GGUFWriter(str(tmp), arch="gemma3")
    w.add_name("vlm2vla text decoder")
    w.add_context_length(32768)
    w.add_embedding_length(config.hidden)
    w.add_block_count(config.layers)
    w.add_feed_forward_length(int(state[proj_key(0, "gate_proj")].shape[0]))
    w.add_head_count(config.heads)
    w.add_head_count_kv(config.kv_heads)
    w.add_key_length(config.head_dim)
    w.add_value_length(config.head_dim)
    w.add_layer_norm_rms_eps(config.eps)
    w.add_rope_freq_base(config.theta_global)
    w.add_rope_freq_base_swa(config.theta_local)
    if any(config.sliding):  # llama.cpp aborts on a window without sliding layers
        w.add_sliding_window(config.window)
        w.add_sliding_window_pattern([bool(s) for s in config.sliding])
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0 if qtype == "Q8_0" else gguf.LlamaFileType.ALL_F32)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    w.add_tokenizer_model("none")
    w.add_uint32(gguf.Keys.LLM.VOCAB_SIZE.format(arch="gemma3"), PLACEHOLDER_VOCAB)

    def put(name: str, t: torch.Tensor, quantize: bool) -> None:
        a = np.ascontiguousarray(t.detach().float().numpy())
        if quantize and q != gguf.GGMLQuantizationType.F32:
            w.add_tensor(name, gguf.quants.quantize(a, q), raw_dtype=q)
        else:
            w.add_tensor(name, a)

    # placeholder embedding / head: zero rows (nothing reads them; inputs come as embeddings)
    put("token_embd.weight", torch.zeros(PLACEHOLDER_VOCAB, config.hidden), False)
    put("output_norm.weight", 1.0 + state["norm.weight"].float(), False)
    for i in range(config.layers):
        for key, name in _GGUF_NORM.items():
            put(f"blk.{i}.{name}.weight", 1.0 + state[f"layers.{i}.{NORM_KEYS[key]}.weight"].float(), False)
        for proj in PROJECTIONS:
            put(f"blk.{i}.{_GGUF_PROJ[proj]}.weight", state[proj_key(i, proj)], True)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    tmp.replace(path)
    return path
