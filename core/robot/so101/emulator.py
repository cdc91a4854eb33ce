"""A Feetech bus emulator on a pseudo-terminal, backed by the simulated SO-101: six STS3215 servos.

The driver opens `emulator.port` (a /dev/pts/N path) exactly as it would open /dev/ttyACM0, and every
byte it writes is parsed here (`core.robot.so101.protocol`, not the SDK): PING, READ, WRITE, SYNC READ,
SYNC WRITE, checksums (a bad one gets no answer, as on a real servo). Each servo has a 256-byte register
file; the position registers are tied to a MuJoCo SO-101 (`So101Sim`'s model, stepped in real time on the
emulator's thread):
- the encoder: actual = (`zero_raw` + q * 4096 / 2 pi) mod 4096 for joint angle q, `zero_raw` being how the
  horn happens to be mounted (unknown to the driver; calibration finds it); Present_Position =
  actual - Homing_Offset, as on the real servo;
- Goal_Position (clamped to the position limits) drives the joint's position actuator while Torque_Enable
  is 1; with torque off the joint goes where `move_by_hand` puts it (a person moving the arm).
Contacts are off (the table and the blocks are not part of a servo bus). `silence()` makes the whole bus
stop answering (a cable pulled, the power supply off); `resume()` undoes it.
"""

from __future__ import annotations

import json
import math
import os
import select
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

import numpy as np

from core.robot.so101.arm import MOTORS
from core.robot.so101.protocol import (
    BROADCAST,
    PING,
    READ,
    RESOLUTION,
    STS3215_MODEL,
    SYNC_READ,
    SYNC_WRITE,
    TABLE,
    WRITE,
    Parser,
    decode,
    encode,
    packet,
    to_bytes,
)

RAW_PER_RAD = RESOLUTION / (2 * math.pi)
DEFAULT_ZERO_RAW = (2113, 1987, 2210, 1904, 2048, 1880)  # the horns' mounting: arbitrary, like a real arm's


class Servo:
    """One servo's register file."""

    def __init__(self, ident: int) -> None:
        self.mem = bytearray(256)
        self.set("Model_Number", STS3215_MODEL)
        self.set("Firmware_Major_Version", 3)
        self.set("Firmware_Minor_Version", 10)
        self.set("ID", ident)
        self.set("Max_Position_Limit", RESOLUTION - 1)
        self.set("Max_Torque_Limit", 1000)
        self.set("P_Coefficient", 32)
        self.set("Lock", 1)

    def get(self, name: str) -> int:
        addr, size = TABLE[name]
        return decode(name, int.from_bytes(self.mem[addr : addr + size], "little"))

    def set(self, name: str, value: int) -> None:
        addr, size = TABLE[name]
        self.mem[addr : addr + size] = to_bytes(encode(name, value), size)


class BusEmulator:
    """Six servos on a pty, their joints simulated. Use as a context manager or `start()` / `close()`."""

    def __init__(self, zero_raw: tuple[int, ...] = DEFAULT_ZERO_RAW, q0: tuple[float, ...] | None = None) -> None:
        import mujoco

        from core.robot.so101.sim import So101Sim
        from core.robot.tabletop import SimConfig

        self.sim = So101Sim(SimConfig(render=False))
        self.sim.reset(0)
        m = self.sim.model
        m.opt.disableflags |= mujoco.mjtDisableBit.mjDSBL_CONTACT  # the arm alone: a person may swing it anywhere
        self._qadr = np.array([m.jnt_qposadr[m.joint(n).id] for n in MOTORS])
        self._act = np.array([m.actuator(n).id for n in MOTORS])
        self.zero_raw = tuple(int(z) for z in zero_raw)
        self.servos = {i: Servo(i) for i in range(1, len(MOTORS) + 1)}
        q = np.array(q0 if q0 is not None else self.sim.data.qpos[self._qadr])
        self.hand = q.copy()  # where a person holds each joint while its torque is off
        self.sim.data.qpos[self._qadr] = q
        self.sim.data.ctrl[self._act] = q
        self.parser = Parser()
        self.counts: dict[str, int] = {}
        self._silent = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._master = self._slave = -1
        self.port = ""

    # ---- lifecycle ------------------------------------------------------------------------------
    def start(self) -> BusEmulator:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._thread = threading.Thread(target=self._run, name="feetech-emulator", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1
        self.sim.close()

    def __enter__(self) -> BusEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- what a test does to the arm ----------------------------------------------------------------
    def silence(self) -> None:
        """Stop answering (and stop listening): the driver sees timeouts."""
        self._silent = True

    def resume(self) -> None:
        self._silent = False

    def move_by_hand(self, q: list[float] | tuple[float, ...] | np.ndarray, wait_s: float = 0.0) -> bool:
        """Joints whose torque is off move to `q` (rad, MOTORS order), as if pushed by a person; with
        `wait_s`, wait up to that long until they are there (True if they got within 0.01 rad)."""
        with self._lock:
            self.hand = np.asarray(q, dtype=float).copy()
        deadline = time.monotonic() + wait_s
        while True:
            free = [not on for on in self.torque_on()]
            if np.all(np.abs(self.joints() - self.hand)[free] < 0.01):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    def joints(self) -> np.ndarray:
        with self._lock:
            return self.sim.data.qpos[self._qadr].copy()

    def torque_on(self) -> list[bool]:
        return [bool(s.get("Torque_Enable")) for s in self.servos.values()]

    # ---- the bus --------------------------------------------------------------------------------
    def _run(self) -> None:
        dt = self.sim.model.opt.timestep
        t_sim = time.perf_counter()
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.002)
            if ready:
                try:
                    data = os.read(self._master, 4096)
                except OSError:
                    data = b""
                if data and not self._silent:
                    self._handle(self.parser.feed(data))
            behind = int((time.perf_counter() - t_sim) / dt)
            if behind > 100:  # starved of CPU: let simulated time slip rather than race to catch up
                t_sim = time.perf_counter() - 10 * dt
                behind = 10
            steps = min(10, behind)  # short chunks: answers come first
            if steps:
                t_sim += steps * dt
                self._physics(steps)

    def _physics(self, steps: int) -> None:
        import mujoco

        with self._lock:
            d = self.sim.data
            for j, ident in enumerate(self.servos):
                servo = self.servos[ident]
                if servo.get("Torque_Enable"):
                    d.ctrl[self._act[j]] = self._goal_angle(j, servo)
                else:
                    d.ctrl[self._act[j]] = self.hand[j]
            for _ in range(steps):
                mujoco.mj_step(self.sim.model, d)

    def _goal_angle(self, j: int, servo: Servo) -> float:
        lo, hi = servo.get("Min_Position_Limit"), servo.get("Max_Position_Limit")
        goal = min(hi, max(lo, servo.get("Goal_Position")))
        return self._raw_to_angle(j, goal + servo.get("Homing_Offset"))

    def _raw_to_angle(self, j: int, actual: int) -> float:
        delta = (actual - self.zero_raw[j] + RESOLUTION // 2) % RESOLUTION - RESOLUTION // 2
        return delta / RAW_PER_RAD

    def _present(self, j: int, servo: Servo) -> int:
        q = float(self.sim.data.qpos[self._qadr[j]])
        actual = int(round(self.zero_raw[j] + q * RAW_PER_RAD)) % RESOLUTION
        return (actual - servo.get("Homing_Offset")) % RESOLUTION

    def _reply(self, ident: int, params: bytes = b"") -> bytes:
        return packet(ident, 0, params)

    def _read(self, ident: int, addr: int, size: int) -> bytes:
        servo = self.servos[ident]
        with self._lock:
            j = ident - 1
            servo.set("Present_Position", self._present(j, servo))
            servo.set("Moving", int(abs(self.sim.data.qvel[self._qadr[j]]) > 0.05))
        return bytes(servo.mem[addr : addr + size])

    def _handle(self, packets: list[tuple[int, int, bytes]]) -> None:
        out = bytearray()
        for ident, instr, params in packets:
            name = {PING: "ping", READ: "read", WRITE: "write", SYNC_READ: "sync_read",
                    SYNC_WRITE: "sync_write"}.get(instr, f"unknown_{instr:#x}")
            self.counts[name] = self.counts.get(name, 0) + 1
            if instr == PING and ident in self.servos:
                out += self._reply(ident)
            elif instr == READ and ident in self.servos and len(params) == 2:
                out += self._reply(ident, self._read(ident, params[0], params[1]))
            elif instr == WRITE and len(params) >= 2:
                for target in (self.servos if ident == BROADCAST else [ident] if ident in self.servos else []):
                    with self._lock:
                        self.servos[target].mem[params[0] : params[0] + len(params) - 1] = params[1:]
                    if ident != BROADCAST:
                        out += self._reply(target)
            elif instr == SYNC_READ and ident == BROADCAST and len(params) >= 2:
                addr, size = params[0], params[1]
                for target in params[2:]:
                    if target in self.servos:
                        out += self._reply(target, self._read(target, addr, size))
            elif instr == SYNC_WRITE and ident == BROADCAST and len(params) >= 2:
                addr, size = params[0], params[1]
                body = params[2:]
                with self._lock:
                    for k in range(0, len(body), size + 1):
                        target = body[k]
                        if target in self.servos and k + 1 + size <= len(body):
                            self.servos[target].mem[addr : addr + size] = body[k + 1 : k + 1 + size]
        if out:
            os.write(self._master, bytes(out))


def calibrate_emulated(emu, bus):  # noqa: ANN001, ANN201 - BusEmulator | EmulatorProcess, FeetechBus -> Calibration
    """LeRobot's calibration procedure (`calibration.calibrate`) on an emulated arm, its 'hand' doing what a
    person does: the middle of the range, then every joint to 97% of each limit and back."""
    from core.robot.so101 import calibration as C
    from core.robot.so101.joints import RANGES

    lo = np.array([RANGES[m][0] for m in MOTORS])
    hi = np.array([RANGES[m][1] for m in MOTORS])

    def wait(message: str) -> None:
        if "middle" in message and not emu.move_by_hand(np.zeros(len(MOTORS)), wait_s=30):
            raise RuntimeError("the emulated arm did not reach the middle of its range")

    sweep = iter([0.97 * lo, 0.97 * hi, np.zeros(len(MOTORS))])

    def sample() -> bool:
        q = next(sweep, None)
        if q is None:
            return True
        if not emu.move_by_hand(q, wait_s=30):
            raise RuntimeError("the emulated arm did not reach a range end")
        return False

    return C.calibrate(bus, wait, sample)


class EmulatorProcess:
    """A `BusEmulator` in a child process (`python -m core.robot.so101.emulator`): its own interpreter, so
    the driver's timing is not mixed with the emulator's Python work, as with a real bus. The same
    test-facing methods, as JSON lines over the child's stdin/stdout."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self.port = ""

    def start(self) -> EmulatorProcess:
        root = Path(__file__).resolve().parents[3]
        env = dict(os.environ, MUJOCO_GL=os.environ.get("MUJOCO_GL", "egl"))
        self._proc = subprocess.Popen([sys.executable, "-m", "core.robot.so101.emulator"], cwd=root, env=env,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self._proc.stdout.readline()
        if not line:
            self.close()
            raise RuntimeError("the bus emulator process did not start")
        self.port = json.loads(line)["port"]
        return self

    def _call(self, name: str, *args: object) -> object:
        assert self._proc is not None and self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps([name, list(args)]) + "\n")
        self._proc.stdin.flush()
        return json.loads(self._proc.stdout.readline())

    def silence(self) -> None:
        self._call("silence")

    def resume(self) -> None:
        self._call("resume")

    def move_by_hand(self, q, wait_s: float = 0.0) -> bool:  # noqa: ANN001
        return bool(self._call("move_by_hand", [float(v) for v in q], wait_s))

    def joints(self) -> np.ndarray:
        return np.asarray(self._call("joints"))

    def torque_on(self) -> list[bool]:
        return list(self._call("torque_on"))  # type: ignore[arg-type]

    @property
    def counts(self) -> dict[str, int]:
        return dict(self._call("counts"))  # type: ignore[arg-type]

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.poll() is None and proc.stdin is not None:
                proc.stdin.close()  # the child's loop ends at end of input
            proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve() -> None:
    """The child of `EmulatorProcess`: commands on stdin, answers on stdout, until stdin closes."""
    emu = BusEmulator().start()
    print(json.dumps({"port": emu.port}), flush=True)
    try:
        for line in sys.stdin:
            name, args = json.loads(line)
            value = dict(emu.counts) if name == "counts" else getattr(emu, name)(*args)
            print(json.dumps(value.tolist() if isinstance(value, np.ndarray) else value), flush=True)
    finally:
        emu.close()


if __name__ == "__main__":
    _serve()


__all__ = ["BusEmulator", "DEFAULT_ZERO_RAW", "EmulatorProcess", "Servo", "calibrate_emulated"]
