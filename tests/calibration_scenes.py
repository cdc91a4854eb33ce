"""Checkerboard views rendered from the simulated SO-101's scene, for the camera calibration tests.

The board is built from geoms (a white plate, black squares; bottom-left black, as `Board.image` prints
it) on a mocap body, so its pose is exact; the front camera's true calibration comes from MuJoCo.
"""

from __future__ import annotations

import math
import os

os.environ.setdefault("MUJOCO_GL", "egl")

import mujoco  # noqa: E402
import numpy as np  # noqa: E402

from core.cameras.calibration import Board  # noqa: E402
from core.robot.so101.scene import so101_scene_xml  # noqa: E402


def board_xml(board: Board, thick: float = 0.002) -> str:
    s = board.square
    w, h = (board.cols + 1) * s, (board.rows + 1) * s
    m = s  # white margin
    parts = [f'<geom type="box" size="{w / 2 + m} {h / 2 + m} {thick / 2}" pos="{w / 2 - s} {h / 2 - s} {-thick / 2}" '
             f'rgba="1 1 1 1" contype="0" conaffinity="0"/>']
    for i in range(board.cols + 1):
        for j in range(board.rows + 1):
            if (i + j) % 2 == 0:  # squares centred at (i - 0.5) s, (j - 0.5) s: inner corner (0, 0) at the origin
                parts.append(f'<geom type="box" size="{s / 2} {s / 2} 0.0002" pos="{(i - 0.5) * s} {(j - 0.5) * s} 0.0001" '
                             f'rgba="0.02 0.02 0.02 1" contype="0" conaffinity="0"/>')
    return f'<body name="board" mocap="true" pos="0 0 -1">{"".join(parts)}</body>'


class BoardScene:
    """The SO-101 tabletop with a movable checkerboard, rendered from its front camera at `size` px."""

    def __init__(self, board: Board, size: int = 448) -> None:
        xml, assets = so101_scene_xml(size)
        xml = xml.replace("</worldbody>", board_xml(board) + "</worldbody>")
        self.model = mujoco.MjModel.from_xml_string(xml, assets)
        self.data = mujoco.MjData(self.model)
        self.board, self.size = board, size
        m = self.model
        m.body_pos[m.body("bowl").id][:2] = (0.3, 0.3)  # the bowl and plate aside, the arm not drawn
        m.body_pos[m.body("plate").id][:2] = (0.3, -0.3)
        self.option = mujoco.MjvOption()
        self.option.geomgroup[2] = 0  # the arm's meshes
        self._mocap = m.body_mocapid[m.body("board").id]
        self.renderer = mujoco.Renderer(m, size, size)
        self.renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = False
        self.renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = False

    def render(self, pos, quat=(1.0, 0.0, 0.0, 0.0)) -> np.ndarray:  # noqa: ANN001
        self.data.mocap_pos[self._mocap] = pos
        self.data.mocap_quat[self._mocap] = quat
        mujoco.mj_forward(self.model, self.data)
        self.renderer.update_scene(self.data, camera="front", scene_option=self.option)
        return self.renderer.render().copy()

    def truth(self) -> tuple[float, float, np.ndarray, np.ndarray]:
        """(f in px, principal point in OpenCV pixels, camera-to-world rotation in OpenCV axes, position)."""
        cam = self.model.camera("front").id
        mujoco.mj_forward(self.model, self.data)
        f = 0.5 * self.size / math.tan(math.radians(self.model.cam_fovy[cam]) / 2)
        r = self.data.cam_xmat[cam].reshape(3, 3) @ np.diag([1.0, -1.0, -1.0])
        return f, self.size / 2 - 0.5, r, self.data.cam_xpos[cam].copy()

    def intrinsic_views(self, n: int = 16, seed: int = 0) -> list[np.ndarray]:
        """The board held up at `n` random tilts and places in front of the camera."""
        rng = np.random.default_rng(seed)
        f, _, r_wc, cam = self.truth()
        views = []
        b = self.board
        centre_b = np.array([(b.cols - 1) * b.square / 2, (b.rows - 1) * b.square / 2, 0.0])
        while len(views) < n:
            dist = rng.uniform(0.65, 0.95)
            off = rng.uniform(-0.3, 0.3, 2) * dist * 0.24
            centre = cam + r_wc @ np.array([off[0], off[1], dist])
            # face the camera (board z toward it), then tilt up to ~35 degrees about random axes
            z = -(r_wc[:, 2])
            x = np.cross([0.0, 0.0, 1.0], z)
            x /= np.linalg.norm(x)
            y = np.cross(z, x)
            rot = np.stack([x, y, z], axis=1) @ _rot(rng.normal(0, 1, 3), math.radians(rng.uniform(5, 35)))
            pos = centre - rot @ centre_b
            quat = np.zeros(4)
            mujoco.mju_mat2Quat(quat, rot.ravel())
            views.append(self.render(pos, quat))
        return views

    def on_table(self, origin: tuple[float, float], yaw: float) -> np.ndarray:
        quat = (math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2))
        return self.render((origin[0], origin[1], 0.002), quat)

    def close(self) -> None:
        self.renderer.close()


def _rot(axis: np.ndarray, angle: float) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * k @ k
