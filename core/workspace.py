"""The workspace box and moving toward a goal inside it (pure Python).

`Limits` is a robot's data (its registry entry and driver carry one); `twist_toward` turns "go there" into
a normalised twist, for the scripted expert and for devices that mirror a pose (the leader arm). The
control loop's safety path (`core.control.safety`) clamps every twist and target with them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.types import Vec3

MAX_AXIS = 1.0


@dataclass(frozen=True)
class Limits:
    """Workspace box (metres, base frame) and speed limits at full deflection."""

    x: tuple[float, float] = (0.22, 0.75)
    y: tuple[float, float] = (-0.35, 0.35)
    z: tuple[float, float] = (0.012, 0.40)
    yaw: tuple[float, float] = (-math.pi / 2, math.pi / 2)
    max_speed: float = 0.20  # m/s
    max_yaw_rate: float = 1.2  # rad/s

    def __post_init__(self) -> None:
        for name in ("x", "y", "z", "yaw"):
            lo, hi = getattr(self, name)
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ValueError(f"limit {name} must be a finite (low, high) pair, got {(lo, hi)}")
        if not (0 < self.max_speed <= 1.0 and 0 < self.max_yaw_rate <= 6.0):
            raise ValueError("speed limits must be positive and at most 1 m/s / 6 rad/s")

    def clamp_pos(self, pos: Vec3) -> Vec3:
        return (clip(pos[0], *self.x), clip(pos[1], *self.y), clip(pos[2], *self.z))

    def contains(self, pos: Vec3) -> bool:
        return self.clamp_pos(pos) == tuple(pos)


def clip(v: float, lo: float, hi: float) -> float:
    return lo if v < lo else hi if v > hi else v


def twist_toward(pos: Vec3, goal: Vec3, limits: Limits, dt: float, gain_ticks: float = 2.0,
                 per_axis: bool = False) -> tuple[float, float, float]:
    """Normalised velocity that moves `pos` toward `goal`, slowing over the last `gain_ticks` ticks: in a
    straight line, or with `per_axis` each axis at up to full speed on its own."""
    err = [g - p for p, g in zip(pos, goal)]
    step = limits.max_speed * dt * gain_ticks
    axes = [e / step for e in err]
    if per_axis:
        return tuple(clip(a, -MAX_AXIS, MAX_AXIS) for a in axes)  # type: ignore[return-value]
    norm = math.sqrt(sum(a * a for a in axes))
    if norm > 1.0:
        axes = [a / norm for a in axes]
    return axes[0], axes[1], axes[2]


__all__ = ["MAX_AXIS", "Limits", "clip", "twist_toward"]
