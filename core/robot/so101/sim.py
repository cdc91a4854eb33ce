"""The SO-101 in MuJoCo (`--robot so101-sim`): the real arm's geometry on the scaled tabletop.

Each control tick the end-effector command (tool position, yaw, gripper) goes through inverse kinematics
(`core.robot.so101.follow`) to joint targets for the arm's position actuators, interpolated over the
physics substeps like the built-in sim's mocap target. The jaws close on
objects through the two pads. Observations carry the six joint angles (rad, LeRobot's motor order) and
the measured tool pose.
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")

import mujoco  # noqa: E402
import numpy as np  # noqa: E402

from core.robot.base import RobotError  # noqa: E402
from core.robot.heights import Heights  # noqa: E402
from core.robot.so101.arm import ARM_JOINTS, GRIPPER_JOINT, MOTORS  # noqa: E402
from core.robot.so101.follow import FollowsJointGoals, JointGoals  # noqa: E402
from core.robot.so101.joints import GRIP_CLOSED_Q, opening_to_q, q_to_opening  # noqa: E402
from core.robot.so101.kinematics import HOME_EE, LIMITS, Kinematics, yaw_of  # noqa: E402
from core.robot.so101.scene import BLOCK_HALF, BOWL_RADIUS, PLATE_RADIUS, SCALE, so101_scene_xml  # noqa: E402
from core.robot.tabletop import Layout, SimConfig, TableSpec, TabletopSim  # noqa: E402
from core.types import Command  # noqa: E402

SPEC = TableSpec(
    obj_x=(0.15, 0.28), obj_y=(-0.14, 0.14), home_ee=HOME_EE, block_half=BLOCK_HALF,
    bowl_spot=0.085 * SCALE, plate_spot=0.075 * SCALE, block_spot=0.036 * SCALE,
    sizes={"block": BLOCK_HALF, "bowl": BOWL_RADIUS, "plate": PLATE_RADIUS},
)
# the scripted expert's heights for 3 cm blocks, a 2.1 cm bowl wall and jaws ~1 cm thick; closed, the jaws
# meet 2.6 cm behind the tool point (toward the fixed jaw, -x at yaw 0): that is what pushes; the closing
# jaw pushes a grasped block 9 mm toward the fixed jaw
HEIGHTS = Heights(cruise_z=0.07, grasp_z=0.013, release_z=(0.052, 0.050), block_half=BLOCK_HALF,
                  finger_half_width=0.010, push_z=0.016, push_point=(-0.026, 0.0), held_offset=(-0.009, 0.0),
                  direct_z=(0.05, 0.10))
HOME_SEED = np.array([0.0, -0.2, 0.6, 1.1, 0.05])  # a jaws-down elbow-up posture to start IK from


class So101Sim(FollowsJointGoals, TabletopSim):
    """The simulated SO-101; implements `core.robot.base.Robot`."""

    spec = SPEC
    limits = LIMITS
    expert_heights = HEIGHTS
    held_min_opening = GRIP_CLOSED_Q + 0.2  # rad: jaws closed shut (gap under ~1 cm) hold nothing
    joint_names = MOTORS

    def __init__(self, config: SimConfig | None = None, kinematics: Kinematics | None = None) -> None:
        config = config or SimConfig()
        xml, assets = so101_scene_xml(config.image_size)
        super().__init__(config, mujoco.MjModel.from_xml_string(xml, assets))
        m = self.model
        self.kin = kinematics or Kinematics()
        self._qadr = np.array([m.jnt_qposadr[m.joint(n).id] for n in MOTORS])
        self._act = np.array([m.actuator(n).id for n in MOTORS])
        self._tcp = m.site("tcp").id
        self._pads = {m.geom("fixed_jaw_pad").id, m.geom("moving_jaw_pad").id}
        self.goals = JointGoals(self.kin, self.control_hz, HOME_SEED)

    @property
    def last_ik(self):  # noqa: ANN201
        return self.goals.last_ik

    # ---- Robot contract ---------------------------------------------------------------------------
    def apply(self, cmd: Command) -> None:
        self._check()
        d = self.data
        start = d.ctrl[self._act].copy()
        target = self.goals.step(cmd)
        n = self._substeps
        for i in range(1, n + 1):  # interpolated joint targets keep contacts gentle
            d.ctrl[self._act] = start + (i / n) * (target - start)
            mujoco.mj_step(self.model, d)
        self._update_held()

    def stop(self) -> None:
        """Hold the current pose: the joint targets become where the joints are now."""
        q = self.data.qpos[self._qadr]
        self.goals.hold(q)
        self.data.ctrl[self._act[:5]] = q[:5]

    def gripper_opening(self) -> float:
        return q_to_opening(self.data.qpos[self._qadr[5]])

    # ---- TabletopSim hooks ------------------------------------------------------------------------
    def _place_arm(self, layout: Layout) -> None:
        ik = self.kin.ik(layout.ee, 0.0, HOME_SEED, iterations=200)
        if ik.pos_error > 0.005:
            raise RobotError(f"the SO-101 cannot reach {layout.ee} (off by {ik.pos_error * 100:.1f} cm)")
        grip = opening_to_q(layout.gripper)
        q = np.append(ik.q, grip)
        self.data.qpos[self._qadr] = q
        self.data.ctrl[self._act] = q
        self.goals.hold(ik.q)

    def _ee(self) -> tuple[tuple[float, float, float], float]:
        d = self.data
        return tuple(float(v) for v in d.site_xpos[self._tcp]), yaw_of(d.site_xmat[self._tcp].reshape(3, 3))

    def _joints(self) -> tuple[float, ...]:
        return tuple(float(v) for v in self.data.qpos[self._qadr])

    def _finger_geoms(self) -> set[int]:
        return self._pads

    def _finger_value(self) -> float:
        return float(self.data.qpos[self._qadr[5]])


__all__ = ["ARM_JOINTS", "GRIPPER_JOINT", "HOME_EE", "LIMITS", "SPEC", "So101Sim"]
