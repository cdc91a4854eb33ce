"""The SO-101 (issue 32): loop rate with both cameras and recording, expert success, servo-bus latency
(bench/results/so101.json).

- loop_hz, missed_ticks: the simulated SO-101 (`so101-sim`, both cameras at 224 px) in the app's control
  loop at 30 Hz for `--seconds` (60), driven by a synthetic teleop device that sweeps the workspace and
  toggles the jaw, while an episode records (videos + steps, live verbalization) the whole time;
- expert_success {kind: rate}: the scripted expert on `--seeds` scenes per kind (pick and put-in: 30 each;
  the others `--other-seeds`);
- bus_sync_read_ms_p50: the real driver (`FeetechBus`, vendor SDK) reading Present_Position from six
  servos through the bus emulator on a pseudo-terminal in its own process (driver -> pty -> emulator ->
  pty -> driver), `--reads` times;
- autonomous_success {kind: rate} (`--adapter DIR`): an adapter trained in the app's training job on
  so101-sim expert demos drives the simulated SO-101 in the autonomous loop (`--episodes` per kind, seeds
  1000..); without `--adapter` an earlier measurement in the file is kept;
- lerobot_read: written by `bash scripts/lerobot_venv.sh` (bench/lerobot_compat.py, LeRobot's own venv); kept.

    python bench/eval/so101.py                 # ~8 min on 2 cores
    python bench/eval/so101.py --seconds 10 --seeds 5 --other-seeds 0 --reads 200   # a quick look
    python bench/eval/so101.py --only autonomous --adapter DIR --episodes 10       # autonomous_success only
                                                   # (no --adapter: the shipped assets/adapter-so101-sim)
    python bench/eval/so101.py --only loop     # the loop and the bus again, the rest kept (~2 min)

Loop figures depend on what else runs on the machine (`loadavg` in the result): on a shared machine they
are preliminary.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

from bench.common import RESULTS, write_result

KINDS = ("pick", "put_in", "put_on", "stack", "push_left", "push_right", "push_forward")


def loop_run(seconds: float) -> dict:
    from bench.devices import SineInput
    from core.control.loop import ControlLoop, LoopConfig
    from core.recording import Recorder, RecorderConfig
    from core.recording.live import LiveRecording
    from core.robot.so101.kinematics import LIMITS
    from core.robot.so101.sim import So101Sim
    from core.robot.tabletop import SimConfig
    from core.store import StoreConfig, open_store

    observe_ms: list[float] = []
    apply_ms: list[float] = []

    class Timed(So101Sim):
        def observe(self):  # noqa: ANN202
            t = time.perf_counter()
            obs = super().observe()
            observe_ms.append((time.perf_counter() - t) * 1000)
            return obs

        def apply(self, cmd) -> None:  # noqa: ANN001
            t = time.perf_counter()
            super().apply(cmd)
            apply_ms.append((time.perf_counter() - t) * 1000)

    folder = Path(tempfile.mkdtemp(prefix="so101-bench-"))
    store = open_store(StoreConfig(recordings_dir=folder / "rec"))
    recording = LiveRecording(store, Recorder(store, RecorderConfig(fps=30.0)))
    loop = ControlLoop(lambda: Timed(SimConfig(image_size=224, control_hz=30.0)),
                       LoopConfig(hz=30.0, limits=LIMITS, freeze_gc=True))  # as the app's loop
    loop.add_listener(recording.on_tick)
    loop.add_source(SineInput())
    loop.start(seed=0)
    try:
        time.sleep(1.0)  # warm-up
        recording.start("sweep the workspace", robot="so101-sim", seed=0, cameras=("front", "wrist"))
        s0 = loop.status()
        observe_ms.clear()
        apply_ms.clear()
        load0 = os.getloadavg()[0]
        t0 = time.perf_counter()
        time.sleep(seconds)
        st = loop.status()
        wall = time.perf_counter() - t0
        saved = recording.stop(None)
    finally:
        loop.close()
        store.close()
        shutil.rmtree(folder, ignore_errors=True)
    ticks = st.ticks - s0.ticks
    return {
        "loop_hz": round(ticks / wall, 2),
        "missed_ticks": st.missed_ticks - s0.missed_ticks,
        "ticks": ticks,
        "seconds": round(wall, 1),
        "tick_ms_p95": round(st.tick_ms_p95, 2),
        "observe_render_ms_p50": round(statistics.median(observe_ms), 2),
        "apply_ik_physics_ms_p50": round(statistics.median(apply_ms), 2),
        "recording": {"status": saved.result.status, "steps": saved.result.num_steps, "frames": saved.result.frames,
                      "problems": list(saved.result.problems)},
        "loadavg_1min": [round(load0, 2), round(os.getloadavg()[0], 2)],
    }


def expert_run(seeds: int, other_seeds: int) -> tuple[dict, dict]:
    from core.control.expert import rollout
    from core.robot.episodes import draw_task
    from core.robot.so101.sim import So101Sim
    from core.robot.tabletop import SimConfig

    robot = So101Sim(SimConfig(render=False))
    rates, detail = {}, {}
    try:
        for kind in KINDS:
            n = seeds if kind in ("pick", "put_in") else other_seeds
            if n <= 0:
                continue
            wins, failed, skipped, seed = 0, [], [], -1
            while len(skipped) + n > seed + 1:  # n scenes that have the task; the others are skipped
                seed += 1
                try:  # pushes within reach: a scene may have none in the pushed direction
                    task = draw_task(seed, robot.reset(seed).scene, kind, limits=robot.limits)
                except ValueError:
                    skipped.append(seed)
                    continue
                if rollout(robot, task, seed).success:
                    wins += 1
                else:
                    failed.append(seed)
            rates[kind] = round(wins / n, 3)
            detail[kind] = {"episodes": n, "successes": wins, "failed_seeds": failed, "skipped_seeds": skipped}
    finally:
        robot.close()
    return rates, detail


def bus_run(reads: int) -> dict:
    from core.robot.so101.emulator import EmulatorProcess
    from core.robot.so101.feetech import BusError, FeetechBus

    ids = list(range(1, 7))
    times: list[float] = []
    failures = 0
    with EmulatorProcess() as emu:
        bus = FeetechBus(emu.port).open()
        try:
            warm = 0
            for _ in range(200):  # warm-up (the child process may still be starting)
                try:
                    bus.sync_read("Present_Position", ids)
                    warm += 1
                except BusError:
                    time.sleep(0.1)
                if warm >= 20:
                    break
            for _ in range(reads):
                try:
                    _, ms = bus.timed_sync_read("Present_Position", ids)
                    times.append(ms)
                except BusError:
                    failures += 1
                time.sleep(0.002)
        finally:
            bus.close()
    times.sort()
    return {
        "bus_sync_read_ms_p50": round(statistics.median(times), 3),
        "bus_sync_read_ms_p95": round(times[int(0.95 * (len(times) - 1))], 3),
        "bus_sync_read_ms_max": round(times[-1], 3),
        "bus_reads": len(times),
        "bus_failures": failures,
    }


def autonomous_run(adapter: Path, episodes: int, kinds: list[str], time_limit: float, seed: int) -> tuple[dict, dict]:
    """The adapter (a folder trained on this model build for so101-sim) in the autonomous loop on the
    simulated SO-101: `episodes` seeded tasks per kind, commanded in English; {kind: rate} and what ran."""
    from core.policy.rollout import run_sim_episodes
    from core.policy.shipped import load_shipped, matches_base

    if not matches_base(adapter):
        raise SystemExit(f"{adapter} was not trained on this model build")
    service = load_shipped("auto", adapter_dir=adapter, restater=False, reader=False)
    policy = service.policy()
    robot = policy.config.inputs.robot
    if robot != "so101-sim":
        raise SystemExit(f"{adapter} was trained on {robot!r} scenes, not so101-sim")
    rates, detail = {}, {"adapter": adapter.name, "grounded": policy.grounded, "seeds": [seed, seed + episodes - 1],
                         "time_limit_s": time_limit, "episodes": []}
    for kind in kinds:
        # directly: the loop's own thread hands each model call to the model thread (`core.model.worker`);
        # the whole rollout on the model thread would wait there for its own calls
        r = run_sim_episodes(policy, seeds=range(seed, seed + episodes), kind=kind, time_limit_s=time_limit,
                             robot=robot)
        rates[kind] = round(r.success_rate, 3)
        detail["episodes"] += [{"kind": kind, "seed": e.seed, "task": e.task, "success": e.success,
                                "result": e.loop_result, "message": e.message, "cycles": len(e.cycles_s),
                                "seconds": round(e.seconds, 1)} for e in r.episodes]
        print(f"so101: autonomous {kind}: {r.success_rate:.2f} ({r.n} episodes, {r.seconds:.0f} s)", flush=True)
    return rates, detail


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--other-seeds", type=int, default=20)
    ap.add_argument("--reads", type=int, default=1000)
    ap.add_argument("--adapter", type=Path, default=None,
                    help="an adapter trained in the app's job on so101-sim demos: measure autonomous_success")
    ap.add_argument("--episodes", type=int, default=10, help="autonomous episodes per kind")
    ap.add_argument("--kinds", default="pick,put_in", help="autonomous task kinds")
    ap.add_argument("--time-limit", type=float, default=300.0, help="seconds per autonomous episode")
    ap.add_argument("--only", choices=("all", "autonomous", "loop"), default="all",
                    help="autonomous: measure only autonomous_success; loop: only the loop and the bus (e.g. again "
                         "on a quiet machine); the file's other figures are kept")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sys.setswitchinterval(0.002)  # as app.py: the control thread waits less for the GIL
    path = RESULTS / "so101.json"
    old = json.loads(path.read_text()) if path.is_file() else {}
    result: dict = {"note": "measured on a shared 2-core machine: loop figures are preliminary; re-run on a quiet "
                            "machine with `python bench/eval/so101.py`",
                    "cpu_count": os.cpu_count()}
    if args.only == "autonomous":
        result = {k: v for k, v in old.items() if not k.startswith("autonomous")}
    elif args.only == "loop":
        result = {**old, **result}
        result.update(loop_run(args.seconds))
        result.update(bus_run(args.reads))
    else:
        loop = loop_run(args.seconds)
        result.update(loop)
        result.update(bus_run(args.reads))
        rates, detail = expert_run(args.seeds, args.other_seeds)
        result["expert_success"] = rates
        result["expert_detail"] = detail
        for key in ("lerobot_read", "lerobot_read_detail"):  # written by bench/lerobot_compat.py
            if key in old:
                result[key] = old[key]
        if "lerobot_read" not in result:
            result["lerobot_read"] = None
            result["lerobot_read_reason"] = "not checked yet: run `bash scripts/lerobot_venv.sh` (LeRobot's own venv)"
    adapter = args.adapter
    if adapter is None and args.only == "autonomous":  # the one the app activates on this robot
        from core.policy.shipped import shipped_adapter

        adapter = (shipped_adapter("so101-sim") or (None, None))[0]
    if adapter is not None:
        rates_a, detail_a = autonomous_run(adapter, args.episodes, [k for k in args.kinds.split(",") if k],
                                           args.time_limit, 1000)
        result["autonomous_success"], result["autonomous_detail"] = rates_a, detail_a
    elif args.only in ("all", "loop") and "autonomous_success" in old:
        result["autonomous_success"] = old["autonomous_success"]  # measured with --adapter, kept
        result.update({k: v for k, v in old.items() if k.startswith("autonomous_")})
    else:
        result["autonomous_success"] = None
        result["autonomous_success_reason"] = "not measured: pass --adapter DIR (an adapter trained on so101-sim demos) or --only autonomous"
    path = write_result("so101", result)
    if args.only == "autonomous":
        print(f"so101: autonomous {result.get('autonomous_success')} -> {path}")
        return
    print(f"so101: loop {result['loop_hz']} Hz, missed {result['missed_ticks']}/{result['ticks']} "
          f"(observe+render p50 {result['observe_render_ms_p50']} ms, load {result['loadavg_1min']}); "
          f"expert {result['expert_success']}; bus sync read p50 {result['bus_sync_read_ms_p50']} ms; "
          f"autonomous {result.get('autonomous_success')}; lerobot_read {result.get('lerobot_read')} -> {path}")


if __name__ == "__main__":
    main()
