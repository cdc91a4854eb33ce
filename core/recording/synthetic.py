"""Synthetic ticks (moving patterns for each camera and a smooth end-effector path).

Used by tests and by the recording benchmark when no simulator is at hand. Frame `i` of every
camera encodes `i` in a bright bar, so a decoded frame can be matched back to its step.
"""

from __future__ import annotations

import math

import numpy as np

from core.types import Command, Observation, Step, Twist


def synthetic_frame(i: int, size: int = 224, camera_offset: int = 0) -> np.ndarray:
    img = np.zeros((size, size, 3), np.uint8)
    yy, xx = np.mgrid[0:size, 0:size]
    img[..., 0] = ((xx + 2 * i + camera_offset) % 256).astype(np.uint8)
    img[..., 1] = ((yy + i) % 256).astype(np.uint8)
    img[..., 2] = 40
    bar = (i * 7) % (size - 16)
    img[bar : bar + 16, :, :] = 255
    return img


def frame_bar_row(img: np.ndarray) -> int:
    """Row where the bright bar of `synthetic_frame` starts (for checking decoded frames)."""
    means = img.mean(axis=(1, 2))
    if not (means > 200).any():
        return -1
    # the 16-row window with the most light: a codec that blurs the bar's edge by a row
    # (a first row decoded at 195) still gives the row the bar was drawn at
    window = np.convolve(means, np.ones(16), mode="valid")
    return int(np.argmax(window))


def synthetic_tick(
    i: int, fps: float = 30.0, cameras: tuple[str, ...] = ("front", "wrist"), size: int = 224
) -> tuple[Observation, Step]:
    t = i / fps
    pos = (0.4 + 0.1 * math.sin(t), 0.1 * math.cos(t), 0.2 + 0.05 * math.sin(2 * t))
    grip = 1.0 if (i // 45) % 2 == 0 else 0.0
    images = {cam: synthetic_frame(i, size, 37 * k) for k, cam in enumerate(cameras)}
    obs = Observation(t=t, ee_pos=pos, ee_yaw=0.1, gripper=grip, images=images, joints=(0.1 * i, -0.2))
    step = Step(
        t=t,
        ee_pos=pos,
        ee_yaw=0.1,
        gripper=grip,
        twist=Twist(dx=0.5, dz=-0.25, gripper=None if i % 10 else grip),
        command=Command(pos=pos, yaw=0.1, gripper=grip),
        joints=(0.1 * i, -0.2),
    )
    return obs, step
