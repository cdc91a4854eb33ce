"""The step writer thread: commits recorded steps to the store in small batches.

A batch is written at least every `flush_interval_s`, so a killed process loses well under a
second of steps. A failed write (database busy or down) keeps the batch and retries; nothing is
dropped.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert, update

from core.store import Store
from core.store.models import Episode
from core.store.models import Step as StepRow
from core.types import ObjectState, SceneState, Step

log = logging.getLogger(__name__)


def _f(v: float | None) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def scene_to_json(scene: SceneState | None) -> dict[str, Any] | None:
    if scene is None:
        return None
    return {
        "held": scene.held,
        "objects": [
            {"name": o.name, "kind": o.kind, "color": o.color, "pos": [float(c) for c in o.pos]}
            | ({"size": float(o.size)} if o.size else {})  # other robots' scenes (the SO-101's smaller blocks)
            for o in scene.objects
        ],
    }


def scene_from_json(data: dict[str, Any] | None) -> SceneState | None:
    """The inverse of `scene_to_json` (a stored step's scene; sizes kept when given)."""
    if not data or "objects" not in data:
        return None
    objs = tuple(ObjectState(o["name"], o["kind"], o.get("color", ""), tuple(o["pos"]), float(o.get("size") or 0.0))
                 for o in data["objects"])
    return SceneState(objs, data.get("held"))


def step_row(episode_id: int, idx: int, t: float, frame_index: int | None, step: Step) -> dict[str, Any]:
    tw = step.twist
    cmd = step.command
    return {
        "episode_id": episode_id,
        "idx": idx,
        "t": float(t),
        "frame_index": frame_index,
        "x": _f(step.ee_pos[0]),
        "y": _f(step.ee_pos[1]),
        "z": _f(step.ee_pos[2]),
        "yaw": _f(step.ee_yaw),
        "gripper": _f(step.gripper),
        "twist": [float(tw.dx), float(tw.dy), float(tw.dz), float(tw.droll), float(tw.dpitch), float(tw.dyaw)],
        "twist_gripper": _f(tw.gripper),
        "cmd_x": _f(cmd.pos[0]),
        "cmd_y": _f(cmd.pos[1]),
        "cmd_z": _f(cmd.pos[2]),
        "cmd_yaw": _f(cmd.yaw),
        "cmd_gripper": _f(cmd.gripper),
        "joints": [float(j) for j in step.joints] if step.joints is not None else None,
        "cmd_joints": [float(j) for j in step.cmd_joints] if step.cmd_joints is not None else None,
        "scene": scene_to_json(step.scene),
    }


class StepWriter:
    """Background thread that drains pending steps into the store every `interval` seconds."""

    def __init__(
        self,
        store: Store,
        episode_id: int,
        interval: float,
        on_flush: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.episode_id = episode_id
        self.interval = interval
        self.on_flush = on_flush  # runs in this thread after each flush (e.g. register new videos)
        self._pending: list[tuple[int, float, int | None, Step]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.written = 0
        self.last_t = 0.0
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name="step-writer", daemon=True)
        self._thread.start()

    def add(self, idx: int, t: float, frame_index: int | None, step: Step) -> None:
        """Queue one step (control thread; O(1), never blocks on the database)."""
        with self._lock:
            self._pending.append((idx, t, frame_index, step))

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def flush(self) -> int:
        """Write everything queued so far; returns the number of steps written."""
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return 0
        rows = [step_row(self.episode_id, idx, t, fi, st) for idx, t, fi, st in batch]
        try:
            with self.store.session() as s:
                s.execute(insert(StepRow), rows)
                s.execute(
                    update(Episode)
                    .where(Episode.id == self.episode_id)
                    .values(num_steps=self.written + len(rows), duration_s=rows[-1]["t"])
                )
        except Exception as exc:
            with self._lock:
                self._pending[:0] = batch  # keep order; retry next time
            self.last_error = f"writing steps failed (will retry): {exc}"
            log.warning(self.last_error)
            return 0
        self.written += len(rows)
        self.last_t = rows[-1]["t"]
        self.last_error = None
        return len(rows)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._flush_once()
        self._flush_once()

    def _flush_once(self) -> None:
        self.flush()
        if self.on_flush is not None:
            try:
                self.on_flush()
            except Exception as exc:
                log.warning("after-flush hook failed: %s", exc)

    def close(self, timeout: float = 30.0) -> None:
        """Stop the thread after a final flush; raises if steps could not be written."""
        self._stop.set()
        self._thread.join(timeout)
        if self.pending:
            self.flush()
        if self.pending:
            raise RuntimeError(f"{self.pending} steps could not be written: {self.last_error}")
