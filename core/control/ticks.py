"""Where each control tick's time goes: a rolling record of the tick's phases, cheap enough to keep on.

The loop stamps `time.perf_counter()` between its phases (requests, drive, physics, observe, listeners)
and reads its own thread's CPU time (`time.thread_time()`) once per tick. Wall time minus the thread's CPU
time is time the control thread waited: for a core (the machine is busy), for the GIL (another Python
thread held it), or for the renderer's own threads (llvmpipe renders on worker threads; their CPU is not
the control thread's). `summary()` gives medians and 95th percentiles in milliseconds over the last
`window` ticks; `bench/control_loop.py`, `bench/load.py` (through /api/status) and the Teleop tab's status
line read it.
"""

from __future__ import annotations

import threading
import time
from collections import deque

PHASES = ("requests", "drive", "physics", "observe", "listeners")


class TickPhases:
    """Per-tick phase durations of one control loop (written by the control thread only)."""

    def __init__(self, window: int = 300) -> None:
        self._rows: deque[tuple[float, ...]] = deque(maxlen=window)
        self._lock = threading.Lock()
        self._marks: list[float] = []
        self._cpu0 = 0.0

    # ---- control thread -------------------------------------------------------------------------
    def begin(self) -> None:
        self._cpu0 = time.thread_time()
        self._marks = [time.perf_counter()]

    def mark(self) -> None:
        """End of the current phase (phases in `PHASES` order)."""
        self._marks.append(time.perf_counter())

    def end(self) -> None:
        m = self._marks
        if len(m) != len(PHASES) + 1:  # a tick that raised half-way: not recorded
            return
        cpu = time.thread_time() - self._cpu0
        row = tuple(b - a for a, b in zip(m, m[1:], strict=False)) + (m[-1] - m[0], cpu)
        with self._lock:
            self._rows.append(row)

    # ---- any thread -----------------------------------------------------------------------------
    def summary(self) -> dict[str, dict[str, float]]:
        """{phase: {"p50": ms, "p95": ms}} for every phase plus "tick" (the whole tick's wall time) and
        "thread_cpu" (the control thread's own CPU time in the tick); empty before the first tick."""
        with self._lock:
            rows = list(self._rows)
        if not rows:
            return {}
        out: dict[str, dict[str, float]] = {}
        for i, name in enumerate((*PHASES, "tick", "thread_cpu")):
            col = sorted(r[i] for r in rows)
            out[name] = {"p50": round(1000 * col[len(col) // 2], 2),
                         "p95": round(1000 * col[int(0.95 * (len(col) - 1))], 2)}
        return out


__all__ = ["PHASES", "TickPhases"]
