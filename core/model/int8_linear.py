"""Weight-only int8 linears for `core.model.gemma_text` stacks (no bias, one scale per output row).

`Int8Dense` keeps the weights as int8 (a quarter of fp32's bytes to read per token) and multiplies with
torch's fused CPU kernel `_weight_int8pack_mm` (dequantizes while it multiplies; bf16 activations,
which is the kernel's fast path: with fp32 activations it is ~6x slower). `Int8Dense(..., wide=...)`
also keeps a dequantized copy for passes over many tokens (a prefill), where the kernel is slower than
an ordinary matrix product.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from core.model.quantize import quantize_rows


def has_int8_kernel() -> bool:
    return hasattr(torch, "_weight_int8pack_mm")


class Int8Dense:
    """y = x @ (q * scale[:, None]).T with q int8; x is rounded to bf16 for the kernel, y comes back fp32.
    `wide`: the dtype of a dequantized copy used for passes of more than `WIDE_ROWS` tokens (None: none)."""

    WIDE_ROWS = 24

    def __init__(self, weight: torch.Tensor, wide: torch.dtype | None = None) -> None:
        q, scale = quantize_rows(weight.detach())
        self.q = q.contiguous()
        self.scale = scale.to(torch.bfloat16)
        self.out_features, self.in_features = q.shape
        self.wide = None if wide is None else (q.to(wide) * scale.to(wide)[:, None]).contiguous()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.wide is not None and x.shape[0] > self.WIDE_ROWS:
            return F.linear(x.to(self.wide), self.wide).float()
        if has_int8_kernel():
            return torch._weight_int8pack_mm(x.to(torch.bfloat16).contiguous(), self.q, self.scale).float()
        return F.linear(x, self.q.float() * self.scale.float()[:, None])
