"""Safety limits and the twist -> command integration every driver goes through (pure Python).

Teleop devices, the scripted expert and the autonomous chunk follower all produce normalised `Twist`s;
`step_target` turns one into the next absolute `Command`, and no path to the robot bypasses it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.types import Command, Twist, Vec3

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
        return (_clip(pos[0], *self.x), _clip(pos[1], *self.y), _clip(pos[2], *self.z))

    def contains(self, pos: Vec3) -> bool:
        return self.clamp_pos(pos) == tuple(pos)


def _clip(v: float, lo: float, hi: float) -> float:
    return lo if v < lo else hi if v > hi else v


def sanitize_axis(v: float) -> float:
    """A finite value clipped to [-1, 1]; NaN/inf become 0 (never applied)."""
    if not isinstance(v, (int, float)) or not math.isfinite(v):
        return 0.0
    return _clip(float(v), -MAX_AXIS, MAX_AXIS)


def sanitize_twist(tw: Twist) -> Twist:
    g = tw.gripper
    if g is not None and (not isinstance(g, (int, float)) or not math.isfinite(g)):
        g = None
    return Twist(
        sanitize_axis(tw.dx),
        sanitize_axis(tw.dy),
        sanitize_axis(tw.dz),
        sanitize_axis(tw.droll),
        sanitize_axis(tw.dpitch),
        sanitize_axis(tw.dyaw),
        None if g is None else _clip(float(g), 0.0, 1.0),
    )


def step_target(current: Command, twist: Twist, limits: Limits, dt: float) -> Command:
    """The next target after applying `twist` for `dt` seconds, inside the workspace and speed limits.

    Translation speed is limited on the vector norm (a diagonal is not faster than an axis).
    Roll and pitch are ignored: the gripper stays vertical.
    """
    tw = sanitize_twist(twist)
    dt = _clip(dt, 0.0, 0.2)  # a stalled tick must not turn into a jump
    v = (tw.dx, tw.dy, tw.dz)
    norm = math.sqrt(sum(c * c for c in v))
    scale = limits.max_speed * dt / max(1.0, norm)
    pos = limits.clamp_pos(tuple(p + c * scale for p, c in zip(current.pos, v)))
    yaw = _clip(current.yaw + tw.dyaw * limits.max_yaw_rate * dt, *limits.yaw)
    grip = current.gripper if tw.gripper is None else tw.gripper
    return Command(pos=pos, yaw=yaw, gripper=grip)


def safe_command(cmd: Command, limits: Limits) -> Command:
    """Clamp an absolute command into the workspace (used for resets and direct targets)."""
    vals = (*cmd.pos, cmd.yaw, cmd.gripper)
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in vals):
        raise ValueError(f"non-finite command {cmd}")
    return Command(limits.clamp_pos(cmd.pos), _clip(cmd.yaw, *limits.yaw), _clip(cmd.gripper, 0.0, 1.0))


def twist_toward(pos: Vec3, goal: Vec3, limits: Limits, dt: float, gain_ticks: float = 2.0,
                 per_axis: bool = False) -> tuple[float, float, float]:
    """Normalised velocity that moves `pos` toward `goal`, slowing over the last `gain_ticks` ticks: in a
    straight line, or with `per_axis` each axis at up to full speed on its own."""
    err = [g - p for p, g in zip(pos, goal)]
    step = limits.max_speed * dt * gain_ticks
    axes = [e / step for e in err]
    if per_axis:
        return tuple(_clip(a, -MAX_AXIS, MAX_AXIS) for a in axes)  # type: ignore[return-value]
    norm = math.sqrt(sum(a * a for a in axes))
    if norm > 1.0:
        axes = [a / norm for a in axes]
    return axes[0], axes[1], axes[2]
