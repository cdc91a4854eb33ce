"""Motor calibration of an SO-101 arm, in LeRobot's file format and with LeRobot's arithmetic.

A calibration file is what LeRobot writes (`draccus.dump` of `dict[str, MotorCalibration]`):

    {"shoulder_pan": {"id": 1, "drive_mode": 0, "homing_offset": -112, "range_min": 758, "range_max": 3292},
     ..., "gripper": {...}}

stored here at `<config>/calibration/robots/so101_follower/<id>.json` (a leader arm:
`<config>/calibration/teleoperators/so101_leader/<id>.json`) - the layout under LeRobot's
`~/.cache/huggingface/lerobot/calibration/`, so a lab can copy its files over (or point `--recordings` at a
folder whose `config/` holds them), and LeRobot can read ours.

Values: the servos report `Present_Position = actual - Homing_Offset` (raw 0..4095). LeRobot's
`so101_follower` (`use_degrees=True`) maps the arm joints to degrees about the middle of the recorded range,
`(raw - (min + max) / 2) * 360 / 4095`, and the gripper to 0..100 over the range; `raw_to_lerobot` /
`lerobot_to_raw` are its `_normalize` / `_unnormalize` for these two modes. Calibrating (`calibrate`) is
LeRobot's procedure: torque off, the arm in the middle of its range -> homing offsets that make every
servo read 2047 there; then each joint but the wrist roll moved through its range -> min/max (wrist
roll: the full 0..4095).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from core.robot.so101.arm import MOTORS
from core.robot.so101.feetech import FeetechBus
from core.robot.so101.joints import from_lerobot, to_lerobot
from core.robot.so101.protocol import RESOLUTION

MAX_RAW = RESOLUTION - 1
FULL_TURN = "wrist_roll"
ROLES = {"follower": ("robots", "so101_follower"), "leader": ("teleoperators", "so101_leader")}


class CalibrationError(ValueError):
    """A calibration file is missing, malformed, or does not fit the arm."""


@dataclass(frozen=True)
class MotorCalibration:
    id: int
    drive_mode: int
    homing_offset: int
    range_min: int
    range_max: int


Calibration = dict[str, MotorCalibration]


def calibration_path(config_dir: Path, role: str, arm_id: str) -> Path:
    if role not in ROLES:
        raise CalibrationError(f"role must be one of {list(ROLES)}, not {role!r}")
    if not arm_id or "/" in arm_id or arm_id.startswith("."):
        raise CalibrationError(f"invalid arm id {arm_id!r}")
    kind, name = ROLES[role]
    return Path(config_dir) / "calibration" / kind / name / f"{arm_id}.json"


def load(path: Path) -> Calibration:
    """Read and check a calibration file (LeRobot's format)."""
    path = Path(path)
    if not path.is_file():
        raise CalibrationError(f"no calibration file at {path}")
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CalibrationError(f"{path} is not readable JSON: {exc}") from exc
    if not isinstance(data, dict) or set(data) != set(MOTORS):
        raise CalibrationError(f"{path} must name exactly the motors {list(MOTORS)}")
    out: Calibration = {}
    for i, motor in enumerate(MOTORS):
        entry = data[motor]
        try:
            cal = MotorCalibration(**{k: int(entry[k]) for k in ("id", "drive_mode", "homing_offset", "range_min",
                                                                  "range_max")})
        except (KeyError, TypeError, ValueError) as exc:
            raise CalibrationError(f"{path}: motor {motor!r} needs integer id, drive_mode, homing_offset, "
                                   f"range_min, range_max ({exc})") from exc
        if cal.id != i + 1:
            raise CalibrationError(f"{path}: motor {motor!r} has id {cal.id}, the SO-101 wires it as {i + 1}")
        if not 0 <= cal.range_min < cal.range_max <= MAX_RAW:
            raise CalibrationError(f"{path}: motor {motor!r} range {cal.range_min}..{cal.range_max} is not "
                                   f"an increasing range inside 0..{MAX_RAW}")
        if abs(cal.homing_offset) >= 2048:
            raise CalibrationError(f"{path}: motor {motor!r} homing offset {cal.homing_offset} is out of range")
        out[motor] = cal
    return out


def save(path: Path, cal: Calibration) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({m: asdict(cal[m]) for m in MOTORS}, indent=4))
    tmp.replace(path)
    return path


# ---- LeRobot's normalisation -------------------------------------------------------------------------
def raw_to_lerobot(motor: str, raw: int, cal: MotorCalibration) -> float:
    lo, hi = cal.range_min, cal.range_max
    if motor == "gripper":  # RANGE_0_100
        norm = (min(hi, max(lo, raw)) - lo) / (hi - lo) * 100
        return 100 - norm if cal.drive_mode else norm
    return (raw - (lo + hi) / 2) * 360 / MAX_RAW  # DEGREES (drive mode is not applied in this mode)


def lerobot_to_raw(motor: str, value: float, cal: MotorCalibration) -> int:
    lo, hi = cal.range_min, cal.range_max
    if motor == "gripper":
        v = 100 - value if cal.drive_mode else value
        return int((min(100.0, max(0.0, v)) / 100) * (hi - lo) + lo)
    return int((value * MAX_RAW / 360) + (lo + hi) / 2)


def raw_to_q(raw: dict[str, int], cal: Calibration) -> list[float]:
    """Present positions (by motor name) -> the six joint angles in radians (`core.robot.so101.joints`)."""
    return from_lerobot([raw_to_lerobot(m, raw[m], cal[m]) for m in MOTORS])


def q_to_raw(q: list[float] | tuple[float, ...], cal: Calibration) -> dict[str, int]:
    """Six joint angles (rad) -> goal positions, inside each motor's calibrated range."""
    values = to_lerobot(list(q))
    out = {}
    for m, v in zip(MOTORS, values):
        raw = lerobot_to_raw(m, v, cal[m])
        out[m] = min(cal[m].range_max, max(cal[m].range_min, raw))
    return out


# ---- on the bus -------------------------------------------------------------------------------------
def read_registers(bus: FeetechBus) -> Calibration:
    out = {}
    for i, m in enumerate(MOTORS, start=1):
        out[m] = MotorCalibration(i, 0, bus.read("Homing_Offset", i), bus.read("Min_Position_Limit", i),
                                  bus.read("Max_Position_Limit", i))
    return out


def matches(bus: FeetechBus, cal: Calibration) -> bool:
    now = read_registers(bus)
    return all((now[m].homing_offset, now[m].range_min, now[m].range_max)
               == (cal[m].homing_offset, cal[m].range_min, cal[m].range_max) for m in MOTORS)


def write_registers(bus: FeetechBus, cal: Calibration) -> None:
    """Homing offsets and position limits into the servos (torque must be off; EEPROM unlocked)."""
    for m in MOTORS:
        c = cal[m]
        bus.write("Homing_Offset", c.id, c.homing_offset)
        bus.write("Min_Position_Limit", c.id, c.range_min)
        bus.write("Max_Position_Limit", c.id, c.range_max)


def torque(bus: FeetechBus, on: bool) -> None:
    """Torque on (and the EEPROM locked) or off (and unlocked), every motor, as LeRobot does."""
    for i in range(1, len(MOTORS) + 1):
        bus.write("Torque_Enable", i, 1 if on else 0)
        bus.write("Lock", i, 1 if on else 0)


def calibrate(bus: FeetechBus, wait: Callable[[str], None],
              sample: Callable[[], bool] | None = None) -> Calibration:
    """LeRobot's calibration procedure on `bus`. `wait(message)` returns when the person has done what the
    message asks; during the range recording, `sample()` is called between reads and returns True to stop
    (default: one `wait`, i.e. press Enter when done)."""
    ids = list(range(1, len(MOTORS) + 1))
    torque(bus, False)
    for i in ids:
        bus.write("Operating_Mode", i, 0)
    wait("Move the arm to the middle of its range of motion (see docs/robots.md), then press Enter.")
    for i in ids:  # factory state first, so that the present position is the actual one
        bus.write("Homing_Offset", i, 0)
        bus.write("Min_Position_Limit", i, 0)
        bus.write("Max_Position_Limit", i, MAX_RAW)
    actual = bus.sync_read("Present_Position", ids)
    offsets = {i: actual[i] - MAX_RAW // 2 for i in ids}
    for i in ids:
        bus.write("Homing_Offset", i, offsets[i])
    recorded = [m for m in MOTORS if m != FULL_TURN]
    rec_ids = [MOTORS.index(m) + 1 for m in recorded]
    if sample is None:
        wait(f"Move every joint except {FULL_TURN} through its whole range, then press Enter.")
        sample = lambda: True  # noqa: E731 - one more read after Enter
    first = bus.sync_read("Present_Position", rec_ids)
    mins, maxes = dict(first), dict(first)
    while True:
        now = bus.sync_read("Present_Position", rec_ids)
        for i, v in now.items():
            mins[i], maxes[i] = min(mins[i], v), max(maxes[i], v)
        if sample():
            break
    same = [MOTORS[i - 1] for i in rec_ids if mins[i] == maxes[i]]
    if same:
        raise CalibrationError(f"these joints did not move while recording ranges: {', '.join(same)}")
    cal: Calibration = {}
    for i, m in enumerate(MOTORS, start=1):
        lo, hi = (0, MAX_RAW) if m == FULL_TURN else (mins[i], maxes[i])
        cal[m] = MotorCalibration(i, 0, offsets[i], lo, hi)
    write_registers(bus, cal)
    return cal


__all__ = ["Calibration", "CalibrationError", "MotorCalibration", "calibrate", "calibration_path", "lerobot_to_raw",
           "load", "matches", "q_to_raw", "raw_to_lerobot", "raw_to_q", "read_registers", "save", "torque",
           "write_registers"]
