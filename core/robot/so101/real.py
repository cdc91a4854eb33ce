"""A real SO-101 follower arm on its Feetech bus (`--robot so101 --port /dev/ttyACM0`).

What the driver promises (docs/robots.md):
- connect: every servo 1..6 answers a ping as an STS3215; the calibration file exists (LeRobot's format,
  `core.robot.so101.calibration`) and is written into the servos if they hold other values; gains and
  modes are set as LeRobot's `so101_follower` sets them; the goal becomes the present position before
  torque goes on, so nothing moves at start-up. `reset` does not move the arm either.
- each tick: one SYNC READ of the six positions (observation: joint angles, the tool pose by forward
  kinematics, the cameras' latest frames) and one SYNC WRITE of the goals from the IK (`follow`);
- `stop()` (the e-stop) and `close()` turn the torque off: the arm goes limp. After an e-stop is reset the
  next command re-arms it from where it then is;
- a bus that stops answering (3 reads in a row failed, each tried 3 times): the robot holds - the servos keep their last
  goal, nothing more is sent - and `fault` says what happened, so the app latches its e-stop and the page
  shows the reason; observations keep the last known joints (and fresh camera frames), so a recording goes
  on and loses nothing. The bus is tried again once a second; when it answers, `fault` clears and the goal
  restarts from the present position. A camera that stops delivering is a fault too.
"""

from __future__ import annotations

import logging
import time
from collections import deque

import numpy as np

from core.robot.base import RobotError
from core.robot.so101 import calibration as C
from core.robot.so101.arm import MOTORS
from core.robot.so101.feetech import BusError, FeetechBus
from core.robot.so101.follow import FollowsJointGoals, JointGoals
from core.robot.so101.joints import q_to_opening
from core.robot.so101.kinematics import LIMITS, Kinematics
from core.robot.so101.protocol import STS3215_MODEL
from core.types import Command, Observation

log = logging.getLogger(__name__)

IDS = tuple(range(1, len(MOTORS) + 1))
READ_RETRIES = 2  # LeRobot's so101_follower num_read_retries: a corrupted answer now and then is normal
FAILS_TO_FAULT = 3  # reads (each with its retries) in a row: ~0.5 s of silence at the SDK's 50 ms timeout
RETRY_S = 1.0
# what LeRobot's so101_follower writes at connect (configure())
GAINS = {"P_Coefficient": 16, "I_Coefficient": 0, "D_Coefficient": 32}
GRIPPER_LIMITS = {"Max_Torque_Limit": 500, "Protection_Current": 250, "Overload_Torque": 25}


class So101Robot(FollowsJointGoals):
    """Implements `core.robot.base.Robot` for a follower arm; `fault` and `status_line()` for the app."""

    limits = LIMITS
    joint_names = MOTORS

    def __init__(self, bus: FeetechBus, cal: C.Calibration, cameras: dict | None = None, hz: float = 30.0,
                 kin: Kinematics | None = None) -> None:
        self.bus, self.cal = bus, cal
        self._cams = dict(cameras or {})
        self.cameras = tuple(self._cams)
        self.control_hz = float(hz)
        self.kin = kin or Kinematics()
        self.goals = JointGoals(self.kin, hz, np.zeros(5))
        self._bus_fault = ""
        self._cam_fault = ""
        self._fails = 0
        self._next_try = 0.0
        self._q = np.zeros(len(MOTORS))
        self._torque = False
        self._t0 = time.monotonic()
        self._read_ms: deque[float] = deque(maxlen=300)
        self._closed = False

    @property
    def fault(self) -> str:
        """'' while the bus and the cameras work; otherwise what is wrong (the app latches its e-stop)."""
        return self._bus_fault or self._cam_fault

    # ---- connection -------------------------------------------------------------------------------
    def connect(self) -> So101Robot:
        bus = self.bus
        if not bus.is_open:
            bus.open()
        for i in IDS:
            try:
                model = bus.ping(i)
            except BusError as exc:
                raise RobotError(f"servo {i} ({MOTORS[i - 1]}) does not answer on {bus.port}: {exc}") from exc
            if model != STS3215_MODEL:
                raise RobotError(f"servo {i} on {bus.port} is model {model}, not an STS3215 ({STS3215_MODEL})")
        C.torque(bus, False)
        if not C.matches(bus, self.cal):
            log.warning("the servos on %s hold another calibration: writing the file's", bus.port)
            C.write_registers(bus, self.cal)
        for i, m in enumerate(MOTORS, start=1):
            bus.write("Return_Delay_Time", i, 0)
            bus.write("Maximum_Acceleration", i, 254)
            bus.write("Acceleration", i, 254)
            bus.write("Operating_Mode", i, 0)
            for name, v in GAINS.items():
                bus.write(name, i, v)
            if m == "gripper":
                for name, v in GRIPPER_LIMITS.items():
                    bus.write(name, i, v)
        self._arm()
        return self

    def _arm(self) -> None:
        """Goal = present position, then torque on: the arm holds where it is."""
        raw = self.bus.sync_read("Present_Position", IDS)
        self.bus.sync_write("Goal_Position", raw)
        C.torque(self.bus, True)
        self._torque = True
        self._q = np.array(C.raw_to_q({m: raw[i] for i, m in enumerate(MOTORS, start=1)}, self.cal))
        self.goals.hold(self._q)

    # ---- Robot contract ---------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> Observation:
        """A real arm has no scene to rebuild: it holds where it is."""
        self._check()
        if not self._bus_fault:
            self._read()
            self.goals.hold(self._q)
        return self.observe()

    def observe(self) -> Observation:
        self._check()
        self._read()
        pose = self.kin.fk(self._q[:5])
        images = {}
        problems = []
        for name, cam in self._cams.items():
            frame = cam.latest()
            if frame is not None:
                images[name] = frame
            if cam.problem:
                problems.append(cam.problem)
        self._cam_fault = "; ".join(problems)
        return Observation(t=time.monotonic() - self._t0, ee_pos=pose.pos, ee_yaw=pose.yaw,
                           gripper=q_to_opening(self._q[5]), images=images,
                           joints=tuple(float(v) for v in self._q), scene=None)

    def apply(self, cmd: Command) -> None:
        self._check()
        if self._bus_fault:
            return  # holding: the servos keep their last goal
        try:
            if not self._torque:  # re-armed after an e-stop
                self._arm()
            q = self.goals.step(cmd)
            raw = C.q_to_raw(q, self.cal)
            # no answer comes to a SYNC WRITE: only reads tell that the bus is alive
            self.bus.sync_write("Goal_Position", {i: raw[m] for i, m in enumerate(MOTORS, start=1)})
        except BusError as exc:
            self._bus_failed(exc)

    def stop(self) -> None:
        """E-stop: torque off on every servo (the arm goes limp; a real arm cannot be driven into anything)."""
        if self._torque and not self._bus_fault:
            try:
                C.torque(self.bus, False)
                self._torque = False
            except BusError as exc:
                self._bus_failed(exc)
        self.goals.hold(self._q)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self.bus.is_open:
                C.torque(self.bus, False)
        except BusError as exc:
            log.warning("could not turn the torque off on %s: %s", self.bus.port, exc)
        finally:
            self.bus.close()
            for cam in self._cams.values():
                cam.close()

    # ---- status -----------------------------------------------------------------------------------
    def status_line(self) -> str:
        if self.fault:
            return f"FAULT: {self.fault}"
        ms = sorted(self._read_ms)
        p50 = f", sync read p50 {ms[len(ms) // 2]:.1f} ms" if ms else ""
        return f"{len(IDS)} servos on {self.bus.port}, torque {'on' if self._torque else 'off'}{p50}"

    # ---- internals --------------------------------------------------------------------------------
    def _read(self) -> None:
        now = time.monotonic()
        if self._bus_fault and now < self._next_try:
            return
        try:
            raw, ms = self.bus.timed_sync_read("Present_Position", IDS, READ_RETRIES)
        except BusError as exc:
            self._bus_failed(exc)
            return
        self._read_ms.append(ms)
        self._q = np.array(C.raw_to_q({m: raw[i] for i, m in enumerate(MOTORS, start=1)}, self.cal))
        self._fails = 0
        if self._bus_fault:
            log.warning("the bus on %s answers again", self.bus.port)
            self._bus_fault = ""
            self._torque = False  # re-armed (goal = present) on the next command
            self.goals.hold(self._q)

    def _bus_failed(self, exc: BusError) -> None:
        self._fails += 1
        self._next_try = time.monotonic() + RETRY_S
        if self._fails >= FAILS_TO_FAULT and not self._bus_fault:
            self._bus_fault = f"bus on {self.bus.port} not answering ({exc})"
            log.error("SO-101: %s; holding", self._bus_fault)

    def _check(self) -> None:
        if self._closed:
            raise RobotError("the SO-101 connection is closed")


def open_follower(options) -> So101Robot:  # noqa: ANN001 - core.robot.registry.RobotOptions
    """The follower the app asked for: bus, calibration file, cameras; connected."""
    from core.cameras.capture import open_cameras

    if options.config_dir is None:
        raise RobotError("no configuration folder for the calibration files")
    path = C.calibration_path(options.config_dir, "follower", options.robot_id)
    try:
        cal = C.load(path)
    except C.CalibrationError as exc:
        raise RobotError(f"{exc}. Calibrate the arm first: python -m core.robot.so101 calibrate --port "
                         f"{options.port} --role follower --id {options.robot_id} --config-dir {options.config_dir}"
                         ) from exc
    bus = FeetechBus(options.port)
    try:
        bus.open()
    except BusError as exc:
        raise RobotError(str(exc)) from exc
    cams = open_cameras(options.cameras, options.image_size)
    robot = So101Robot(bus, cal, cams, options.hz)
    if options.leader is not None:
        robot.leader = options.leader
    try:
        return robot.connect()
    except Exception:
        robot.close()
        raise


__all__ = ["So101Robot", "open_follower"]
