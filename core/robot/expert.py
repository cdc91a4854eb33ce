"""Scripted expert: solves the tabletop tasks from simulator state, emitting `Twist`s like a teleop device.

It drives through the same path as a person (twist -> `step_target` -> `Robot.apply`), so its episodes
are valid demonstrations for recording, verbalization and training.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from core.control.safety import Limits, step_target, twist_toward
from core.robot.base import Robot
from core.robot.tasks import BLOCK_HALF, Task, free_push_travel, is_success, push_direction
from core.types import Command, Observation, SceneState, Step, Twist

log = logging.getLogger(__name__)

CRUISE_Z = 0.15
GRASP_Z = 0.022
REACHED = 0.004  # metres
SETTLE_TICKS = 10
FINGER_HALF_WIDTH = 0.012  # closed fingers span +-12 mm across the push direction
PUSH_TRAVEL = 0.075  # block displacement aimed for (success needs PUSH_DISTANCE = 5 cm)
MIN_PUSH_TRAVEL = 0.058
PUSH_Z = 0.02  # the gripper's height while it pushes
PUSH_CLEARANCE = 0.028  # the gap left to the block where the gripper goes down before a push
# The "direct" style (see `Expert`): approach at the height it starts at, within these bounds.
DIRECT_Z = (0.10, 0.18)
# ... and close or open the gripper up to this much above or below the nominal grasp / release height
# (seeded per demo), so its demos show the grasp decision over the spread a closed loop ends up in
DIRECT_REACH_JITTER = 0.006


@dataclass(frozen=True)
class Waypoint:
    pos: tuple[float, float, float]
    gripper: float
    wait: int = 0  # ticks to hold after reaching (lets the fingers close/open)


RELEASE_Z = {"put_in": 0.075, "put_on": 0.06}


def reach_height(subtask_object: str, placing: bool, scene: SceneState | None = None) -> float:
    """The height the gripper goes down to at an object: a block's grasp height, or the release height
    over a bowl, a plate or (`placing`) a block to stack on."""
    if not placing:
        return GRASP_Z
    if subtask_object == "bowl":
        return RELEASE_Z["put_in"]
    if subtask_object == "plate":
        return RELEASE_Z["put_on"]
    tz = scene.get(subtask_object).pos[2] if scene is not None else BLOCK_HALF
    return tz + 2 * BLOCK_HALF + 0.004


def push_points(block_xy: tuple[float, float], kind: str, travel: float = PUSH_TRAVEL
                ) -> tuple[tuple[float, float], tuple[float, float]]:
    """Where a push of the block at `block_xy` starts (the gripper goes down there, `PUSH_CLEARANCE` short
    of the block) and where the gripper ends it (the block then `travel` further along)."""
    dx, dy = push_direction(kind)
    x, y = block_xy
    contact = BLOCK_HALF + FINGER_HALF_WIDTH  # gripper centre to block centre at contact
    start = (x - dx * (contact + PUSH_CLEARANCE), y - dy * (contact + PUSH_CLEARANCE))
    return start, (x + dx * (travel - contact), y + dy * (travel - contact))


def plan(task: Task, scene: SceneState, cruise_z: float = CRUISE_Z, reach_offset: float = 0.0,
         rise_after_push: bool = True) -> list[Waypoint]:
    """The waypoint sequence that solves `task` from `scene`, travelling at `cruise_z`; grasps and releases
    `reach_offset` above (below, if negative) their nominal heights. `rise_after_push` False: a push ends
    where the gripper stops pushing (the task is done there)."""
    x, y, _ = scene.get(task.obj).pos
    if task.kind.startswith("push"):
        free = free_push_travel(scene, (x, y), push_direction(task.kind))
        travel = min(PUSH_TRAVEL, max(MIN_PUSH_TRAVEL, free - 0.005))
        (sx, sy), (ex, ey) = push_points((x, y), task.kind, travel)
        return [
            Waypoint((sx, sy, cruise_z), 0.0, wait=SETTLE_TICKS),
            Waypoint((sx, sy, PUSH_Z), 0.0),
            Waypoint((ex, ey, PUSH_Z), 0.0),
        ] + ([Waypoint((ex, ey, cruise_z), 0.0)] if rise_after_push else [])
    pick = [
        Waypoint((x, y, cruise_z), 1.0),
        Waypoint((x, y, GRASP_Z + reach_offset), 1.0),
        Waypoint((x, y, GRASP_Z + reach_offset), 0.0, wait=SETTLE_TICKS),
        Waypoint((x, y, cruise_z), 0.0),
    ]
    if task.kind == "pick":
        return pick
    tx, ty, _ = scene.get(task.target or "").pos
    release_z = reach_offset + reach_height(task.target or "", True, scene)
    return pick + [
        Waypoint((tx, ty, cruise_z), 0.0),
        Waypoint((tx, ty, release_z), 0.0),
        Waypoint((tx, ty, release_z), 1.0, wait=SETTLE_TICKS),
        Waypoint((tx, ty, cruise_z), 1.0),
    ]


@dataclass
class Expert:
    """A twist source for one task; call `act(obs)` once per control tick.

    `direct`: travel at the height it starts at (kept within `DIRECT_Z`) instead of climbing to
    `CRUISE_Z` first, and move every axis at full speed at once (a dog-leg, as a 3D mouse at full
    deflection moves) instead of in a straight line; a push ends where it stops pushing (no climb after
    it, which long entries would merge into the push itself). Demos in this style, chunked into long entries
    (`spec.LONG_AXIS_CUT_CM`), make each entry the offset to the next waypoint, or that offset clamped:
    what a grounded adapter can read off its grounding line.
    """

    task: Task
    limits: Limits = field(default_factory=Limits)
    dt: float = 1 / 30
    direct: bool = False
    reach_offset: float = 0.0  # metres above the nominal grasp / release height (see `plan`)
    _plan: list[Waypoint] | None = None
    _i: int = 0
    _waited: int = 0

    @property
    def done(self) -> bool:
        return self._plan is not None and self._i >= len(self._plan)

    def act(self, obs: Observation) -> Twist:
        if self._plan is None:
            if obs.scene is None:
                raise ValueError("the scripted expert needs simulator scene state")
            cruise = min(max(obs.ee_pos[2], DIRECT_Z[0]), DIRECT_Z[1]) if self.direct else CRUISE_Z
            self._plan = plan(self.task, obs.scene, cruise, self.reach_offset, rise_after_push=not self.direct)
        if self.done:
            return Twist()
        wp = self._plan[self._i]
        err = max(abs(a - b) for a, b in zip(obs.ee_pos, wp.pos))
        if err <= REACHED:
            if self._waited >= wp.wait:
                self._i, self._waited = self._i + 1, 0
                return self.act(obs)
            self._waited += 1
        dx, dy, dz = twist_toward(obs.ee_pos, wp.pos, self.limits, self.dt, per_axis=self.direct)
        return Twist(dx=dx, dy=dy, dz=dz, gripper=wp.gripper)


def _move_to(robot: Robot, obs: Observation, pos: tuple[float, float, float], limits: Limits, dt: float,
             max_ticks: int = 300) -> Observation:
    cmd = Command(obs.ee_pos, obs.ee_yaw, obs.gripper)
    for _ in range(max_ticks):
        if max(abs(a - b) for a, b in zip(obs.ee_pos, pos)) <= REACHED:
            break
        dx, dy, dz = twist_toward(obs.ee_pos, pos, limits, dt)
        cmd = step_target(cmd, Twist(dx=dx, dy=dy, dz=dz, gripper=1.0), limits, dt)
        robot.apply(cmd)
        obs = robot.observe()
    return obs


@dataclass(frozen=True)
class Rollout:
    task: Task
    seed: int
    success: bool
    steps: list[Step]
    start: SceneState
    final: SceneState


def rollout(robot: Robot, task: Task, seed: int, max_steps: int = 600, limits: Limits | None = None,
            start_pos: tuple[float, float, float] | None = None,
            on_record: Callable[[], None] | None = None, direct: bool = False) -> Rollout:
    """Run the expert on a freshly reset robot without the threaded loop (tests, benchmarks, data).

    `start_pos`: first move the open gripper there (not part of the rollout's steps), so demos also
    start away from the home pose, as a closed loop finds itself after an imprecise chunk;
    `on_record` is called once just before the first recorded observation; `direct`: the expert's
    style (see `Expert`), grasping and releasing at a seeded offset within `DIRECT_REACH_JITTER`.
    """
    limits = limits or Limits()
    dt = 1.0 / robot.control_hz
    obs = robot.reset(seed)
    if start_pos is not None:
        obs = _move_to(robot, obs, limits.clamp_pos(start_pos), limits, dt)
    if on_record is not None:
        on_record()
        obs = robot.observe()
    start = obs.scene
    assert start is not None
    offset = float(np.random.default_rng(seed + 3_571).uniform(-DIRECT_REACH_JITTER, DIRECT_REACH_JITTER)) if direct else 0.0
    expert = Expert(task, limits, dt, direct=direct, reach_offset=offset)
    cmd = Command(obs.ee_pos, obs.ee_yaw, obs.gripper)
    steps: list[Step] = []
    extra = 0
    for _ in range(max_steps):
        tw = expert.act(obs)
        cmd = step_target(cmd, tw, limits, dt)
        steps.append(Step(obs.t, obs.ee_pos, obs.ee_yaw, obs.gripper, tw, cmd, obs.joints, obs.scene))
        robot.apply(cmd)
        obs = robot.observe()
        if expert.done:
            extra += 1
            if extra > SETTLE_TICKS:
                break
    final = obs.scene
    assert final is not None
    return Rollout(task, seed, is_success(task, start, final), steps, start, final)
