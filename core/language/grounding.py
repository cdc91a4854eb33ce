"""The grounding line: where the subtask's object is, relative to the gripper, in words.

For adapters trained "grounded" (`DataSpec.grounded`): the plan, action and "done?" questions start with
a line such as

    Gripper 15.5 cm above the table, open. Red block: 8.0 cm forward, 4.5 cm left, 13.3 cm down.

The gripper's height comes from the robot; the object's place from the default model's object locator
(`core.policy.locator`) and the camera's calibration; "down" is to the height the gripper works at there
(a block's grasp height, the release height over a bowl; `core.control.expert.reach_height`). The object
is the last one the subtask names ("grasp the red block" -> red block, "place it in the bowl" -> bowl); a
lift names the block already in the gripper, so it gets no object part. For the two subtasks of a push,
the place the gripper works at is beside the block: where it goes down before the push ("move to the
right of the red block") and where the push ends ("push the red block to the left"; `push_phase`).
Pure text, no torch.
"""

from __future__ import annotations

import re

from core.language.spec import OPEN_ABOVE
from core.types import Vec3

_OBJECT = re.compile(r"\b(?:red|green|blue|yellow) block\b|\bbowl\b|\bplate\b")
NOT_IN_VIEW = "not in view"


def target_object(subtask: str) -> str | None:
    """The object a subtask moves the gripper to, or None (a lift, or no known object named)."""
    text = subtask.strip().lower()
    if text.startswith("lift"):
        return None
    names = _OBJECT.findall(text)
    return names[-1] if names else None


def _cm(v: float) -> float:
    return round(100.0 * float(v), 1) + 0.0  # + 0.0: no "-0.0"


def offset_words(dx: float, dy: float, dz: float) -> str:
    """Metres along x (forward), y (left) and z (up) -> "8.0 cm forward, 4.5 cm left, 13.3 cm down"."""
    fx, fy, fz = _cm(dx), _cm(dy), _cm(dz)
    return (f"{abs(fx):.1f} cm {'forward' if fx >= 0 else 'back'}, {abs(fy):.1f} cm {'left' if fy >= 0 else 'right'}, "
            f"{abs(fz):.1f} cm {'up' if fz > 0 else 'down'}")


_APPROACH = re.compile(r"^move to the (?P<side>right of|left of|near side of) the (?:red|green|blue|yellow) block$")
_PUSH = re.compile(r"^push the (?:red|green|blue|yellow) block (?P<dir>to the left|to the right|forward)$")
_APPROACH_KIND = {"right of": "push_left", "left of": "push_right", "near side of": "push_forward"}
_PUSH_KIND = {"to the left": "push_left", "to the right": "push_right", "forward": "push_forward"}


def push_phase(subtask: str) -> tuple[str, str] | None:
    """(task kind, "approach" | "push") for the two subtasks of a push ("move to the right of the red block"
    -> ("push_left", "approach"), "push the red block to the left" -> ("push_left", "push")), else None."""
    text = " ".join(subtask.strip().lower().rstrip(".").split())
    if m := _APPROACH.match(text):
        return _APPROACH_KIND[m["side"]], "approach"
    if m := _PUSH.match(text):
        return _PUSH_KIND[m["dir"]], "push"
    return None


_LINE_GRIPPER = re.compile(r"Gripper (?P<h>[\d.]+) cm above the table, (?P<g>open|closed)\.")
_LINE_OBJECT = re.compile(r": (?P<x>[\d.]+) cm (?P<xs>forward|back), (?P<y>[\d.]+) cm (?P<ys>left|right), "
                          r"(?P<z>[\d.]+) cm (?P<zs>up|down)\.")


def read_line(line: str) -> tuple[float, int, tuple[float, float, float] | None]:
    """What a grounding line states: the gripper's height (cm), its state (1 open, 0 closed) and the
    (forward, left, up) offset in cm to where it works at the subtask's object (None: no object named, or
    not in view). `ValueError` for a text that is not a grounding line."""
    g = _LINE_GRIPPER.search(line)
    if g is None:
        raise ValueError(f"not a grounding line: {line!r}")
    o = _LINE_OBJECT.search(line)
    offset = None if o is None else (
        float(o["x"]) * (1 if o["xs"] == "forward" else -1), float(o["y"]) * (1 if o["ys"] == "left" else -1),
        float(o["z"]) * (1 if o["zs"] == "up" else -1))
    return float(g["h"]), 1 if g["g"] == "open" else 0, offset


def is_placing(subtask: str) -> bool:
    """Whether the subtask puts something down at its object ("place it in the bowl", "stack it on ...")."""
    return subtask.strip().lower().startswith(("place", "put", "stack", "drop"))


def grounding_text(subtask: str, ee_pos: Vec3, gripper: float, objects: dict[str, Vec3 | None]) -> str:
    """The line for one question. `objects`: where the gripper should go at each located object (world
    positions, at the height it works at there; None = not in view)."""
    line = f"Gripper {max(_cm(ee_pos[2]), 0.0):.1f} cm above the table, {'open' if gripper > OPEN_ABOVE else 'closed'}."
    name = target_object(subtask)
    if name is None:
        return line
    where = objects.get(name)
    label = name[0].upper() + name[1:]
    if where is None:
        return f"{line} {label}: {NOT_IN_VIEW}."
    return f"{line} {label}: {offset_words(where[0] - ee_pos[0], where[1] - ee_pos[1], where[2] - ee_pos[2])}."


__all__ = ["NOT_IN_VIEW", "grounding_text", "is_placing", "offset_words", "push_phase", "read_line", "target_object"]
