"""Precision modes for inference and how each is applied.

| mode             | where | what                                                                       |
|------------------|-------|----------------------------------------------------------------------------|
| `fp32`           | CPU   | as loaded                                                                  |
| `bf16`           | both  | all weights bf16                                                           |
| `int8-head`      | CPU   | bf16 body + weight-only int8 (per-row scale) LM head (the 262k-row matrix) |
| `fp32-int8-head` | CPU   | fp32 body + the same int8 LM head                                          |
| `int8-weight`    | CPU   | weight-only int8 on every language-model linear and the head, bf16 compute |
| `int8-dynamic`   | CPU   | torch.ao dynamic int8 (activations quantized per tensor) on every linear   |
| `nf4`            | CUDA  | bitsandbytes 4-bit NF4 at load time, bf16 compute                          |
| `ov-int8`        | CPU   | `int8-head`, and plans / actions / "done?" through an int8 engine: OpenVINO |
| `llama-q8`       | CPU   | the same with llama.cpp (Q8_0 GGUF) as the engine                          |
| `torch-int8`     | CPU   | the same with torch's int8 kernel as the engine                            |

The three engine modes (`core.model.engine`) keep the transformers model in `int8-head` for chat, ranking
and the locator, and decode the policy's answers with a separate int8 copy of the language model per
adapter (`bench/perf/quantized.py` compares them; `docs/inference.md`).

`choose_precision` picks `nf4` on CUDA and `CPU_DEFAULT` (`ov-int8`) on CPU, chosen by
`bench/perf/quantized.py`: the fastest mode whose actions equal fp32's on at least 95% of held-out cycles
(its companion `int8-head` was chosen by `bench/eval/model.py` on the scene-VQA set). On a CPU without native bf16
arithmetic the fp32 body is the faster one once the head is int8 and small: grammar-constrained decoding
(which computes only the allowed rows of the head) and prefill are then mostly the body's matrix products.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

log = logging.getLogger(__name__)

# the engine precisions: the transformers model's own mode (the companion) for everything but the policy
ENGINE_PRECISIONS = {"ov-int8": "int8-head", "llama-q8": "int8-head", "torch-int8": "int8-head"}
PRECISIONS = ("fp32", "bf16", "int8-head", "fp32-int8-head", "int8-weight", "int8-dynamic", "nf4", *ENGINE_PRECISIONS)
CPU_DEFAULT = "ov-int8"
CUDA_DEFAULT = "nf4"


class PrecisionError(ValueError):
    """An unknown precision, or one this device cannot run."""


def choose_precision(device: str, requested: str = "auto", bnb_available: bool | None = None) -> str:
    """The precision to use on `device` ("cpu" / "cuda[:n]") for a request ("auto" or a mode)."""
    on_cuda = device.startswith("cuda")
    if requested == "auto":
        if on_cuda:
            if bnb_available is None:
                bnb_available = _bnb_available()
            return CUDA_DEFAULT if bnb_available else "bf16"
        return CPU_DEFAULT
    if requested not in PRECISIONS:
        raise PrecisionError(f"unknown precision {requested!r}; expected one of {PRECISIONS} or 'auto'")
    if requested == "nf4" and not on_cuda:
        raise PrecisionError("nf4 (bitsandbytes 4-bit) is used on CUDA only; on CPU use int8-head or bf16")
    if ("int8" in requested or requested in ENGINE_PRECISIONS) and on_cuda:
        raise PrecisionError(f"{requested} is a CPU mode; on CUDA use nf4 or bf16")
    return requested


def _bnb_available() -> bool:
    try:
        import bitsandbytes  # noqa: F401
    except Exception:  # noqa: BLE001 - any import failure means "not usable"
        return False
    return True


def load_kwargs(precision: str, device: str) -> dict:
    """Keyword arguments for `from_pretrained` (dtype and, for nf4, the bitsandbytes config)."""
    precision = ENGINE_PRECISIONS.get(precision, precision)
    if precision == "nf4":
        from transformers import BitsAndBytesConfig

        return {
            "dtype": torch.bfloat16,
            "quantization_config": BitsAndBytesConfig(
                load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16,
                llm_int8_skip_modules=["vision_tower", "multi_modal_projector", "lm_head"],
            ),
            "device_map": {"": device},
        }
    if precision in ("fp32", "fp32-int8-head", "int8-dynamic"):
        return {"dtype": torch.float32}
    return {"dtype": torch.bfloat16}


def quantize_rows(w: torch.Tensor, chunk: int = 16384) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 with one fp32 scale per row, computed in chunks (the head has 262k rows)."""
    q = torch.empty(w.shape, dtype=torch.int8)
    scale = torch.empty(w.shape[0], dtype=torch.float32)
    for i in range(0, w.shape[0], chunk):
        part = w[i : i + chunk].float()
        s = part.abs().amax(dim=1).clamp(min=1e-8) / 127.0
        q[i : i + chunk] = torch.round(part / s[:, None]).clamp_(-127, 127).to(torch.int8)
        scale[i : i + chunk] = s
    return q, scale


class Int8Linear(nn.Module):
    """Weight-only int8 linear: int8 weights with one scale per output row, compute in the input dtype."""

    def __init__(self, linear: nn.Linear, weight_int8: torch.Tensor | None = None,
                 scale: torch.Tensor | None = None) -> None:
        super().__init__()
        if weight_int8 is None or scale is None:
            weight_int8, scale = quantize_rows(linear.weight.detach())
        self.register_buffer("weight_int8", weight_int8)
        self.register_buffer("scale", scale)
        self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach().clone(), requires_grad=False)
        self.in_features, self.out_features = linear.in_features, linear.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        x2 = x.reshape(-1, shape[-1])
        if x2.device.type == "cpu" and hasattr(torch, "_weight_int8pack_mm"):
            y = torch._weight_int8pack_mm(x2.contiguous(), self.weight_int8, self.scale.to(x2.dtype))
        else:
            y = x2 @ (self.weight_int8.to(x2.dtype) * self.scale.to(x2.dtype)[:, None]).T
        if self.bias is not None:
            y = y + self.bias.to(y.dtype)
        return y.reshape(*shape[:-1], self.out_features)


def _language_linears(model: nn.Module) -> list[tuple[nn.Module, str, nn.Linear]]:
    out = []
    for name, module in model.named_modules():
        if "vision" in name or "multi_modal_projector" in name:
            continue
        for child_name, child in module.named_children():
            if isinstance(child, nn.Linear):
                out.append((module, child_name, child))
    return out


def quantize_head(model: nn.Module, cache_file: Path | None = None) -> None:
    """Replace the (tied) LM head by a weight-only int8 copy; the embedding table stays as it is.
    With `cache_file`, the int8 head is read from / written to that safetensors file."""
    head = model.get_output_embeddings()
    if head is None or not isinstance(head, nn.Linear):
        raise PrecisionError("model has no linear output head to quantize")
    q = scale = None
    if cache_file is not None and cache_file.exists():
        from safetensors.torch import load_file

        saved = load_file(str(cache_file))
        if saved["weight_int8"].shape == head.weight.shape:
            # copies: tensors read from a safetensors file can sit at unaligned addresses, and the CPU
            # int8 kernel crashes (SIGSEGV) on those as soon as it multiplies 4 or more rows
            q, scale = saved["weight_int8"].clone(), saved["scale"].clone()
    if q is None:
        q, scale = quantize_rows(head.weight.detach())
        if cache_file is not None:
            from safetensors.torch import save_file

            tmp = cache_file.with_suffix(".tmp")
            save_file({"weight_int8": q, "scale": scale}, str(tmp))
            tmp.replace(cache_file)
    model.lm_head = Int8Linear(head, q, scale)
    model.config.tie_word_embeddings = False
    if hasattr(model.config, "get_text_config"):
        model.config.get_text_config().tie_word_embeddings = False


def apply_precision(model: nn.Module, precision: str, cache_dir: Path | None = None) -> nn.Module:
    """Convert a loaded (fp32 or bf16) model in place to `precision`; nf4 is applied at load time.
    `cache_dir` (optional, writable) keeps the int8 head between runs. An engine precision applies its
    companion mode here; the engine itself is attached by the loader (`core.model.engine`)."""
    precision = ENGINE_PRECISIONS.get(precision, precision)
    if precision in ("nf4", "fp32"):
        return model
    if precision == "int8-dynamic":
        from torch.ao.quantization import quantize_dynamic

        model.float()
        return quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    if precision == "fp32-int8-head":
        model.float()
        quantize_head(model, cache_dir / "lm_head_int8_fp32.safetensors" if cache_dir is not None else None)
        return model
    model.to(torch.bfloat16)
    if precision == "bf16":
        return model
    head_cache = cache_dir / "lm_head_int8.safetensors" if cache_dir is not None else None
    if precision == "int8-head":
        quantize_head(model, head_cache)
        return model
    if precision == "int8-weight":
        quantize_head(model, head_cache)
        for parent, name, lin in _language_linears(model):
            if name != "lm_head":
                setattr(parent, name, Int8Linear(lin))
        return model
    raise PrecisionError(f"unknown precision {precision!r}")


def describe(precision: str, device: str) -> str:
    """A short human-readable label for the UI, e.g. "CPU · bf16 + int8 head"."""
    label = {
        "fp32": "fp32",
        "bf16": "bf16",
        "int8-head": "bf16 + int8 LM head",
        "fp32-int8-head": "fp32 + int8 LM head",
        "int8-weight": "int8 weights (bf16 compute)",
        "int8-dynamic": "dynamic int8 (torch.ao)",
        "nf4": "4-bit NF4 (bitsandbytes)",
        "ov-int8": "int8 OpenVINO engine for plans and actions; bf16 + int8 LM head otherwise",
        "llama-q8": "int8 llama.cpp engine for plans and actions; bf16 + int8 LM head otherwise",
        "torch-int8": "int8 torch engine for plans and actions; bf16 + int8 LM head otherwise",
    }.get(precision, precision)
    return f"{'GPU' if device.startswith('cuda') else 'CPU'} · {label}"
