"""The SO-101 inside the app's machinery: a bus that dies mid-recording, and the LeRobot export of its episodes."""

from __future__ import annotations

import json
import time

import numpy as np
import pyarrow.parquet as pq
import pytest

from core.context import App, AppConfig
from core.control.loop import ControlLoop, LoopConfig
from core.recording import Recorder, RecorderConfig
from core.recording.live import LiveRecording
from core.robot.so101.kinematics import LIMITS
from core.store import StoreConfig, open_store
from core.teleop.base import SourceStatus
from core.types import Twist


class Wiggle:
    """A teleop device that keeps the arm moving in a small circle."""

    name = "wiggle"

    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def read(self) -> Twist:
        t = time.monotonic() - self.t0
        return Twist(dx=0.3 * np.sin(2 * t), dy=0.3 * np.cos(2 * t))

    def status(self) -> SourceStatus:
        return SourceStatus(source=self.name, state="connected")

    def sync_gripper(self, target: float) -> None:
        pass

    def close(self) -> None:
        pass


def _wait(cond, timeout: float = 20.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def store(tmp_path):
    s = open_store(StoreConfig(recordings_dir=tmp_path / "rec"))
    yield s
    s.close()


def test_a_bus_that_stops_answering_latches_the_estop_and_loses_no_step(store):
    from core.robot.so101.emulator import BusEmulator
    from core.robot.so101.feetech import FeetechBus
    from core.robot.so101.real import So101Robot
    from tests.core.robot.so101.test_bus import MARGIN_MS, _calibrate

    with BusEmulator() as emu:
        bus = FeetechBus(emu.port, timeout_margin_ms=MARGIN_MS).open()
        cal = _calibrate(emu, bus)
        assert emu.move_by_hand([0.0, -0.3, 0.5, 1.0, 0.0, 0.5], wait_s=20)
        loop = ControlLoop(lambda: So101Robot(bus, cal).connect(), LoopConfig(hz=30.0, limits=LIMITS))
        recording = LiveRecording(store, Recorder(store, RecorderConfig(fps=30.0)))
        loop.add_listener(recording.on_tick)
        app = App(config=AppConfig(robot="so101"), loop=loop, browser_input=None, recording=recording, store=store)
        loop.add_listener(app._watch_robot)
        loop.add_source(Wiggle())
        loop.start()
        try:
            recording.start("wave the arm", robot="so101")
            time.sleep(1.0)
            moved = emu.joints()
            emu.silence()
            assert _wait(lambda: loop.estopped), "the e-stop did not latch"
            st = loop.status()
            assert "not answering" in st.estop_reason and "FAULT" in app.robot_report()
            time.sleep(1.0)  # the loop and the recording go on while the arm holds
            assert np.degrees(np.abs(emu.joints() - moved)).max() < 10  # held near where it was, not driven
            ticks_recorded = recording.recorder.status.steps
            saved = recording.stop(None)
            assert saved.result.num_steps == ticks_recorded and ticks_recorded > 45
            assert saved.result.status == "saved", saved.result.problems
            emu.resume()
            assert _wait(lambda: app.loop.robot.fault == "", 10)
            loop.reset_estop()
            time.sleep(0.5)
            assert not loop.estopped  # the fault is gone: the reset holds
        finally:
            loop.close()
        assert emu.torque_on() == [False] * 6  # closing the app turns the torque off


def test_so101_sim_episode_exports_with_lerobots_joint_names(store, tmp_path):
    from core.recording.lerobot import export_lerobot, import_lerobot
    from core.robot.so101.joints import FEATURE_NAMES
    from core.robot.so101.sim import So101Sim
    from core.robot.tabletop import SimConfig

    loop = ControlLoop(lambda: So101Sim(SimConfig(image_size=96)), LoopConfig(hz=30.0, limits=LIMITS))
    recording = LiveRecording(store, Recorder(store, RecorderConfig(fps=30.0)))
    loop.add_listener(recording.on_tick)
    loop.add_source(Wiggle())
    loop.start(seed=1)
    try:
        eid = recording.start("wave the arm", robot="so101-sim", seed=1, cameras=("front", "wrist"))
        time.sleep(1.5)
        saved = recording.stop(True)
    finally:
        loop.close()
    assert saved.result.status == "saved", saved.result.problems
    root = export_lerobot(store, [eid], tmp_path / "ds").root
    info = json.loads((root / "meta" / "info.json").read_text())
    assert info["robot_type"] == "so101_follower"
    feats = info["features"]
    assert feats["observation.state"]["names"] == list(FEATURE_NAMES)
    assert feats["action"]["names"] == list(FEATURE_NAMES)
    assert feats["observation.ee_pose"]["names"] == ["x", "y", "z", "yaw", "gripper"]
    assert "observation.images.front" in feats and "observation.images.wrist" in feats
    rows = pq.read_table(root / "data" / "chunk-000" / "file-000.parquet").to_pylist()
    steps = _steps(store, eid)
    first = np.array(rows[0]["observation.state"])
    assert first[:5] == pytest.approx(np.degrees(steps[0].joints[:5]), abs=1e-3)  # degrees, LeRobot's units
    assert 0 <= first[5] <= 100
    # the action is the commanded goal, recorded as each step's cmd_joints (not the next measured joints)
    assert all(st.cmd_joints is not None and len(st.cmd_joints) == 6 for st in steps)
    k = max(range(len(steps)), key=lambda i: abs(steps[i].cmd_joints[1] - steps[i].joints[1]))
    assert abs(steps[k].cmd_joints[1] - steps[k].joints[1]) > 1e-3  # the goal leads the arm while it moves
    assert rows[k]["action"][:5] == pytest.approx(np.degrees(steps[k].cmd_joints[:5]), abs=1e-3)
    assert rows[k]["action.ee_pose"][:3] == pytest.approx([steps[k].cmd_x, steps[k].cmd_y, steps[k].cmd_z], abs=1e-5)
    assert rows[0]["observation.ee_pose"][:3] == pytest.approx([steps[0].x, steps[0].y, steps[0].z], abs=1e-5)
    back = import_lerobot(store, root).episode_ids[0]
    steps2 = _steps(store, back)
    assert steps2[3].joints == pytest.approx(steps[3].joints, abs=1e-4)  # radians again
    assert steps2[k].cmd_joints == pytest.approx(steps[k].cmd_joints, abs=1e-4)
    assert [steps2[k].cmd_x, steps2[k].cmd_yaw] == pytest.approx([steps[k].cmd_x, steps[k].cmd_yaw], abs=1e-5)
    assert [steps2[3].x, steps2[3].y, steps2[3].z] == pytest.approx([steps[3].x, steps[3].y, steps[3].z], abs=1e-5)


def _steps(store, episode_id: int) -> list:  # noqa: ANN001
    from sqlalchemy import select

    from core.store.models import Step

    with store.session() as s:
        return list(s.scalars(select(Step).where(Step.episode_id == episode_id).order_by(Step.idx)))
