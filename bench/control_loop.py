"""Control loop with rendering of both cameras and a synthetic input, 30 s (bench/results/control_loop.json)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as `python bench/<name>.py`

import argparse
import math
import os
import time

from bench.common import write_result
from core.control.loop import ControlLoop, LoopConfig
from core.robot.sim import SimConfig, SimRobot
from core.teleop.base import SourceStatus
from core.types import Twist


class SineInput:
    """A device that sweeps the gripper around the workspace and toggles the gripper every 2 s."""

    name = "synthetic"

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.last_toggle = self.t0
        self.grip = 1.0

    def read(self) -> Twist:
        t = time.monotonic() - self.t0
        g = None
        if time.monotonic() - self.last_toggle > 2.0:
            self.last_toggle, self.grip = time.monotonic(), 1.0 - self.grip
            g = self.grip
        return Twist(dx=math.sin(t), dy=math.cos(0.7 * t), dz=0.5 * math.sin(1.3 * t), dyaw=0.3 * math.sin(t), gripper=g)

    def status(self) -> SourceStatus:
        return SourceStatus(source=self.name, state="connected")

    def sync_gripper(self, target: float) -> None:
        self.grip = target

    def close(self) -> None:
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--hz", type=float, default=30.0)
    args = ap.parse_args()
    render_ms: list[float] = []

    class TimedSim(SimRobot):
        def observe(self):
            t = time.perf_counter()
            obs = super().observe()
            render_ms.append((time.perf_counter() - t) * 1000)
            return obs

    loop = ControlLoop(lambda: TimedSim(SimConfig(image_size=224, control_hz=args.hz)), LoopConfig(hz=args.hz))
    loop.add_source(SineInput())
    loop.start(seed=0)
    time.sleep(1.0)  # warm-up
    t0, ticks0, missed0 = time.perf_counter(), loop.status().ticks, loop.status().missed_ticks
    render_ms.clear()
    time.sleep(args.seconds)
    st = loop.status()
    wall = time.perf_counter() - t0
    loop.close()
    ticks = st.ticks - ticks0
    render_ms.sort()
    result = {
        "seconds": round(wall, 2),
        "target_hz": args.hz,
        "hz_mean": round(ticks / wall, 2),
        "missed_ticks": st.missed_ticks - missed0,
        "ticks": ticks,
        "tick_ms_p95": round(st.tick_ms_p95, 2),
        "render_ms_p50": round(render_ms[len(render_ms) // 2], 2),
        "cameras": 2,
        "image_size": 224,
        "loadavg_1min_at_end": round(os.getloadavg()[0], 2),  # other work on the 2 cores during the run
    }
    write_result("control_loop", result)
    print(
        f"control_loop: {result['hz_mean']} Hz (target {args.hz}), missed {result['missed_ticks']}/{ticks}, "
        f"tick p95 {result['tick_ms_p95']} ms, observe+render p50 {result['render_ms_p50']} ms"
    )


if __name__ == "__main__":
    main()
