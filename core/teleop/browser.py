"""Teleop events posted by the browser page (keyboard, on-screen pad, WebHID SpaceMouse).

The page (ui/static/teleop.js) POSTs one JSON object per event to the app's teleop route:

    {"source": "keyboard" | "pad" | "webhid",
     "axes": [dx, dy, dz, droll, dpitch, dyaw],   # numbers in [-1, 1], robot base frame
     "gripper": null | 0 | 1,                     # page's gripper target right after a toggle, else null
     "buttons": [0 | 1, ...],                     # device button states (webhid), [] otherwise
     "seq": int}                                  # strictly increasing per page (starts at Date.now())

`BrowserTeleop.submit(payload)` validates strictly (any problem -> `TeleopInputError`, nothing
applied), keeps the latest state per source with its own watchdog, and returns a small JSON-able ack.
The page resends the current state every ~50 ms while an input is held and a heartbeat otherwise, so
a closed tab or a network hiccup zeroes motion within the watchdog timeout.

Gripper semantics: a change of the `gripper` value between consecutive accepted events (including
null -> value) is one gripper command, delivered once by `read()`. Repeats of the same value are not.
Buttons: a rising edge of `buttons[record_button]` calls the record callback (the page itself turns
button 0 of a WebHID SpaceMouse into a gripper toggle).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.teleop.base import SourceStatus, TeleopInputError, combine_twists
from core.teleop.shaping import ShapingConfig, shape
from core.teleop.watchdog import Clock, Watchdog
from core.types import Twist

log = logging.getLogger(__name__)

SOURCES: tuple[str, ...] = ("keyboard", "pad", "webhid")
EVENT_KEYS = frozenset({"source", "axes", "gripper", "buttons", "seq"})
MAX_BUTTONS = 32
MAX_SEQ = 2**53  # largest integer a JavaScript number holds exactly


@dataclass(frozen=True)
class BrowserEvent:
    """One validated page event."""

    source: str
    axes: tuple[float, float, float, float, float, float]
    gripper: float | None
    buttons: tuple[int, ...]
    seq: int


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def parse_event(payload: object) -> BrowserEvent:
    """Validate a decoded JSON event. Raises TeleopInputError naming the offending field."""
    if not isinstance(payload, Mapping):
        raise TeleopInputError(f"teleop event must be a JSON object, got {type(payload).__name__}")
    keys = set(payload.keys())
    missing = EVENT_KEYS - keys
    if missing:
        raise TeleopInputError(f"teleop event is missing {', '.join(sorted(missing))}")
    extra = keys - EVENT_KEYS
    if extra:
        raise TeleopInputError(f"teleop event has unknown field(s) {', '.join(sorted(map(str, extra)))}")

    source = payload["source"]
    if source not in SOURCES:
        raise TeleopInputError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")

    axes = payload["axes"]
    if not isinstance(axes, (list, tuple)) or len(axes) != 6:
        got = f"{len(axes)} values" if isinstance(axes, (list, tuple)) else type(axes).__name__
        raise TeleopInputError(f"axes must be a list of 6 numbers [dx, dy, dz, droll, dpitch, dyaw], got {got}")
    for i, v in enumerate(axes):
        if not _is_number(v):
            raise TeleopInputError(f"axes[{i}] must be a number, got {v!r}")
        if not math.isfinite(v):
            raise TeleopInputError(f"axes[{i}] is not finite ({v!r})")
        if abs(v) > 1.0:
            raise TeleopInputError(f"axes[{i}] = {v!r} is outside [-1, 1]")

    gripper = payload["gripper"]
    if gripper is not None and not (_is_number(gripper) and gripper in (0, 1)):
        raise TeleopInputError(f"gripper must be null, 0 or 1, got {gripper!r}")

    buttons = payload["buttons"]
    if not isinstance(buttons, (list, tuple)) or len(buttons) > MAX_BUTTONS:
        raise TeleopInputError(f"buttons must be a list of at most {MAX_BUTTONS} values 0/1")
    for i, b in enumerate(buttons):
        if not (isinstance(b, int) and not isinstance(b, bool) and b in (0, 1)):
            raise TeleopInputError(f"buttons[{i}] must be 0 or 1, got {b!r}")

    seq = payload["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq <= MAX_SEQ:
        raise TeleopInputError(f"seq must be an integer in [0, 2^53], got {seq!r}")

    a = tuple(float(v) for v in axes)
    return BrowserEvent(
        source=source,
        axes=(a[0], a[1], a[2], a[3], a[4], a[5]),
        gripper=None if gripper is None else float(gripper),
        buttons=tuple(buttons),
        seq=seq,
    )


@dataclass(frozen=True)
class BrowserTeleopConfig:
    """Settings of browser input.

    - `keys`: shaping for keyboard and on-screen pad (already digital: no deadzone by default).
    - `webhid`: shaping for a SpaceMouse read by the page (the page already maps raw HID axes to the
      robot frame; use `axis_map` here for per-model quirks).
    - `watchdog_s`: silence after which a source's motion is zeroed.
    - `presence_s`: the page counts as connected while it posted within this many seconds.
    - `record_button`: index in `buttons` whose press calls the record callback.
    """

    keys: ShapingConfig = field(default_factory=lambda: ShapingConfig(deadzone=0.0))
    webhid: ShapingConfig = field(default_factory=lambda: ShapingConfig(deadzone=0.08))
    watchdog_s: float = 0.25
    presence_s: float = 1.5
    record_button: int = 1


class _SourceState:
    __slots__ = ("axes", "buttons", "watchdog")

    def __init__(self, name: str, timeout_s: float, clock: Clock) -> None:
        self.axes: tuple[float, ...] = (0.0,) * 6
        self.buttons: tuple[int, ...] = ()
        self.watchdog = Watchdog(timeout_s, clock, name=f"browser {name}")


class BrowserTeleop:
    """Browser input as an `InputSource`; the web route calls `submit()` with each decoded JSON body."""

    name = "browser"

    def __init__(
        self,
        config: BrowserTeleopConfig | None = None,
        clock: Clock = time.monotonic,
        on_record: Callable[[], None] | None = None,
    ) -> None:
        self.config = config or BrowserTeleopConfig()
        self._clock = clock
        self._on_record = on_record
        self._lock = threading.Lock()
        self._shaping: dict[str, ShapingConfig] = {
            "keyboard": self.config.keys, "pad": self.config.keys, "webhid": self.config.webhid,
        }
        self._sources = {s: _SourceState(s, self.config.watchdog_s, clock) for s in SOURCES}
        self._last_seq: int | None = None
        self._last_event_at: float | None = None
        self._last_source: str | None = None
        self._prev_gripper: float | None = None
        self._gripper_ref: float | None = None
        self._pending_gripper: float | None = None
        self._invalid = 0
        self._stale = 0

    # ------------------------------------------------------------------ web route entry point

    def submit(self, payload: object) -> dict[str, Any]:
        """Validate and apply one page event.

        Returns ``{"ok": True, "applied": bool, "seq": int, "gripper": float | None}``: `applied` is
        False for an out-of-order (stale) event, `gripper` is the gripper target currently in force
        as far as the server knows (the page uses it as the basis of its next toggle).
        Raises TeleopInputError (nothing applied) for a malformed event.
        """
        try:
            ev = parse_event(payload)
        except TeleopInputError as e:
            with self._lock:
                self._invalid += 1
                n = self._invalid
            if n == 1 or n % 100 == 0:
                log.warning("rejected browser teleop event (%d so far): %s", n, e)
            raise
        record_pressed = False
        with self._lock:
            now = self._clock()
            recent = self._last_event_at is not None and now - self._last_event_at <= self.config.presence_s
            if self._last_seq is not None and ev.seq <= self._last_seq and recent:
                self._stale += 1
                return {"ok": True, "applied": False, "seq": ev.seq, "gripper": self._gripper_ref}
            self._last_seq = ev.seq
            self._last_event_at = now
            st = self._sources[ev.source]
            st.axes = shape(ev.axes, self._shaping[ev.source]).axes
            st.watchdog.feed(now)
            if not Twist(*st.axes).is_zero():
                self._last_source = ev.source
            if ev.gripper is not None and ev.gripper != self._prev_gripper:
                self._pending_gripper = self._gripper_ref = ev.gripper
                log.info("browser gripper command: %s", "open" if ev.gripper else "closed")
            self._prev_gripper = ev.gripper
            idx = self.config.record_button
            prev, st.buttons = st.buttons, ev.buttons
            if idx < len(ev.buttons) and ev.buttons[idx] and not (idx < len(prev) and prev[idx]):
                record_pressed = True
            ref = self._gripper_ref
        if record_pressed:
            self._fire_record()
        return {"ok": True, "applied": True, "seq": ev.seq, "gripper": ref}

    def _fire_record(self) -> None:
        callback = self._on_record
        if callback is None:
            log.info("browser record button pressed (no recorder attached)")
            return
        try:
            callback()
        except Exception:
            log.exception("record callback failed")

    # ------------------------------------------------------------------ InputSource

    def read(self) -> Twist:
        with self._lock:
            now = self._clock()
            twists = [st.watchdog.guard(Twist(*st.axes), now) for st in self._sources.values()]
            gripper, self._pending_gripper = self._pending_gripper, None
        return combine_twists([*twists, Twist(gripper=gripper)])

    def status(self) -> SourceStatus:
        with self._lock:
            now = self._clock()
            age = None if self._last_event_at is None else now - self._last_event_at
            alive = [st for st in self._sources.values() if not st.watchdog.expired(now)]
            active = any(any(st.axes) for st in alive)
            if age is None:
                state, detail = "not connected", "no input from a browser page yet"
            elif age <= self.config.presence_s:
                state, detail = "connected", "browser page sending" + (
                    f" (last used: {self._last_source})" if self._last_source else "")
            else:
                state, detail = "not connected", f"browser page silent for {age:.1f} s"
            return SourceStatus(
                source=self.name, state=state, detail=detail, device=self._last_source,
                last_input_age_s=age, watchdog_tripped=not alive, active=active,
                rejected=self._invalid,
            )

    def sync_gripper(self, target: float) -> None:
        if not (_is_number(target) and math.isfinite(target) and 0 <= target <= 1):
            raise ValueError(f"gripper target must be in [0, 1], got {target!r}")
        with self._lock:
            self._gripper_ref = float(target)

    def close(self) -> None:
        """Zero every source (nothing runs in the background)."""
        with self._lock:
            for st in self._sources.values():
                st.axes = (0.0,) * 6
                st.watchdog.reset()
            self._pending_gripper = None

    # ------------------------------------------------------------------ settings / hooks

    def set_shaping(self, shaping: ShapingConfig, sources: Iterable[str] = SOURCES) -> None:
        """Use `shaping` for the given sources from the next event on."""
        sources = tuple(sources)
        for s in sources:
            if s not in SOURCES:
                raise ValueError(f"unknown browser source {s!r}; expected one of {', '.join(SOURCES)}")
        with self._lock:
            for s in sources:
                self._shaping[s] = shaping

    def set_record_callback(self, callback: Callable[[], None] | None) -> None:
        """Called (on the web request's thread) when the page's record button is pressed."""
        self._on_record = callback

    @property
    def counters(self) -> dict[str, int]:
        """Diagnostics: rejected (invalid) and stale (out-of-order) events."""
        with self._lock:
            return {"invalid": self._invalid, "stale": self._stale}
