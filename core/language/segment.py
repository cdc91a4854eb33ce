"""Split an episode into subtasks: from gripper events and object states, or from the instruction.

Boundaries are step indices. A `Segment(text, start, stop)` covers the motion from step `start` to step
`stop`. Grasp cycles are found from the commanded gripper (close ... open); the object of a cycle is the
one the scene reports as held. A grasp subtask ends once the fingers have closed (when the arm starts
moving again), a place subtask once they have opened; motion after the last subtask joins it.
Objects that move a lot without being held were pushed: the push starts where the gripper, down beside the
object, starts moving level toward it (or when the object starts moving, if it did not go down first).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from core.language.chunking import is_moving, step_gripper, tick_delta
from core.language.spec import GRIPPER_CLOSED, GRIPPER_OPEN, NEGLIGIBLE_CM
from core.types import SceneState, Step, Vec3

# Scene geometry (metres). Blocks are 5 cm cubes; containers are ~12 cm across.
IN_CONTAINER_XY = 0.07
ON_BLOCK_XY = 0.03
ON_BLOCK_DZ = (0.03, 0.08)
LIFTED_DZ = 0.02
PUSHED_XY = 0.02  # an unheld object that moved this far was pushed
CONTACT_XY = 0.003  # ... and the push started when it had moved this far
MIN_HOLD_STEPS = 3


@dataclass(frozen=True)
class Segment:
    text: str
    start: int
    stop: int


@dataclass(frozen=True)
class _Cycle:
    close: int  # tick index where the gripper was commanded closed
    open: int | None  # tick index where it was commanded open again, None if never
    obj: str | None  # what it held, if known


def segment(steps: list[Step], instruction: str | None = None, *, yaw: bool = False) -> list[Segment]:
    """Subtask segments covering the whole episode (at least one when there are two steps or more)."""
    if len(steps) < 2:
        return []
    if all(s.scene is not None for s in steps):
        return _from_scene(steps, yaw)
    return _from_instruction(steps, instruction, yaw)


# ---- gripper events ---------------------------------------------------------------------------------
def _ticks(steps: list[Step]) -> tuple[list[int], list[tuple[float, float, float, float]]]:
    grips = [step_gripper(s) for s in steps[:-1]]
    deltas = [tick_delta(a, b) for a, b in zip(steps, steps[1:])]
    return grips, deltas


def _cycles(grips: list[int]) -> list[tuple[int, int | None]]:
    out: list[tuple[int, int | None]] = []
    prev = GRIPPER_OPEN
    for t, g in enumerate(grips):
        if g == GRIPPER_CLOSED and prev == GRIPPER_OPEN:
            out.append((t, None))
        elif g == GRIPPER_OPEN and prev == GRIPPER_CLOSED and out:
            out[-1] = (out[-1][0], t)
        prev = g
    return out


def dwell_end(t: int, grips: list[int], deltas: list[tuple[float, float, float, float]], yaw: bool) -> int:
    """Where the entry started by a gripper change at tick `t` ends (mirrors the chunker's rule)."""
    u = t + 1
    while u < len(grips) and grips[u] == grips[t] and not is_moving(deltas[u], yaw):
        u += 1
    return u


# ---- scene-based ------------------------------------------------------------------------------------
def _xy(a: Vec3, b: Vec3) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def _pos(scene: SceneState | None, name: str) -> Vec3 | None:
    if scene is None:
        return None
    for obj in scene.objects:
        if obj.name == name:
            return obj.pos
    return None


def _held_in(steps: list[Step], start: int, stop: int) -> str | None:
    counts = Counter(s.scene.held for s in steps[start:stop] if s.scene is not None and s.scene.held)
    if not counts:
        return None
    name, n = counts.most_common(1)[0]
    return name if n >= MIN_HOLD_STEPS else None


def placement(obj: str, scene: SceneState) -> str:
    """Where a released object ended up, as the rest of a subtask ("place it in the bowl")."""
    p = _pos(scene, obj)
    if p is None:
        return "put it down"
    best: tuple[float, str] | None = None
    for other in scene.objects:
        if other.name == obj:
            continue
        d = _xy(p, other.pos)
        if other.kind == "block":
            dz = p[2] - other.pos[2]
            if d <= ON_BLOCK_XY and ON_BLOCK_DZ[0] <= dz <= ON_BLOCK_DZ[1]:
                text = f"stack it on the {other.name}"
            else:
                continue
        elif d <= IN_CONTAINER_XY:
            text = f"place it in the {other.name}" if other.kind == "bowl" else f"place it on the {other.name}"
        else:
            continue
        if best is None or d < best[0]:
            best = (d, text)
    return best[1] if best else "put it down"


def _side(ee: Vec3, obj: Vec3) -> str:
    vx, vy = ee[0] - obj[0], ee[1] - obj[1]
    if abs(vy) >= abs(vx):
        return "to the left of" if vy > 0 else "to the right of"
    return "to the far side of" if vx > 0 else "to the near side of"


def push_direction(d: tuple[float, float]) -> str:
    if abs(d[1]) >= abs(d[0]):
        return "to the left" if d[1] > 0 else "to the right"
    return "forward" if d[0] > 0 else "backward"


def _push(steps: list[Step], a: int, b: int) -> tuple[list[Segment], str | None]:
    """Approach + push segments if an unheld block was pushed between steps a and b, and its name."""
    s0, s1 = steps[a].scene, steps[b].scene
    if s0 is None or s1 is None:
        return [], None
    best: tuple[float, str] | None = None
    for obj in s0.objects:
        p1 = _pos(s1, obj.name)
        if obj.kind != "block" or p1 is None:
            continue
        d = _xy(obj.pos, p1)
        if d >= PUSHED_XY and (best is None or d > best[0]):
            best = (d, obj.name)
    if best is None:
        return [], None
    name = best[1]
    p0, p1 = _pos(s0, name), _pos(s1, name)
    assert p0 is not None and p1 is not None
    contact = a
    for k in range(a, b + 1):
        pk = _pos(steps[k].scene, name)
        if pk is not None and _xy(pk, p0) >= CONTACT_XY:
            contact = max(a, k - 1)
            break
    contact = _run_up(steps, a, contact, (p1[0] - p0[0], p1[1] - p0[1]))
    push = Segment(f"push the {name} {push_direction((p1[0] - p0[0], p1[1] - p0[1]))}", contact, b)
    if contact <= a:
        return [push], name
    pc = _pos(steps[contact].scene, name) or p0
    return [Segment(f"move {_side(steps[contact].ee_pos, pc)} the {name}", a, contact), push], name


def _run_up(steps: list[Step], a: int, contact: int, direction: tuple[float, float]) -> int:
    """Where the push's run-up starts: the gripper went down beside the block and then moved level toward
    it; the push begins with that level motion (the approach ends beside the block, not at its face)."""
    norm = math.hypot(*direction) or 1.0
    ux, uy = direction[0] / norm, direction[1] / norm
    k = contact
    while k > a:
        dx, dy, dz, _ = tick_delta(steps[k - 1], steps[k])
        if abs(dz) >= NEGLIGIBLE_CM or dx * ux + dy * uy < NEGLIGIBLE_CM:
            break
        k -= 1
    return k


def _settled_end(steps: list[Step], start: int, stop: int, name: str) -> int:
    """First step in [start, stop] after which `name` stays within CONTACT_XY of its final position."""
    final = _pos(steps[stop].scene, name)
    if final is None:
        return stop
    k = stop
    while k > start:
        pk = _pos(steps[k - 1].scene, name)
        if pk is None or _xy(pk, final) >= CONTACT_XY:
            break
        k -= 1
    return k


def _from_scene(steps: list[Step], yaw: bool) -> list[Segment]:
    grips, deltas = _ticks(steps)
    last = len(steps) - 1
    cycles = []
    for c, o in _cycles(grips):
        obj = _held_in(steps, c, (o if o is not None else last) + 1)
        if obj is not None:
            cycles.append(_Cycle(c, o, obj))

    segs: list[Segment] = []
    cursor = 0
    for i, cyc in enumerate(cycles):
        assert cyc.obj is not None
        pushed, name = _push(steps, cursor, cyc.close)
        if pushed and name is not None:  # the push ends when the block settles; the rest approaches
            push = pushed[-1]
            end = max(_settled_end(steps, push.start, cyc.close, name), push.start + 1)
            segs += pushed[:-1] + [Segment(push.text, push.start, min(end, cyc.close))]
            cursor = segs[-1].stop
        grasped = dwell_end(cyc.close, grips, deltas, yaw)
        segs.append(Segment(f"grasp the {cyc.obj}", cursor, grasped))
        if cyc.open is None:
            p0, p1 = _pos(steps[cyc.close].scene, cyc.obj), _pos(steps[last].scene, cyc.obj)
            lifted = p0 is not None and p1 is not None and p1[2] - p0[2] >= LIFTED_DZ
            segs.append(Segment(f"{'lift' if lifted else 'move'} the {cyc.obj}", grasped, last))
            cursor = last
            break
        released = dwell_end(cyc.open, grips, deltas, yaw)
        settle = cycles[i + 1].close if i + 1 < len(cycles) else last
        scene = steps[settle].scene
        assert scene is not None
        segs.append(Segment(placement(cyc.obj, scene), grasped, released))
        cursor = released

    if cursor < last:
        pushed, _ = _push(steps, cursor, last)
        if pushed:
            segs += pushed
        elif segs:
            segs[-1] = Segment(segs[-1].text, segs[-1].start, last)
        else:
            segs.append(Segment("move the gripper", 0, last))
    return [s for s in segs if s.stop > s.start]


# ---- instruction-based ------------------------------------------------------------------------------
_PICK = re.compile(r"^(?:pick up|pick|grab|grasp|lift|take)\s+(?P<obj>.+?)(?:\s+up)?$")
_PUT = re.compile(
    r"^(?:put|place|drop|move|set)\s+(?P<obj>.+?)\s+(?P<prep>into|inside|in|onto|on top of|on)\s+(?P<target>.+)$"
)
_STACK = re.compile(r"^stack\s+(?P<obj>.+?)\s+(?:onto|on top of|on)\s+(?P<target>.+)$")
_PUSH = re.compile(r"^(?:push|slide|nudge)\s")


def _normalise(text: str) -> str:
    return " ".join(text.lower().strip().rstrip(".!").split())


def _cycle_texts(instruction: str | None) -> tuple[str, str, str]:
    """(grasp, carry-and-release, carry-without-release) subtask texts for an instruction."""
    text = _normalise(instruction or "")
    if m := _STACK.match(text):
        return f"grasp {m['obj']}", f"stack it on {m['target']}", f"stack it on {m['target']}"
    if m := _PUT.match(text):
        prep = "in" if m["prep"] in ("in", "into", "inside") else "on"
        return f"grasp {m['obj']}", f"place it {prep} {m['target']}", f"place it {prep} {m['target']}"
    if m := _PICK.match(text):
        return f"grasp {m['obj']}", "put it down", f"lift {m['obj']}"
    return "grasp the object", "put it down", "lift the object"


def _from_instruction(steps: list[Step], instruction: str | None, yaw: bool) -> list[Segment]:
    grips, deltas = _ticks(steps)
    last = len(steps) - 1
    grasp, release, carry = _cycle_texts(instruction)
    segs: list[Segment] = []
    cursor = 0
    cycles = [] if _PUSH.match(_normalise(instruction or "")) else _cycles(grips)  # pushes close the fingers
    for c, o in cycles:
        grasped = dwell_end(c, grips, deltas, yaw)
        segs.append(Segment(grasp, cursor, grasped))
        if o is None:
            segs.append(Segment(carry, grasped, last))
            cursor = last
            break
        released = dwell_end(o, grips, deltas, yaw)
        segs.append(Segment(release, grasped, released))
        cursor = released
    if not segs:
        return [Segment(_normalise(instruction or "") or "move the gripper", 0, last)]
    if cursor < last:
        segs[-1] = Segment(segs[-1].text, segs[-1].start, last)
    return [s for s in segs if s.stop > s.start]
