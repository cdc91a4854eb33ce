"""The `Robot` contract every robot (simulated or real) implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from core.types import Command, Observation


class RobotError(RuntimeError):
    """A robot could not do what was asked (not connected, closed, hardware fault)."""


@runtime_checkable
class Robot(Protocol):
    """A robot arm with a parallel gripper, driven by absolute end-effector targets.

    Contract:
    - `reset(seed)` puts the robot (and, for a simulator, the scene) in a start state and returns the
      first observation. The same seed gives the same scene.
    - `observe()` returns the latest observation, including camera images. It is called from the
      control thread only (camera and GL contexts are thread-bound).
    - `apply(cmd)` moves toward the command's target for one control period. Targets have already
      been clamped by the control loop; a robot may clamp further but must never exceed them.
    - `stop()` holds the current pose at once (used by e-stop and device loss).
    - `close()` releases resources; the robot is unusable afterwards.
    """

    cameras: tuple[str, ...]
    control_hz: float

    def reset(self, seed: int | None = None) -> Observation: ...

    def observe(self) -> Observation: ...

    def apply(self, cmd: Command) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...
