"""Text renderings of action entries: the paper's list form, a phrase form for people, the step block."""

from __future__ import annotations

from collections.abc import Sequence

from core.language.plan import AXIS_WORDS
from core.language.spec import GRIPPER_OPEN, Chunk


def _num(v: float) -> str:
    return f"{v + 0.0:.1f}"  # + 0.0 turns -0.0 into 0.0


def render_entry(ch: Chunk) -> str:
    vals = [_num(ch.dx), _num(ch.dy), _num(ch.dz), str(ch.gripper)]
    if ch.yaw is not None:
        vals.append(_num(ch.yaw))
    return "[" + ", ".join(vals) + "]"


def render_list(chunks: Sequence[Chunk]) -> str:
    """`[[0.0, 4.2, 0.0, 1], [1.5, 0.0, -3.0, 1], [0.0, 0.0, 0.0, 0]]`"""
    return "[" + ", ".join(render_entry(c) for c in chunks) + "]"


def _motion(ch: Chunk) -> str:
    parts = []
    for a, v in enumerate(ch.translation):
        if _num(v) != "0.0":
            parts.append(f"{AXIS_WORDS[a][0 if v > 0 else 1]} {_num(abs(v))} cm")
    rotate = ""
    if ch.yaw is not None and _num(ch.yaw) != "0.0":
        rotate = f"rotate {'left' if ch.yaw > 0 else 'right'} {_num(abs(ch.yaw))} degrees"
    if not parts:
        return rotate
    move = "move " + (parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1])
    return f"{move} and {rotate}" if rotate else move


def render_phrase(chunks: Sequence[Chunk], initial_gripper: int = GRIPPER_OPEN) -> str:
    """"move forward 1.5 cm and down 3.0 cm, then close the gripper".

    Each entry is one clause; the gripper is mentioned when it changes (relative to `initial_gripper`
    for the first entry). `parse_phrase` reads this back with the same `initial_gripper`.
    """
    clauses = []
    grip = initial_gripper
    for i, ch in enumerate(chunks):
        motion = _motion(ch)
        if ch.gripper != grip:
            state = "open" if ch.gripper == GRIPPER_OPEN else "close"
            if i == 0 and motion:  # a state at the start, not an action
                word = "open" if ch.gripper == GRIPPER_OPEN else "closed"
                clauses.append(f"with the gripper {word}, {motion}")
            else:
                clauses.append(f"{state} the gripper" + (f" and {motion}" if motion else ""))
            grip = ch.gripper
        else:
            clauses.append(motion or "stay still")
    return ", then ".join(clauses)


def render_block(subtask: str, plan: str, chunks: Sequence[Chunk]) -> str:
    """The step block as the model reads and writes it (DESIGN.md, "The action language")."""
    return f"Subtask: {subtask}\nPlan: {plan}\nActions: {render_list(chunks)}"
