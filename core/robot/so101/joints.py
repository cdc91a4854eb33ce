"""SO-101 joint conventions shared by the simulator, the real driver, the leader arm and the export.

- Joint angles are radians with zero at the middle of each range (the MJCF's "new calibration"), which is
  what LeRobot's `so101_follower` reports in degrees with `use_degrees=True`: deg = 180 q / pi. The
  gripper is LeRobot's 0..100 over the jaw's range (0 = closed at the lower limit).
- The studio's gripper value (1 open .. 0 closed, `core.types`) covers the jaw from closed to
  `GRIP_OPEN_Q`: wide enough for a 3 cm block with 2.4 cm to spare, without sweeping the moving jaw up.
- Feature names are LeRobot's: `shoulder_pan.pos`, ..., `gripper.pos` (`FEATURE_NAMES`).
Pure Python (no MuJoCo; the ranges are read from the MJCF's XML), so the export and the bus code can import it.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from core.robot.so101.arm import ARM_JOINTS, ARM_XML, GRIPPER_JOINT, MOTORS


def _ranges() -> dict[str, tuple[float, float]]:
    """Each motor's joint range (radians), read from so101_new_calib.xml: the one source of the chain."""
    root = ET.parse(ARM_XML).getroot()
    out = {}
    for j in root.iter("joint"):
        if j.get("name") in MOTORS:
            lo, hi = (float(v) for v in (j.get("range") or "").split())
            out[str(j.get("name"))] = (lo, hi)
    missing = set(MOTORS) - set(out)
    if missing:
        raise ValueError(f"{ARM_XML.name} has no range for {sorted(missing)}")
    return out


RANGES = _ranges()
GRIP_CLOSED_Q = RANGES["gripper"][0]
GRIP_OPEN_Q = 0.8
FEATURE_NAMES = tuple(f"{m}.pos" for m in MOTORS)
EE_NAMES = ("ee.x", "ee.y", "ee.z", "ee.yaw", "ee.gripper")


def opening_to_q(opening: float) -> float:
    """Studio gripper value (1 open, 0 closed) -> jaw angle (rad)."""
    o = min(1.0, max(0.0, float(opening)))
    return GRIP_CLOSED_Q + o * (GRIP_OPEN_Q - GRIP_CLOSED_Q)


def q_to_opening(q: float) -> float:
    return min(1.0, max(0.0, (float(q) - GRIP_CLOSED_Q) / (GRIP_OPEN_Q - GRIP_CLOSED_Q)))


def to_lerobot(q: tuple[float, ...] | list[float]) -> list[float]:
    """Six joint angles (rad, MOTORS order) -> LeRobot's values (degrees for the arm, 0..100 gripper),
    bounded to each joint's range as LeRobot bounds a reading to its calibrated range (a simulated jaw
    pressed shut reads a hair past its limit)."""
    if len(q) != len(MOTORS):
        raise ValueError(f"expected {len(MOTORS)} joint values, got {len(q)}")
    lo, hi = RANGES[GRIPPER_JOINT]
    arm = [math.degrees(min(max(float(v), RANGES[m][0]), RANGES[m][1])) for m, v in zip(ARM_JOINTS, q, strict=False)]
    return [*arm, 100.0 * (min(max(float(q[-1]), lo), hi) - lo) / (hi - lo)]


def from_lerobot(values: tuple[float, ...] | list[float]) -> list[float]:
    """Inverse of `to_lerobot`."""
    if len(values) != len(MOTORS):
        raise ValueError(f"expected {len(MOTORS)} joint values, got {len(values)}")
    lo, hi = RANGES[GRIPPER_JOINT]
    arm = [math.radians(v) for v in values[: len(ARM_JOINTS)]]
    return [*arm, lo + (hi - lo) * float(values[-1]) / 100.0]


__all__ = ["EE_NAMES", "FEATURE_NAMES", "GRIP_CLOSED_Q", "GRIP_OPEN_Q", "RANGES", "from_lerobot",
           "opening_to_q", "q_to_opening", "to_lerobot"]
