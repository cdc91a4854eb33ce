import threading
import time

import pytest

from core.control.loop import ControlError, ControlLoop, LoopConfig
from core.robot.sim import SimConfig, SimRobot
from core.teleop.base import SourceStatus
from core.types import Twist


class FakeSource:
    name = "fake"

    def __init__(self):
        self.twist = Twist()
        self.synced: list[float] = []

    def read(self) -> Twist:
        tw, g = self.twist, self.twist.gripper
        if g is not None:  # gripper is a one-shot event
            self.twist = Twist(tw.dx, tw.dy, tw.dz, tw.droll, tw.dpitch, tw.dyaw, None)
        return tw

    def status(self) -> SourceStatus:
        return SourceStatus(source=self.name, state="connected")

    def sync_gripper(self, target: float) -> None:
        self.synced.append(target)

    def close(self) -> None:
        pass


class FakeDriver:
    def __init__(self, twist: Twist, ticks: int = 10_000):
        self.twist, self.left, self.cancelled = twist, ticks, None

    def next_twist(self, obs):
        if self.cancelled or self.left <= 0:
            return None
        self.left -= 1
        return self.twist

    def cancel(self, reason):
        self.cancelled = reason


@pytest.fixture
def loop():
    src = FakeSource()
    lp = ControlLoop(lambda: SimRobot(SimConfig(render=False)), LoopConfig(hz=30))
    lp.add_source(src)
    lp.start(seed=0)
    lp.src = src
    yield lp
    lp.close()


def wait_until(pred, timeout=3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return False


def test_teleop_moves_the_end_effector(loop):
    x0 = loop.observation.ee_pos[0]
    loop.src.twist = Twist(dx=1.0)
    assert wait_until(lambda: loop.observation.ee_pos[0] > x0 + 0.03)
    assert loop.status().mode == "teleop"
    loop.src.twist = Twist()
    assert wait_until(lambda: loop.status().mode == "idle")


def test_estop_halts_and_latches_until_reset(loop):
    loop.src.twist = Twist(dy=1.0)
    assert wait_until(lambda: loop.status().mode == "teleop")
    loop.estop("test")
    time.sleep(0.1)
    y_stopped = loop.observation.ee_pos[1]
    time.sleep(0.3)
    assert loop.status().mode == "e-stop"
    assert abs(loop.observation.ee_pos[1] - y_stopped) < 0.005  # holds although input still asks to move
    with pytest.raises(ControlError):
        loop.set_driver(FakeDriver(Twist(dx=1)))
    loop.reset_estop()
    assert wait_until(lambda: loop.observation.ee_pos[1] > y_stopped + 0.02)


def test_operator_takeover_cancels_autonomous(loop):
    drv = FakeDriver(Twist(dz=-1.0))
    loop.set_driver(drv)
    assert wait_until(lambda: loop.status().mode == "autonomous")
    loop.src.twist = Twist(dx=0.5)
    assert wait_until(lambda: drv.cancelled is not None)
    assert "takeover" in drv.cancelled
    assert wait_until(lambda: loop.status().mode == "teleop")


def test_driver_finishing_returns_to_idle(loop):
    loop.set_driver(FakeDriver(Twist(dz=-1.0), ticks=5))
    assert wait_until(lambda: loop.status().mode == "idle" and loop.status().ticks > 10)


def test_gripper_event_syncs_sources(loop):
    loop.src.twist = Twist(gripper=0.0)
    assert wait_until(lambda: 0.0 in loop.src.synced)
    assert wait_until(lambda: loop.observation.gripper < 0.2)


def test_reset_runs_on_control_thread_and_changes_layout(loop):
    before = loop.observation.scene
    obs = loop.reset(42)
    assert obs.scene != before
    assert loop.status().seed == 42


def test_listeners_get_every_tick_and_a_failing_one_is_removed(loop):
    seen = []
    loop.add_listener(lambda obs, step: seen.append(step.t))

    def bad(obs, step):
        raise RuntimeError("boom")

    loop.add_listener(bad)
    assert wait_until(lambda: len(seen) > 10)
    assert bad not in loop._listeners
    assert loop.status().running


def test_slow_caller_cannot_stall_the_loop(loop):
    hold = threading.Event()
    t = threading.Thread(target=lambda: hold.wait(1.0))
    t.start()
    ticks = loop.status().ticks
    time.sleep(0.5)
    assert loop.status().ticks - ticks >= 10
    hold.set()
    t.join()


def test_robot_start_failure_is_reported():
    def broken():
        raise RuntimeError("no robot here")

    lp = ControlLoop(broken)
    with pytest.raises(ControlError, match="no robot here"):
        lp.start()


def test_the_app_loop_freezes_the_objects_alive_at_start_out_of_full_collections():
    import gc

    gc.unfreeze()
    plain = ControlLoop(lambda: SimRobot(SimConfig(render=False)), LoopConfig(hz=30))
    plain.start(seed=0)
    plain.close()
    assert gc.get_freeze_count() == 0  # off by default: a library loop leaves the process's collector alone
    frozen = ControlLoop(lambda: SimRobot(SimConfig(render=False)), LoopConfig(hz=30, freeze_gc=True))
    try:
        frozen.start(seed=0)
        assert gc.get_freeze_count() > 1000 and frozen.status().ticks >= 0
    finally:
        frozen.close()
        gc.unfreeze()  # back to a plain collector for the rest of the suite
