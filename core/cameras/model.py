"""Camera models: world point <-> image pixel, and a pixel's ray onto a horizontal plane.

- `PinholeCamera`: the simulator's cameras (ideal, square, centred). The convention is MuJoCo's: the
  camera looks along its own -z axis, +x is image right, +y image up; `rotation` is the camera-to-world
  matrix (MuJoCo's `cam_xmat`, row-major).
- `CalibratedCamera`: a real camera calibrated with OpenCV (`core.cameras.calibration`): focal lengths,
  principal point, lens distortion, and its pose in the robot's base frame.
Both answer the same questions (`CameraModel`), so the grounding line (`core.policy.grounding`) works with
either. Pixels are (u right, v down) in continuous coordinates: pixel i spans [i, i+1] (OpenCV puts pixel
centres at integers; `CalibratedCamera` converts). Pure numpy (no renderer, no OpenCV), so grounding and its
tests stay fast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from core.types import Vec3


class CameraModel(Protocol):
    """What grounding needs from a camera."""

    @property
    def size(self) -> int: ...  # the (square) image side this model describes

    def resized(self, size: int) -> CameraModel: ...

    def project(self, point: Vec3) -> tuple[float, float]: ...

    def ray_to_plane(self, u: float, v: float, z: float) -> Vec3 | None: ...


@dataclass(frozen=True)
class PinholeCamera:
    position: Vec3
    rotation: tuple[float, ...]  # 9 numbers, camera-to-world, row-major
    fovy_deg: float
    size: int  # square image side in pixels

    @property
    def focal(self) -> float:
        return 0.5 * self.size / math.tan(math.radians(self.fovy_deg) / 2)

    def _r(self) -> np.ndarray:
        return np.asarray(self.rotation, dtype=float).reshape(3, 3)

    def resized(self, size: int) -> PinholeCamera:
        """The same camera rendering a `size` x `size` image (the field of view does not change)."""
        return PinholeCamera(self.position, self.rotation, self.fovy_deg, int(size))

    def project(self, point: Vec3) -> tuple[float, float]:
        """World point -> (u, v) pixel."""
        pc = self._r().T @ (np.asarray(point, dtype=float) - np.asarray(self.position, dtype=float))
        depth = max(-pc[2], 1e-6)
        f, half = self.focal, self.size / 2
        return float(f * pc[0] / depth + half), float(half - f * pc[1] / depth)

    def ray_to_plane(self, u: float, v: float, z: float) -> Vec3 | None:
        """The world point at height `z` seen at pixel (u, v); None if that plane is not in front of the camera."""
        f, half = self.focal, self.size / 2
        return _hit_plane(self.position, self._r() @ np.array([(u - half) / f, (half - v) / f, -1.0]), z)


@dataclass(frozen=True)
class CalibratedCamera:
    """A calibrated real camera. Intrinsics in OpenCV's convention (pixel centres at integers) for square
    `width` x `width` frames (the capture pipeline crops and resizes to squares); `dist` is OpenCV's
    (k1, k2, p1, p2, k3); `rotation` is camera-to-world (row-major) with OpenCV's camera axes (x right, y down,
    z forward), `position` the camera centre, both in the robot's base frame (metres)."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    dist: tuple[float, ...]
    rotation: tuple[float, ...]
    position: Vec3

    @property
    def size(self) -> int:
        return self.width

    def _r(self) -> np.ndarray:
        return np.asarray(self.rotation, dtype=float).reshape(3, 3)

    def resized(self, size: int) -> CalibratedCamera:
        """The same camera delivering `size` x `size` frames (the same crop, scaled)."""
        k = size / self.width
        return replace(self, fx=self.fx * k, fy=self.fy * k, cx=(self.cx + 0.5) * k - 0.5,
                       cy=(self.cy + 0.5) * k - 0.5, width=int(size))

    def _distort(self, x: float, y: float) -> tuple[float, float]:
        k1, k2, p1, p2, k3 = (list(self.dist) + [0.0] * 5)[:5]
        r2 = x * x + y * y
        radial = 1 + k1 * r2 + k2 * r2 * r2 + k3 * r2**3
        return (x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x),
                y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y)

    def project(self, point: Vec3) -> tuple[float, float]:
        pc = self._r().T @ (np.asarray(point, dtype=float) - np.asarray(self.position, dtype=float))
        depth = max(pc[2], 1e-6)
        x, y = self._distort(pc[0] / depth, pc[1] / depth)
        return float(self.fx * x + self.cx + 0.5), float(self.fy * y + self.cy + 0.5)

    def ray_to_plane(self, u: float, v: float, z: float) -> Vec3 | None:
        xd, yd = (u - 0.5 - self.cx) / self.fx, (v - 0.5 - self.cy) / self.fy
        x, y = xd, yd
        for _ in range(20):  # undistort by fixed-point iteration (as cv2.undistortPoints does)
            dx, dy = self._distort(x, y)
            x, y = x + (xd - dx), y + (yd - dy)
        return _hit_plane(self.position, self._r() @ np.array([x, y, 1.0]), z)


def _hit_plane(origin: Vec3, direction: np.ndarray, z: float) -> Vec3 | None:
    """Where the ray from `origin` along `direction` meets the plane at height `z` (None: never, or behind)."""
    if abs(direction[2]) < 1e-9:
        return None
    t = (z - origin[2]) / direction[2]
    if t <= 0:
        return None
    p = np.asarray(origin, dtype=float) + t * direction
    return float(p[0]), float(p[1]), float(z)


def mujoco_camera(model, data, name: str, size: int) -> PinholeCamera:  # noqa: ANN001 - mujoco objects
    """The calibration of camera `name` in a MuJoCo model (after `mj_forward`)."""
    cam = model.camera(name).id
    return PinholeCamera(
        position=tuple(float(x) for x in data.cam_xpos[cam]),
        rotation=tuple(float(x) for x in data.cam_xmat[cam]),
        fovy_deg=float(model.cam_fovy[cam]),
        size=int(size),
    )


__all__ = ["CalibratedCamera", "CameraModel", "PinholeCamera", "mujoco_camera"]
