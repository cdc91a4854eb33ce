"""The real SO-101 driver against the bus emulator on a pseudo-terminal: real packets, both ways."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest

from core.robot.so101 import calibration as C
from core.robot.so101 import protocol as P
from core.robot.so101.arm import MOTORS
from core.robot.so101.emulator import BusEmulator, calibrate_emulated
from core.robot.so101.feetech import BusError, FeetechBus
from core.robot.so101.real import So101Robot
from core.types import Command

IDS = list(range(1, 7))
MARGIN_MS = 300  # the SDK's answer timeout margin: generous, the test machine may be busy


def test_packets_checksums_and_sign_magnitude():
    pkt = P.packet(1, P.WRITE, [0x37, 0x00])  # Lock = 0 on servo 1
    assert pkt.hex() == "ffff0104033700c0"
    assert P.encode("Homing_Offset", -112) == (1 << 11) | 112 and P.decode("Homing_Offset", (1 << 11) | 112) == -112
    assert P.decode("Present_Position", P.encode("Present_Position", -5)) == -5
    with pytest.raises(ValueError):
        P.encode("Homing_Offset", 5000)
    parser = P.Parser()
    bad = bytearray(P.packet(2, P.PING))
    bad[-1] ^= 0xFF
    got = parser.feed(b"\x00\x13" + bytes(bad) + P.packet(3, P.READ, [56, 2])[:5])
    assert got == [] and parser.bad == 1
    assert parser.feed(P.packet(3, P.READ, [56, 2])[5:]) == [(3, P.READ, bytes([56, 2]))]


def _calibrate(emu: BusEmulator, bus: FeetechBus) -> C.Calibration:
    """LeRobot's procedure, the emulator's 'hand' doing what a person would."""
    return calibrate_emulated(emu, bus)


@pytest.fixture(scope="module")
def rig():
    emu = BusEmulator().start()
    bus = FeetechBus(emu.port, timeout_margin_ms=MARGIN_MS).open()
    cal = _calibrate(emu, bus)
    yield emu, bus, cal
    bus.close()
    emu.close()


def test_ping_and_sync_read_over_the_pty(rig):
    emu, bus, _ = rig
    assert [bus.ping(i) for i in IDS] == [P.STS3215_MODEL] * 6
    values = bus.sync_read("Present_Position", IDS)
    assert sorted(values) == IDS and all(0 <= v < 4096 for v in values.values())
    assert emu.counts["ping"] >= 6 and emu.counts["sync_read"] >= 1
    with pytest.raises(BusError):
        bus.ping(9)  # nobody answers to id 9


def test_a_bad_checksum_gets_no_answer(rig):
    emu, bus, _ = rig
    bad_before = emu.parser.bad
    fd = os.open(emu.port, os.O_RDWR | os.O_NOCTTY)
    try:
        pkt = bytearray(P.packet(1, P.PING))
        pkt[-1] ^= 0x55
        os.write(fd, bytes(pkt))
        time.sleep(0.2)
    finally:
        os.close(fd)
    assert emu.parser.bad == bad_before + 1
    assert bus.ping(1) == P.STS3215_MODEL  # the bus is fine afterwards


def test_calibration_is_lerobots_and_reads_the_true_angles(rig, tmp_path):
    emu, bus, cal = rig
    path = C.save(C.calibration_path(tmp_path, "follower", "lab1"), cal)
    assert path.relative_to(tmp_path).as_posix() == "calibration/robots/so101_follower/lab1.json"
    data = json.loads(path.read_text())
    assert list(data) == list(MOTORS)
    assert set(data["shoulder_pan"]) == {"id", "drive_mode", "homing_offset", "range_min", "range_max"}
    assert data["wrist_roll"]["range_min"] == 0 and data["wrist_roll"]["range_max"] == 4095
    assert C.load(path) == cal
    assert C.matches(bus, cal)  # written into the servos' registers
    q_true = np.array([0.3, -0.4, 0.5, 0.6, -0.2, 0.4])
    assert emu.move_by_hand(q_true, wait_s=20)
    raw = bus.sync_read("Present_Position", IDS)
    q = np.array(C.raw_to_q({m: raw[i] for i, m in enumerate(MOTORS, 1)}, cal))
    err = np.degrees(np.abs(q - emu.joints()))
    assert err[:5].max() < 0.5, err  # arm joints: degrees about the recorded range's middle
    assert err[5] < 2.0, err  # gripper: 0..100 of the recorded (97%) range, mapped onto the model's range


def test_bad_calibration_files_are_refused(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"shoulder_pan": {"id": 1}}))
    with pytest.raises(C.CalibrationError, match="exactly the motors"):
        C.load(path)
    with pytest.raises(C.CalibrationError, match="no calibration file"):
        C.load(tmp_path / "missing.json")


def test_follower_connects_without_moving_then_moves_holds_and_releases(rig):
    emu, bus, cal = rig
    assert emu.move_by_hand(np.array([0.1, -0.5, 0.6, 1.0, 0.1, 0.5]), wait_s=20)
    before = emu.joints()
    robot = So101Robot(bus, cal)
    robot.connect()
    assert emu.torque_on() == [True] * 6
    time.sleep(0.5)
    assert np.degrees(np.abs(emu.joints() - before)).max() < 1.0  # torque on where it stood: no jump
    obs = robot.observe()
    assert obs.scene is None and len(obs.joints) == 6
    target = (0.22, 0.04, 0.08)
    from core.control.safety import step_target, twist_toward
    from core.types import Twist

    cmd = Command(obs.ee_pos, obs.ee_yaw, 1.0)
    for _ in range(150):
        dx, dy, dz = twist_toward(obs.ee_pos, target, robot.limits, 1 / 30)
        cmd = step_target(cmd, Twist(dx, dy, dz), robot.limits, 1 / 30)
        robot.apply(cmd)
        time.sleep(1 / 30)
        obs = robot.observe()
    assert np.linalg.norm(np.array(obs.ee_pos) - target) < 0.006, obs.ee_pos
    assert "6 servos" in robot.status_line()
    robot.stop()  # the e-stop: torque off
    assert emu.torque_on() == [False] * 6
    robot.apply(cmd)  # after the e-stop is reset: re-armed from where it is
    assert emu.torque_on() == [True] * 6
    robot.close()
    assert emu.torque_on() == [False] * 6
    bus.open()  # the module's other tests go on using the bus


def test_a_silent_bus_is_a_fault_and_the_robot_holds(rig):
    emu, bus, cal = rig
    robot = So101Robot(bus, cal).connect()
    obs = robot.observe()
    cmd = Command(obs.ee_pos, obs.ee_yaw, 1.0)
    emu.silence()
    try:
        for _ in range(4):
            robot.apply(cmd)
            held = robot.observe()
        assert "not answering" in robot.fault
        assert held.joints == obs.joints or np.allclose(held.joints, obs.joints, atol=0.01)  # last known
        assert "FAULT" in robot.status_line()
    finally:
        emu.resume()
    time.sleep(1.1)  # retried once a second
    robot.observe()
    assert robot.fault == ""
    robot.close()
    bus.open()


def test_a_silent_camera_is_a_fault(rig):
    _, bus, cal = rig

    class DeadCamera:
        def latest(self):
            return None

        problem = "camera 'front' (/dev/video0) delivered no frame for 1 s"

        def close(self):
            pass

    robot = So101Robot(bus, cal, {"front": DeadCamera()}).connect()
    obs = robot.observe()
    assert "front" not in obs.images and "delivered no frame" in robot.fault
    robot.close()
    bus.open()
