"""Executes parsed action entries tick by tick as twists (used by the autonomous driver).

Each entry moves the end-effector goal by its delta from the previous goal (not from where the arm
happens to be, so small tracking errors do not accumulate), with its gripper state; a gripper change is
held for a few ticks so the fingers finish before the next motion. Goals are clamped to the workspace.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from core.control.safety import Limits, twist_toward
from core.language.spec import OPEN_ABOVE, Chunk
from core.types import Twist, Vec3

REACHED_M = 0.003


def commanded_gripper(opening: float) -> int:
    """The gripper command (1 open, 0 closed) behind a measured opening: holding a block is closed."""
    return 1 if opening > OPEN_ABOVE else 0
SETTLE_TICKS = 10
MAX_TICKS_PER_ENTRY = 90


@dataclass
class _Entry:
    goal: Vec3
    yaw: float
    gripper: float
    settle: int


class ChunkFollower:
    """A twist source over a list of entries; `next_twist` returns None once all are done."""

    def __init__(self, chunks: Sequence[Chunk], start_pos: Vec3, start_yaw: float, start_gripper: float,
                 limits: Limits, dt: float) -> None:
        self.limits, self.dt = limits, dt
        self.entries: list[_Entry] = []
        goal, yaw, grip = start_pos, start_yaw, commanded_gripper(start_gripper)
        self.cut_cm = 0.0  # how much of the asked motion the workspace limit removed (sum over entries)
        for ch in chunks:
            asked = tuple(g + d / 100.0 for g, d in zip(goal, ch.translation))
            goal = limits.clamp_pos(asked)
            self.cut_cm += 100.0 * math.dist(asked, goal)
            if ch.yaw is not None:
                yaw = min(max(yaw + math.radians(ch.yaw), limits.yaw[0]), limits.yaw[1])
            settle = SETTLE_TICKS if float(ch.gripper) != grip else 0
            grip = float(ch.gripper)
            self.entries.append(_Entry(goal, yaw, grip, settle))
        self.index = 0
        self._ticks = 0
        self._settling = 0
        self.timeouts = 0
        self._yaw = start_yaw

    @property
    def done(self) -> bool:
        return self.index >= len(self.entries)

    def next_twist(self, ee_pos: Vec3, ee_yaw: float) -> Twist | None:
        while not self.done:
            e = self.entries[self.index]
            reached = max(abs(a - b) for a, b in zip(ee_pos, e.goal)) <= REACHED_M and abs(ee_yaw - e.yaw) < 0.02
            if self._settling > 0:
                self._settling -= 1
                if self._settling == 0:
                    self._advance()
                    continue
            elif reached or self._ticks >= MAX_TICKS_PER_ENTRY:
                if not reached:
                    self.timeouts += 1
                if e.settle:
                    self._settling = e.settle
                else:
                    self._advance()
                    continue
            self._ticks += 1
            dx, dy, dz = twist_toward(ee_pos, e.goal, self.limits, self.dt)
            dyaw = max(-1.0, min(1.0, (e.yaw - ee_yaw) / (self.limits.max_yaw_rate * self.dt * 2)))
            return Twist(dx=dx, dy=dy, dz=dz, dyaw=dyaw, gripper=e.gripper)
        return None

    def _advance(self) -> None:
        self.index += 1
        self._ticks = 0
