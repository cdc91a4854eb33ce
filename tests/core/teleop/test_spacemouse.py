"""Server-side SpaceMouse with a fake pyspacemouse backend: absence, hot-plug, unplug, buttons."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest

import core.teleop.spacemouse as sm_mod
from core.teleop import InputSource, ShapingConfig, SpaceMouseConfig, SpaceMouseTeleop
from core.teleop.shaping import AxisMap
from core.teleop.spacemouse import SpaceMouseUnavailable
from core.types import Twist


class FakeClock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@dataclass
class State:
    """Mirrors pyspacemouse.SpaceMouseState."""

    t: float = -1.0
    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    roll: float = 0.0
    pitch: float = 0.0
    yaw: float = 0.0
    buttons: list[int] = field(default_factory=lambda: [0, 0])


@dataclass
class Info:
    button_names: tuple[str, ...] = ("LEFT", "RIGHT")


class FakeDevice:
    """Mirrors pyspacemouse.SpaceMouseDevice: read() returns the same mutable state, stamped per report."""

    def __init__(self, backend: FakeBackend, name: str = "SpaceNavigator") -> None:
        self.backend = backend
        self.name = name
        self.info = Info()
        self.state = State()
        self.queue: list[dict] = []
        self.closed = False
        self.stamp = 0.0

    def push(self, **values: object) -> None:
        self.queue.append(values)

    def read(self) -> State:
        if not self.backend.present:
            raise OSError("Failed to read from HID device: -1")
        if self.queue:
            for k, v in self.queue.pop(0).items():
                setattr(self.state, k, v)
            self.stamp += 1.0
            self.state.t = self.stamp
        return self.state

    def close(self) -> None:
        self.closed = True


class FakeBackend:
    def __init__(self, present: bool = False, open_error: str | None = None) -> None:
        self.present = present
        self.open_error = open_error
        self.open_calls: list[dict] = []
        self.device: FakeDevice | None = None

    def open(self, **kwargs: object) -> FakeDevice:
        self.open_calls.append(kwargs)
        if self.open_error:
            raise RuntimeError(self.open_error)
        if not self.present:
            raise RuntimeError("No connected or supported devices found.")
        self.device = FakeDevice(self)
        return self.device

    def get_connected_devices(self) -> list[str]:
        return ["SpaceNavigator"] if self.present else []


def make(present: bool = False, **cfg: object) -> tuple[SpaceMouseTeleop, FakeBackend, FakeClock]:
    clock = FakeClock()
    backend = FakeBackend(present)
    config = SpaceMouseConfig(shaping=ShapingConfig(deadzone=0.0), **cfg)  # type: ignore[arg-type]
    return SpaceMouseTeleop(config, backend=backend, clock=clock), backend, clock


def step(sm: SpaceMouseTeleop, clock: FakeClock, dt: float = 0.01) -> None:
    clock.t += dt
    sm.poll()


def test_is_an_input_source() -> None:
    sm, _, _ = make()
    assert isinstance(sm, InputSource)


def test_absent_device_reports_not_connected_and_never_raises() -> None:
    sm, backend, clock = make(present=False)
    sm.poll()
    st = sm.status()
    assert st.state == "not connected"
    assert st.detail == "No connected or supported devices found."
    assert sm.read() == Twist()
    # retries only every retry_s
    for _ in range(10):
        step(sm, clock, 0.1)
    assert len(backend.open_calls) == 1
    step(sm, clock, 0.6)
    assert len(backend.open_calls) == 2
    assert backend.open_calls[0]["axis_convention"] == "ros"
    assert backend.open_calls[0]["nonblocking"] is True


def test_hot_plug_is_detected_and_axes_flow() -> None:
    sm, backend, clock = make(present=False)
    sm.poll()
    backend.present = True
    step(sm, clock, 1.6)
    st = sm.status()
    assert st.state == "connected" and st.device == "SpaceNavigator"
    backend.device.push(x=0.5, y=-0.25, yaw=0.1)
    step(sm, clock)
    assert sm.read() == Twist(dx=0.5, dy=-0.25, dyaw=0.1)
    assert sm.status().active


def test_all_queued_reports_are_drained_in_one_poll() -> None:
    sm, backend, clock = make(present=True)
    sm.poll()
    for v in (0.1, 0.2, 0.3, 0.4):
        backend.device.push(x=v)
    step(sm, clock)
    assert sm.read().dx == pytest.approx(0.4)
    assert backend.device.queue == []


def test_unplug_read_error_zeroes_at_once_then_replug_reconnects() -> None:
    sm, backend, clock = make(present=True)
    sm.poll()
    dev = backend.device
    dev.push(x=0.8)
    step(sm, clock)
    assert sm.read().dx == pytest.approx(0.8)
    backend.present = False
    step(sm, clock)
    assert sm.read() == Twist()
    st = sm.status()
    assert st.state == "not connected" and "disconnected" in st.detail
    assert dev.closed
    backend.present = True
    step(sm, clock, 0.6)
    assert sm.status().state == "connected"
    assert backend.device is not dev


def test_silent_deflected_device_is_zeroed_after_250ms_and_dropped_when_gone() -> None:
    sm, backend, clock = make(present=True)
    sm.poll()
    backend.device.push(x=0.8)
    step(sm, clock, 0.0)
    t0 = clock.t
    clock.t = t0 + 0.25
    sm.poll()
    assert sm.read().dx == pytest.approx(0.8)  # exactly 250 ms: still alive
    clock.t = t0 + 0.26
    sm.poll()
    assert sm.read() == Twist()  # > 250 ms of silence: zero
    assert sm.status().watchdog_tripped
    # the device vanished without a read error: the presence check drops it
    backend.device.backend = FakeBackend(present=True)  # reads keep "working" (return stale state)
    backend.present = False
    clock.t = t0 + 1.1
    sm.poll()
    assert sm.status().state == "not connected"


def test_resting_device_stays_connected_without_reports() -> None:
    sm, backend, clock = make(present=True)
    sm.poll()
    for _ in range(30):
        step(sm, clock, 0.1)
    assert sm.status().state == "connected"
    assert sm.read() == Twist()


def test_left_button_toggles_gripper_once_per_press() -> None:
    sm, backend, clock = make(present=True)
    sm.poll()
    dev = backend.device
    dev.push(buttons=[1, 0])
    step(sm, clock)
    assert sm.read().gripper == 0.0  # starts open: first press closes
    assert sm.read().gripper is None  # one-shot
    dev.push(buttons=[1, 0])  # still held: no new toggle
    dev.push(buttons=[0, 0])
    step(sm, clock)
    assert sm.read().gripper is None
    dev.push(buttons=[1, 0])
    step(sm, clock)
    assert sm.read().gripper == 1.0


def test_sync_gripper_makes_toggle_flip_from_reality() -> None:
    sm, backend, clock = make(present=True)
    sm.poll()
    sm.sync_gripper(0.0)  # e.g. the policy closed it
    backend.device.push(buttons=[1, 0])
    step(sm, clock)
    assert sm.read().gripper == 1.0
    with pytest.raises(ValueError):
        sm.sync_gripper(float("nan"))


def test_right_button_calls_record_callback_on_press_only() -> None:
    calls: list[int] = []
    sm, backend, clock = make(present=True)
    sm.set_record_callback(lambda: calls.append(1))
    sm.poll()
    dev = backend.device
    for b in ([0, 1], [0, 1], [0, 0], [0, 1]):
        dev.push(buttons=b)
    step(sm, clock)
    assert len(calls) == 2
    assert sm.read().gripper is None


def test_failing_record_callback_does_not_break_the_reader() -> None:
    sm, backend, clock = make(present=True)

    def boom() -> None:
        raise RuntimeError("recorder broke")

    sm.set_record_callback(boom)
    sm.poll()
    backend.device.push(buttons=[0, 1], x=0.3)
    step(sm, clock)
    assert sm.read().dx == pytest.approx(0.3)
    assert sm.status().state == "connected"


def test_buttons_resolved_by_name_on_pro_models() -> None:
    sm, backend, clock = make(present=True, gripper_buttons=("BTN_1", 0), record_buttons=("BTN_2", 1))
    backend_open = backend.open

    def open_pro(**kw: object) -> FakeDevice:
        dev = backend_open(**kw)
        dev.info = Info(button_names=("MENU", "FIT", "BTN_1", "BTN_2"))
        return dev

    backend.open = open_pro  # type: ignore[method-assign]
    sm.poll()
    backend.device.push(buttons=[1, 0, 0, 0])  # MENU: not the gripper button here
    step(sm, clock)
    assert sm.read().gripper is None
    backend.device.push(buttons=[0, 0, 1, 0])
    step(sm, clock)
    assert sm.read().gripper == 0.0


def test_nan_from_device_is_rejected_and_counted() -> None:
    sm, backend, clock = make(present=True)
    sm.poll()
    backend.device.push(x=float("nan"), y=0.5)
    step(sm, clock)
    assert sm.read() == Twist(dy=0.5)
    assert sm.status().rejected == 1


def test_shaping_and_axis_map_apply_live() -> None:
    sm, backend, clock = make(present=True)
    sm.poll()
    backend.device.push(x=0.6, y=0.2)
    step(sm, clock)
    sm.set_shaping(ShapingConfig(deadzone=0.0, sensitivity=(0.5, 1, 1, 1, 1, 1),
                                 axis_map=AxisMap.parse("x -y z roll pitch yaw")))
    assert sm.read() == Twist(dx=0.3, dy=-0.2)


def test_permission_problem_gets_udev_hint() -> None:
    clock = FakeClock()
    backend = FakeBackend(present=True, open_error="Failed to open device")
    sm = SpaceMouseTeleop(SpaceMouseConfig(), backend=backend, clock=clock)
    sm.poll()
    st = sm.status()
    assert st.state == "not connected" and "udev" in st.detail


def test_missing_pyspacemouse_or_hidapi_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail() -> None:
        raise SpaceMouseUnavailable("pyspacemouse cannot be loaded (libhidapi-hidraw.so: not found)")

    monkeypatch.setattr(sm_mod, "load_pyspacemouse", fail)
    sm = SpaceMouseTeleop(clock=FakeClock())
    sm.poll()
    assert sm.status().state == "unavailable"
    assert sm.read() == Twist()


def test_reader_thread_hot_plug_and_close() -> None:
    backend = FakeBackend(present=False)
    cfg = SpaceMouseConfig(shaping=ShapingConfig(deadzone=0.0), retry_s=0.02, poll_s=0.002)
    with SpaceMouseTeleop(cfg, backend=backend) as sm:
        time.sleep(0.05)
        assert sm.status().state == "not connected"
        backend.present = True
        deadline = time.monotonic() + 2.0
        while sm.status().state != "connected" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sm.status().state == "connected"
        backend.device.push(z=0.7)
        deadline = time.monotonic() + 2.0
        while sm.read().dz == 0.0 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert sm.read().dz == pytest.approx(0.7)
        # silence: zero within the watchdog timeout (+ scheduling slack)
        time.sleep(0.3)
        assert sm.read() == Twist()
        dev = backend.device
    assert dev.closed
    assert sm.status().detail == "closed"


def test_real_pyspacemouse_without_device_is_not_connected() -> None:
    pytest.importorskip("pyspacemouse")
    sm = SpaceMouseTeleop(clock=FakeClock())
    sm.poll()
    st = sm.status()
    assert st.state in ("not connected", "unavailable")
    sm.close()
