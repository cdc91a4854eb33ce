"""Camera calibration with a printed checkerboard (OpenCV), stored per camera as JSON.

Intrinsics (focal lengths, principal point, distortion): 10-25 views of the board held at different tilts
and places in the picture (`calibrate_intrinsics`). Extrinsics (where the camera is in the robot's base
frame): one view of the board lying flat on the table with its origin corner at a measured point and its
x axis at a measured angle (`locate`). The result, `<config>/cameras/<name>.json`, loads as a
`core.cameras.model.CalibratedCamera` (`load_camera`), which the grounding line accepts in place of the
simulator's camera. Images are the frames the capture pipeline delivers (square, `core.cameras.capture`).

The board (`Board`, printable with `python -m core.cameras board`): `cols` x `rows` inner corners, squares
of side `square` metres, (cols + 1) x (rows + 1) squares with the bottom-left one black. Its frame: origin at
the bottom-left inner corner, x along a row (to the right on the printout), y up the printout, z out of the
paper. Use one odd and one even count (the default 9 x 6): then only two corners of the board are black,
on the same side, which (with the frame's handedness) fixes which detected corner is the origin; OpenCV
alone may start from the opposite corner.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from core.cameras.model import CalibratedCamera


class CalibrationError(ValueError):
    """Not enough usable views, the board not found, or a malformed calibration file."""


@dataclass(frozen=True)
class Board:
    cols: int = 9
    rows: int = 6
    square: float = 0.025

    def __post_init__(self) -> None:
        if self.cols < 3 or self.rows < 3 or (self.cols + self.rows) % 2 == 0 or not self.square > 0:
            raise CalibrationError("a board needs >= 3 x 3 inner corners, one count odd and one even, square > 0")

    def object_points(self) -> np.ndarray:
        """Inner corners in the board frame, in OpenCV's order (row by row, `cols` per row)."""
        grid = np.zeros((self.rows * self.cols, 3), np.float32)
        grid[:, :2] = np.mgrid[0 : self.cols, 0 : self.rows].T.reshape(-1, 2) * self.square
        return grid

    def image(self, px: int = 80, margin: int = 60) -> np.ndarray:
        """A printable picture (white margin, bottom-left square black), `px` pixels per square."""
        w, h = (self.cols + 1) * px + 2 * margin, (self.rows + 1) * px + 2 * margin
        img = np.full((h, w), 255, np.uint8)
        for i in range(self.cols + 1):
            for j in range(self.rows + 1):
                if (i + j) % 2 == 0:
                    y1 = h - margin - j * px
                    img[y1 - px : y1, margin + i * px : margin + (i + 1) * px] = 0
        return np.stack([img] * 3, axis=-1)


@dataclass(frozen=True)
class Intrinsics:
    fx: float
    fy: float
    cx: float
    cy: float
    dist: tuple[float, ...]
    width: int
    rms_px: float
    views: int


def _gray(rgb: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb


def find_corners(rgb: np.ndarray, board: Board) -> np.ndarray | None:
    """The inner corners (N x 2, OpenCV pixel convention), or None if the board is not fully seen. The order
    is OpenCV's; `locate` settles which end is the origin."""
    import cv2

    gray = _gray(rgb)
    flags = cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE
    ok, corners = cv2.findChessboardCorners(gray, (board.cols, board.rows), flags)
    if not ok:
        return None
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 1e-3)
    win = max(3, min(11, int(np.linalg.norm(corners[0, 0] - corners[1, 0]) / 3)))
    corners = cv2.cornerSubPix(gray, corners, (win, win), (-1, -1), crit)
    return corners.reshape(-1, 2).astype(np.float64)


def calibrate_intrinsics(images: list[np.ndarray], board: Board, *, min_views: int = 8,
                         distortion: bool = True) -> Intrinsics:
    """Focal lengths, principal point and distortion from views of the board (square frames).
    `distortion=False` fits an ideal pinhole (k1..k3, p1, p2 fixed at 0)."""
    import cv2

    if not images:
        raise CalibrationError("no images")
    size = images[0].shape[1]
    if any(im.shape[:2] != (size, size) for im in images):
        raise CalibrationError("calibration images must all be the same square size")
    obj, img = [], []
    for im in images:
        c = find_corners(im, board)
        if c is not None:
            obj.append(board.object_points())
            img.append(c.astype(np.float32).reshape(-1, 1, 2))
    if len(obj) < min_views:
        raise CalibrationError(f"the board was found in {len(obj)} of {len(images)} images; {min_views} are needed")
    flags = 0 if distortion else (cv2.CALIB_FIX_K1 | cv2.CALIB_FIX_K2 | cv2.CALIB_FIX_K3 | cv2.CALIB_ZERO_TANGENT_DIST)
    rms, k, dist, _, _ = cv2.calibrateCamera(obj, img, (size, size), None, None, flags=flags)
    d = tuple(float(v) for v in np.asarray(dist).ravel()[:5])
    return Intrinsics(float(k[0, 0]), float(k[1, 1]), float(k[0, 2]), float(k[1, 2]), d, size, float(rms), len(obj))


def _outer_square_value(gray: np.ndarray, corners: np.ndarray, board: Board, at_end: bool) -> float:
    """Mean brightness of the square diagonally outside the first (or last) detected corner."""
    g = corners.reshape(board.rows, board.cols, 2)
    if at_end:
        g = g[::-1, ::-1]
    c0, ex, ey = g[0, 0], g[0, 1] - g[0, 0], g[1, 0] - g[0, 0]
    centre = c0 - 0.5 * (ex + ey)
    r = max(1, int(0.2 * min(np.linalg.norm(ex), np.linalg.norm(ey))))
    x, y = int(round(centre[0])), int(round(centre[1]))
    patch = gray[max(0, y - r) : y + r + 1, max(0, x - r) : x + r + 1]
    return float(patch.mean()) if patch.size else 255.0


def _solve(obj: np.ndarray, corners: np.ndarray, intr: Intrinsics) -> tuple[np.ndarray, np.ndarray, float]:
    import cv2

    k = np.array([[intr.fx, 0, intr.cx], [0, intr.fy, intr.cy], [0, 0, 1]])
    dist = np.array(intr.dist, dtype=float)
    ok, rvec, tvec = cv2.solvePnP(obj, corners.reshape(-1, 1, 2), k, dist, flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        raise CalibrationError("solvePnP failed")
    proj, _ = cv2.projectPoints(obj, rvec, tvec, k, dist)
    err = float(np.sqrt(np.mean(np.sum((proj.reshape(-1, 2) - corners) ** 2, axis=1))))
    return cv2.Rodrigues(rvec)[0], tvec.reshape(3), err


def locate(rgb: np.ndarray, board: Board, intr: Intrinsics, origin: tuple[float, float, float],
           yaw: float = 0.0) -> tuple[np.ndarray, np.ndarray, float]:
    """The camera's pose in the base frame from one view of the board lying flat on the table, its origin
    corner at `origin` (m, base frame; z = the table top plus the board's thickness) and its x axis at `yaw`
    (rad, from the base's +x toward +y). Returns (camera-to-world rotation, camera position, reprojection
    error in pixels)."""
    corners = find_corners(rgb, board)
    if corners is None:
        raise CalibrationError("the board is not (fully) in view")
    gray = _gray(rgb)
    if _outer_square_value(gray, corners, board, at_end=True) < _outer_square_value(gray, corners, board, False):
        corners = corners[::-1]  # OpenCV started at the far end: the origin's outer square is the black one
    obj = board.object_points()
    r_bc, t_bc, err = _solve(obj, corners, intr)  # board -> camera
    if (-r_bc.T @ t_bc)[2] < 0:  # the camera seen below the board: OpenCV went up from the other black corner
        corners = corners.reshape(board.rows, board.cols, 2)[::-1].reshape(-1, 2)
        r_bc, t_bc, err = _solve(obj, corners, intr)
    c, s = math.cos(yaw), math.sin(yaw)
    r_wb = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    r_wc = r_wb @ r_bc.T  # camera -> world
    position = np.asarray(origin, dtype=float) + r_wb @ (-r_bc.T @ t_bc)
    return r_wc, position, err


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def camera_path(config_dir: Path, name: str) -> Path:
    """`<config>/cameras/<name>.json`; the name is one path component of letters, digits, `_` and `-`."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise CalibrationError(f"invalid camera name {name!r}: use letters, digits, '_', '-' (max 64)")
    return Path(config_dir) / "cameras" / f"{name}.json"


def save_camera(path: Path, name: str, intr: Intrinsics, pose: tuple[np.ndarray, np.ndarray, float] | None,
                board: Board, note: str = "") -> Path:
    data = {"camera": name, "created": datetime.now(UTC).isoformat(timespec="seconds"), "board": asdict(board),
            "intrinsics": asdict(intr), "note": note, "extrinsics": None}
    if pose is not None:
        r, p, err = pose
        data["extrinsics"] = {"rotation_cam_to_base": np.asarray(r).ravel().tolist(),
                              "position": np.asarray(p).tolist(), "reprojection_px": err}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    return path


def read(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text())
        Intrinsics(**data["intrinsics"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CalibrationError(f"{path} is not a camera calibration: {exc}") from exc
    return data


def load_camera(path: Path) -> CalibratedCamera:
    """A stored calibration as the camera model grounding uses (it needs the extrinsics too)."""
    data = read(path)
    intr = Intrinsics(**data["intrinsics"])
    ext = data.get("extrinsics")
    if not ext:
        raise CalibrationError(f"{path} has intrinsics only: locate the camera (python -m core.cameras locate ...)")
    return CalibratedCamera(intr.fx, intr.fy, intr.cx, intr.cy, intr.width, tuple(intr.dist),
                            tuple(float(v) for v in ext["rotation_cam_to_base"]),
                            tuple(float(v) for v in ext["position"]))


__all__ = ["Board", "CalibrationError", "Intrinsics", "calibrate_intrinsics", "camera_path", "find_corners",
           "load_camera", "locate", "read", "save_camera"]
