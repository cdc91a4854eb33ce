"""Safety limits and the twist -> command integration every driver goes through (pure Python).

Teleop devices, the scripted expert and the autonomous chunk follower all produce normalised `Twist`s;
`step_target` turns one into the next absolute `Command`, and no path to the robot bypasses it.
"""

from __future__ import annotations

import math

from core.types import Command, Twist
from core.workspace import MAX_AXIS, Limits, twist_toward  # the box and goal-seeking, with the robots
from core.workspace import clip as _clip

__all__ = ["MAX_AXIS", "Limits", "safe_command", "sanitize_axis", "sanitize_twist", "step_target", "twist_toward"]


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
