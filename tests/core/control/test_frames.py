"""Cameras drawn on demand: the frame hub's bookkeeping, the simulator skipping cameras, the loop and a
recording that holds its cameras, and each frame JPEG-encoded once."""

from __future__ import annotations

import time

import numpy as np
import pytest

from core.control.frames import FrameHub
from core.control.loop import ControlLoop, LoopConfig
from core.control.ticks import PHASES, TickPhases
from core.robot.sim import SimConfig, SimRobot
from core.types import Observation


def obs_with(**images: np.ndarray) -> Observation:
    return Observation(t=0.0, ee_pos=(0.0, 0.0, 0.0), ee_yaw=0.0, gripper=1.0, images=images)


def test_hub_wants_the_primary_camera_and_what_is_held_or_asked_for():
    hub = FrameHub()
    assert hub.wanted() is None  # cameras not known yet: draw everything
    hub.set_cameras(("front", "wrist", "side"))
    assert hub.wanted() == ("front",)
    with hub.hold("wrist"):
        with hub.hold("wrist"):
            assert hub.wanted() == ("front", "wrist")
        assert hub.wanted() == ("front", "wrist")  # one holder left
    assert hub.wanted() == ("front",)
    hub.acquire("side", "wrist")
    assert hub.wanted() == ("front", "wrist", "side")
    hub.release("side", "wrist")
    assert hub.wanted(extra=["side"]) == ("front", "side")  # e.g. the autonomous driver's camera
    hub.want("wrist", seconds=0.2)
    assert hub.wanted() == ("front", "wrist")
    time.sleep(0.3)
    assert hub.wanted() == ("front",)  # a single fetch's demand expires
    assert hub.cameras == ["front", "wrist", "side"]  # every camera, drawn or not


def test_hub_encodes_each_frame_once_even_when_it_is_published_again():
    hub = FrameHub()
    a = np.zeros((8, 8, 3), np.uint8)
    hub.publish(obs_with(front=a))
    first = hub.jpeg("front")
    hub.publish(obs_with(front=a))  # a robot holding still publishes the same frame again
    assert hub.jpeg("front") is first
    b = np.full((8, 8, 3), 200, np.uint8)
    hub.publish(obs_with(front=b))
    assert hub.jpeg("front") != first
    assert hub.jpeg("wrist") is None


def test_hub_wait_for_returns_when_a_frame_has_the_cameras():
    hub = FrameHub()
    hub.publish(obs_with(front=np.zeros((4, 4, 3), np.uint8)))
    assert not hub.wait_for("front", "wrist", timeout=0.1)
    hub.publish(obs_with(front=np.zeros((4, 4, 3), np.uint8), wrist=np.zeros((4, 4, 3), np.uint8)))
    assert hub.wait_for("front", "wrist", timeout=0.1)


@pytest.fixture
def sim():
    robot = SimRobot(SimConfig(image_size=64))
    robot.reset(0)
    yield robot
    robot.close()


def test_sim_draws_only_the_wanted_cameras(sim):
    sim.want_cameras(("front",))
    before = sim.renders
    sim.data.mocap_pos[0, 2] += 0.01  # something moved: draw again
    assert set(sim.observe().images) == {"front"} and sim.renders == before + 1
    sim.want_cameras(("wrist", "front", "no-such-camera"))  # unknown names are ignored
    obs = sim.observe()  # nothing moved: the front frame is reused, the wrist is drawn now
    assert set(obs.images) == {"front", "wrist"} and sim.renders == before + 2
    sim.want_cameras(None)
    assert set(sim.observe().images) == {"front", "wrist"} and sim.renders == before + 2


def test_drawn_on_demand_frames_equal_frames_drawn_every_tick(sim):
    both = sim.observe().images
    sim.want_cameras(("front",))
    sim.data.mocap_pos[0, 2] += 0.01
    sim.observe()
    sim.data.mocap_pos[0, 2] -= 0.01
    sim.want_cameras(("front", "wrist"))
    again = sim.observe().images  # back where `both` was drawn
    for cam in ("front", "wrist"):
        assert np.array_equal(again[cam], both[cam])


def test_loop_draws_the_wrist_only_while_held():
    loop = ControlLoop(lambda: SimRobot(SimConfig(image_size=64)), LoopConfig(hz=30.0, cameras_on_demand=True))
    loop.start(seed=0)
    try:
        time.sleep(0.3)
        assert set(loop.observation.images) == {"front"}
        with loop.frames.hold("wrist"):
            assert loop.frames.wait_for("front", "wrist", timeout=2.0)
        time.sleep(0.3)
        assert set(loop.observation.images) == {"front"}
        summary = loop.phases.summary()
        assert set(summary) == {*PHASES, "tick", "thread_cpu"}
        assert summary["tick"]["p50"] >= summary["observe"]["p50"] >= 0.0
    finally:
        loop.close()


def test_a_recording_holds_its_cameras_and_gets_every_frame(tmp_path):
    from core.recording import Recorder, RecorderConfig
    from core.recording.live import LiveRecording
    from core.store import StoreConfig, open_store

    store = open_store(StoreConfig(recordings_dir=tmp_path / "rec"))
    loop = ControlLoop(lambda: SimRobot(SimConfig(image_size=64)), LoopConfig(hz=30.0, cameras_on_demand=True))
    live = LiveRecording(store, Recorder(store, RecorderConfig(fps=30.0, min_free_bytes=1)), frames=loop.frames)
    loop.add_listener(live.on_tick)
    loop.start(seed=0)
    try:
        time.sleep(0.3)
        live.start("hold still", cameras=tuple(loop.frames.cameras))
        assert loop.frames.wanted() == ("front", "wrist")
        time.sleep(1.0)
        saved = live.stop(True)
        assert loop.frames.wanted() == ("front",)  # released with the episode
    finally:
        loop.close()
        store.close()
    assert saved.result.status == "saved", saved.result.problems
    assert saved.result.frames["front"] == saved.result.frames["wrist"] == saved.result.num_steps > 20


def test_tick_phases_ignore_a_tick_that_stopped_half_way():
    ph = TickPhases(window=10)
    assert ph.summary() == {}
    ph.begin()
    ph.mark()
    ph.end()  # not every phase marked
    assert ph.summary() == {}
    ph.begin()
    for _ in PHASES:
        ph.mark()
    ph.end()
    assert ph.summary()["tick"]["p50"] >= 0.0
