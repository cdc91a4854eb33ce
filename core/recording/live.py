"""Recording as the operator sees it: start/stop/discard, the verbalization growing while recording,
and the episode's verbalization stored (version 1) the moment it is saved.

`LiveRecording.on_tick` is the control loop's tick listener: it forwards to the recorder and, while
recording, feeds the live `Verbalizer`; both return at once (no I/O on the control thread).
With `frames` (the loop's `core.control.frames.FrameHub`), the cameras an episode records are kept drawn
while it records, and the episode starts once the newest frames carry all of them (the loop draws a camera
nobody watches only on demand).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from core.language.chunking import Verbalizer
from core.language.render import render_list
from core.language.spec import SPEC_VERSION
from core.language.verbalize import Verbalization, verbalize
from core.recording.recorder import Recorder, SaveResult
from core.store.db import Store
from core.store.verbalizations import add_verbalization
from core.types import Observation, Step

log = logging.getLogger(__name__)
MAX_LIVE_STEPS = 30 * 60 * 30  # 30 min at 30 Hz kept in memory for the final verbalization


@dataclass(frozen=True)
class Saved:
    result: SaveResult
    verbalization: Verbalization | None
    note: str


class LiveRecording:
    def __init__(self, store: Store, recorder: Recorder, frames: Any = None) -> None:
        self.store, self.recorder = store, recorder
        self.frames = frames  # the loop's FrameHub (None: every observation carries every camera)
        self._held: tuple[str, ...] = ()
        self._lock = threading.Lock()
        self._steps: list[Step] = []
        self._verbalizer: Verbalizer | None = None
        self._instruction = ""
        self.last: Saved | None = None

    # ---- control thread -------------------------------------------------------------------------
    def on_tick(self, obs: Observation | None, step: Step) -> None:
        self.recorder.on_tick(obs, step)
        if self._verbalizer is None:
            return
        with self._lock:
            if self._verbalizer is not None and len(self._steps) < MAX_LIVE_STEPS:
                self._steps.append(step)
                self._verbalizer.push(step)

    # ---- operator actions -----------------------------------------------------------------------
    def start(self, instruction: str, **kw) -> int:
        cameras = tuple(kw.get("cameras") or ())
        if self.frames is not None and cameras and not self.recording:
            self._hold(cameras)
            if not self.frames.wait_for(*cameras, timeout=2.0):
                log.warning("recording starts before every camera delivered a frame: %s", ", ".join(cameras))
        try:
            episode = self.recorder.start(instruction, **kw)
        except BaseException:
            if not self.recording:
                self._unhold()
            raise
        with self._lock:
            self._steps, self._verbalizer, self._instruction = [], Verbalizer(), instruction.strip()
        return episode

    def _hold(self, cameras: tuple[str, ...]) -> None:
        self._unhold()
        self.frames.acquire(*cameras)
        self._held = cameras

    def _unhold(self) -> None:
        held, self._held = self._held, ()
        if held and self.frames is not None:
            self.frames.release(*held)

    def stop(self, success: bool | None) -> Saved:
        with self._lock:
            steps, instruction = self._steps, self._instruction
            self._verbalizer, self._steps = None, []
        try:
            result = self.recorder.stop(success)
        finally:
            self._unhold()
        v, note = None, ""
        try:
            v = verbalize(steps, instruction)
            add_verbalization(self.store, result.episode_id, SPEC_VERSION, v.to_dict())
        except Exception as exc:  # the episode is saved either way; say why there is no language
            log.exception("verbalization of episode %s failed", result.episode_id)
            note = f"saved, but not verbalized: {exc}"
        self.last = Saved(result, v, note)
        return self.last

    def discard(self) -> None:
        with self._lock:
            self._verbalizer, self._steps = None, []
        try:
            self.recorder.discard()
        finally:
            self._unhold()

    @property
    def recording(self) -> bool:
        return self.recorder.recording

    def live_text(self) -> str:
        """The action entries closed so far (plus the open one), as the model would read them."""
        with self._lock:
            vz = self._verbalizer
            if vz is None:
                return ""
            chunks = list(vz.chunks)
            open_chunk = vz.preview()
        entries = chunks + ([open_chunk] if open_chunk is not None else [])
        if not entries:
            return "(waiting for motion)"
        tail = entries[-24:]
        prefix = f"... {len(entries) - len(tail)} earlier entries\n" if len(entries) > len(tail) else ""
        return f"{prefix}Actions: {render_list(tail)}" + ("  ← open" if open_chunk is not None else "")
