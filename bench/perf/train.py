"""Fine-tune the embedded default model on scripted-expert demos in a background job while the control
loop runs (bench/results/train.json).

What it measures: the whole job (data from 25 expert demos -> LoRA training -> evaluation -> adapter)
started with the Train tab's defaults (`core.training.form.TrainForm.for_preset`: the "cpu" preset without
a GPU, "paper" with one; `--preset` and the other options override single fields) as the app runs it (a separate, niced process with capped threads), and, at the same time, the rate of
the control loop driving the simulator with both cameras rendering. Keys: samples_per_s, wall_s,
peak_rss_mb (the job process), control_loop_hz_during, vqa_before, vqa_after, action_parse_rate.
Also trained_s (start to the end of the training phase). Targets (issues 7, 31): wall under 15 min on the
2-core machine, action parse rate >= 0.9, control loop >= 30 Hz, VQA after >= 95% of before. Needs the default model (`python -m recipes.default_model`); exits with code 2 without it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench.common import write_result


def _vm_hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demos", type=int, default=25)
    ap.add_argument("--preset", default=None, help="the Train tab's preset (default: the tab's choice here)")
    ap.add_argument("--epochs", type=float, default=None, help="override the preset's epochs")
    ap.add_argument("--max-steps", type=int, default=None, help="override the preset's optimizer steps")
    ap.add_argument("--lr", type=float, default=None, help="override the preset's learning rate")
    ap.add_argument("--batch-size", type=int, default=None, help="override the preset's batch")
    ap.add_argument("--grad-accum", type=int, default=None, help="override the preset's accumulation")
    ap.add_argument("--max-entries", type=int, default=None, help="entries per action answer (default: the tab's)")
    ap.add_argument("--threads", type=int, default=None, help="training threads (default: all cores but one)")
    ap.add_argument("--eval-samples", type=int, default=None, help="held-out samples answered (default: the tab's)")
    ap.add_argument("--vqa-scenes", type=int, default=None, help="scene-VQA scenes (default: the tab's)")
    ap.add_argument("--model", default="default")
    ap.add_argument("--timeout-min", type=float, default=90.0)
    args = ap.parse_args()

    from core.model.loader import assets_present

    if args.model == "default" and not assets_present():
        print("train: the default model is not built (python -m recipes.default_model); nothing measured")
        return 2

    from bench.devices import SineInput
    from core.control.loop import ControlLoop, LoopConfig
    from core.robot.sim import SimConfig, SimRobot
    from core.settings import ENV
    from core.store import StoreConfig, open_store
    from core.training.form import TrainForm
    from core.training.jobs import JobManager, default_threads

    tmp = Path(tempfile.mkdtemp(prefix="vlm2vla-bench-train-"))
    os.environ[ENV["adapters_dir"]] = str(tmp / "adapters")  # the job's adapter stays out of the app's folder
    store = open_store(StoreConfig(recordings_dir=tmp / "recordings"))
    threads = args.threads or default_threads()
    jobs = JobManager(store, tmp / "jobs", threads=threads)
    overrides = {k: v for k, v in {"epochs": args.epochs, "max_steps": args.max_steps, "lr": args.lr,
                                   "batch_size": args.batch_size, "grad_accum": args.grad_accum,
                                   "vqa_scenes": args.vqa_scenes, "eval_samples": args.eval_samples}.items()
                 if v is not None}
    form = TrainForm.for_preset(args.preset, name="bench-expert", expert_demos=args.demos, **overrides)
    config = form.job_config(args.model)
    if args.max_entries is not None:
        config = replace(config, data=replace(config.data, max_entries=args.max_entries))
    print(f"train: preset {form.preset}: {config.train.to_dict()}")

    load_start = list(os.getloadavg())
    loop = ControlLoop(lambda: SimRobot(SimConfig(image_size=224)), LoopConfig(hz=30.0))
    loop.add_source(SineInput())
    loop.start(seed=0)
    time.sleep(1.0)
    hz_by_phase: dict[str, list[float]] = {}
    peak_rss = 0.0
    trained_s = None
    t0 = time.perf_counter()
    job_id = jobs.start_job(config)
    deadline = t0 + args.timeout_min * 60
    try:
        while True:
            jobs.poll()
            p = jobs.job_progress(job_id)
            if not p.active:
                break
            if time.perf_counter() > deadline:
                jobs.cancel(job_id)
                print(f"train: cancelled after {args.timeout_min} min")
                p = jobs.wait(job_id, timeout=300)
                break
            if trained_s is None and p.phase in ("evaluating", "saving adapter"):
                trained_s = time.perf_counter() - t0
            if p.status == "running":
                hz_by_phase.setdefault(p.phase, []).append(loop.status().hz)
                pid = jobs._row(job_id)["pid"]
                if pid:
                    peak_rss = max(peak_rss, _vm_hwm_mb(int(pid)) or 0.0)
            time.sleep(1.0)
    finally:
        wall = time.perf_counter() - t0
        st = loop.status()
        loop.close()
        jobs.close()
    during = [h for phase, hs in hz_by_phase.items() for h in hs if phase not in ("starting", "loading model")]
    ev = p.eval
    result = {
        "status": p.status,
        "message": (p.message or "").splitlines()[0] if p.message else "",
        "demos": args.demos,
        "preset": form.preset,
        "train_config": {k: v for k, v in config.train.to_dict().items() if k in (
            "lr", "batch_size", "grad_accum", "epochs", "max_steps", "warmup_steps", "decision_weight")},
        "max_entries": config.data.max_entries,
        "eval_samples": config.eval.max_samples,
        "load_average_start": load_start,
        "load_average_end": list(os.getloadavg()),
        "train_samples": p.data.get("train_samples"),
        "val_samples": p.data.get("val_samples"),
        "steps": p.step,
        "threads": threads,
        "batch": f"{config.train.batch_size} x {config.train.grad_accum} accumulation",
        "samples_per_s": round(ev.get("train_samples_per_s") or p.samples_per_s or 0.0, 3),
        "wall_s": round(wall, 1),
        "trained_s": None if trained_s is None else round(trained_s, 1),
        "train_wall_s": round(ev.get("train_wall_s") or 0.0, 1),
        "peak_rss_mb": round(peak_rss, 1),
        "control_loop_hz_during": round(statistics.median(during), 2) if during else None,
        "control_loop_hz_min": round(min(during), 2) if during else None,
        "control_loop_hz_by_phase": {k: round(statistics.median(v), 2) for k, v in hz_by_phase.items() if v},
        "control_loop_missed_ticks": st.missed_ticks,
        "final_loss": ev.get("final_loss"),
        "vqa_before": ev.get("vqa_before"),
        "vqa_after": ev.get("vqa_after"),
        "vqa_retention": ev.get("vqa_retention"),
        "vqa_questions": ev.get("vqa_questions"),
        "action_parse_rate": ev.get("action_parse_rate"),
        "action_cm_error": ev.get("action_cm_error"),
        "gripper_accuracy": ev.get("gripper_accuracy"),
        "heldout_accuracy": ev.get("heldout_accuracy"),
        "targets": {"wall_s": 900, "action_parse_rate": 0.9, "control_loop_hz_during": 30, "vqa_after_over_before": 0.95},
    }
    write_result("train", result)
    print(f"train: preset {form.preset}, {p.status} {p.step} steps, {result['samples_per_s']} samples/s, wall {result['wall_s']} s, "
          f"peak RSS {result['peak_rss_mb']} MB, control loop {result['control_loop_hz_during']} Hz, "
          f"VQA {result['vqa_before']} -> {result['vqa_after']}, parse rate {result['action_parse_rate']}, "
          f"load average {load_start[0]:.2f} at start")
    return 0 if p.status == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
