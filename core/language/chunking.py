"""Incremental chunking of recorded steps into action entries (paper §6.2).

Rules, applied to the motion between consecutive steps (a "tick"):
- consecutive ticks are merged into one entry while no axis changes sign (per-tick components smaller
  than `NEGLIGIBLE_CM` are sign-neutral, so sensor jitter does not cut);
- an entry is closed before it would exceed `AXIS_CUT_CM` on one axis or `TOTAL_CUT_CM` summed over
  the axes (a single tick larger than that is split into equal parts);
- a change of the commanded gripper closes the entry; the change starts an entry of its own that also
  takes the still ticks after it (the fingers closing), so a grasp reads `[0.0, 0.0, 0.0, 0]`;
- entries that round to no motion without a gripper change are dropped;
- rounding uses error feedback: each entry is rounded against the running total, so the sum of the
  emitted entries stays within half a resolution step (0.05 cm) of the true displacement, however many
  entries there are.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

from core.language.spec import (
    AXIS_CUT_CM,
    GRIPPER_OPEN,
    MAX_AXIS_CM,
    NEGLIGIBLE_CM,
    NEGLIGIBLE_DEG,
    TOTAL_CUT_CM,
    YAW_CUT_DEG,
    Chunk,
    quantize,
)
from core.types import Step

log = logging.getLogger(__name__)

_EPS = 1e-9
_MAX_SPLIT = 1000  # a tick longer than this many entries is corrupt data, not motion


def gripper_state(value: float) -> int:
    """Binarise a gripper value (1 open, 0 closed)."""
    return GRIPPER_OPEN if value >= 0.5 else 0


def step_gripper(step: Step) -> int:
    """The commanded gripper state of a step (the operator's intent, not the measured opening)."""
    return gripper_state(step.command.gripper)


def wrap_angle(rad: float) -> float:
    """An angle difference wrapped to [-pi, pi)."""
    return (rad + math.pi) % (2 * math.pi) - math.pi


def tick_delta(a: Step, b: Step) -> tuple[float, float, float, float]:
    """Motion from step `a` to step `b`: (dx, dy, dz) in cm and yaw in degrees; non-finite -> 0."""
    vals = [(q - p) * 100.0 for p, q in zip(a.ee_pos, b.ee_pos)]
    vals.append(math.degrees(wrap_angle(b.ee_yaw - a.ee_yaw)) if math.isfinite(b.ee_yaw - a.ee_yaw) else 0.0)
    if not all(math.isfinite(v) for v in vals):
        log.warning("non-finite end-effector motion between steps; treated as no motion")
        return (0.0, 0.0, 0.0, 0.0)
    return (vals[0], vals[1], vals[2], vals[3])


def is_moving(delta: tuple[float, float, float, float], yaw: bool) -> bool:
    if any(abs(v) >= NEGLIGIBLE_CM for v in delta[:3]):
        return True
    return yaw and abs(delta[3]) >= NEGLIGIBLE_DEG


@dataclass
class _Open:
    """The entry being accumulated."""

    start: int
    stop: int
    gripper: int
    dwell: bool  # started by a gripper change; closes at the first moving tick
    acc: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0, 0.0])
    sign: list[int] = field(default_factory=lambda: [0, 0, 0, 0])


class Verbalizer:
    """Turns steps into action entries as they arrive.

    `push(step)` returns the entries that the new step closed (usually none or one), so a live view can
    append them as soon as they exist; `cut()` closes the open entry (used at subtask boundaries);
    `finish()` closes the last one. `chunks` holds everything emitted so far.
    """

    def __init__(self, *, yaw: bool = False, initial_gripper: int = GRIPPER_OPEN,
                 axis_cut: float = AXIS_CUT_CM, total_cut: float = TOTAL_CUT_CM) -> None:
        check_cuts(axis_cut, total_cut)
        self.yaw = yaw
        self.axis_cut, self.total_cut = axis_cut, total_cut
        self.chunks: list[Chunk] = []
        self._prev: Step | None = None
        self._index = -1  # index of the last pushed step
        self._open: _Open | None = None
        self._gripper = initial_gripper  # gripper of the last emitted entry
        self._true = [0.0, 0.0, 0.0, 0.0]  # exact displacement of all closed entries
        self._emitted = [0.0, 0.0, 0.0, 0.0]  # sum of emitted (rounded) entries

    @property
    def steps_seen(self) -> int:
        return self._index + 1

    def push(self, step: Step) -> list[Chunk]:
        """Add the next recorded step; returns the entries this closed."""
        prev, self._prev = self._prev, step
        self._index += 1
        if prev is None:
            return []
        delta = tick_delta(prev, step)
        grip = step_gripper(prev)  # the command at `prev` produced the motion to `step`
        parts = self._parts(delta)
        out: list[Chunk] = []
        part = (delta[0] / parts, delta[1] / parts, delta[2] / parts, delta[3] / parts)
        for _ in range(parts):
            out.extend(self._add(self._index - 1, part, grip))
        return out

    def cut(self) -> list[Chunk]:
        """Close the open entry now (a subtask boundary); returns it if it was kept."""
        return self._close()

    def finish(self) -> list[Chunk]:
        """Close the last entry at the end of the episode."""
        return self._close()

    def preview(self) -> Chunk | None:
        """The still-open entry as it would be emitted now (for live display), or None."""
        o = self._open
        if o is None:
            return None
        vals = [quantize(self._true[a] + o.acc[a] - self._emitted[a]) for a in range(4)]
        return self._make(vals, o)

    # ---- internals -----------------------------------------------------------------------------
    def _parts(self, d: tuple[float, float, float, float]) -> int:
        n = max(
            math.ceil(max(abs(v) for v in d[:3]) / self.axis_cut - _EPS),
            math.ceil(sum(abs(v) for v in d[:3]) / self.total_cut - _EPS),
            math.ceil(abs(d[3]) / YAW_CUT_DEG - _EPS) if self.yaw else 1,
            1,
        )
        if n > _MAX_SPLIT:
            log.warning("a single tick moved %.0f cm; split into %d entries", max(abs(v) for v in d[:3]), _MAX_SPLIT)
            n = _MAX_SPLIT
        return n

    def _add(self, tick: int, d: tuple[float, float, float, float], grip: int) -> list[Chunk]:
        moving = is_moving(d, self.yaw)
        out: list[Chunk] = []
        o = self._open
        if o is not None and (grip != o.gripper or (o.dwell and moving) or self._breaks(o, d)):
            out = self._close()
            o = None
        if o is None:
            changed = grip != self._gripper
            o = self._open = _Open(start=tick, stop=tick, gripper=grip, dwell=changed)
        o.stop = tick + 1
        n_axes = 4 if self.yaw else 3
        for a in range(n_axes):
            o.acc[a] += d[a]
            eps = NEGLIGIBLE_DEG if a == 3 else NEGLIGIBLE_CM
            if o.sign[a] == 0 and abs(d[a]) >= eps:
                o.sign[a] = 1 if d[a] > 0 else -1
        if not self.yaw:
            o.acc[3] += d[3]  # tracked but never verbalized
        return out

    def _breaks(self, o: _Open, d: tuple[float, float, float, float]) -> bool:
        """Whether adding tick motion `d` would change an axis' sign or exceed a cut."""
        n_axes = 4 if self.yaw else 3
        for a in range(n_axes):
            eps = NEGLIGIBLE_DEG if a == 3 else NEGLIGIBLE_CM
            if abs(d[a]) >= eps and o.sign[a] != 0 and (d[a] > 0) != (o.sign[a] > 0):
                return True
        new = [o.acc[a] + d[a] for a in range(4)]
        if any(abs(v) > self.axis_cut + _EPS for v in new[:3]) or sum(abs(v) for v in new[:3]) > self.total_cut + _EPS:
            return True
        return self.yaw and abs(new[3]) > YAW_CUT_DEG + _EPS

    def _close(self) -> list[Chunk]:
        o, self._open = self._open, None
        if o is None:
            return []
        vals = []
        for a in range(4):
            self._true[a] += o.acc[a]
            vals.append(quantize(self._true[a] - self._emitted[a]))
        still = vals[0] == 0.0 and vals[1] == 0.0 and vals[2] == 0.0 and (not self.yaw or vals[3] == 0.0)
        if still and o.gripper == self._gripper:
            return []  # negligible: the residual carries into the next entry
        for a in range(4):
            self._emitted[a] += vals[a]
        chunk = self._make(vals, o)
        self._gripper = o.gripper
        self.chunks.append(chunk)
        return [chunk]

    def _make(self, vals: list[float], o: _Open) -> Chunk:
        return Chunk(vals[0], vals[1], vals[2], o.gripper, vals[3] if self.yaw else None, steps=(o.start, o.stop))


def check_cuts(axis_cut: float, total_cut: float) -> None:
    """Entry cuts must leave room for rounding under the parser's hard bound (`MAX_AXIS_CM`)."""
    if not (0 < axis_cut <= MAX_AXIS_CM - 0.5 and axis_cut <= total_cut):
        raise ValueError(f"an entry cut must be in (0, {MAX_AXIS_CM - 0.5}] cm on one axis and at most the total "
                         f"cut, got {axis_cut} / {total_cut}")


def chunk_steps(steps: list[Step], *, yaw: bool = False, cuts: frozenset[int] = frozenset(),
                axis_cut: float = AXIS_CUT_CM, total_cut: float = TOTAL_CUT_CM) -> list[Chunk]:
    """All entries of an episode; an entry never spans a step index in `cuts` (subtask boundaries):
    motion before step `b` and motion after it go to different entries. `axis_cut` / `total_cut`: where an
    entry is closed (default: the paper's 2.5 cm on one axis, 5 cm in total; see `spec.LONG_AXIS_CUT_CM`)."""
    v = Verbalizer(yaw=yaw, axis_cut=axis_cut, total_cut=total_cut)
    for i, step in enumerate(steps):
        if i - 1 in cuts:  # step i completes the tick that starts at step i - 1
            v.cut()
        v.push(step)
    v.finish()
    return v.chunks
