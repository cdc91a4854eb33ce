"""The built-in MuJoCo tabletop robot: a mocap parallel gripper, coloured blocks, a bowl and a plate.

The objects, layouts, cameras and frames are shared with the other simulated robots
(`core.robot.tabletop`). Rendering is offscreen on the CPU (EGL/Mesa); a `SimRobot` must be created and
used (`reset`, `observe`, `apply`) from one thread: the control thread.
"""

from __future__ import annotations

import logging
import math
import time

import mujoco
import numpy as np

from core.robot.base import RobotError
from core.robot.scene import FINGER_OPEN, scene_xml
from core.robot.tabletop import STILL, Layout, SimConfig, TableSpec, TabletopSim, yaw_quat
from core.robot.tasks import BLOCK_HALF
from core.types import Command

log = logging.getLogger(__name__)

# Where objects are placed at reset (table frame, metres).
OBJ_X = (0.38, 0.64)
OBJ_Y = (-0.22, 0.22)
HOME_EE = (0.34, 0.0, 0.18)
HELD_MIN_FINGER = 0.01  # finger travel from the centre (m); a 5 cm block keeps each finger at 0.025
SPEC = TableSpec(obj_x=OBJ_X, obj_y=OBJ_Y, home_ee=HOME_EE, block_half=BLOCK_HALF,
                 bowl_spot=0.085, plate_spot=0.075, block_spot=0.036)


class SimRobot(TabletopSim):
    """The simulated robot; implements `core.robot.base.Robot`."""

    spec = SPEC
    held_min_opening = HELD_MIN_FINGER

    def __init__(self, config: SimConfig | None = None) -> None:
        config = config or SimConfig()
        super().__init__(config, mujoco.MjModel.from_xml_string(scene_xml(config.image_size)))
        m = self.model
        self._mocap = m.body_mocapid[m.body("ee_target").id]
        self._gripper_body = m.body("gripper").id
        self._gripper_q = m.jnt_qposadr[m.joint("gripper").id]
        self._finger_q = m.jnt_qposadr[m.joint("finger_left").id]
        self._finger_r = m.jnt_qposadr[m.joint("finger_right").id]
        self._fingers = {m.body("finger_left").geomadr[0], m.body("finger_right").geomadr[0]}
        self._target_pos = np.array(HOME_EE)
        self._target_yaw = 0.0
        self._target_grip = 1.0

    def apply(self, cmd: Command) -> None:
        self._check()
        target = np.asarray(cmd.pos, dtype=float)
        if not np.all(np.isfinite(target)) or not math.isfinite(cmd.yaw) or not math.isfinite(cmd.gripper):
            raise RobotError(f"non-finite command {cmd}")
        start = self.data.mocap_pos[self._mocap].copy()
        yaw0 = self._target_yaw
        self._target_pos, self._target_yaw = target, float(cmd.yaw)
        self._target_grip = float(min(1.0, max(0.0, cmd.gripper)))
        self.data.ctrl[0] = self._target_grip * FINGER_OPEN
        n = self._substeps
        for i in range(1, n + 1):  # interpolate the mocap target so contacts stay gentle
            a = i / n
            self.data.mocap_pos[self._mocap] = start + a * (target - start)
            self.data.mocap_quat[self._mocap] = yaw_quat(yaw0 + a * (self._target_yaw - yaw0))
            mujoco.mj_step(self.model, self.data)
        self._update_held()

    def stop(self) -> None:
        """Hold the current pose: the target becomes where the gripper is now."""
        self._target_pos = self.data.xpos[self._gripper_body].copy()
        self.data.mocap_pos[self._mocap] = self._target_pos

    def gripper_opening(self) -> float:
        return float(np.clip(self.data.qpos[self._finger_q] / FINGER_OPEN, 0.0, 1.0))

    # ---- TabletopSim hooks ----------------------------------------------------------------------
    def _place_arm(self, layout: Layout) -> None:
        d = self.data
        grip = float(min(1.0, max(0.0, layout.gripper)))
        d.qpos[self._finger_q] = d.qpos[self._finger_r] = grip * FINGER_OPEN
        d.ctrl[0] = grip * FINGER_OPEN
        d.mocap_pos[self._mocap] = layout.ee
        d.mocap_quat[self._mocap] = yaw_quat(0.0)
        g = self._gripper_q
        d.qpos[g : g + 3] = layout.ee
        d.qpos[g + 3 : g + 7] = yaw_quat(0.0)
        self._target_pos, self._target_yaw, self._target_grip = np.array(layout.ee), 0.0, grip

    def _ee(self) -> tuple[tuple[float, float, float], float]:
        return tuple(float(v) for v in self.data.xpos[self._gripper_body]), self._target_yaw

    def _joints(self) -> tuple[float, ...]:
        return float(self.data.qpos[self._finger_q]), float(self.data.qpos[self._finger_r])

    def _finger_geoms(self) -> set[int]:
        return self._fingers

    def _finger_value(self) -> float:
        return float(self.data.qpos[self._finger_q])


def make_sim(seed: int | None = 0, **kw) -> SimRobot:
    """Convenience: a reset simulator."""
    robot = SimRobot(SimConfig(**kw))
    robot.reset(seed)
    return robot


def timed_render(robot: TabletopSim, camera: str, n: int = 50) -> float:
    """Median milliseconds to render one frame (used by benchmarks)."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        robot.render(camera)
        times.append((time.perf_counter() - t) * 1000)
    return float(np.median(times))


__all__ = ["HOME_EE", "OBJ_X", "OBJ_Y", "STILL", "Layout", "SimConfig", "SimRobot", "make_sim", "timed_render"]
