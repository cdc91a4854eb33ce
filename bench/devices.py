"""Synthetic input devices for the performance benchmarks."""

from __future__ import annotations

import math
import time

from core.teleop.base import SourceStatus
from core.types import Twist


class SineInput:
    """A device that sweeps the gripper around the workspace and toggles the gripper every 2 s."""

    name = "synthetic"

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.last_toggle = self.t0
        self.grip = 1.0

    def read(self) -> Twist:
        t = time.monotonic() - self.t0
        g = None
        if time.monotonic() - self.last_toggle > 2.0:
            self.last_toggle, self.grip = time.monotonic(), 1.0 - self.grip
            g = self.grip
        return Twist(dx=math.sin(t), dy=math.cos(0.7 * t), dz=0.5 * math.sin(1.3 * t), dyaw=0.3 * math.sin(t), gripper=g)

    def status(self) -> SourceStatus:
        return SourceStatus(source=self.name, state="connected")

    def sync_gripper(self, target: float) -> None:
        self.grip = target

    def close(self) -> None:
        pass
