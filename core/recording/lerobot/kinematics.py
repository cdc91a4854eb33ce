"""Forward kinematics of robots whose LeRobot datasets are recorded in joint space.

SO-100 / SO-101 (LeRobot `so100_follower`, `so101_follower`): the chain of `so101_new_calib` (TheRobotStudio
SO-ARM100, Apache-2.0; the MJCF the studio's simulated SO-101 loads, `core.robot.so101.arm`), the model
LeRobot's own end-effector examples use for both arms. There is one source for the chain: the body
offsets and joint axes are read from that MJCF file here (no copied constants), and the pose is the one
the studio's SO-101 reports - its tool point (`arm.TCP`, between the jaw pads), the jaw axis' yaw
(`core.robot.so101.kinematics.yaw_of`) and the gripper opening (`core.robot.so101.joints`) - so imported
episodes verbalize and train like recorded ones. `tests/test_lerobot_kinematics.py` checks it against
MuJoCo on the same file and against the simulated arm.

Joint values are degrees as LeRobot records them (`use_degrees=True`, its default), zero being the middle
of each range; the gripper joint is LeRobot's 0..100 over the jaw's range (100 = open).
Pure numpy and the XML parser: no simulator is needed to import a dataset.
"""

from __future__ import annotations

import functools
import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.robot.so101.arm import ARM_JOINTS, ARM_XML, GRIPPER_JOINT, TCP
from core.robot.so101.joints import from_lerobot, q_to_opening
from core.robot.so101.kinematics import yaw_of

SO_JOINTS = (*ARM_JOINTS, GRIPPER_JOINT)


def _quat_matrix(q: Sequence[float]) -> np.ndarray:
    w, x, y, z = np.asarray(q, dtype=np.float64) / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def _axis_angle(axis: np.ndarray, a: float) -> np.ndarray:
    k = axis / np.linalg.norm(axis)
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + math.sin(a) * kx + (1 - math.cos(a)) * (kx @ kx)


def _floats(text: str | None, default: Sequence[float]) -> np.ndarray:
    return np.asarray([float(v) for v in text.split()] if text else default, dtype=np.float64)


@dataclass(frozen=True)
class Chain:
    """The arm's bodies from the base to the gripper: each body's offset (position, rotation) in its parent
    and its joint's axis; the sites of the last body."""

    bodies: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]
    sites: dict[str, tuple[np.ndarray, np.ndarray]]


@functools.cache
def so101_chain() -> Chain:
    """Read from `so101_new_calib.xml`: the path of bodies whose joints are the five arm joints."""
    root = ET.parse(ARM_XML).getroot()
    body = root.find("worldbody/body")
    assert body is not None
    bodies = []
    for name in ARM_JOINTS:
        body = next((b for b in body.findall("body") if b.find(f"joint[@name='{name}']") is not None), None)
        if body is None:
            raise ValueError(f"{ARM_XML.name}: no body with joint {name!r} below the previous one")
        joint = body.find(f"joint[@name='{name}']")
        assert joint is not None
        bodies.append((_floats(body.get("pos"), (0, 0, 0)), _quat_matrix(_floats(body.get("quat"), (1, 0, 0, 0))),
                       _floats(joint.get("axis"), (0, 0, 1))))
    sites = {s.get("name", ""): (_floats(s.get("pos"), (0, 0, 0)), _quat_matrix(_floats(s.get("quat"), (1, 0, 0, 0))))
             for s in body.findall("site")}
    sites["tcp"] = (np.asarray(TCP, dtype=np.float64), np.eye(3))  # the studio's tool point (arm.arm_parts)
    return Chain(tuple(bodies), sites)


@dataclass(frozen=True)
class Pose:
    x: float
    y: float
    z: float
    yaw: float
    gripper: float

    def as_dict(self) -> dict[str, float]:
        return {"x": self.x, "y": self.y, "z": self.z, "yaw": self.yaw, "gripper": self.gripper}


def so101_frame(arm_deg: Sequence[float], site: str = "tcp") -> tuple[np.ndarray, np.ndarray]:
    """Position (3,) and rotation (3, 3) of a gripper site (the tool point by default) for the five arm
    joints in degrees."""
    if len(arm_deg) != 5:
        raise ValueError(f"SO-100/101 forward kinematics needs 5 arm joints, got {len(arm_deg)}")
    chain = so101_chain()
    pos = np.zeros(3)
    rot = np.eye(3)
    for (p, r, axis), angle in zip(chain.bodies, np.radians(np.asarray(arm_deg, dtype=np.float64)), strict=True):
        pos = pos + rot @ p
        rot = rot @ r @ _axis_angle(axis, float(angle))
    sp, sr = chain.sites[site]
    return pos + rot @ sp, rot @ sr


def so101_pose(joints_deg: Sequence[float]) -> Pose:
    """The studio's end-effector pose for the six SO joint values (five arm joints in degrees, gripper 0..100)."""
    if len(joints_deg) != 6:
        raise ValueError(f"an SO-100/101 state has 6 joint values, got {len(joints_deg)}")
    pos, rot = so101_frame(joints_deg[:5])
    grip = q_to_opening(from_lerobot([0.0] * 5 + [float(joints_deg[5])])[5])
    return Pose(float(pos[0]), float(pos[1]), float(pos[2]), yaw_of(rot), grip)


# robot_type values (LeRobot's and older ones) whose joints this module knows
KNOWN_ROBOTS: dict[str, tuple[str, ...]] = {
    "so_follower": SO_JOINTS,  # LeRobot 0.6.1 records both followers under their shared class name
    "so100": SO_JOINTS,
    "so101": SO_JOINTS,
    "so100_follower": SO_JOINTS,
    "so101_follower": SO_JOINTS,
}
FK = {"so_follower": so101_pose, "so100": so101_pose, "so101": so101_pose, "so100_follower": so101_pose, "so101_follower": so101_pose}


def joint_name(name: str) -> str:
    """`shoulder_pan.pos` -> `shoulder_pan` (LeRobot names motor readings `<motor>.pos`)."""
    return name[:-4] if name.endswith(".pos") else name


def kinematics_for(robot_type: str | None, names: Sequence[str] | None):  # noqa: ANN201 - a pose function or None
    """The pose function for this robot and these joint names, or None when unknown.

    The names must be exactly the robot's joints in its order (with or without `.pos`).
    """
    joints = KNOWN_ROBOTS.get((robot_type or "").lower())
    if joints is None or names is None:
        return None
    if tuple(joint_name(str(n)) for n in names) != joints:
        return None
    return FK[(robot_type or "").lower()]
