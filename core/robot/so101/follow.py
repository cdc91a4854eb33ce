"""End-effector commands -> joint goals, the same for the simulated and the real SO-101.

Each control tick: inverse kinematics (`core.robot.so101.kinematics`) seeded with the last tick's answer
(not the speed-limited goal, which can lag far behind it), for at most `IK_ITERATIONS` (a reachable target
converges in 2-5; an unreachable one - the workspace box's far corners - carries the rest over to the next
tick instead of stalling the loop: 20 iterations there took 8-20 ms of a 33 ms tick beside the renderer);
then every joint moves at most `MAX_JOINT_SPEED` toward the answer (near the edge of reach a small move can
ask for a big turn). While a leader arm drives (`leader.posture()` is not None), its joint angles are the
IK's secondary target, so the follower takes the leader's posture - the leader's own wrist pitch and roll,
not jaws-down.
"""

from __future__ import annotations

import math

import numpy as np

from core.robot.base import RobotError
from core.robot.so101.joints import opening_to_q
from core.robot.so101.kinematics import IKResult, Kinematics
from core.types import Command

IK_ITERATIONS = 8  # per tick; each solve starts from the last answer, so the solve carries on over ticks
MAX_JOINT_SPEED = 4.0  # rad/s: what an STS3215 does at 12 V (~0.22 s per 60 degrees)


class JointGoals:
    def __init__(self, kin: Kinematics, hz: float, start: np.ndarray) -> None:
        self.kin, self.hz = kin, float(hz)
        self.goal = np.asarray(start, dtype=float)[:5].copy()
        self.solution = self.goal.copy()  # the last IK answer (unclipped): the next solve starts there
        self.leader = None  # core.teleop.leader.LeaderArm (or anything with posture() -> 5 rad | None)
        self.last_ik: IKResult | None = None
        self.last: tuple[float, ...] | None = None  # the six goals of the last `step` (None after `hold`)

    def step(self, cmd: Command) -> np.ndarray:
        """The six joint goals (5 arm + gripper, rad) for this tick's command."""
        vals = (*cmd.pos, cmd.yaw, cmd.gripper)
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in vals):
            raise RobotError(f"non-finite command {cmd}")
        posture = self.leader.posture() if self.leader is not None else None
        # seeded with the last answer, not the speed-limited goal: the target moves little between ticks,
        # so the solve converges in a few iterations even while the joints lag far behind it
        ik = self.kin.ik(cmd.pos, float(cmd.yaw), self.solution, iterations=IK_ITERATIONS, posture=posture)
        self.last_ik = ik
        self.solution = ik.q
        step = MAX_JOINT_SPEED / self.hz
        self.goal = self.goal + np.clip(ik.q - self.goal, -step, step)
        goals = np.append(self.goal, opening_to_q(cmd.gripper))
        self.last = tuple(float(v) for v in goals)
        return goals

    def hold(self, q: np.ndarray) -> None:
        """The arm stays where it is: the next goals start from `q`."""
        self.goal = np.asarray(q, dtype=float)[:5].copy()
        self.solution = self.goal.copy()
        self.last = None


__all__ = ["IK_ITERATIONS", "MAX_JOINT_SPEED", "JointGoals"]


class FollowsJointGoals:
    """What both SO-101s say about their `goals` (a `JointGoals`): the leader arm that drives them and the
    joint goals the last `apply` sent."""

    goals: JointGoals

    @property
    def leader(self):  # noqa: ANN201 - a leader arm whose posture the arm takes while it drives
        return self.goals.leader

    @leader.setter
    def leader(self, value) -> None:  # noqa: ANN001
        self.goals.leader = value

    @property
    def joint_goal(self) -> tuple[float, ...] | None:
        """The six joint goals (rad) the last `apply` sent, as the recording's commanded joints."""
        return self.goals.last

