"""Camera frames in the shape the vision tower takes them (square RGB uint8)."""

from __future__ import annotations

import numpy as np


def resize_square(image: np.ndarray, size: int) -> np.ndarray:
    """Square `size` x `size` RGB uint8 (bilinear), unchanged if it already is; ValueError for a frame that
    is not HxWx3."""
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] < 3:
        raise ValueError(f"expected an HxWx3 frame, got shape {arr.shape}")
    arr = arr[..., :3]
    if arr.shape[0] == size and arr.shape[1] == size and arr.dtype == np.uint8:
        return arr
    from PIL import Image

    return np.asarray(Image.fromarray(arr.astype(np.uint8)).resize((size, size), Image.BILINEAR))
