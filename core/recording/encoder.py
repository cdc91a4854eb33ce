"""The frame encoder thread: takes frames off a queue and writes one mp4 per camera.

The control thread only calls `submit` (a queue put, never blocking). The queue is unbounded on
purpose: frames are never dropped; a backlog is measured (`pending`, `max_backlog`) and reported.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.recording.config import VideoConfig
from core.recording.errors import VideoError
from core.recording.paths import check_name
from core.recording.video import Mp4Writer

log = logging.getLogger(__name__)

_STOP = object()


@dataclass(frozen=True)
class OpenedVideo:
    camera: str
    path: Path
    width: int
    height: int


class FrameEncoder:
    """One background thread encoding every camera of one episode.

    `submit(frame_index, images)` must be called with consecutive frame indices starting at 0.
    """

    def __init__(self, folder: Path, fps: float, config: VideoConfig, backlog_warn: int = 60) -> None:
        self.folder = folder
        self.fps = fps
        self.config = config
        self.backlog_warn = backlog_warn
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        self._writers: dict[str, Mp4Writer] = {}
        self._lock = threading.Lock()
        self._opened: list[OpenedVideo] = []
        self._failed: dict[str, str] = {}
        self._submitted = 0
        self._encoded = 0
        self.max_backlog = 0
        self._warned = False
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name="frame-encoder", daemon=True)
        self._thread.start()

    # ---- control thread -------------------------------------------------------------------
    def submit(self, frame_index: int, images: Mapping[str, np.ndarray]) -> None:
        self._q.put((frame_index, images))
        self._submitted += 1
        backlog = self._submitted - self._encoded
        if backlog > self.max_backlog:
            self.max_backlog = backlog
            if backlog > self.backlog_warn and not self._warned:
                self._warned = True
                log.warning("video encoder is %d frames behind (nothing is dropped)", backlog)

    # ---- any thread -----------------------------------------------------------------------
    @property
    def pending(self) -> int:
        return self._submitted - self._encoded

    @property
    def encoded(self) -> int:
        return self._encoded

    def take_opened(self) -> list[OpenedVideo]:
        """Videos opened since the last call (so their rows can be written to the store)."""
        with self._lock:
            out, self._opened = self._opened, []
        return out

    @property
    def failures(self) -> dict[str, str]:
        with self._lock:
            return dict(self._failed)

    def frames_written(self) -> dict[str, int]:
        with self._lock:
            return {cam: w.frames for cam, w in self._writers.items()}

    def finish(self, timeout: float | None = None) -> dict[str, int]:
        """Encode everything queued, close the files; returns frames written per camera."""
        self._q.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise VideoError(f"video encoder did not finish within {timeout} s ({self.pending} frames pending)")
        return self.frames_written()

    def cancel(self) -> None:
        """Stop as soon as possible, skipping queued frames (used by discard)."""
        self._cancel.set()
        self.finish()

    # ---- encoder thread -------------------------------------------------------------------
    def _writer(self, camera: str, rgb: np.ndarray) -> Mp4Writer | None:
        w = self._writers.get(camera)
        if w is not None or camera in self._failed:
            return w
        check_name(camera, "camera name")
        h, wd = int(rgb.shape[0]), int(rgb.shape[1])
        path = self.folder / f"{camera}.mp4"
        w = Mp4Writer(path, self.fps, wd, h, self.config)
        with self._lock:
            self._writers[camera] = w
            self._opened.append(OpenedVideo(camera, path, wd, h))
        return w

    def _encode(self, frame_index: int, images: Mapping[str, np.ndarray]) -> None:
        for camera, rgb in images.items():
            if camera in self._failed:
                continue
            try:
                w = self._writer(camera, rgb)
                if w is None:
                    continue
                if w.frames != frame_index:
                    raise VideoError(
                        f"camera {camera!r}: got frame {frame_index} but {w.frames} frames were written "
                        "(a camera was missing from some ticks)"
                    )
                w.write(rgb)
            except Exception as exc:  # keep the other cameras and the episode going
                log.error("camera %r: %s", camera, exc)
                with self._lock:
                    self._failed[camera] = str(exc)

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is _STOP:
                break
            if not self._cancel.is_set():
                self._encode(*item)
            self._encoded += 1
        for camera, w in list(self._writers.items()):
            try:
                w.close()
            except Exception as exc:
                log.error("closing %s failed: %s", w.path, exc)
                with self._lock:
                    self._failed.setdefault(camera, str(exc))
