"""Record a 60 s episode with the scripted expert driving the simulator through the control loop,
both cameras at 224x224 and 30 Hz (bench/results/recording.json).

Falls back to synthetic 224x224 frames for two cameras at 30 Hz when the simulator cannot start
(the JSON's "driver" says which was used).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from bench.common import write_result
from core.recording import Recorder, RecorderConfig
from core.store import StoreConfig, open_store
from core.store import episodes as E

HZ = 30.0


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


class _ExpertDriver:
    """AutonomousDriver around the scripted expert for one task."""

    def __init__(self, task, hz: float) -> None:
        from core.control.expert import Expert

        self.expert = Expert(task, dt=1 / hz)
        self.cancelled = False

    def next_twist(self, obs):
        if self.cancelled or self.expert.done:
            return None
        return self.expert.act(obs)

    def cancel(self, reason: str) -> None:
        self.cancelled = True


def _record_with_expert(rec: Recorder, seconds: float) -> dict:
    from core.control.loop import ControlLoop, LoopConfig
    from core.robot.sim import SimConfig, SimRobot
    from core.robot.tasks import all_tasks

    loop = ControlLoop(lambda: SimRobot(SimConfig(image_size=224, control_hz=HZ)), LoopConfig(hz=HZ))
    loop.start(seed=0)
    time.sleep(1.0)
    tasks = [t for t in all_tasks() if t.kind in ("pick", "put_in", "put_on", "stack")]
    stop = threading.Event()
    episodes_driven = [0]

    def director() -> None:  # a new scene and task whenever the expert finishes
        seed = 0
        while not stop.is_set():
            loop.reset(seed)
            drv = _ExpertDriver(tasks[seed % len(tasks)], HZ)
            loop.set_driver(drv)
            episodes_driven[0] += 1
            t_end = time.monotonic() + 25
            while not stop.is_set() and not drv.expert.done and time.monotonic() < t_end:
                time.sleep(0.05)
            seed += 1

    th = threading.Thread(target=director, daemon=True)
    th.start()
    time.sleep(1.0)
    # baseline: the same loop without recording
    c0, w0, m0 = _cpu(), time.perf_counter(), loop.status().missed_ticks
    time.sleep(min(10.0, seconds / 6))
    baseline = 100 * (_cpu() - c0) / (time.perf_counter() - w0)
    baseline_missed = loop.status().missed_ticks - m0

    st0 = loop.status()
    rec.start(
        "pick and place with the scripted expert",
        operator="bench",
        seed=0,
        task="mixed",
        robot="sim",
        cameras=("front", "wrist"),
    )
    loop.add_listener(rec.on_tick)
    c0, w0 = _cpu(), time.perf_counter()
    time.sleep(seconds)
    loop.remove_listener(rec.on_tick)
    wall = time.perf_counter() - w0
    cpu = 100 * (_cpu() - c0) / wall
    st1 = loop.status()
    status = rec.status
    t_stop = time.perf_counter()
    result = rec.stop(success=None)
    stop_s = time.perf_counter() - t_stop
    stop.set()
    loop.close()
    return {
        "driver": "scripted expert in the MuJoCo sim via the control loop",
        "wall_s": wall,
        "cpu_percent": cpu,
        "cpu_percent_without_recording": baseline,
        "missed_ticks_without_recording": baseline_missed,
        "baseline_s": min(10.0, seconds / 6),
        "missed_ticks": st1.missed_ticks - st0.missed_ticks,
        "tick_ms_p95": st1.tick_ms_p95,
        "expert_tasks_started": episodes_driven[0],
        "status": status,
        "result": result,
        "stop_s": stop_s,
    }


def _record_synthetic(rec: Recorder, seconds: float) -> dict:
    from core.recording.synthetic import synthetic_tick

    ticks = [synthetic_tick(i) for i in range(int(HZ * 4))]  # precomputed, cycled: measure recording only
    rec.start("synthetic frames", operator="bench", task="synthetic", robot="synthetic", cameras=("front", "wrist"))
    c0, w0 = _cpu(), time.perf_counter()
    period, t_next, i, missed = 1 / HZ, time.perf_counter(), 0, 0
    while time.perf_counter() - w0 < seconds:
        obs, step = ticks[i % len(ticks)]
        rec.on_tick(obs, type(step)(**{**step.__dict__, "t": i / HZ}))
        i += 1
        t_next += period
        slack = t_next - time.perf_counter()
        if slack > 0:
            time.sleep(slack)
        else:
            missed += 1
    wall = time.perf_counter() - w0
    cpu = 100 * (_cpu() - c0) / wall
    status = rec.status
    t_stop = time.perf_counter()
    result = rec.stop()
    return {
        "driver": "synthetic 224x224 frames, two cameras, 30 Hz (no simulator)",
        "wall_s": wall,
        "cpu_percent": cpu,
        "missed_ticks": missed,
        "status": status,
        "result": result,
        "stop_s": time.perf_counter() - t_stop,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--synthetic", action="store_true", help="skip the simulator")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="vlm2vla-bench-rec-"))
    store = open_store(StoreConfig(recordings_dir=tmp))
    rec = Recorder(store, RecorderConfig(fps=HZ))
    try:
        run = None
        if not args.synthetic:
            try:
                run = _record_with_expert(rec, args.seconds)
            except Exception as exc:  # no MuJoCo / GL here: fall back, and say so
                logging.warning("simulator unavailable (%s); recording synthetic frames", exc)
                if rec.recording:
                    rec.discard()
        if run is None:
            run = _record_synthetic(rec, args.seconds)
        res, st = run.pop("result"), run.pop("status")
        ep = E.get_episode(store, res.episode_id)
        size = sum(v.path.stat().st_size for v in ep.videos if v.exists)
        frames = min(res.frames.values()) if res.frames else 0
        out = {
            "driver": run["driver"],
            "seconds": round(run["wall_s"], 2),
            "control_hz": HZ,
            "cameras": len(res.frames),
            "image_size": 224,
            "steps": res.num_steps,
            "steps_per_s": round(res.num_steps / run["wall_s"], 2),
            "frames_submitted": st.frames_submitted,
            "frames_per_camera": res.frames,
            "dropped_frames": st.frames_submitted - frames,
            "max_encoder_backlog_frames": st.max_backlog,
            "mb_per_min": round(size / 2**20 / (run["wall_s"] / 60), 2),
            "cpu_percent": round(run["cpu_percent"], 1),
            "missed_control_ticks": run["missed_ticks"],
            "save_s": round(run["stop_s"], 2),
            "episode_status": res.status,
            "problems": list(res.problems),
        }
        for k in (
            "cpu_percent_without_recording",
            "missed_ticks_without_recording",
            "baseline_s",
            "tick_ms_p95",
            "expert_tasks_started",
        ):
            if k in run:
                out[k] = round(run[k], 2) if isinstance(run[k], float) else run[k]
        write_result("recording", out)
        print(
            f"recording: {out['steps_per_s']} steps/s, {out['dropped_frames']} dropped frames, "
            f"{out['mb_per_min']} MB/min, cpu {out['cpu_percent']}% ({out['driver']})"
        )
    finally:
        store.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
