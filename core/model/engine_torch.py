"""The torch backend of `core.model.engine`: a `core.model.gemma_text` stack with int8 (or fp32) weights."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from core.model import gemma_text as gt
from core.model.int8_linear import Int8Dense


class TorchBackend:
    def __init__(self, stack: gt.Stack) -> None:
        self.stack = stack
        self.rope = gt.Rope(stack.config)
        self.cache = gt.KVCache(stack.config)

    @property
    def length(self) -> int:
        return self.cache.length

    def reset(self) -> None:
        self.cache.length = 0

    @torch.inference_mode()
    def run(self, x: torch.Tensor, bidirectional: tuple[int, int] | None = None) -> torch.Tensor:
        return gt.forward(self.stack, x.float(), self.cache, self.rope, bidirectional)

    def crop(self, n: int) -> None:
        self.cache.crop(-n)


def int8_backend(config: gt.TextConfig, state: Mapping[str, torch.Tensor], key: str = "",
                 wide: torch.dtype | None = None) -> TorchBackend:
    """Weight-only int8 (per-row scales) on every projection; `wide`: also a dequantized copy in that
    dtype for prefill-sized passes."""
    return TorchBackend(gt.stack_from_state(config, state, lambda k, w: Int8Dense(w, wide)))


def fp32_backend(config: gt.TextConfig, state: Mapping[str, torch.Tensor], key: str = "") -> TorchBackend:
    return TorchBackend(gt.stack_from_state(config, state))
