"""An episode's verbalization as LeRobot 0.6.1's language columns (`lerobot.datasets.language`).

`language_persistent` holds, on every frame of an episode, the same list of rows
`{role, content, style, timestamp, camera, tool_calls}`; a row is active from its `timestamp` until the
next row of its style. LeRobot routes the styles we write (`subtask`, `plan`, `motion`) to this column;
`language_events` (rows only on the frame where something happened: interjections, VQA, speech) gets
an empty list on every frame.

- `subtask`: the subtask text, from the frame where the subtask starts;
- `plan`: that subtask's motion plan ("move right and forward, then down, ..."), same frame;
- `motion`: the action entries that start on a frame, in the action language's list form
  (`[[1.2, -2.5, 0.0, 1]]`: cm along x/y/z in the robot frame, gripper 1 open / 0 closed).

Timestamps are frame timestamps (`frame / fps` as float32), so LeRobot's `active_at` / `emitted_at`
resolvers find them. Two rows of one style never share a timestamp (LeRobot's resolvers refuse that):
entries starting on the same frame share one motion row; of subtasks starting on the same frame only
the last is active on any frame, and only it is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from core.language.render import render_list
from core.language.spec import Chunk
from core.language.verbalize import Verbalization

LANGUAGE_PERSISTENT = "language_persistent"
LANGUAGE_EVENTS = "language_events"
STYLES = ("subtask", "plan", "motion")
ROLE = "assistant"


def _row_type(with_timestamp: bool) -> pa.StructType:
    fields = [
        pa.field("role", pa.string(), nullable=False),
        pa.field("content", pa.string()),
        pa.field("style", pa.string()),
    ]
    if with_timestamp:
        fields.append(pa.field("timestamp", pa.float32(), nullable=False))
    fields += [pa.field("camera", pa.string()), pa.field("tool_calls", pa.list_(pa.json_()))]
    return pa.struct(fields)


PERSISTENT_TYPE = pa.list_(_row_type(True))
EVENTS_TYPE = pa.list_(_row_type(False))


def feature_info() -> dict[str, dict[str, Any]]:
    """The `info.json` feature entries of both columns (LeRobot's `language_feature_info`)."""
    return {
        LANGUAGE_PERSISTENT: {"dtype": "language", "shape": [1], "names": None},
        LANGUAGE_EVENTS: {"dtype": "language", "shape": [1], "names": None},
    }


def frame_time(frame: int, fps: float) -> float:
    """The float32 value LeRobot stores in the `timestamp` column for `frame`."""
    return float(np.float32(frame / fps))


def _frame_of_step(step: int, step_frames: Sequence[int]) -> int | None:
    """The exported frame of recorded step `step`: the first exported step at or after it."""
    for frame, s in enumerate(step_frames):
        if s >= step:
            return frame
    return None


def persistent_rows(v: Verbalization, step_frames: Sequence[int], fps: float) -> list[dict[str, Any]]:
    """The episode's persistent rows, sorted as LeRobot's writer sorts them (timestamp, style, role).

    `step_frames[k]` is the recorded step index of exported frame k (frames are a subset of the steps
    when some steps have no video frame).
    """
    subtasks: dict[int, tuple[str, str]] = {}
    motion: dict[int, list[Chunk]] = {}
    for sub in v.subtasks:
        start = _frame_of_step(sub.steps[0], step_frames)
        if start is None:
            continue
        subtasks[start] = (sub.text, sub.plan)  # a later subtask on the same frame supersedes
        for c in sub.chunks:
            at = _frame_of_step(c.steps[0], step_frames) if c.steps else start
            if at is not None:
                motion.setdefault(at, []).append(c)
    rows: list[dict[str, Any]] = []
    for frame, (text, plan) in subtasks.items():
        rows.append(_row(text, "subtask", frame_time(frame, fps)))
        rows.append(_row(plan, "plan", frame_time(frame, fps)))
    for frame, chunks in motion.items():
        rows.append(_row(render_list(chunks), "motion", frame_time(frame, fps)))
    rows.sort(key=lambda r: (r["timestamp"], r["style"], r["role"]))
    return rows


def _row(content: str, style: str, timestamp: float) -> dict[str, Any]:
    return {"role": ROLE, "content": content, "style": style, "timestamp": timestamp, "camera": None,
            "tool_calls": None}


def _struct_rows(rows: list[dict[str, Any]], with_timestamp: bool) -> pa.StructArray:
    """Rows as a struct array; built field by field since pyarrow cannot convert Python values to the
    JSON type of `tool_calls` (we never write tool calls: all null)."""
    n = len(rows)
    typ = _row_type(with_timestamp)
    arrays = []
    for f in typ:
        if f.name == "tool_calls":
            arrays.append(pa.nulls(n, type=f.type))
        else:
            arrays.append(pa.array([r.get(f.name) for r in rows], type=f.type))
    return pa.StructArray.from_arrays(arrays, fields=list(typ))


def columns(rows: list[dict[str, Any]], n_frames: int) -> dict[str, pa.Array]:
    """Both columns for one episode of `n_frames` frames: `rows` on every frame, no events."""
    values = _struct_rows(rows * n_frames, True)
    offsets = pa.array([i * len(rows) for i in range(n_frames + 1)], type=pa.int32())
    return {
        LANGUAGE_PERSISTENT: pa.ListArray.from_arrays(offsets, values, type=PERSISTENT_TYPE),
        LANGUAGE_EVENTS: pa.ListArray.from_arrays(
            pa.array([0] * (n_frames + 1), type=pa.int32()), _struct_rows([], False), type=EVENTS_TYPE
        ),
    }


def active(rows: Sequence[dict[str, Any]], style: str, t: float) -> dict[str, Any] | None:
    """The row of `style` active at `t` (LeRobot's `active_at`): the latest one with timestamp <= t."""
    best = None
    for r in rows:
        if r.get("style") == style and float(r["timestamp"]) <= t and (
            best is None or float(r["timestamp"]) >= float(best["timestamp"])
        ):
            best = r
    return best
