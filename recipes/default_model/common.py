"""Helpers both stages use: frames as the tower takes them, pooling as the projector does, atomic
checkpoints and the learning-rate schedule."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from core.model.assemble import VisionSpec


def to_pixels(images: list[np.ndarray]) -> torch.Tensor:
    """uint8 HxWx3 frames -> normalised (x/255 - 0.5) / 0.5 NCHW, as Gemma3ImageProcessor does."""
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1.0


def pool_grid(hidden: torch.Tensor, spec: VisionSpec) -> torch.Tensor:
    """(B, P*P, H) patch features -> (B, T, H) pooled tokens, exactly like Gemma3MultiModalProjector."""
    b, n, h = hidden.shape
    p = spec.image_size // spec.patch_size
    side = int(spec.mm_tokens_per_image**0.5)
    grid = hidden.transpose(1, 2).reshape(b, h, p, p)
    return F.avg_pool2d(grid, kernel_size=p // side).flatten(2).transpose(1, 2)


def save_atomic(obj: dict, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def lr_at(step: int, base: float, warmup: int, progress: float) -> float:
    """Linear warm-up, then cosine decay to 10% as `progress` (0..1, steps or time budget) runs out."""
    if step < warmup:
        return base * (step + 1) / warmup
    frac = min(1.0, max(0.0, progress))
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
