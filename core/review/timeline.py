"""An episode's language aligned with its video: subtask -> plan -> action entries, each with times.

Pure Python. Every action entry (`Chunk`) carries the half-open step range it covers; a step maps to
episode time through the recorded `t` column and to video time through its `frame_index` (frame k of
a video at `fps` is shown from k / fps). Steps without a frame use the nearest earlier frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.language.render import render_entry, render_phrase
from core.language.spec import Chunk
from core.language.verbalize import Verbalization

# Seek a quarter frame into the frame, so that rounding in the player never shows the previous one.
FRAME_OFFSET = 0.25


@dataclass(frozen=True)
class TimelineChunk:
    index: int  # position in the whole episode (0..)
    subtask: int  # index of its subtask
    steps: tuple[int, int] | None  # half-open step range; None when the entry has no step range
    t_start: float | None  # episode time (s) of the first step
    t_end: float | None  # episode time (s) at the end of the range
    seek: float | None  # video time (s) to jump to; None when unknown
    seek_end: float | None  # video time (s) at the end of the range
    action: str  # list form of this entry, e.g. `[1.5, 0.0, -3.0, 1]`
    phrase: str  # phrase form, e.g. "move forward 1.5 cm and down 3.0 cm"


@dataclass(frozen=True)
class TimelineSubtask:
    index: int
    text: str
    plan: str
    steps: tuple[int, int]
    t_start: float | None
    t_end: float | None
    seek: float | None
    chunks: tuple[TimelineChunk, ...]


def seek_time(step: int, frame_index: Sequence[int], fps: float, t: Sequence[float] | None = None) -> float | None:
    """Video time (s) that shows `step`, or None when no step at or near it has a frame.

    Uses the step's own frame, else the nearest earlier step's frame, else the nearest later one.
    Without any frames, falls back to the step's episode time `t[step]` when `t` is given.
    """
    n = len(frame_index)
    if n == 0 or not fps or fps <= 0:
        return _t_at(t, step)
    step = min(max(int(step), 0), n - 1)
    for s in range(step, -1, -1):
        if frame_index[s] >= 0:
            return round((frame_index[s] + FRAME_OFFSET) / fps, 3)
    for s in range(step + 1, n):
        if frame_index[s] >= 0:
            return round((frame_index[s] + FRAME_OFFSET) / fps, 3)
    return _t_at(t, step)


def _t_at(t: Sequence[float] | None, step: int) -> float | None:
    if t is None or len(t) == 0:
        return None
    value = float(t[min(max(int(step), 0), len(t) - 1)])
    return None if value != value else round(value, 3)  # NaN -> None


def _phrase(chunk: Chunk, gripper_before: int) -> str:
    try:
        return render_phrase([chunk], gripper_before)
    except ValueError:  # an entry the phrase form cannot say (should not happen): show the list form
        return render_entry(chunk)


def build_timeline(
    verbalization: Verbalization,
    t: Sequence[float],
    frame_index: Sequence[int],
    fps: float,
) -> list[TimelineSubtask]:
    """Subtasks with their plans and entries, each with episode and video times.

    `t` and `frame_index` are the episode's per-step columns (`frame_index` -1 where no frame); they
    may be shorter than the verbalization claims (a damaged episode): times past the end are clamped.
    """
    out: list[TimelineSubtask] = []
    k = 0
    for i, sub in enumerate(verbalization.subtasks):
        grip = sub.initial_gripper
        chunks: list[TimelineChunk] = []
        for ch in sub.chunks:
            rng = tuple(ch.steps) if ch.steps else None
            chunks.append(
                TimelineChunk(
                    index=k,
                    subtask=i,
                    steps=rng,  # type: ignore[arg-type]
                    t_start=_t_at(t, rng[0]) if rng else None,
                    t_end=_t_at(t, rng[1]) if rng else None,
                    seek=seek_time(rng[0], frame_index, fps, t) if rng else None,
                    seek_end=seek_time(rng[1], frame_index, fps, t) if rng else None,
                    action=render_entry(ch),
                    phrase=_phrase(ch, grip),
                )
            )
            grip = ch.gripper
            k += 1
        start, stop = (int(sub.steps[0]), int(sub.steps[1])) if len(sub.steps) == 2 else (0, 0)
        out.append(
            TimelineSubtask(
                index=i,
                text=sub.text,
                plan=sub.plan,
                steps=(start, stop),
                t_start=_t_at(t, start),
                t_end=_t_at(t, stop),
                seek=seek_time(start, frame_index, fps, t),
                chunks=tuple(chunks),
            )
        )
    return out
