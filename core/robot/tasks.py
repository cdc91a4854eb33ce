"""Tabletop tasks and their success predicates, computed from simulator ground truth (pure Python)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.types import ObjectState, SceneState
from core.workspace import Limits

BLOCK_COLORS = ("red", "green", "blue", "yellow")
BLOCKS = tuple(f"{c} block" for c in BLOCK_COLORS)
CONTAINERS = ("bowl", "plate")
TASK_KINDS = ("pick", "put_in", "put_on", "push_left", "push_right", "push_forward", "stack")

BLOCK_HALF = 0.025  # blocks are 5 cm cubes resting at z = BLOCK_HALF
LIFT_HEIGHT = 0.05  # "picked up" = raised at least this far above resting height
PUSH_DISTANCE = 0.05
CONTAINER_RADIUS = 0.06


class TaskError(ValueError):
    """A task description that names unknown objects or an unknown kind."""


@dataclass(frozen=True)
class Task:
    kind: str
    obj: str  # a block name, e.g. "red block"
    target: str | None = None  # "bowl" / "plate" / another block for stack

    def __post_init__(self) -> None:
        if self.kind not in TASK_KINDS:
            raise TaskError(f"unknown task kind {self.kind!r}; expected one of {TASK_KINDS}")
        if self.obj not in BLOCKS:
            raise TaskError(f"unknown object {self.obj!r}; expected one of {BLOCKS}")
        needs = {"put_in": ("bowl",), "put_on": ("plate",), "stack": BLOCKS}
        if self.kind in needs:
            if self.target not in needs[self.kind] or self.target == self.obj:
                raise TaskError(f"task {self.kind!r} needs a target among {needs[self.kind]}, not {self.target!r}")
        elif self.target is not None:
            raise TaskError(f"task {self.kind!r} takes no target")

    @property
    def instruction(self) -> str:
        """The canonical English instruction, as the model and the UI read it."""
        o = f"the {self.obj}"
        return {
            "pick": f"pick up {o}",
            "put_in": f"put {o} in the bowl",
            "put_on": f"put {o} on the plate",
            "push_left": f"push {o} to the left",
            "push_right": f"push {o} to the right",
            "push_forward": f"push {o} forward",
            "stack": f"stack {o} on the {self.target}",
        }[self.kind]


    @property
    def subtasks(self) -> tuple[str, str]:
        """The subtasks the verbalizer writes for an expert demonstration of this task."""
        o = f"the {self.obj}"
        return {
            "pick": (f"grasp {o}", f"lift {o}"),
            "put_in": (f"grasp {o}", "place it in the bowl"),
            "put_on": (f"grasp {o}", "place it on the plate"),
            "stack": (f"grasp {o}", f"stack it on the {self.target}"),
            "push_left": (f"move to the right of {o}", f"push {o} to the left"),
            "push_right": (f"move to the left of {o}", f"push {o} to the right"),
            "push_forward": (f"move to the near side of {o}", f"push {o} forward"),
        }[self.kind]


def all_tasks() -> list[Task]:
    """Every valid task in the tabletop scene (the set of canonical instructions)."""
    out: list[Task] = []
    for b in BLOCKS:
        out.append(Task("pick", b))
        out.append(Task("put_in", b, "bowl"))
        out.append(Task("put_on", b, "plate"))
        for k in ("push_left", "push_right", "push_forward"):
            out.append(Task(k, b))
        out.extend(Task("stack", b, other) for other in BLOCKS if other != b)
    return out


def task_from_instruction(text: str) -> Task:
    """Inverse of `Task.instruction` for canonical English instructions."""
    norm = " ".join(text.lower().strip().rstrip(".").split())
    for task in all_tasks():
        if task.instruction == norm:
            return task
    raise TaskError(f"not a canonical instruction: {text!r}")


BOWL_BLOCKING_RADIUS = 0.079 + 1.2 * BLOCK_HALF  # bowl wall plus a block's half width
BOWL_RADIUS = 0.075  # the built-in bowl (`core.robot.scene`): its wall stands 4 mm further out


def half_side(obj: ObjectState) -> float:
    """A block's half side: its own size when the scene gives one (other robots' scenes), else the built-in's."""
    return obj.size or BLOCK_HALF


def container_reach(container: ObjectState) -> float:
    """How close (xy) to a container's centre a block must rest to be in or on it."""
    return 0.8 * container.size if container.size else CONTAINER_RADIUS


def bowl_blocking_radius(scene: SceneState, block: ObjectState) -> float:
    bowl = scene.get("bowl")
    if not (bowl.size or block.size):
        return BOWL_BLOCKING_RADIUS
    return (bowl.size or BOWL_RADIUS) + 0.004 + 1.2 * half_side(block)


def push_direction(kind: str) -> tuple[float, float]:
    return {"push_left": (0.0, 1.0), "push_right": (0.0, -1.0), "push_forward": (1.0, 0.0)}[kind]


def free_push_travel(scene: SceneState, start: tuple[float, float], u: tuple[float, float],
                     radius: float = BOWL_BLOCKING_RADIUS) -> float:
    """How far a block at `start` can slide along unit vector `u` before meeting the bowl's wall (`radius`:
    the bowl's blocking radius for that block, `bowl_blocking_radius`)."""
    bx, by, _ = scene.get("bowl").pos
    fx, fy = start[0] - bx, start[1] - by
    b = fx * u[0] + fy * u[1]
    c = fx * fx + fy * fy - radius**2
    disc = b * b - c
    if c > 0 and disc > 0 and b < 0:
        return -b - math.sqrt(disc)
    return math.inf


def push_in_reach(task: Task, block: ObjectState, limits: Limits) -> bool:
    """Whether the arm's workspace box holds a push of `block`: the fingers' start behind it (a block's
    width and 2.8 cm back) and the block's place after the push (`PUSH_DISTANCE` and 1.2 cm on)."""
    dx, dy = push_direction(task.kind)
    x, y, _ = block.pos
    back = 2 * half_side(block) + 0.028
    ahead = PUSH_DISTANCE + 0.012
    return all(limits.x[0] <= px <= limits.x[1] and limits.y[0] <= py <= limits.y[1]
               for px, py in ((x - dx * back, y - dy * back), (x + dx * ahead, y + dy * ahead)))


def is_feasible(task: Task, scene: SceneState, limits: Limits | None = None) -> bool:
    """False when the layout makes the task impossible for a straight push (the bowl is in the way, or,
    given the robot's workspace `limits`, the push starts or ends out of the arm's reach)."""
    names = {o.name for o in scene.objects}
    if task.obj not in names or (task.target is not None and task.target not in names):
        return False
    if task.kind.startswith("push"):
        block = scene.get(task.obj)
        if limits is not None and not push_in_reach(task, block, limits):
            return False
        radius = bowl_blocking_radius(scene, block)
        return free_push_travel(scene, block.pos[:2], push_direction(task.kind), radius) >= PUSH_DISTANCE + 0.012
    return True


def _xy_dist(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def is_lifted(now: SceneState, name: str) -> bool:
    """The object `name` (in `now`) is held and raised at least `LIFT_HEIGHT` above its resting height: a
    pick achieved (`is_success`), a lift done (`core.control.verify`)."""
    obj = now.get(name)
    return now.held == name and obj.pos[2] >= half_side(obj) + LIFT_HEIGHT


def is_success(task: Task, start: SceneState, now: SceneState) -> bool:
    """Whether `task` is achieved in `now`, given the scene at the start of the episode. An object the
    scene no longer has (knocked off the table, out of the simulator's tracked area) fails the task."""
    names = {o.name for o in now.objects}
    if task.obj not in names or (task.target and task.target not in names):
        return False
    obj = now.get(task.obj)
    x, y, z = obj.pos
    half = half_side(obj)
    scale = half / BLOCK_HALF  # tolerances shrink with the blocks
    resting = now.held != task.obj
    if task.kind == "pick":
        return is_lifted(now, task.obj)
    if task.kind in ("put_in", "put_on"):
        c = now.get(task.target or "")
        return resting and _xy_dist(obj.pos, c.pos) <= container_reach(c) and z < c.pos[2] + 0.08 * scale
    if task.kind == "stack":
        below = now.get(task.target or "")
        return (
            resting
            and _xy_dist(obj.pos, below.pos) <= 0.025 * scale
            and abs(z - (below.pos[2] + half + half_side(below))) <= 0.015 * scale
        )
    x0, y0, _ = start.get(task.obj).pos
    lifted = z > half + 0.02 * scale
    if task.kind == "push_left":
        return not lifted and y - y0 >= PUSH_DISTANCE
    if task.kind == "push_right":
        return not lifted and y0 - y >= PUSH_DISTANCE
    return not lifted and x - x0 >= PUSH_DISTANCE  # push_forward
