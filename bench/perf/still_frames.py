"""What a holding robot's frames cost the model (bench/results/still_frames.json).

While the autonomous loop waits for the model, the control loop keeps observing at 30 Hz; before, every
observation rendered both cameras again, on the CPU the model was using. The sim now reuses the last
frames while nothing has moved (`core.robot.sim.STILL`). This runs the control loop at 30 Hz, idle (the
robot holds), and times the same torch work on the main thread (a 270M-model-sized matmul chain on 2
threads) with frames reused and with every observation rendered. One run, both modes interleaved (A B A B),
so the machine's drift falls on both. Reported: work seconds per round, renders per second, the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from bench.common import write_result
from core.control.loop import ControlLoop, LoopConfig
from core.robot.sim import SimConfig, SimRobot


def work(torch, n: int) -> float:
    """Seconds for `n` passes of a fixed matmul chain (about one decode step of the default model)."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(64, 640, generator=g)
    w = [torch.randn(640, 2048, generator=g), torch.randn(2048, 640, generator=g)]
    t0 = time.perf_counter()
    for _ in range(n):
        x = a
        for _ in range(18):
            x = torch.tanh(x @ w[0]) @ w[1]
    return time.perf_counter() - t0


def measure(reuse: bool, passes: int, torch) -> tuple[float, float]:
    """(work seconds, renders per second) with the control loop running idle at 30 Hz."""
    robots: list[SimRobot] = []

    def factory() -> SimRobot:
        robots.append(SimRobot(SimConfig(reuse_still_frames=reuse)))
        return robots[-1]

    loop = ControlLoop(factory, LoopConfig(hz=30.0))
    loop.start(seed=0)
    try:
        time.sleep(1.0)  # settle after the reset
        r0, t0 = robots[0].renders, time.perf_counter()
        seconds = work(torch, passes)
        rate = (robots[0].renders - r0) / (time.perf_counter() - t0)
    finally:
        loop.close()
    return seconds, rate


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="rounds of each mode, interleaved")
    ap.add_argument("--passes", type=int, default=120)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    work(torch, 2)  # warm-up
    runs: dict[str, list[tuple[float, float]]] = {"reused": [], "rendered": []}
    for _ in range(args.rounds):
        for mode in ("reused", "rendered"):
            runs[mode].append(measure(mode == "reused", args.passes, torch))
    med = {m: statistics.median(s for s, _ in v) for m, v in runs.items()}
    result = {
        "rounds": args.rounds, "passes": args.passes, "threads": args.threads, "hz": 30.0,
        "work_s": {m: [round(s, 3) for s, _ in v] for m, v in runs.items()},
        "renders_per_s": {m: round(statistics.median(r for _, r in v), 1) for m, v in runs.items()},
        "work_s_median": {m: round(s, 3) for m, s in med.items()},
        "speedup": round(med["rendered"] / med["reused"], 3),
    }
    path = write_result("still_frames", result)
    print(f"still_frames: model-side work x{result['speedup']} faster with still frames reused "
          f"({result['work_s_median']['reused']} s vs {result['work_s_median']['rendered']} s; renders/s "
          f"{result['renders_per_s']['reused']} vs {result['renders_per_s']['rendered']}) -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
