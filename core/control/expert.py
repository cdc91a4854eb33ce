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
from core.robot.heights import BUILT_IN, CRUISE_Z, Heights
from core.robot.tasks import Task, bowl_blocking_radius, free_push_travel, is_success, push_direction
from core.types import Command, Observation, SceneState, Step, Twist

log = logging.getLogger(__name__)

REACHED = 0.004  # metres
PUSH_TRAVEL = 0.075  # block displacement aimed for (success needs PUSH_DISTANCE = 5 cm)
MIN_PUSH_TRAVEL = 0.058
PUSH_CLEARANCE = 0.028  # the gap left to the block where the gripper goes down before a push
# The "direct" style (see `Expert`) approaches at the height it starts at, within `Heights.direct_z`,
# and closes or open the gripper up to this much above or below the nominal grasp / release height
# (seeded per demo), so its demos show the grasp decision over the spread a closed loop ends up in
DIRECT_REACH_JITTER = 0.006


@dataclass(frozen=True)
class Waypoint:
    pos: tuple[float, float, float]
    gripper: float
    wait: int = 0  # ticks to hold after reaching (lets the fingers close/open)


def reach_height(subtask_object: str, placing: bool, scene: SceneState | None = None,
                 heights: Heights = BUILT_IN) -> float:
    """The height the gripper goes down to at an object: a block's grasp height, or the release height
    over a bowl, a plate or (`placing`) a block to stack on."""
    if not placing:
        return heights.grasp_z
    if subtask_object == "bowl":
        return heights.release_z[0]
    if subtask_object == "plate":
        return heights.release_z[1]
    tz = scene.get(subtask_object).pos[2] if scene is not None else heights.block_half
    return tz + 2 * heights.block_half + 0.004


def push_points(block_xy: tuple[float, float], kind: str, travel: float = PUSH_TRAVEL,
                heights: Heights = BUILT_IN) -> tuple[tuple[float, float], tuple[float, float]]:
    """Where the tool point is when a push of the block at `block_xy` starts (the gripper goes down there,
    `PUSH_CLEARANCE` short of the block) and where it ends it (the block then `travel` further along)."""
    dx, dy = push_direction(kind)
    x, y = block_xy
    contact = heights.block_half + heights.finger_half_width  # gripper centre to block centre at contact
    ox, oy = heights.push_point
    start = (x - dx * (contact + PUSH_CLEARANCE) - ox, y - dy * (contact + PUSH_CLEARANCE) - oy)
    return start, (x + dx * (travel - contact) - ox, y + dy * (travel - contact) - oy)


def plan(task: Task, scene: SceneState, cruise_z: float = CRUISE_Z, reach_offset: float = 0.0,
         heights: Heights = BUILT_IN, rise_after_push: bool = True) -> list[Waypoint]:
    """The waypoint sequence that solves `task` from `scene`, travelling at `cruise_z`; grasps and releases
    `reach_offset` above (below, if negative) their nominal heights. `rise_after_push` False: a push ends
    where the gripper stops pushing (the task is done there)."""
    x, y, _ = scene.get(task.obj).pos
    wait = heights.settle_ticks
    if task.kind.startswith("push"):
        dx, dy = push_direction(task.kind)
        free = free_push_travel(scene, (x, y), (dx, dy), bowl_blocking_radius(scene, scene.get(task.obj)))
        travel = min(PUSH_TRAVEL, max(MIN_PUSH_TRAVEL, free - 0.005))
        (sx, sy), (ex, ey) = push_points((x, y), task.kind, travel, heights)
        return [
            Waypoint((sx, sy, cruise_z), 0.0, wait=wait),
            Waypoint((sx, sy, heights.push_z), 0.0),
            Waypoint((ex, ey, heights.push_z), 0.0),
        ] + ([Waypoint((ex, ey, cruise_z), 0.0)] if rise_after_push else [])
    grasp_z = heights.grasp_z + reach_offset
    pick = [
        Waypoint((x, y, cruise_z), 1.0),
        Waypoint((x, y, grasp_z), 1.0),
        Waypoint((x, y, grasp_z), 0.0, wait=wait),
        Waypoint((x, y, cruise_z), 0.0),
    ]
    if task.kind == "pick":
        return pick
    tx, ty, _ = scene.get(task.target or "").pos
    tx, ty = tx - heights.held_offset[0], ty - heights.held_offset[1]
    release_z = reach_offset + reach_height(task.target or "", True, scene, heights)
    return pick + [
        Waypoint((tx, ty, cruise_z), 0.0),
        Waypoint((tx, ty, release_z), 0.0),
        Waypoint((tx, ty, release_z), 1.0, wait=wait),
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
    heights: Heights = BUILT_IN
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
            h = self.heights
            cruise = min(max(obs.ee_pos[2], h.direct_z[0]), h.direct_z[1]) if self.direct else h.cruise_z
            self._plan = plan(self.task, obs.scene, cruise, self.reach_offset, h, rise_after_push=not self.direct)
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
    The robot's own workspace (`limits`) and scene heights (`expert_heights`) apply when it has them.
    """
    limits = limits or getattr(robot, "limits", None) or Limits()
    heights = getattr(robot, "expert_heights", BUILT_IN)
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
    expert = Expert(task, limits, dt, direct=direct, reach_offset=offset, heights=heights)
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
            if extra > heights.settle_ticks:
                break
    final = obs.scene
    assert final is not None
    return Rollout(task, seed, is_success(task, start, final), steps, start, final)
