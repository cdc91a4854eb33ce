"""Watchdog timing with a fake clock: strictly more than 250 ms of silence zeroes motion."""

from __future__ import annotations

import pytest

from core.teleop.watchdog import Watchdog
from core.types import Twist


class FakeClock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


MOVE = Twist(dx=0.5, dyaw=-0.2)


def test_never_fed_is_expired() -> None:
    wd = Watchdog(clock=FakeClock())
    assert wd.expired() and wd.age() is None
    assert wd.guard(MOVE) == Twist()


def test_exactly_250ms_alive_just_over_expired() -> None:
    clock = FakeClock(100.0)
    wd = Watchdog(0.25, clock)
    wd.feed()
    clock.t = 100.25
    assert not wd.expired()
    assert wd.guard(MOVE) == MOVE
    clock.t = 100.2501
    assert wd.expired()
    assert wd.guard(MOVE) == Twist()


def test_feeding_keeps_it_alive_and_trip_counts_once_per_silence() -> None:
    clock = FakeClock(0.0)
    wd = Watchdog(0.25, clock)
    for _ in range(10):
        wd.feed()
        clock.t += 0.1
        assert wd.guard(MOVE) == MOVE
    clock.t += 1.0
    for _ in range(3):
        assert wd.guard(MOVE).is_zero()
    assert wd.trips == 1
    wd.feed()
    assert wd.guard(MOVE) == MOVE
    clock.t += 0.3
    assert wd.guard(MOVE).is_zero()
    assert wd.trips == 2


def test_guard_keeps_gripper_event_and_zero_twists_untouched() -> None:
    wd = Watchdog(0.25, FakeClock())
    assert wd.guard(Twist(dx=1.0, gripper=0.0)) == Twist(gripper=0.0)
    assert wd.guard(Twist()) == Twist()
    assert wd.trips == 1


def test_explicit_now_and_reset() -> None:
    wd = Watchdog(0.25, FakeClock(0.0))
    wd.feed(now=10.0)
    assert wd.age(now=10.1) == pytest.approx(0.1)
    assert not wd.expired(now=10.25)
    wd.reset()
    assert wd.expired(now=10.0)


def test_invalid_timeout() -> None:
    with pytest.raises(ValueError):
        Watchdog(0.0)
