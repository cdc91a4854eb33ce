"""Control loop with rendering of both cameras and a synthetic input, 30 s (bench/results/control_loop.json)."""

from __future__ import annotations

import argparse
import os
import time

from bench.common import write_result
from bench.devices import SineInput
from core.control.loop import ControlLoop, LoopConfig
from core.robot.sim import SimConfig, SimRobot


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
