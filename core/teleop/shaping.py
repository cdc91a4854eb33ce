"""Pure shaping of raw device axes into twist axes: axis map, rejection, deadzone, sensitivity, inversion.

Pipeline (`shape`), per output axis i in (dx, dy, dz, droll, dpitch, dyaw):
1. reject: a raw value that is NaN, infinite or larger in magnitude than `max_raw_abs` is never used;
   it counts as 0 and is reported in `Shaped.rejected` (the caller logs/counts it);
2. map: out[i] = sign_i * raw[source_i] (per-device `AxisMap`; a disabled axis reads 0);
3. clamp to [-1, 1];
4. deadzone with rescaling: |v| <= d -> 0, else sign(v) * (|v| - d) / (1 - d), so the output is
   continuous at the deadzone edge and still reaches 1 at full deflection;
5. sensitivity (per-axis gain) and inversion (per-axis user preference);
6. clamp to [-1, 1].

No I/O, no logging, no threads: everything here is a function of its arguments.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from core.teleop.base import ShapingConfigError

TWIST_AXES: tuple[str, ...] = ("dx", "dy", "dz", "droll", "dpitch", "dyaw")
RAW_AXES: tuple[str, ...] = ("x", "y", "z", "roll", "pitch", "yaw")
_DISABLED = ("0", "off", "none", "-")


def _six(name: str, values: Sequence[object]) -> None:
    if len(values) != 6:
        raise ShapingConfigError(f"{name} needs 6 values (one per axis), got {len(values)}")


@dataclass(frozen=True)
class AxisMap:
    """Which raw device axis feeds each twist axis, and with which sign.

    `source[i]` is an index into the raw axes (x, y, z, roll, pitch, yaw) or None to disable twist axis
    i; `sign[i]` is +1 or -1. Text form (for settings and config files): six tokens for dx..dyaw, each a
    raw axis name with an optional leading '-', or 'off', e.g. ``"x y z roll pitch yaw"`` (identity) or
    ``"-y -x z off off yaw"``.
    """

    source: tuple[int | None, ...] = (0, 1, 2, 3, 4, 5)
    sign: tuple[int, ...] = (1, 1, 1, 1, 1, 1)

    def __post_init__(self) -> None:
        _six("AxisMap.source", self.source)
        _six("AxisMap.sign", self.sign)
        for s in self.source:
            if s is not None and (isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < 6):
                raise ShapingConfigError(f"AxisMap source {s!r} is not a raw axis index 0..5 or None")
        for s in self.sign:
            if s not in (1, -1) or isinstance(s, bool):
                raise ShapingConfigError(f"AxisMap sign {s!r} must be 1 or -1")

    @classmethod
    def parse(cls, text: str) -> AxisMap:
        """Parse the text form; raises ShapingConfigError with the offending token."""
        tokens = text.replace(",", " ").split()
        if len(tokens) != 6:
            raise ShapingConfigError(
                f"axis map needs 6 tokens for {' '.join(TWIST_AXES)}, got {len(tokens)}: {text!r}"
            )
        source: list[int | None] = []
        sign: list[int] = []
        for tok in tokens:
            low = tok.lower()
            if low in _DISABLED:
                source.append(None)
                sign.append(1)
                continue
            neg = low.startswith("-")
            name = low.lstrip("+-")
            if name not in RAW_AXES:
                raise ShapingConfigError(
                    f"unknown raw axis {tok!r} in axis map (use {', '.join(RAW_AXES)} or 'off')"
                )
            source.append(RAW_AXES.index(name))
            sign.append(-1 if neg else 1)
        return cls(tuple(source), tuple(sign))

    def __str__(self) -> str:
        out = []
        for src, sg in zip(self.source, self.sign, strict=True):
            out.append("off" if src is None else ("-" if sg < 0 else "") + RAW_AXES[src])
        return " ".join(out)


IDENTITY_MAP = AxisMap()


@dataclass(frozen=True)
class ShapingConfig:
    """User and device settings for one input source.

    - `deadzone`: fraction of full scale ignored around zero, in [0, 0.95].
    - `sensitivity`: per-axis gain in [0, 10] (0 disables an axis), applied after the deadzone.
    - `invert`: per-axis sign flip chosen by the user (separate from the device's `axis_map`).
    - `axis_map`: per-device wiring of raw axes to twist axes.
    - `max_raw_abs`: raw values larger than this (in magnitude) are rejected as garbage, not clamped.
    """

    deadzone: float = 0.1
    sensitivity: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    invert: tuple[bool, ...] = (False, False, False, False, False, False)
    axis_map: AxisMap = field(default_factory=AxisMap)
    max_raw_abs: float = 2.0

    def __post_init__(self) -> None:
        if not isinstance(self.deadzone, (int, float)) or not 0.0 <= self.deadzone <= 0.95:
            raise ShapingConfigError(f"deadzone must be in [0, 0.95], got {self.deadzone!r}")
        _six("sensitivity", self.sensitivity)
        _six("invert", self.invert)
        for g in self.sensitivity:
            if not isinstance(g, (int, float)) or not math.isfinite(g) or not 0.0 <= g <= 10.0:
                raise ShapingConfigError(f"sensitivity must be finite and in [0, 10], got {g!r}")
        if not isinstance(self.axis_map, AxisMap):
            raise ShapingConfigError("axis_map must be an AxisMap (use AxisMap.parse for text)")
        if not math.isfinite(self.max_raw_abs) or self.max_raw_abs < 1.0:
            raise ShapingConfigError(f"max_raw_abs must be finite and >= 1, got {self.max_raw_abs!r}")

    def replace(self, **changes: object) -> ShapingConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Shaped:
    """Result of `shape`: six twist axes in [-1, 1] and how many raw values were rejected."""

    axes: tuple[float, float, float, float, float, float]
    rejected: int = 0


def clamp(v: float, lo: float = -1.0, hi: float = 1.0) -> float:
    return lo if v < lo else hi if v > hi else v


def apply_deadzone(v: float, deadzone: float) -> float:
    """Deadzone with rescaling: 0 inside, linear from 0 at the edge to +-1 at +-1 outside."""
    a = abs(v)
    if a <= deadzone:
        return 0.0
    out = (a - deadzone) / (1.0 - deadzone)
    return math.copysign(min(out, 1.0), v)


def is_valid_raw(v: object, max_abs: float) -> bool:
    """True for a real number (not bool) that is finite and within +-max_abs."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    return math.isfinite(v) and abs(v) <= max_abs


def sanitize(raw: Sequence[object], max_abs: float) -> tuple[float, ...]:
    """Each value as a float, with invalid ones (see `is_valid_raw`) replaced by 0.0."""
    return tuple(float(v) if is_valid_raw(v, max_abs) else 0.0 for v in raw)  # type: ignore[arg-type]


def shape(raw: Sequence[object], config: ShapingConfig) -> Shaped:
    """Turn six raw device values into six twist axes; see the module docstring for the pipeline.

    A sequence of the wrong length is a programming error (ShapingConfigError); bad *values* are
    never an error here: they are dropped and counted.
    """
    if len(raw) != 6:
        raise ShapingConfigError(f"expected 6 raw axes, got {len(raw)}")
    clean = sanitize(raw, config.max_raw_abs)
    rejected = sum(1 for v in raw if not is_valid_raw(v, config.max_raw_abs))
    amap = config.axis_map
    out: list[float] = []
    for i in range(6):
        src = amap.source[i]
        v = 0.0 if src is None else amap.sign[i] * clean[src]
        v = apply_deadzone(clamp(v), config.deadzone)
        v *= config.sensitivity[i]
        if config.invert[i]:
            v = -v
        v = clamp(v)
        out.append(v + 0.0)  # normalise -0.0 to 0.0
    return Shaped((out[0], out[1], out[2], out[3], out[4], out[5]), rejected)
