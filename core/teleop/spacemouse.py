"""SpaceMouse read on the server through pyspacemouse 2.x, in its own reader thread, with hot-plug.

Behaviour:
- No device: `status()` says "not connected" with pyspacemouse's message; the reader retries every
  `retry_s` seconds in the background. Nothing raises into the caller.
- pyspacemouse/hidapi cannot be loaded (e.g. Debian's libhidapi-hidraw0 missing): "unavailable".
- Unplug: a read error drops the device at once (motion zeroed); a device that stops reporting while
  deflected is zeroed by the watchdog after `watchdog_s`, and after `presence_check_s` of silence the
  reader asks hidapi whether it is still there.
- Buttons: the gripper button toggles the gripper target; the record button calls the record callback
  (on the reader thread: keep it short and non-blocking).

Axes are read in pyspacemouse's "ros" convention (+x forward, +y left, +z up, right-handed rotations),
which is the robot base frame of this project when the operator faces the robot's +x; per-model
quirks are fixed with `shaping.axis_map` (see docs/spacemouse.md).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.teleop.base import ConnectionState, SourceStatus, TeleopError, toggled
from core.teleop.shaping import ShapingConfig, sanitize, shape
from core.teleop.watchdog import Clock, Watchdog
from core.types import Twist

log = logging.getLogger(__name__)

NO_DEVICE_MESSAGE = "No connected or supported devices found."
PERMISSION_HINT = (
    "if a SpaceMouse is plugged in, the user may lack access to /dev/hidraw* "
    "(install the udev rule in docs/spacemouse.md)"
)
_ZERO6 = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


class SpaceMouseUnavailable(TeleopError):
    """pyspacemouse or the system hidapi library cannot be loaded on this machine."""


@dataclass(frozen=True)
class SpaceMouseConfig:
    """Settings of the server-side SpaceMouse.

    - `device`: pyspacemouse device name ("SpaceNavigator", "SpaceMouseCompact", ...); None = first found.
    - `convention`: pyspacemouse AxisConvention value; "ros" gives +x forward, +y left, +z up.
    - `shaping`: deadzone, sensitivity, inversion and per-model axis map.
    - `watchdog_s`: silence after which motion is zeroed.
    - `retry_s`: interval between open attempts while no device is connected.
    - `poll_s`: reader sleep between non-blocking reads (all queued reports are drained each time).
    - `presence_check_s`: silence after which hidapi is asked whether the device is still connected.
    - `gripper_buttons` / `record_buttons`: candidate buttons, by pyspacemouse button name or index;
      the first that exists on the connected model is used.
    """

    device: str | None = None
    device_index: int = 0
    convention: str = "ros"
    shaping: ShapingConfig = field(default_factory=lambda: ShapingConfig(deadzone=0.08))
    watchdog_s: float = 0.25
    retry_s: float = 1.5
    poll_s: float = 0.004
    presence_check_s: float = 1.0
    gripper_buttons: tuple[str | int, ...] = ("LEFT", "BTN_1", 0)
    record_buttons: tuple[str | int, ...] = ("RIGHT", "BTN_2", 1)
    max_reads_per_poll: int = 64

    def __post_init__(self) -> None:
        for name in ("watchdog_s", "retry_s", "poll_s", "presence_check_s"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"SpaceMouseConfig.{name} must be a positive number, got {v!r}")


def load_pyspacemouse() -> Any:
    """Import pyspacemouse (which loads the system hidapi). Raises SpaceMouseUnavailable."""
    try:
        import pyspacemouse
    except Exception as e:  # ImportError, or OSError from dlopen when libhidapi is missing
        raise SpaceMouseUnavailable(
            f"pyspacemouse cannot be loaded ({e}); install it and Debian's libhidapi-hidraw0"
        ) from e
    return pyspacemouse


def _resolve_button(candidates: Sequence[str | int], names: Sequence[str]) -> int | None:
    for c in candidates:
        if isinstance(c, str) and c in names:
            return list(names).index(c)
        if isinstance(c, int) and not isinstance(c, bool):
            return c
    return None


class SpaceMouseTeleop:
    """Server-side SpaceMouse as an `InputSource`.

    `backend` is the pyspacemouse module (default, imported lazily) or any object with
    `open(**kwargs) -> device` raising RuntimeError when no device is present, and optionally
    `get_connected_devices() -> list[str]`. A device has `read() -> state` (attributes t, x, y, z,
    roll, pitch, yaw, buttons; `t` changes when a new report was processed) and `close()`.
    Use `start()` to run the reader thread, or call `poll()` yourself (tests do, with a fake clock).
    """

    name = "spacemouse"

    def __init__(
        self,
        config: SpaceMouseConfig | None = None,
        backend: Any | None = None,
        clock: Clock = time.monotonic,
        on_record: Callable[[], None] | None = None,
    ) -> None:
        self.config = config or SpaceMouseConfig()
        self._backend = backend
        self._clock = clock
        self._on_record = on_record
        self._shaping = self.config.shaping
        self._lock = threading.Lock()
        self._watchdog = Watchdog(self.config.watchdog_s, clock, name="SpaceMouse")
        self._device: Any | None = None
        self._device_name: str | None = None
        self._last_t: Any = None
        self._last_report: float | None = None
        self._next_presence = 0.0
        self._next_retry = 0.0
        self._raw: tuple[float, ...] = _ZERO6
        self._axes: tuple[float, ...] = _ZERO6
        self._buttons: tuple[int, ...] = ()
        self._gripper_idx: int | None = None
        self._record_idx: int | None = None
        self._gripper_ref: float | None = None
        self._pending_gripper: float | None = None
        self._rejected = 0
        self._state: ConnectionState = "not connected"
        self._detail = "looking for a SpaceMouse"
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> SpaceMouseTeleop:
        """Start the background reader thread (idempotent). Returns self."""
        if self._thread is not None and self._thread.is_alive():
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="spacemouse-reader", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop the reader and release the device (idempotent)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
        with self._lock:
            self._drop_device_locked()
            self._detail = "closed"

    def __enter__(self) -> SpaceMouseTeleop:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                delay = self.poll()
            except Exception:  # never let the reader die: drop the device and retry later
                log.exception("SpaceMouse reader error")
                with self._lock:
                    self._drop_device_locked()
                    self._next_retry = self._clock() + self.config.retry_s
                delay = self.config.retry_s
            self._stop.wait(delay)

    # ------------------------------------------------------------------ InputSource

    def read(self) -> Twist:
        with self._lock:
            axes = self._axes if self._device is not None else _ZERO6
            gripper, self._pending_gripper = self._pending_gripper, None
        return self._watchdog.guard(Twist(*axes, gripper=gripper))

    def status(self) -> SourceStatus:
        with self._lock:
            now = self._clock()
            expired = self._watchdog.expired(now)
            return SourceStatus(
                source=self.name,
                state=self._state,
                detail=self._detail,
                device=self._device_name,
                last_input_age_s=self._watchdog.age(now),
                watchdog_tripped=expired,
                active=self._device is not None and not expired and any(self._axes),
                rejected=self._rejected,
            )

    def sync_gripper(self, target: float) -> None:
        if not (isinstance(target, (int, float)) and math.isfinite(target) and 0 <= target <= 1):
            raise ValueError(f"gripper target must be in [0, 1], got {target!r}")
        with self._lock:
            self._gripper_ref = float(target)

    # ------------------------------------------------------------------ settings / hooks

    def set_shaping(self, shaping: ShapingConfig) -> None:
        """Apply new deadzone/sensitivity/inversion/axis map at once (also to the held value)."""
        with self._lock:
            self._shaping = shaping
            self._axes = shape(self._raw, shaping).axes

    def set_record_callback(self, callback: Callable[[], None] | None) -> None:
        """Called (on the reader thread) when the record button is pressed."""
        self._on_record = callback

    # ------------------------------------------------------------------ reader

    def poll(self, now: float | None = None) -> float:
        """One reader iteration: open if needed, drain pending reports. Returns the suggested sleep."""
        now = self._clock() if now is None else now
        if self._device is None:
            if now < self._next_retry:
                return min(self._next_retry - now, self.config.retry_s)
            self._try_open(now)
            return self.config.poll_s if self._device is not None else self.config.retry_s
        try:
            got = self._drain(now)
        except Exception as e:  # easyhid.HIDException on unplug, OSError, ...
            self._lost(f"read failed ({e})", now)
            return self.config.poll_s
        if got:
            self._watchdog.feed(now)
            self._last_report = now
        elif self._silent_for(now) >= self.config.presence_check_s and now >= self._next_presence:
            self._next_presence = now + self.config.presence_check_s
            if not self._still_present():
                self._lost("device no longer listed by hidapi", now)
        return self.config.poll_s

    def _silent_for(self, now: float) -> float:
        return math.inf if self._last_report is None else now - self._last_report

    def _get_backend(self) -> Any:
        if self._backend is None:
            self._backend = load_pyspacemouse()
        return self._backend

    def _try_open(self, now: float) -> None:
        try:
            backend = self._get_backend()
        except SpaceMouseUnavailable as e:
            self._set_state("unavailable", str(e), logging.WARNING)
            self._next_retry = now + 10 * self.config.retry_s
            return
        cfg = self.config
        try:
            device = backend.open(
                nonblocking=True, device=cfg.device, device_index=cfg.device_index,
                axis_convention=cfg.convention,
            )
        except RuntimeError as e:
            msg = str(e) or NO_DEVICE_MESSAGE
            detail = msg if msg == NO_DEVICE_MESSAGE else f"{msg}; {PERMISSION_HINT}"
            self._set_state("not connected", detail, logging.INFO)
            self._next_retry = now + cfg.retry_s
            return
        except Exception as e:  # ValueError (unknown model name), OSError, HID errors
            self._set_state("not connected", f"cannot open SpaceMouse: {e}", logging.WARNING)
            self._next_retry = now + cfg.retry_s
            return
        names = tuple(getattr(getattr(device, "info", None), "button_names", ()) or ())
        name = getattr(device, "name", None) or cfg.device or "SpaceMouse"
        with self._lock:
            self._device = device
            self._device_name = str(name)
            self._last_t = None
            self._raw = self._axes = _ZERO6
            self._buttons = ()
            self._gripper_idx = _resolve_button(cfg.gripper_buttons, names)
            self._record_idx = _resolve_button(cfg.record_buttons, names)
        self._last_report = now  # grace period before the presence check
        self._next_presence = now + cfg.presence_check_s
        self._watchdog.reset()
        self._set_state("connected", f"{name} connected", logging.INFO)

    def _drain(self, now: float) -> bool:
        """Read every queued report; True if at least one new report arrived."""
        got = False
        for _ in range(self.config.max_reads_per_poll):
            device = self._device
            if device is None:
                break
            state = device.read()
            t = getattr(state, "t", None)
            # pyspacemouse stamps `t` when it processes a report; -1 means "nothing read yet"
            if t is None or t == self._last_t or (isinstance(t, (int, float)) and t < 0):
                break
            self._last_t = t
            got = True
            self._process(state)
        return got

    def _process(self, state: Any) -> None:
        raw = tuple(getattr(state, a, 0.0) for a in ("x", "y", "z", "roll", "pitch", "yaw"))
        try:
            buttons = tuple(1 if b else 0 for b in getattr(state, "buttons", ()) or ())
        except TypeError:
            buttons = ()
        record_pressed = False
        with self._lock:
            shaped = shape(raw, self._shaping)
            if shaped.rejected:
                self._rejected += shaped.rejected
                log.warning("SpaceMouse: %d non-finite/out-of-range axis value(s) dropped: %r",
                            shaped.rejected, raw)
            self._raw = sanitize(raw, self._shaping.max_raw_abs)
            self._axes = shaped.axes
            prev, self._buttons = self._buttons, buttons
            if self._pressed(self._gripper_idx, prev, buttons):
                self._pending_gripper = self._gripper_ref = toggled(self._gripper_ref)
                log.info("SpaceMouse gripper button: target %s",
                         "open" if self._gripper_ref else "closed")
            record_pressed = self._pressed(self._record_idx, prev, buttons)
        if record_pressed:
            callback = self._on_record
            if callback is None:
                log.info("SpaceMouse record button pressed (no recorder attached)")
            else:
                try:
                    callback()
                except Exception:
                    log.exception("record callback failed")

    @staticmethod
    def _pressed(idx: int | None, prev: tuple[int, ...], cur: tuple[int, ...]) -> bool:
        if idx is None or idx >= len(cur):
            return False
        was = prev[idx] if idx < len(prev) else 0
        return bool(cur[idx]) and not was

    def _still_present(self) -> bool:
        lister = getattr(self._backend, "get_connected_devices", None)
        if lister is None:
            return True
        try:
            return bool(lister())
        except Exception as e:
            log.debug("SpaceMouse presence check failed: %s", e)
            return True

    def _lost(self, reason: str, now: float) -> None:
        with self._lock:
            self._drop_device_locked()
        self._next_retry = now + min(self.config.retry_s, 0.5)
        self._set_state("not connected", f"SpaceMouse disconnected: {reason}; retrying",
                        logging.WARNING)

    def _drop_device_locked(self) -> None:
        device, self._device = self._device, None
        self._raw = self._axes = _ZERO6
        self._buttons = ()
        self._watchdog.reset()
        if device is not None:
            try:
                device.close()
            except Exception as e:
                log.debug("closing SpaceMouse failed: %s", e)

    def _set_state(self, state: ConnectionState, detail: str, level: int) -> None:
        with self._lock:
            changed = (state, detail) != (self._state, self._detail)
            self._state, self._detail = state, detail
        if changed:
            log.log(level, "SpaceMouse: %s", detail)
