"""The `InputSource` contract shared by every teleop device, its status value and its errors."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from core.types import Twist

ConnectionState = Literal["connected", "not connected", "unavailable"]


class TeleopError(RuntimeError):
    """Base class for teleop failures."""


class TeleopInputError(TeleopError, ValueError):
    """An input event was malformed (wrong type, length, range, NaN); nothing was applied."""


class ShapingConfigError(TeleopError, ValueError):
    """A shaping setting (deadzone, sensitivity, axis map) is invalid."""


@dataclass(frozen=True)
class SourceStatus:
    """What the UI shows about one input source.

    - `state`: "connected" (device open / page sending), "not connected" (no device or silent page;
      other sources still work) or "unavailable" (the backend cannot run here, e.g. hidapi missing).
    - `detail`: a human sentence for the status line ("No connected or supported devices found.").
    - `device`: device or input name when known ("SpaceNavigator", "keyboard").
    - `last_input_age_s`: seconds since the last input report, None if none yet.
    - `watchdog_tripped`: motion is currently zeroed because input went silent.
    - `active`: non-zero motion is being commanded right now.
    - `rejected`: how many non-finite or out-of-range values were dropped since start.
    """

    source: str
    state: ConnectionState
    detail: str = ""
    device: str | None = None
    last_input_age_s: float | None = None
    watchdog_tripped: bool = True
    active: bool = False
    rejected: int = 0

    @property
    def connected(self) -> bool:
        return self.state == "connected"


@runtime_checkable
class InputSource(Protocol):
    """A teleop input device normalised to `Twist`.

    Contract:
    - `name` is a short stable identifier ("spacemouse", "browser").
    - `read()` returns the current command: shaped axes in [-1, 1] (deadzone, sensitivity, axis map
      already applied), zero motion when the input has been silent for longer than the watchdog
      timeout or the device is gone. It never blocks and never raises. `gripper` is a one-shot event:
      a new target (1 open, 0 closed) is returned by exactly one `read()` call after the operator asked
      for it, otherwise None. Call it from one consumer only (the control loop); use `status()` for
      display.
    - `status()` is cheap, thread-safe and never raises.
    - `sync_gripper(target)` tells the source the gripper target actually in force (e.g. after the
      autonomous policy closed it) so that the next toggle flips from reality, not from the source's
      memory. Optional to call; sources fall back to their own last target.
    - `close()` stops background work and releases the device; idempotent.
    """

    name: str

    def read(self) -> Twist: ...

    def status(self) -> SourceStatus: ...

    def sync_gripper(self, target: float) -> None: ...

    def close(self) -> None: ...


def _clamp1(v: float) -> float:
    return -1.0 if v < -1.0 else 1.0 if v > 1.0 else v


def combine_twists(twists: Iterable[Twist]) -> Twist:
    """Sum several sources' twists axis by axis (clamped to [-1, 1]); the last non-None gripper wins."""
    acc = [0.0] * 6
    gripper: float | None = None
    for t in twists:
        for i, v in enumerate((t.dx, t.dy, t.dz, t.droll, t.dpitch, t.dyaw)):
            acc[i] += v
        if t.gripper is not None:
            gripper = t.gripper
    c = [_clamp1(v) for v in acc]
    return Twist(c[0], c[1], c[2], c[3], c[4], c[5], gripper)


def toggled(reference: float | None) -> float:
    """The gripper target a toggle produces from `reference` (None = assume open): open <-> closed."""
    if reference is None or reference >= 0.5:
        return 0.0
    return 1.0
