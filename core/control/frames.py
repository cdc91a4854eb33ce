"""Latest camera frames, rendered once by the control loop and fanned out to any number of viewers."""

from __future__ import annotations

import threading

import cv2
import numpy as np

from core.types import Observation


class FrameHub:
    """Holds the newest frame per camera; JPEG-encodes each frame at most once, on first request."""

    def __init__(self, jpeg_quality: int = 85) -> None:
        self._cond = threading.Condition()
        self._frames: dict[str, np.ndarray] = {}
        self._seq = 0
        self._jpeg: dict[str, tuple[int, bytes]] = {}
        self._quality = jpeg_quality

    @property
    def seq(self) -> int:
        return self._seq

    @property
    def cameras(self) -> list[str]:
        return list(self._frames)

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

    def jpeg(self, camera: str) -> bytes | None:
        with self._cond:
            seq, frame = self._seq, self._frames.get(camera)
            cached = self._jpeg.get(camera)
        if frame is None:
            return None
        if cached and cached[0] == seq:
            return cached[1]
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, self._quality])
        if not ok:
            return None
        data = buf.tobytes()
        with self._cond:
            self._jpeg[camera] = (seq, data)
        return data
