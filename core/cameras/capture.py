"""Real cameras through OpenCV: a background reader per camera, the latest frame on demand.

`--camera NAME=DEVICE` (repeatable): DEVICE is a V4L2 path (/dev/video0), an index (0), or a video file
(played in a loop at its own rate: how the tests and benchmarks stand in for a camera). Each frame is
centre-cropped to a square and resized to the app's image size, like the simulator's cameras; a camera's
calibration (`core.cameras.calibration`) is taken through the same pipeline, so it describes the frames
the app actually gets.

A camera that delivers nothing for `STALE_S` reports it in `problem` (the SO-101 driver turns that into a
fault, so the control loop latches its e-stop: device loss stops the robot).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

STALE_S = 1.0
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")


class CameraError(RuntimeError):
    """A camera could not be opened or stopped delivering frames."""


def parse_camera_args(values: list[str]) -> list[tuple[str, str]]:
    """["front=/dev/video0", ...] -> [("front", "/dev/video0"), ...], names checked and unique."""
    out: list[tuple[str, str]] = []
    for v in values:
        name, sep, device = v.partition("=")
        name, device = name.strip(), device.strip()
        if not sep or not device:
            raise ValueError(f"--camera {v!r}: expected NAME=DEVICE, e.g. front=/dev/video0")
        if not _NAME.fullmatch(name):
            raise ValueError(f"--camera {v!r}: a camera name is a letter then letters, digits, '_' or '-'")
        if name in dict(out):
            raise ValueError(f"--camera {name!r} given twice")
        out.append((name, device))
    return out


def square(frame: np.ndarray, size: int) -> np.ndarray:
    """Centre crop to a square, resize to `size` x `size` (RGB uint8 in, RGB uint8 out)."""
    import cv2

    h, w = frame.shape[:2]
    s = min(h, w)
    y0, x0 = (h - s) // 2, (w - s) // 2
    crop = frame[y0 : y0 + s, x0 : x0 + s]
    if s == size:
        return np.ascontiguousarray(crop)
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA if s > size else cv2.INTER_LINEAR)


class CameraCapture:
    """One OpenCV capture read continuously on its own thread; `latest()` never blocks."""

    def __init__(self, name: str, device: str, size: int = 224) -> None:
        self.name, self.device, self.size = name, device, int(size)
        self._is_file = Path(device).is_file()
        self._cap = None
        self._frame: np.ndarray | None = None
        self._t_frame = 0.0
        self._frames = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._error = ""

    def open(self) -> CameraCapture:
        import cv2

        source: int | str = int(self.device) if self.device.isdigit() else self.device
        cap = cv2.VideoCapture(source)
        if not cap.isOpened():
            raise CameraError(f"camera {self.name!r}: cannot open {self.device!r}")
        self._cap = cap
        fps = cap.get(cv2.CAP_PROP_FPS) if self._is_file else 0.0
        self._period = 1.0 / fps if fps and fps > 0 else 0.0
        self._thread = threading.Thread(target=self._run, name=f"camera-{self.name}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 5.0
        while self._frame is None and time.monotonic() < deadline and not self._error:
            time.sleep(0.01)
        if self._frame is None:
            self.close()
            raise CameraError(f"camera {self.name!r} ({self.device}) delivered no frame: {self._error or 'timeout'}")
        return self

    def _run(self) -> None:
        import cv2

        cap = self._cap
        next_t = time.monotonic()
        while not self._stop.is_set():
            ok, bgr = cap.read()
            if not ok and self._is_file:  # a video file stands in for a camera: play it again
                cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, bgr = cap.read()
            if not ok or bgr is None:
                self._error = "read failed"
                time.sleep(0.05)
                continue
            frame = square(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), self.size)
            with self._lock:
                self._frame, self._t_frame = frame, time.monotonic()
                self._frames += 1
                self._error = ""
            if self._period:
                next_t += self._period
                self._stop.wait(max(0.0, next_t - time.monotonic()))

    def latest(self) -> np.ndarray | None:
        """The newest frame (None before the first)."""
        with self._lock:
            return self._frame

    @property
    def frames(self) -> int:
        return self._frames

    @property
    def problem(self) -> str:
        """'' while frames arrive; otherwise what is wrong."""
        age = time.monotonic() - self._t_frame if self._t_frame else None
        if age is None or age > STALE_S:
            return f"camera {self.name!r} ({self.device}) delivered no frame for {STALE_S:.0f} s" + (
                f" ({self._error})" if self._error else "")
        return ""

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def open_cameras(specs: tuple[tuple[str, str], ...] | list[tuple[str, str]], size: int) -> dict[str, CameraCapture]:
    """Open every camera or none (the ones already opened are closed again on failure)."""
    opened: dict[str, CameraCapture] = {}
    try:
        for name, device in specs:
            opened[name] = CameraCapture(name, device, size).open()
    except Exception:
        for cam in opened.values():
            cam.close()
        raise
    return opened


__all__ = ["CameraCapture", "CameraError", "STALE_S", "open_cameras", "parse_camera_args", "square"]
