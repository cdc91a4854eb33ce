"""Input watchdog: motion is zeroed when an input has been silent for longer than a timeout."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from core.types import Twist

log = logging.getLogger(__name__)

Clock = Callable[[], float]

DEFAULT_TIMEOUT_S = 0.25


class Watchdog:
    """Tracks the time of the last input and zeroes motion once it is older than `timeout_s`.

    Exactly at `timeout_s` the input still counts as alive; strictly later it has expired. A watchdog
    that was never fed is expired. `clock` returns seconds (monotonic); tests inject a fake one.
    Feeding and checking from different threads is safe (a single float is written and read).
    """

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S, clock: Clock = time.monotonic,
                 name: str = "input") -> None:
        if not timeout_s > 0:
            raise ValueError(f"watchdog timeout must be > 0, got {timeout_s!r}")
        self.timeout_s = float(timeout_s)
        self.clock = clock
        self.name = name
        self._last: float | None = None
        self._zeroing = False
        self.trips = 0  # how many times motion was cut because input went silent

    def feed(self, now: float | None = None) -> None:
        """Record that input arrived (at `now`, default: the clock)."""
        self._last = self.clock() if now is None else now
        self._zeroing = False

    def reset(self) -> None:
        """Forget the last input (e.g. the device was unplugged): expired until fed again."""
        self._last = None

    def age(self, now: float | None = None) -> float | None:
        """Seconds since the last feed, or None if never fed."""
        if self._last is None:
            return None
        return (self.clock() if now is None else now) - self._last

    def expired(self, now: float | None = None) -> bool:
        """True if never fed or the last feed is strictly older than `timeout_s`. No side effects."""
        age = self.age(now)
        return age is None or age > self.timeout_s

    def guard(self, twist: Twist, now: float | None = None) -> Twist:
        """`twist` if input is alive, else the same gripper event with zero motion.

        Each time motion is actually cut (non-zero motion meets an expired watchdog) `trips` counts
        one and a warning is logged once, until input arrives again.
        """
        if not self.expired(now) or twist.is_zero():
            return twist
        if not self._zeroing:
            self._zeroing = True
            self.trips += 1
            age = self.age(now)
            log.warning("%s silent for %s: motion zeroed", self.name,
                        "ever" if age is None else f"{age * 1000:.0f} ms")
        return Twist(gripper=twist.gripper)
