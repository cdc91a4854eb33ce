"""The action language, version 1: units, bounds and the `Chunk` value.

A verbalized action is the paper's list of lists `[[dx, dy, dz, gripper], ...]`: translation deltas of
the end effector in the robot base frame, in centimetres with one decimal (+x forward, +y left, +z up),
and the gripper state during that motion (1 open, 0 closed). With yaw enabled, each entry carries a
fifth number, the yaw delta in degrees (+ = counter-clockwise seen from above, i.e. turning left).

Each entry of that list is a `Chunk` here (an "action chunk element" in the paper's wording): the
merged motion of consecutive control ticks. `parse` returns `list[Chunk]`, `verbalize` produces them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

SPEC_VERSION = "v1"

DECIMALS = 1  # every number in text has exactly one decimal
RESOLUTION_CM = 0.1  # smallest representable step (cm and degrees)

# Chunking (paper §6.2): an entry is closed before it would exceed these.
AXIS_CUT_CM = 2.5  # on any one axis
TOTAL_CUT_CM = 5.0  # summed over the three axes (L1)
YAW_CUT_DEG = 15.0  # yaw, when enabled (beyond the paper)
# Long entries (beyond the paper, for grounded adapters that read the object's offset): an entry closes only
# at a sign change, a gripper change or this much on one axis, so the next entry is the offset itself, or
# the offset clamped to this, whenever the robot moves straight toward it.
LONG_AXIS_CUT_CM = 9.5
LONG_TOTAL_CUT_CM = 3 * LONG_AXIS_CUT_CM

# Per-tick motion below these is sign-neutral noise (half the text resolution).
NEGLIGIBLE_CM = 0.05
NEGLIGIBLE_DEG = 0.5

# Hard bounds of a valid entry: anything outside is rejected by the parser and by `Chunk` itself.
MAX_AXIS_CM = 10.0
MAX_YAW_DEG = 90.0
MAX_CHUNKS = 256  # entries per action list
MAX_TEXT_CHARS = 20_000  # longer input is rejected before any scanning

GRIPPER_OPEN = 1
# a measured opening above this reads "open"; a held block keeps the fingers near 0.55
OPEN_ABOVE = 0.9
GRIPPER_CLOSED = 0


def quantize(value: float) -> float:
    """Round to the text resolution, normalising -0.0 to 0.0."""
    return round(value, DECIMALS) + 0.0


@dataclass(frozen=True)
class Chunk:
    """One action entry `[dx, dy, dz, gripper]` (+ `yaw` when rotation is verbalized).

    `steps` is the half-open range of recorded step indices `(start, stop)` whose motion this entry
    covers: the end effector went from its position at step `start` to its position at step `stop`.
    It is None for entries read from text, and it does not take part in equality.
    """

    dx: float
    dy: float
    dz: float
    gripper: int
    yaw: float | None = None
    steps: tuple[int, int] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for name in ("dx", "dy", "dz"):
            v = getattr(self, name)
            if not _finite_number(v) or abs(v) > MAX_AXIS_CM:
                raise ValueError(f"{name} must be a finite number of cm within ±{MAX_AXIS_CM}, got {v!r}")
        if self.yaw is not None and (not _finite_number(self.yaw) or abs(self.yaw) > MAX_YAW_DEG):
            raise ValueError(f"yaw must be a finite number of degrees within ±{MAX_YAW_DEG}, got {self.yaw!r}")
        if isinstance(self.gripper, bool) or self.gripper not in (GRIPPER_OPEN, GRIPPER_CLOSED):
            raise ValueError(f"gripper must be 0 (closed) or 1 (open), got {self.gripper!r}")
        object.__setattr__(self, "gripper", int(self.gripper))  # 1.0 -> 1

    @property
    def translation(self) -> tuple[float, float, float]:
        return (self.dx, self.dy, self.dz)

    def is_still(self) -> bool:
        """No motion at text resolution (a pure gripper action or a pause)."""
        return self.dx == 0.0 and self.dy == 0.0 and self.dz == 0.0 and not self.yaw

    def as_list(self) -> list[float | int]:
        vals: list[float | int] = [self.dx, self.dy, self.dz, self.gripper]
        if self.yaw is not None:
            vals.append(self.yaw)
        return vals


def _finite_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
