"""Replay as language: execute action entries on a robot (the simulator by default) from a seed.

The entries are followed open-loop: each one moves the end-effector target by its delta (from the
previous target, so errors do not accumulate), with its gripper state, through the same twist ->
`step_target` path every driver uses. A gripper change is held for a few ticks so the fingers finish.
This module imports the simulator and the control code lazily, so `core.language` stays light.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.language.spec import Chunk

if TYPE_CHECKING:
    from core.robot.base import Robot
    from core.robot.tasks import Task
    from core.types import Step

log = logging.getLogger(__name__)

SETTLE_TICKS = 10  # at the end


@dataclass(frozen=True)
class ReplayResult:
    success: bool  # the task's success predicate after the replay
    ee_error_cm: float  # final end-effector distance to the demonstration's final position
    max_ee_error_cm: float  # worst distance at entry ends to the demonstration at the same step
    ticks: int
    timeouts: int  # entries whose target was not reached in time


def replay(
    chunks: Sequence[Chunk],
    task: Task,
    seed: int,
    *,
    robot: Robot | None = None,
    reference: Sequence[Step] | None = None,
) -> ReplayResult:
    """Reset `robot` (a fresh render-less `SimRobot` if None) with `seed`, run `chunks`, check `task`.

    `reference` (the demonstration's steps) enables the end-effector error figures; entries carry the
    step range they came from, so errors are measured against the demo at the same moment.
    """
    from core.control.follower import ChunkFollower
    from core.control.safety import Limits, step_target
    from core.robot.tasks import is_success
    from core.types import Command, Twist

    own = robot is None
    if robot is None:
        from core.robot.sim import SimConfig, SimRobot

        robot = SimRobot(SimConfig(render=False))
    try:
        limits = getattr(robot, "limits", None) or Limits()  # the robot's own workspace when it has one
        dt = 1.0 / robot.control_hz
        obs = robot.reset(seed)
        start = obs.scene
        if start is None:
            raise ValueError("replay needs a robot that reports scene state (the simulator)")
        cmd = Command(obs.ee_pos, obs.ee_yaw, obs.gripper)
        follower = ChunkFollower(chunks, obs.ee_pos, obs.ee_yaw, obs.gripper, limits, dt)
        ticks = done = 0
        worst = 0.0

        def tick(tw: Twist) -> None:
            nonlocal cmd, obs, ticks
            cmd = step_target(cmd, tw, limits, dt)
            robot.apply(cmd)
            obs = robot.observe()
            ticks += 1

        while True:
            tw = follower.next_twist(obs.ee_pos, obs.ee_yaw)
            for ch in chunks[done : follower.index]:  # entries that finished before this tick
                if reference is not None and ch.steps is not None and ch.steps[1] < len(reference):
                    worst = max(worst, _dist_cm(obs.ee_pos, reference[ch.steps[1]].ee_pos))
            done = follower.index
            if tw is None:
                break
            tick(tw)
        grip = float(chunks[-1].gripper) if chunks else cmd.gripper
        timeouts = follower.timeouts
        for _ in range(SETTLE_TICKS):
            tick(Twist(gripper=grip))
        final = obs.scene
        assert final is not None
        err = _dist_cm(obs.ee_pos, reference[-1].ee_pos) if reference else float("nan")
        return ReplayResult(is_success(task, start, final), err, worst if reference else float("nan"), ticks, timeouts)
    finally:
        if own:
            robot.close()


def replay_episode(
    steps: Sequence[Step],
    task: Task,
    seed: int,
    *,
    robot: Robot | None = None,
    yaw: bool = False,
) -> ReplayResult:
    """Verbalize a recorded episode, write each subtask's actions as text, parse them back, replay.

    The parsed entries get their step ranges back from the verbalization (same order and count), so
    the error against the demonstration can be measured.
    """
    from core.language.parse import parse
    from core.language.verbalize import verbalize

    v = verbalize(steps, task.instruction, yaw=yaw)
    chunks: list[Chunk] = []
    for sub in v.subtasks:
        parsed = parse(sub.actions(), yaw=yaw)
        chunks += [Chunk(p.dx, p.dy, p.dz, p.gripper, p.yaw, o.steps) for p, o in zip(parsed, sub.chunks)]
    return replay(chunks, task, seed, robot=robot, reference=steps)


def _dist_cm(a: Sequence[float], b: Sequence[float]) -> float:
    return 100.0 * math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))
