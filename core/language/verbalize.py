"""Episode -> language: subtasks, a motion plan per subtask, and action entries (`Verbalization`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.language.chunking import chunk_steps
from core.language.plan import motion_plan
from core.language.render import render_block, render_list, render_phrase
from core.language.segment import segment
from core.language.spec import (
    GRIPPER_OPEN,
    LONG_AXIS_CUT_CM,
    LONG_TOTAL_CUT_CM,
    MAX_CHUNKS,
    SPEC_VERSION,
    Chunk,
)
from core.types import Step


@dataclass(frozen=True)
class Subtask:
    """One subtask of an episode. `steps` is the half-open step range it covers."""

    text: str
    plan: str
    chunks: tuple[Chunk, ...]
    steps: tuple[int, int]
    initial_gripper: int = GRIPPER_OPEN  # gripper state when the subtask starts

    def actions(self) -> str:
        """The list form, e.g. `[[0.0, 4.2, 0.0, 1], [0.0, 0.0, 0.0, 0]]`."""
        return render_list(self.chunks)

    def phrase(self) -> str:
        """The phrase form, e.g. "move left 4.2 cm, then close the gripper"."""
        return render_phrase(self.chunks, self.initial_gripper)

    def block(self) -> str:
        """`Subtask: ...\\nPlan: ...\\nActions: [[...]]`"""
        return render_block(self.text, self.plan, self.chunks)


@dataclass(frozen=True)
class Verbalization:
    """An episode written in the action language (spec `spec_version`)."""

    spec_version: str
    instruction: str | None
    subtasks: tuple[Subtask, ...]
    yaw: bool = False
    n_steps: int = 0

    @property
    def chunks(self) -> tuple[Chunk, ...]:
        return tuple(c for s in self.subtasks for c in s.chunks)

    def blocks(self) -> list[str]:
        return [s.block() for s in self.subtasks]

    def text(self) -> str:
        return "\n\n".join(self.blocks())

    def corrected(self, index: int, *, text: str | None = None, plan: str | None = None) -> Verbalization:
        """A copy with subtask `index`'s text and/or plan replaced (user corrections)."""
        if not 0 <= index < len(self.subtasks):
            raise IndexError(f"no subtask {index}; the episode has {len(self.subtasks)}")
        old = self.subtasks[index]
        new = dataclasses.replace(
            old,
            text=old.text if text is None else _clean_label(text, "subtask"),
            plan=old.plan if plan is None else _clean_label(plan, "plan"),
        )
        subtasks = self.subtasks[:index] + (new,) + self.subtasks[index + 1 :]
        return dataclasses.replace(self, subtasks=subtasks)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for the store)."""
        return {
            "spec_version": self.spec_version,
            "instruction": self.instruction,
            "yaw": self.yaw,
            "n_steps": self.n_steps,
            "subtasks": [
                {
                    "text": s.text,
                    "plan": s.plan,
                    "steps": list(s.steps),
                    "initial_gripper": s.initial_gripper,
                    "chunks": [{"action": c.as_list(), "steps": list(c.steps) if c.steps else None} for c in s.chunks],
                }
                for s in self.subtasks
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verbalization:
        """Inverse of `to_dict`; raises ValueError/KeyError/TypeError on malformed data."""
        subtasks = []
        for s in data["subtasks"]:
            chunks = []
            for c in s["chunks"]:
                a = c["action"]
                if len(a) not in (4, 5):
                    raise ValueError(f"an action entry has 4 or 5 numbers, got {a!r}")
                rng = c.get("steps")
                chunks.append(
                    Chunk(a[0], a[1], a[2], a[3], a[4] if len(a) == 5 else None, tuple(rng) if rng else None)
                )
            subtasks.append(
                Subtask(s["text"], s["plan"], tuple(chunks), tuple(s["steps"]), s.get("initial_gripper", GRIPPER_OPEN))
            )
        return cls(data["spec_version"], data.get("instruction"), tuple(subtasks), data.get("yaw", False),
                   data.get("n_steps", 0))


def _first_step(chunks: list[Chunk], default: int) -> int:
    return chunks[0].steps[0] if chunks and chunks[0].steps else default


def _clean_label(value: str, what: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise ValueError(f"the {what} text cannot be empty")
    if "\n" in value or len(value) > 500:
        raise ValueError(f"the {what} text must be one line of at most 500 characters")
    return value


def verbalize(steps: Sequence[Step], instruction: str | None = None, *, yaw: bool = False,
              long_entries: bool = False) -> Verbalization:
    """Write an episode in the action language.

    Subtasks come from gripper events and the scene state of the steps (simulation), or from the
    instruction when steps carry no scene. Entries are chunked per subtask (see `chunking`); with
    `long_entries`, at `spec.LONG_AXIS_CUT_CM` instead of the paper's cuts.
    """
    steps = list(steps)
    segs = segment(steps, instruction, yaw=yaw)
    cuts = frozenset(s.stop for s in segs[:-1])
    sizes = {"axis_cut": LONG_AXIS_CUT_CM, "total_cut": LONG_TOTAL_CUT_CM} if long_entries else {}
    chunks = chunk_steps(steps, yaw=yaw, cuts=cuts, **sizes)
    subtasks: list[Subtask] = []
    grip = GRIPPER_OPEN
    k = 0
    for i, seg in enumerate(segs):
        stop = seg.stop if i + 1 < len(segs) else len(steps)  # the last one takes anything left
        mine: list[Chunk] = []
        while k < len(chunks) and chunks[k].steps is not None and chunks[k].steps[0] < stop:
            mine.append(chunks[k])
            k += 1
        # a subtask longer than the parser accepts becomes several blocks with the same text
        parts = [mine[j : j + MAX_CHUNKS] for j in range(0, len(mine), MAX_CHUNKS)]
        for j, part in enumerate(parts):
            start = seg.start if j == 0 else _first_step(part, seg.start)
            end = seg.stop if j == len(parts) - 1 else _first_step(parts[j + 1], seg.stop)
            subtasks.append(Subtask(seg.text, motion_plan(part, grip), tuple(part), (start, end), grip))
            grip = part[-1].gripper
    return Verbalization(SPEC_VERSION, instruction, tuple(subtasks), yaw, len(steps))
