"""Kinematic stand-in episodes (no physics, no simulator) for tests and benchmarks of the language.

A point gripper follows waypoints at a bounded speed; a block is held once the fingers have been closed
around it for a few ticks and follows the gripper; a released block drops straight down (into a
container if it is over one); an unheld block in the gripper's way is pushed along.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from core.types import Command, ObjectState, SceneState, Step, Twist, Vec3

BLOCK_HALF = 0.025
CRUISE_Z = 0.15
GRASP_Z = 0.022
CLOSE_TICKS = 4  # ticks with closed fingers before a block counts as held
PUSH_REACH = 0.045  # a block within this xy distance of a low gripper is pushed away


@dataclass(frozen=True)
class Waypoint:
    pos: Vec3
    gripper: float
    wait: int = 0


@dataclass(frozen=True)
class Layout:
    blocks: dict[str, tuple[float, float]]
    bowl: tuple[float, float] = (0.5, 0.15)
    plate: tuple[float, float] = (0.5, -0.15)
    ee: Vec3 = (0.34, 0.0, 0.18)


def default_layout(seed: int = 0) -> Layout:
    rng = random.Random(seed)
    spots = [(0.42, -0.05), (0.6, 0.02), (0.4, 0.08), (0.62, -0.08)]
    rng.shuffle(spots)
    blocks = {name: (x + rng.uniform(-0.02, 0.02), y + rng.uniform(-0.02, 0.02))
              for name, (x, y) in zip(("red block", "green block", "blue block", "yellow block"), spots)}
    return Layout(blocks=blocks)


def waypoints(kind: str, obj: str, layout: Layout, target: str | None = None) -> list[Waypoint]:
    """Waypoints solving `kind` ("pick", "put_in", "put_on", "stack", "push_left/right/forward")."""
    x, y = layout.blocks[obj]
    if kind.startswith("push"):
        dx, dy = {"push_left": (0, 1), "push_right": (0, -1), "push_forward": (1, 0)}[kind]
        back, push = 0.065, 0.11
        sx, sy, ex, ey = x - dx * back, y - dy * back, x + dx * (push - back), y + dy * (push - back)
        return [
            Waypoint((sx, sy, CRUISE_Z), 0.0, wait=5),
            Waypoint((sx, sy, 0.02), 0.0),
            Waypoint((ex, ey, 0.02), 0.0),
            Waypoint((ex, ey, CRUISE_Z), 0.0),
        ]
    pick = [
        Waypoint((x, y, CRUISE_Z), 1.0),
        Waypoint((x, y, GRASP_Z), 1.0),
        Waypoint((x, y, GRASP_Z), 0.0, wait=10),
        Waypoint((x, y, CRUISE_Z), 0.0),
    ]
    if kind == "pick":
        return pick
    if kind == "stack":
        tx, ty = layout.blocks[target or ""]
        release_z = 3 * BLOCK_HALF + 0.004
    else:
        tx, ty = layout.bowl if kind == "put_in" else layout.plate
        release_z = 0.075 if kind == "put_in" else 0.06
    return pick + [
        Waypoint((tx, ty, CRUISE_Z), 0.0),
        Waypoint((tx, ty, release_z), 0.0),
        Waypoint((tx, ty, release_z), 1.0, wait=10),
        Waypoint((tx, ty, CRUISE_Z), 1.0),
    ]


def episode(
    kind: str = "put_in",
    obj: str = "red block",
    target: str | None = None,
    *,
    seed: int = 0,
    hz: float = 30.0,
    speed: float = 0.2,
    jitter: float = 0.0,
    min_steps: int = 0,
    with_scene: bool = True,
) -> list[Step]:
    """A scripted episode as recorded steps. `jitter` (metres) adds seeded noise to measured positions;
    `min_steps` pads the end with still steps."""
    layout = default_layout(seed)
    rng = random.Random(seed + 1)
    wps = waypoints(kind, obj, layout, target)
    blocks: dict[str, list[float]] = {n: [x, y, BLOCK_HALF] for n, (x, y) in layout.blocks.items()}
    ee = list(layout.ee)
    grip, closed_for, held = 1.0, 0, None
    dt = 1.0 / hz
    steps: list[Step] = []
    i, waited = 0, 0

    def scene() -> SceneState:
        objs = [ObjectState(n, "block", n.split()[0], (p[0], p[1], p[2])) for n, p in blocks.items()]
        objs.append(ObjectState("bowl", "bowl", "", (*layout.bowl, 0.0)))
        objs.append(ObjectState("plate", "plate", "", (*layout.plate, 0.0)))
        return SceneState(tuple(objs), held)

    def record(target_pos: Vec3, g: float) -> None:
        noisy = tuple(c + rng.gauss(0.0, jitter) if jitter else c for c in ee)
        pos = (noisy[0], noisy[1], noisy[2])
        steps.append(Step(len(steps) * dt, pos, 0.0, grip, Twist(gripper=g), Command(target_pos, 0.0, g),
                          None, scene() if with_scene else None))

    while i < len(wps) and len(steps) < 5000:
        wp = wps[i]
        err = [w - e for e, w in zip(ee, wp.pos)]
        dist = math.sqrt(sum(c * c for c in err))
        if dist <= 1e-4 and wp.gripper == grip:
            if waited >= wp.wait:
                i, waited = i + 1, 0
                continue
            waited += 1
        step = min(dist, speed * dt, max(dist / 2, 0.0015))  # slow down over the last few ticks
        move = [c / dist * step for c in err] if dist > 0 else [0.0, 0.0, 0.0]
        record((ee[0] + move[0], ee[1] + move[1], ee[2] + move[2]), wp.gripper)
        ee = [e + m for e, m in zip(ee, move)]
        grip = wp.gripper
        _physics(blocks, ee, grip, layout, held)
        closed_for = closed_for + 1 if grip < 0.5 else 0
        held = _held(blocks, ee, closed_for, held)
    total = max(min_steps, len(steps) + 1)  # at least one final step: the last motion needs an end
    while len(steps) < total:
        record((ee[0], ee[1], ee[2]), grip)
    return steps


def _held(blocks: dict[str, list[float]], ee: list[float], closed_for: int, held: str | None) -> str | None:
    if closed_for == 0:
        if held is not None:  # released: drop it onto whatever is below
            p = blocks[held]
            below = [q[2] for n, q in blocks.items() if n != held and math.hypot(q[0] - p[0], q[1] - p[1]) < 0.03]
            p[2] = max(below) + 2 * BLOCK_HALF if below else BLOCK_HALF
        return None
    if held is not None or closed_for < CLOSE_TICKS:
        return held
    for name, p in blocks.items():
        if math.hypot(p[0] - ee[0], p[1] - ee[1]) < 0.01 and abs(p[2] - ee[2]) < 0.02:
            return name
    return None


def _physics(blocks: dict[str, list[float]], ee: list[float], grip: float, layout: Layout, held: str | None) -> None:
    if held is not None:
        blocks[held][:] = [ee[0], ee[1], ee[2]]
        return
    for p in blocks.values():
        if ee[2] > 2 * BLOCK_HALF + 0.01:
            continue
        dx, dy = p[0] - ee[0], p[1] - ee[1]
        d = math.hypot(dx, dy)
        if 1e-6 < d < PUSH_REACH:
            p[0], p[1] = ee[0] + dx / d * PUSH_REACH, ee[1] + dy / d * PUSH_REACH
