"""An SO-101 leader arm as a teleop device (`--leader /dev/ttyACM1`): the follower mirrors its joints.

The leader's servos run with torque off (a person moves the arm); a reader thread SYNC READs their
positions at `READ_HZ` through the same Feetech driver and calibration as a follower (LeRobot's
`so101_leader` file, `<config>/calibration/teleoperators/so101_leader/<id>.json`).

Mirroring goes through the same safety path as every device: `read()` turns the distance between the
leader's tool point (forward kinematics of its joints) and the follower's into a twist (the control loop
clamps speed and workspace), and the follower's IK takes the leader's joint angles as its posture
(`posture()`, `core.robot.so101.follow`) - so a leader held still inside the workspace ends with the
follower in the same joint angles (within a degree), and a leader swung faster than the speed limit is
followed at the limit. The jaw follows the leader's in 5% steps. A leader at rest within `DEADBAND_M` of
the follower sends nothing, so autonomous mode can run; moving it takes over, like any device. Silence
(unplugged, bus error) for more than 250 ms zeroes the motion (the watchdog).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.robot.so101 import calibration as C
from core.robot.so101.arm import MOTORS
from core.robot.so101.feetech import BusError, FeetechBus
from core.robot.so101.joints import q_to_opening
from core.robot.so101.kinematics import LIMITS, Kinematics, wrap
from core.teleop.base import SourceStatus
from core.teleop.watchdog import Watchdog
from core.types import Observation, Twist
from core.workspace import Limits, twist_toward

log = logging.getLogger(__name__)

READ_HZ = 60.0
DEADBAND_M = 0.003
DEADBAND_YAW = math.radians(2.0)
GRIP_STEP = 0.05
ENGAGED_S = 1.0  # the posture stays in force this long after the leader last moved the follower


class LeaderArm:
    """Implements `core.teleop.base.InputSource`; `posture()` for the follower's IK."""

    name = "leader"

    def __init__(self, port: str, calibration_dir: Path | None = None, leader_id: str = "so101",
                 bus: FeetechBus | None = None, cal: C.Calibration | None = None, hz: float = 30.0,
                 limits: Limits = LIMITS, kin: Kinematics | None = None) -> None:
        self.port = port
        self.bus = bus or FeetechBus(port)
        if cal is None:
            if calibration_dir is None:
                raise ValueError("a leader arm needs its calibration file (calibration_dir)")
            cal = C.load(C.calibration_path(calibration_dir, "leader", leader_id))
        self.cal = cal
        self.dt, self.limits = 1.0 / hz, limits
        self.kin = kin or Kinematics()
        self.observe: Callable[[], Observation | None] = lambda: None  # the follower (the app wires the loop's)
        self.watchdog = Watchdog(name="leader")
        self._q: np.ndarray | None = None
        self._error = ""
        self._grip_sent: float | None = None
        self._engaged_until = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # ---- lifecycle --------------------------------------------------------------------------------
    def start(self) -> LeaderArm:
        try:
            if not self.bus.is_open:
                self.bus.open()
            C.torque(self.bus, False)  # a person moves the leader
            if not C.matches(self.bus, self.cal):
                C.write_registers(self.bus, self.cal)
        except BusError as exc:
            self._error = str(exc)
            log.warning("leader arm on %s: %s", self.port, exc)
        self._thread = threading.Thread(target=self._run, name="leader-arm", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self.bus.close()

    def _run(self) -> None:
        ids = tuple(range(1, len(MOTORS) + 1))
        while not self._stop.is_set():
            t = time.monotonic()
            try:
                if not self.bus.is_open:
                    self.bus.open()
                raw = self.bus.sync_read("Present_Position", ids)
                q = np.array(C.raw_to_q({m: raw[i] for i, m in enumerate(MOTORS, start=1)}, self.cal))
                with self._lock:
                    self._q, self._error = q, ""
                self.watchdog.feed()
            except BusError as exc:
                self._error = str(exc)
            self._stop.wait(max(0.0, 1.0 / READ_HZ - (time.monotonic() - t)))

    # ---- InputSource ------------------------------------------------------------------------------
    def joints(self) -> np.ndarray | None:
        """The leader's latest six joint angles (rad), None when silent."""
        with self._lock:
            return None if self._q is None or self.watchdog.expired() else self._q.copy()

    def posture(self) -> np.ndarray | None:
        """The leader's arm joints while it drives the follower, else None (the IK's usual jaws-down)."""
        q = self.joints()
        return q[:5] if q is not None and time.monotonic() < self._engaged_until else None

    def read(self) -> Twist:
        q = self.joints()
        obs = self.observe()
        if q is None or obs is None:
            return Twist()
        pose = self.kin.fk(q[:5])
        target = self.limits.clamp_pos(pose.pos)
        gap = math.dist(target, obs.ee_pos)
        dyaw = wrap(pose.yaw - obs.ee_yaw)
        grip = round(q_to_opening(q[5]) / GRIP_STEP) * GRIP_STEP
        event = None
        if self._grip_sent is None or abs(grip - self._grip_sent) >= GRIP_STEP - 1e-9:
            event, self._grip_sent = grip, grip
        if gap < DEADBAND_M and abs(dyaw) < DEADBAND_YAW and event is None:
            return Twist()
        self._engaged_until = time.monotonic() + ENGAGED_S
        dx, dy, dz = twist_toward(obs.ee_pos, target, self.limits, self.dt)
        yaw_rate = max(-1.0, min(1.0, dyaw / (self.limits.max_yaw_rate * self.dt * 2)))
        return Twist(dx=dx, dy=dy, dz=dz, dyaw=yaw_rate if abs(dyaw) >= DEADBAND_YAW else 0.0, gripper=event)

    def status(self) -> SourceStatus:
        q_ok = self.joints() is not None
        return SourceStatus(source=self.name, state="connected" if q_ok else "not connected",
                            detail=self._error or ("" if q_ok else f"no positions from {self.port} yet"),
                            device=f"SO-101 leader on {self.port}", last_input_age_s=self.watchdog.age(),
                            watchdog_tripped=not q_ok, active=time.monotonic() < self._engaged_until)

    def sync_gripper(self, target: float) -> None:
        """The leader's jaw is the truth: nothing to remember."""


__all__ = ["LeaderArm"]
