"""A calibrated pinhole camera: world point <-> image pixel, and a pixel's ray onto a horizontal plane.

Pure numpy (no renderer), so grounding and its tests stay fast. The convention is MuJoCo's: the camera
looks along its own -z axis, +x is image right, +y image up; `rotation` is the camera-to-world matrix
(MuJoCo's `cam_xmat`, row-major). Pixels are (u right, v down) in a square `size` x `size` image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.types import Vec3


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
        d = self._r() @ np.array([(u - half) / f, (half - v) / f, -1.0])
        if abs(d[2]) < 1e-9:
            return None
        t = (z - self.position[2]) / d[2]
        if t <= 0:
            return None
        p = np.asarray(self.position, dtype=float) + t * d
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


__all__ = ["PinholeCamera", "mujoco_camera"]
