"""Judging whether a subtask is done from simulator state (pure Python).

Understands the subtask texts the verbalizer writes ("grasp the red block", "place it in the bowl",
"stack it on the blue block", "lift the red block", "push the red block to the left"). Returns None when
a subtask cannot be judged from state (an approach move, a real robot): the caller then asks the model.
Sizes are the scene's own (`ObjectState.size`: the SO-101's 3 cm blocks), the built-in ones when not given,
with the tolerances of `core.robot.tasks.is_success`.
"""

from __future__ import annotations

import math
import re

from core.robot.tasks import BLOCK_HALF, PUSH_DISTANCE, container_reach, half_side, is_lifted
from core.types import SceneState

_GRASP = re.compile(r"^(?:grasp|grab|pick up) the (?P<obj>\w+ block)$")
_LIFT = re.compile(r"^lift the (?P<obj>\w+ block)$")
_PLACE = re.compile(r"^place it (?P<prep>in|on) the (?P<target>bowl|plate)$")
_STACK = re.compile(r"^stack it on the (?P<target>\w+ block)$")
_PUSH = re.compile(r"^push the (?P<obj>\w+ block) (?P<dir>to the left|to the right|forward|backward)$")
_DIRS = {"to the left": (0.0, 1.0), "to the right": (0.0, -1.0), "forward": (1.0, 0.0), "backward": (-1.0, 0.0)}


def grasp_before(subtasks: list[str], index: int) -> int | None:
    """The index of the last grasp ("grasp the red block") before `subtasks[index]`, or None."""
    for k in range(index - 1, -1, -1):
        if _GRASP.match(_norm(subtasks[k])):
            return k
    return None


def subject(subtask: str) -> str | None:
    """The block a subtask names explicitly, if any ("grasp the red block" -> "red block")."""
    for rx in (_GRASP, _LIFT, _PUSH):
        m = rx.match(_norm(subtask))
        if m:
            return m["obj"]
    return None


def sim_verify(subtask: str, start: SceneState, now: SceneState, it: str | None) -> bool | None:
    """Whether `subtask` is achieved. `it` is the block the previous subtasks grasped ("place it ...")."""
    text = _norm(subtask)
    names = {o.name for o in now.objects}
    if m := _GRASP.match(text):
        return now.held == m["obj"]
    if m := _LIFT.match(text):
        return m["obj"] in names and is_lifted(now, m["obj"])  # as a pick task is judged (`is_success`)
    if (m := _PLACE.match(text)) and it in names:
        p, c = now.get(it).pos, now.get(m["target"]).pos
        return now.held != it and math.hypot(p[0] - c[0], p[1] - c[1]) <= container_reach(now.get(m["target"]))
    if (m := _STACK.match(text)) and it in names and m["target"] in names:
        top, below = now.get(it), now.get(m["target"])
        p, b = top.pos, below.pos
        scale = half_side(top) / BLOCK_HALF
        return (now.held != it and math.hypot(p[0] - b[0], p[1] - b[1]) <= 0.025 * scale
                and abs(p[2] - b[2] - half_side(top) - half_side(below)) <= 0.015 * scale)
    if (m := _PUSH.match(text)) and m["obj"] in names:
        ux, uy = _DIRS[m["dir"]]
        p0, p1 = start.get(m["obj"]).pos, now.get(m["obj"]).pos
        return (p1[0] - p0[0]) * ux + (p1[1] - p0[1]) * uy >= PUSH_DISTANCE
    return None


def _norm(text: str) -> str:
    return " ".join(text.lower().strip().rstrip(".!").split())
