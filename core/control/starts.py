"""Start states off the expert's path, set up in the simulator directly: where a visitor leaves the robot.

- "home": as a reset leaves it (gripper open at the home pose);
- "after_teleop": a seeded random pose over the table, clear of the blocks and the bowl's wall, with the
  gripper left open or closed (a keyboard drive);
- "after_command": what an earlier command leaves: a block held up (the task's own block or another one),
  or the task done once already (for a push: the block pushed once, and the command asks for another push).

The arm is driven there through the same path as every driver (twist -> `step_target` -> `Robot.apply`),
following the scripted expert's waypoints for an earlier command (`core.robot.expert.plan`); nothing is
teleported. `reach(robot, obs, start, task, rng)` returns the observation there and what was set up, or
None when the state was not reached (a block slipped): callers skip that start. The in-app benchmark sets
up the same kinds of states by keyboard (`bench/appbench/starts.py`); training and quick evaluations use
this module, on other scene seeds.
"""

from __future__ import annotations

import math
import random
from typing import Any

from core.control.expert import CRUISE_Z, REACHED, plan
from core.control.safety import Limits, step_target, twist_toward
from core.robot.tasks import BLOCKS, Task, is_feasible, is_lifted, is_success
from core.types import Command, Observation, Twist, Vec3

STARTS = ("home", "after_teleop", "after_command")
SETTLE = 12  # ticks to let the fingers and the blocks settle


def teleop_pose(rng: random.Random, scene: Any) -> tuple[Vec3, bool]:
    """A random pose over the table that keeps the fingers out of the blocks and the bowl's wall, and
    whether the gripper is left closed."""
    for _ in range(500):
        x, y, z = rng.uniform(0.28, 0.62), rng.uniform(-0.22, 0.22), rng.uniform(0.025, 0.22)
        clear = True
        for o in scene.objects:
            d = math.hypot(x - o.pos[0], y - o.pos[1])
            if o.kind == "block" and z < 0.09 and d < 0.065:
                clear = False
            if o.kind == "bowl" and z < 0.075 and d < 0.115:
                clear = False
        if clear:
            return (x, y, z), rng.random() < 0.5
    raise RuntimeError("no clear random pose found")


class Driver:
    """Moves a robot (no control loop) tick by tick toward goals, with the gripper as asked."""

    def __init__(self, robot: Any, obs: Observation, limits: Limits | None = None) -> None:
        self.robot, self.obs = robot, obs
        self.limits = limits or Limits()
        self.dt = 1.0 / robot.control_hz
        self.cmd = Command(obs.ee_pos, obs.ee_yaw, obs.gripper)

    def tick(self, twist: Twist) -> Observation:
        self.cmd = step_target(self.cmd, twist, self.limits, self.dt)
        self.robot.apply(self.cmd)
        self.obs = self.robot.observe()
        return self.obs

    def move(self, goal: Vec3, gripper: float, max_ticks: int = 400) -> bool:
        for _ in range(max_ticks):
            if max(abs(a - b) for a, b in zip(self.obs.ee_pos, goal)) <= REACHED:
                return True
            dx, dy, dz = twist_toward(self.obs.ee_pos, goal, self.limits, self.dt)
            self.tick(Twist(dx=dx, dy=dy, dz=dz, gripper=gripper))
        return False

    def hold(self, gripper: float, ticks: int = SETTLE) -> Observation:
        for _ in range(ticks):
            self.tick(Twist(gripper=gripper))
        return self.obs


def other_block(task: Task, rng: random.Random) -> str:
    return rng.choice([b for b in BLOCKS if b not in (task.obj, task.target)])


def reach(robot: Any, obs: Observation, start: str, task: Task, rng: random.Random) -> tuple[Observation, dict] | None:
    """Drive `robot` (just reset, observed as `obs`) into `start` for `task`; (observation, what was set up),
    or None when it was not reached (or the task is no longer feasible from there)."""
    if start not in STARTS:
        raise ValueError(f"unknown start state {start!r}; expected one of {STARTS}")
    d = Driver(robot, obs)
    scene = obs.scene
    if scene is None:
        raise ValueError("start states are set up from simulator state")
    if start == "home":
        return obs, {"start": start}
    if start == "after_teleop":
        pose, closed = teleop_pose(rng, scene)
        ok = d.move(pose, 1.0)
        d.hold(0.0 if closed else 1.0, 2 * SETTLE)
        info = {"start": start, "pose_cm": [round(100 * v, 1) for v in pose], "gripper": "closed" if closed else "open"}
        return (d.obs, info) if ok else None
    done = rng.random() < 0.5
    block = task.obj if done or rng.random() < 0.5 else other_block(task, rng)
    earlier = task if done else Task("pick", block)
    for wp in plan(earlier, scene, CRUISE_Z):
        if not d.move(wp.pos, wp.gripper):
            return None
        d.hold(wp.gripper, max(wp.wait, 1))
    now = d.hold(d.cmd.gripper, SETTLE).scene
    assert now is not None
    if done:
        ok = is_success(earlier, scene, now)
        info = {"start": start, "variant": f"done: {earlier.instruction}"}
    else:
        ok = is_lifted(now, block)  # the block's own size: the SO-101's 3 cm blocks too
        info = {"start": start, "variant": f"holding the {block}"}
    if not ok or not is_feasible(task, now):
        return None
    return d.obs, info


__all__ = ["STARTS", "Driver", "other_block", "reach", "teleop_pose"]
