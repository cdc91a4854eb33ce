"""Latest camera frames, rendered once by the control loop and fanned out to any number of viewers.

Which cameras are drawn: rendering is most of a tick's cost on a CPU (each camera ~6 ms of llvmpipe
work at 224 px), so the loop asks the hub every tick (`wanted`) and a robot that can skip a camera
(`core.robot.tabletop.TabletopSim.want_cameras`) draws only those: the primary camera (the first one,
the one the model and scene questions read) always; every other camera while something holds it (an
open MJPEG stream, a recording: `hold`), for a short while after a single fetch (`want`), or while the
autonomous driver looks through it. A robot that cannot skip cameras (real cameras) delivers all of them.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import cv2
import numpy as np

from core.types import Observation

WANT_S = 2.0  # a single frame fetch keeps its camera drawn this long (a page polling /frame/ stays served)


class FrameHub:
    """Holds the newest frame per camera; JPEG-encodes each frame at most once, on first request."""

    def __init__(self, jpeg_quality: int = 85) -> None:
        self._cond = threading.Condition()
        self._frames: dict[str, np.ndarray] = {}
        self._seq = 0
        self._jpeg: dict[str, tuple[np.ndarray, bytes]] = {}  # camera -> (the frame encoded, its JPEG)
        self._quality = jpeg_quality
        self._all: tuple[str, ...] = ()
        self._holds: Counter[str] = Counter()
        self._until: dict[str, float] = {}

    @property
    def seq(self) -> int:
        return self._seq

    @property
    def cameras(self) -> list[str]:
        """Every camera of the robot (also those not drawn at the moment)."""
        if self._all:
            return list(self._all)
        return list(self._frames)

    def set_cameras(self, cameras: Iterable[str]) -> None:
        """The robot's cameras, primary first (the control loop sets them when the robot starts)."""
        self._all = tuple(cameras)

    # ---- which cameras to draw ------------------------------------------------------------------
    @contextmanager
    def hold(self, *cameras: str) -> Iterator[None]:
        """Keep `cameras` drawn every tick while the block runs (an open stream, a recording)."""
        with self._cond:
            self._holds.update(cameras)
        try:
            yield
        finally:
            with self._cond:
                self._holds.subtract(cameras)
                self._holds = +self._holds  # drop zero counts

    def acquire(self, *cameras: str) -> None:
        """`hold` without a block: until `release` with the same cameras."""
        with self._cond:
            self._holds.update(cameras)

    def release(self, *cameras: str) -> None:
        with self._cond:
            self._holds.subtract(cameras)
            self._holds = +self._holds

    def want(self, camera: str, seconds: float = WANT_S) -> None:
        """Draw `camera` for the next `seconds` (a single fetch)."""
        with self._cond:
            self._until[camera] = max(self._until.get(camera, 0.0), time.monotonic() + seconds)

    def wanted(self, extra: Iterable[str] = ()) -> tuple[str, ...] | None:
        """The cameras to draw this tick, in the robot's order; None: all (cameras not known yet)."""
        if not self._all:
            return None
        now = time.monotonic()
        with self._cond:
            want = {c for c, n in self._holds.items() if n > 0}
            want |= {c for c, t in self._until.items() if t > now}
        want |= set(extra)
        want.add(self._all[0])
        return tuple(c for c in self._all if c in want)

    # ---- frames ---------------------------------------------------------------------------------
    def publish(self, obs: Observation) -> None:
        with self._cond:
            self._frames = dict(obs.images)
            self._seq += 1
            self._cond.notify_all()

    def latest(self, camera: str) -> np.ndarray | None:
        return self._frames.get(camera)

    def wait_newer(self, seq: int, timeout: float = 1.0) -> int:
        """Block until a frame newer than `seq` exists (or timeout); returns the current seq."""
        with self._cond:
            self._cond.wait_for(lambda: self._seq > seq, timeout=timeout)
            return self._seq

    def wait_for(self, *cameras: str, timeout: float = 1.0) -> bool:
        """Block until the newest published frames include every one of `cameras` (False on timeout). Ask
        for them first (`want`, `hold`): a camera nobody asked for may never be drawn."""
        with self._cond:
            return self._cond.wait_for(lambda: all(c in self._frames for c in cameras), timeout=timeout)

    def jpeg(self, camera: str) -> bytes | None:
        """The newest frame of `camera` as JPEG; encoded once per frame (a robot holding still publishes the
        same frame again every tick: it is not encoded again)."""
        with self._cond:
            frame = self._frames.get(camera)
            cached = self._jpeg.get(camera)
        if frame is None:
            return None
        if cached and cached[0] is frame:
            return cached[1]
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, self._quality])
        if not ok:
            return None
        data = buf.tobytes()
        with self._cond:
            self._jpeg[camera] = (frame, data)
        return data
