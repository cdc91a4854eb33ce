"""Browser teleop events: strict validation, watchdog, ordering, gripper and record semantics."""

from __future__ import annotations

import json
import re

import pytest

from core.teleop import BrowserTeleop, BrowserTeleopConfig, InputSource, ShapingConfig, TeleopInputError, parse_event
from core.types import Twist


class FakeClock:
    def __init__(self, t: float = 50.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def ev(source: str = "keyboard", axes: list | None = None, gripper: object = None,
       buttons: list | None = None, seq: int = 1, **extra: object) -> dict:
    d = {"source": source, "axes": axes if axes is not None else [0, 0, 0, 0, 0, 0],
         "gripper": gripper, "buttons": buttons if buttons is not None else [], "seq": seq}
    d.update(extra)
    return d


def make(**cfg: object) -> tuple[BrowserTeleop, FakeClock]:
    clock = FakeClock()
    return BrowserTeleop(BrowserTeleopConfig(**cfg), clock=clock), clock  # type: ignore[arg-type]


def test_is_an_input_source() -> None:
    assert isinstance(BrowserTeleop(), InputSource)


def test_parse_valid_event() -> None:
    e = parse_event(ev("webhid", [1, -0.5, 0, 0, 0, 0.25], gripper=1, buttons=[0, 1], seq=7))
    assert e.source == "webhid" and e.axes == (1.0, -0.5, 0.0, 0.0, 0.0, 0.25)
    assert e.gripper == 1.0 and e.buttons == (0, 1) and e.seq == 7


BAD = [
    ("not an object", "JSON object"),
    ([1, 2, 3], "JSON object"),
    ({"source": "keyboard", "axes": [0] * 6, "gripper": None, "buttons": []}, "missing seq"),
    (ev(extra_field=1), "unknown field"),
    (ev(source="joystick"), "source"),
    (ev(axes=[0] * 5), "got 5 values"),
    (ev(axes=[0] * 7), "got 7 values"),
    (ev(axes="000000"), "axes"),
    (ev(axes=[0, 0, "1", 0, 0, 0]), "axes[2]"),
    (ev(axes=[0, True, 0, 0, 0, 0]), "axes[1]"),
    (ev(axes=[0, 0, 0, 0, 0, None]), "axes[5]"),
    (ev(axes=[float("nan"), 0, 0, 0, 0, 0]), "not finite"),
    (ev(axes=[0, float("inf"), 0, 0, 0, 0]), "not finite"),
    (ev(axes=[0, 0, 1.5, 0, 0, 0]), "outside"),
    (ev(axes=[0, 0, 0, 1e300, 0, 0]), "outside"),
    (ev(gripper=0.5), "gripper"),
    (ev(gripper=True), "gripper"),
    (ev(gripper="open"), "gripper"),
    (ev(buttons=[2]), "buttons[0]"),
    (ev(buttons=[0, False]), "buttons[1]"),
    (ev(buttons={"a": 1}), "buttons"),
    (ev(buttons=[0] * 33), "buttons"),
    (ev(seq=-1), "seq"),
    (ev(seq=1.5), "seq"),
    (ev(seq="3"), "seq"),
    (ev(seq=True), "seq"),
    (ev(seq=2**60), "seq"),
]


@pytest.mark.parametrize(("payload", "message"), BAD)
def test_invalid_events_raise_and_apply_nothing(payload: object, message: str) -> None:
    bt, _ = make()
    bt.submit(ev(axes=[0.5, 0, 0, 0, 0, 0], seq=1))
    with pytest.raises(TeleopInputError, match=re.escape(message)):
        bt.submit(payload)
    assert bt.read() == Twist(dx=0.5)
    assert bt.status().rejected == 1
    assert bt.submit(ev(seq=2))["applied"]  # the bad event did not consume a seq


def test_nan_from_json_text_is_rejected() -> None:
    payload = json.loads('{"source":"pad","axes":[NaN,0,0,0,0,0],"gripper":null,"buttons":[],"seq":1}')
    with pytest.raises(TeleopInputError, match="not finite"):
        BrowserTeleop().submit(payload)


def test_submit_applies_and_watchdog_zeroes_after_250ms() -> None:
    bt, clock = make()
    ack = bt.submit(ev(axes=[1, 0, 0, 0, 0, -1], seq=10))
    assert ack == {"ok": True, "applied": True, "seq": 10, "gripper": None}
    assert bt.read() == Twist(dx=1.0, dyaw=-1.0)
    clock.t += 0.25
    assert bt.read() == Twist(dx=1.0, dyaw=-1.0)
    clock.t += 0.001
    assert bt.read() == Twist()
    st = bt.status()
    assert st.watchdog_tripped and not st.active and st.state == "connected"


def test_resending_keeps_motion_alive() -> None:
    bt, clock = make()
    for seq in range(1, 21):
        bt.submit(ev(axes=[0, 0, 0.5, 0, 0, 0], seq=seq))
        clock.t += 0.1
        assert bt.read().dz == 0.5


def test_out_of_order_event_is_ignored_but_reloaded_page_is_accepted() -> None:
    bt, clock = make()
    bt.submit(ev(axes=[0.5, 0, 0, 0, 0, 0], seq=100))
    ack = bt.submit(ev(axes=[1, 0, 0, 0, 0, 0], seq=99))
    assert ack["applied"] is False
    assert bt.read().dx == 0.5
    assert bt.counters["stale"] == 1
    clock.t += 2.0  # page went away; a new page starts with its own seq
    assert bt.submit(ev(axes=[0.2, 0, 0, 0, 0, 0], seq=5))["applied"]
    assert bt.read().dx == 0.2


def test_status_transitions() -> None:
    bt, clock = make()
    assert bt.status().state == "not connected"
    assert "no input" in bt.status().detail
    bt.submit(ev("pad", [0, 0.5, 0, 0, 0, 0], seq=1))
    st = bt.status()
    assert st.state == "connected" and st.active and st.device == "pad"
    clock.t += 2.0
    st = bt.status()
    assert st.state == "not connected" and "silent" in st.detail and not st.active


def test_gripper_is_one_command_per_change() -> None:
    bt, _ = make()
    bt.submit(ev(gripper=0, seq=1))
    bt.submit(ev(gripper=0, seq=2))  # the page repeats the value for robustness
    assert bt.read().gripper == 0.0
    assert bt.read().gripper is None
    bt.submit(ev(gripper=None, seq=3))
    bt.submit(ev(gripper=None, seq=4))
    assert bt.read().gripper is None
    bt.submit(ev(gripper=1, seq=5))
    assert bt.read().gripper == 1.0
    bt.submit(ev(gripper=None, seq=6))
    bt.submit(ev(gripper=1, seq=7))  # null -> 1 again: a new command (e.g. after sync)
    assert bt.read().gripper == 1.0


def test_ack_reports_synced_gripper_reference() -> None:
    bt, _ = make()
    bt.sync_gripper(0.0)
    assert bt.submit(ev(seq=1))["gripper"] == 0.0
    bt.submit(ev(gripper=1, seq=2))
    assert bt.submit(ev(seq=3))["gripper"] == 1.0
    with pytest.raises(ValueError):
        bt.sync_gripper(2.0)


def test_gripper_survives_watchdog() -> None:
    bt, clock = make()
    bt.submit(ev(axes=[1, 0, 0, 0, 0, 0], gripper=0, seq=1))
    clock.t += 1.0
    assert bt.read() == Twist(gripper=0.0)


def test_record_button_rising_edge_calls_callback() -> None:
    calls: list[int] = []
    bt, _ = make()
    bt.set_record_callback(lambda: calls.append(1))
    for seq, b in enumerate(([0, 1], [0, 1], [0, 0], [1, 1], [0]), start=1):
        bt.submit(ev("webhid", buttons=b, seq=seq))
    assert len(calls) == 2


def test_sources_are_combined_and_clamped() -> None:
    bt, clock = make(webhid=ShapingConfig(deadzone=0.0))
    bt.submit(ev("keyboard", [1, 0, 0, 0, 0, 0], seq=1))
    bt.submit(ev("webhid", [0.5, 0.5, 0, 0, 0, 0], seq=2))
    assert bt.read() == Twist(dx=1.0, dy=0.5)
    bt.submit(ev("keyboard", [0, 0, 0, 0, 0, 0], seq=3))  # key released
    assert bt.read() == Twist(dx=0.5, dy=0.5)
    clock.t += 0.3
    assert bt.read() == Twist()


def test_per_source_shaping() -> None:
    bt, _ = make(webhid=ShapingConfig(deadzone=0.2))
    bt.submit(ev("webhid", [0.1, 0.6, 0, 0, 0, 0], seq=1))
    assert bt.read().dx == 0.0 and bt.read().dy == pytest.approx(0.5)
    bt.set_shaping(ShapingConfig(deadzone=0.0, sensitivity=(0.5, 1, 1, 1, 1, 1)), sources=["keyboard"])
    bt.submit(ev("keyboard", [1, 0, 0, 0, 0, 0], seq=2))
    assert bt.read().dx == 0.5
    with pytest.raises(ValueError):
        bt.set_shaping(ShapingConfig(), sources=["mouse"])


def test_close_zeroes_everything() -> None:
    bt, _ = make()
    bt.submit(ev(axes=[1, 0, 0, 0, 0, 0], gripper=1, seq=1))
    bt.close()
    assert bt.read() == Twist()
