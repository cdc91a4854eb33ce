"""The grounding line: where the subtask's object is, relative to the gripper, in words.

For adapters trained "grounded" (`DataSpec.grounded`): the plan, action and "done?" questions start with
a line such as

    Gripper 15.5 cm above the table, open. Red block: 8.0 cm forward, 4.5 cm left, 13.3 cm down.

The gripper's height comes from the robot; the object's place from the default model's object locator
(`core.policy.locator`) and the camera's calibration; "down" is to the height the gripper works at there
(a block's grasp height, the release height over a bowl; `core.control.expert.reach_height`). The object
is the last one the subtask names ("grasp the red block" -> red block, "place it in the bowl" -> bowl); a
lift names the block already in the gripper, so it gets no object part. Pure text, no torch.
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


__all__ = ["NOT_IN_VIEW", "grounding_text", "is_placing", "offset_words", "target_object"]
