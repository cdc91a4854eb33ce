"""Control loop with rendering and a synthetic input (bench/results/control_loop.json).

Default: the loop as the app runs it with a page open on the Teleop tab (both cameras drawn every tick),
30 s. `--record` also records an episode of both cameras (H.264, steps to a throwaway store) meanwhile.

`--compare A,B,...` runs named variants (below) for `--seconds` each, interleaved round by round
(A B A B ...), so a busy machine's drift falls on all of them alike, and writes
bench/results/control_loop_compare.json. Besides the loop's rate and missed ticks it reports CPU time,
which a shared machine disturbs far less than wall time: the control thread's own and that of the
renderer's threads (llvmpipe), in ms per tick, read from /proc.

    python bench/perf/control_loop.py
    python bench/perf/control_loop.py --record
    python bench/perf/control_loop.py --compare default,front-only,offscreen-640 --rounds 4 --seconds 10
    python bench/perf/control_loop.py --compare switch-5ms,default --python-threads 3 --rounds 4
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

from bench.common import write_result
from bench.devices import SineInput
from core.control.loop import ControlLoop, LoopConfig
from core.robot.sim import SimConfig, SimRobot

# name -> settings: cameras drawn, offscreen buffer side (None: the scene's own), the interpreter's GIL
# switch interval (None: as the process has it), whether an episode is recorded
VARIANTS: dict[str, dict] = {
    "default": {},
    "front-only": {"cameras": ("front",)},  # nobody watches the wrist camera
    "offscreen-640": {"offscreen": 640},  # the offscreen buffer the scene had before (pixels are the same)
    "switch-5ms": {"switch_ms": 5.0},  # Python's default GIL switch interval
    "switch-1ms": {"switch_ms": 1.0},
    "switch-0.5ms": {"switch_ms": 0.5},  # the loop's default (LoopConfig.switch_interval_s)
    "switch-0.2ms": {"switch_ms": 0.2},
    "record": {"record": True},
}



def thread_cpu(names: dict[int, str] | None = None) -> dict[str, float]:
    """CPU seconds so far of this process's threads, by OS thread name or by `names` (native id -> name;
    Python does not name its threads for the OS), summed over equal names (Linux /proc)."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path("/proc/self/task").iterdir():
        try:
            name = (names or {}).get(int(task.name)) or (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    return out


def python_load(n: int, stop: threading.Event, busy_ms: float = 2.0, idle_ms: float = 3.0) -> list[threading.Thread]:
    """`n` threads that run pure Python for `busy_ms`, then sleep `idle_ms`: the GIL pressure of a web
    server and a model's Python between kernels, without their work."""
    def spin() -> None:
        while not stop.is_set():
            end = time.perf_counter() + busy_ms / 1000
            x = 0
            while time.perf_counter() < end:
                x += 1
            time.sleep(idle_ms / 1000)

    threads = [threading.Thread(target=spin, name=f"py-load-{i}", daemon=True) for i in range(n)]
    for th in threads:
        th.start()
    return threads


def run(settings: dict, seconds: float, hz: float, image_size: int) -> dict:
    """One run of the loop with `settings` (see VARIANTS); the measured figures."""
    obs_ms: list[float] = []
    cameras = settings.get("cameras")
    offscreen = settings.get("offscreen")

    class TimedSim(SimRobot):
        def __init__(self, config: SimConfig) -> None:
            super().__init__(config)
            if offscreen:
                self.model.vis.global_.offwidth = self.model.vis.global_.offheight = int(offscreen)

        def observe(self):
            t = time.perf_counter()
            obs = super().observe()
            obs_ms.append((time.perf_counter() - t) * 1000)
            return obs

    old_switch = sys.getswitchinterval()
    cfg = LoopConfig(hz=hz, cameras_on_demand=True)  # as the app runs it
    if settings.get("switch_ms"):
        sys.setswitchinterval(settings["switch_ms"] / 1000)
        cfg = LoopConfig(hz=hz, cameras_on_demand=True, switch_interval_s=None)
    loop = ControlLoop(lambda: TimedSim(SimConfig(image_size=image_size, control_hz=hz)), cfg)
    loop.add_source(SineInput())
    with ExitStack() as stack:
        loop.start(seed=0)
        stack.callback(loop.close)
        stack.callback(sys.setswitchinterval, old_switch)
        if cameras is not None:
            loop.frames.acquire(*cameras)  # as open streams hold them
        else:
            loop.frames.acquire(*loop.frames.cameras)  # a page on the Teleop tab watches every camera
        if settings.get("record"):
            stack.enter_context(_recording(loop, hz))
        time.sleep(1.0)  # warm-up
        names = {t.native_id: t.name for t in threading.enumerate() if t.native_id is not None}
        obs_ms.clear()
        cpu0, st0, t0 = thread_cpu(names), loop.status(), time.perf_counter()
        time.sleep(seconds)
        cpu1, st, wall = thread_cpu(names), loop.status(), time.perf_counter() - t0
        phases = loop.phases.summary()
        switch = sys.getswitchinterval()
    ticks = st.ticks - st0.ticks
    delta = {k: cpu1.get(k, 0.0) - cpu0.get(k, 0.0) for k in cpu1}
    render_cpu = sum(v for k, v in delta.items() if k.startswith("llvmpipe"))
    obs_ms.sort()
    return {
        "switch_interval_ms": round(1000 * switch, 3),
        "seconds": round(wall, 2),
        "hz_mean": round(ticks / wall, 2),
        "missed_ticks": st.missed_ticks - st0.missed_ticks,
        "ticks": ticks,
        "tick_ms_p95": round(st.tick_ms_p95, 2),
        "render_ms_p50": round(obs_ms[len(obs_ms) // 2], 2) if obs_ms else None,  # observe() wall time
        "control_thread_cpu_ms_per_tick": round(1000 * delta.get("control-loop", 0.0) / max(1, ticks), 2),
        "renderer_cpu_ms_per_tick": round(1000 * render_cpu / max(1, ticks), 2),
        "encoder_cpu_ms_per_tick": round(1000 * delta.get("frame-encoder", 0.0) / max(1, ticks), 2),
        "phases_ms": phases,
        "cameras_drawn": list(cameras or ("front", "wrist")),
        "loadavg_1min_at_end": round(os.getloadavg()[0], 2),
    }


def _recording(loop: ControlLoop, hz: float):
    """Record an episode (both cameras, H.264, steps to a throwaway SQLite store) while the block runs."""
    from contextlib import contextmanager

    from core.recording import Recorder, RecorderConfig
    from core.recording.live import LiveRecording
    from core.store import StoreConfig, open_store

    @contextmanager
    def ctx():
        folder = Path(tempfile.mkdtemp(prefix="bench-loop-rec-"))
        store = open_store(StoreConfig(recordings_dir=folder / "recordings"))
        live = LiveRecording(store, Recorder(store, RecorderConfig(fps=hz, min_free_bytes=1)), frames=loop.frames)
        loop.add_listener(live.on_tick)
        live.start("bench episode", cameras=tuple(loop.frames.cameras))
        try:
            yield live
        finally:
            live.discard()
            loop.remove_listener(live.on_tick)
            store.close()

    return ctx()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--hz", type=float, default=30.0)
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--record", action="store_true", help="record an episode (both cameras) during the run")
    ap.add_argument("--compare", default=None, help=f"variants to interleave: {', '.join(VARIANTS)}")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of --compare")
    ap.add_argument("--python-threads", type=int, default=0,
                    help="threads running pure Python 2 ms of every 5 (GIL pressure of web and model threads)")
    args = ap.parse_args()
    stop = threading.Event()
    python_load(args.python_threads, stop)
    try:
        if args.compare:
            compare(args)
        else:
            single(args)
    finally:
        stop.set()


def single(args: argparse.Namespace) -> None:
    r = run({"record": args.record}, args.seconds, args.hz, args.image_size)
    result = {"target_hz": args.hz, "cameras": 2, "image_size": args.image_size, "recording": args.record,
              "python_threads": args.python_threads, **r}
    write_result("control_loop" + ("-record" if args.record else ""), result)
    print(f"control_loop: {r['hz_mean']} Hz (target {args.hz}), missed {r['missed_ticks']}/{r['ticks']}, "
          f"tick p95 {r['tick_ms_p95']} ms, observe+render p50 {r['render_ms_p50']} ms, render CPU "
          f"{r['renderer_cpu_ms_per_tick']} ms/tick{', recording' if args.record else ''}")


def compare(args: argparse.Namespace) -> None:
    names = [n.strip() for n in args.compare.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown or not names:
        raise SystemExit(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)}")
    runs: dict[str, list[dict]] = {n: [] for n in names}
    for i in range(args.rounds):
        for n in (names if i % 2 == 0 else names[::-1]):  # A B, B A, ...: no variant always runs first
            runs[n].append(run({**VARIANTS[n], "record": VARIANTS[n].get("record", args.record)},
                               args.seconds, args.hz, args.image_size))
            print(f"  round {i + 1} {n}: {runs[n][-1]['hz_mean']} Hz, missed {runs[n][-1]['missed_ticks']}, render CPU "
                  f"{runs[n][-1]['renderer_cpu_ms_per_tick']} ms/tick, load {runs[n][-1]['loadavg_1min_at_end']}",
                  flush=True)
    keys = ("hz_mean", "missed_ticks", "tick_ms_p95", "render_ms_p50", "control_thread_cpu_ms_per_tick",
            "renderer_cpu_ms_per_tick", "encoder_cpu_ms_per_tick")
    medians = {n: {k: round(statistics.median(r[k] for r in rs), 2) for k in keys} for n, rs in runs.items()}
    result = {"variants": {n: VARIANTS[n] for n in names}, "rounds": args.rounds, "seconds_each": args.seconds,
              "python_threads": args.python_threads, "recording": args.record, "median": medians, "runs": runs,
              "cpu_count": os.cpu_count()}
    path = write_result("control_loop_compare", result)
    for n in names:
        m = medians[n]
        print(f"control_loop {n}: {m['hz_mean']} Hz, missed {m['missed_ticks']}, tick p95 {m['tick_ms_p95']} ms, "
              f"render CPU {m['renderer_cpu_ms_per_tick']} ms/tick, control thread CPU "
              f"{m['control_thread_cpu_ms_per_tick']} ms/tick (medians of {args.rounds})")
    print(f"-> {path}")


if __name__ == "__main__":
    main()
