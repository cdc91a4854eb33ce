"""Autonomous mode as visitors meet it: the real app, a headless chromium page on the Autonomous tab for
the whole run, commands typed in the chat box and sent with "Do it" (bench/results/app_autonomous.json).

The app runs in this process, built exactly as `python app.py` builds it (default model, shipped adapter
and restater, default precision, one model thread on 2 cores), so the benchmark can read the simulator's
ground truth and the control loop's tick times (`bench/appbench/inproc.py`). Per task episode: reset the
scene to a seed, clear the chat, reach the start state by keyboard through the page (home; after teleop:
a random pose, gripper open or closed; after a command: a block held or the task already done), type the
command (held-out wordings, `bench/data/held_out_commands.py`), press "Do it", wait until the page shows
the final status, judge the task on the simulator. Then the refusal set (`bench/data/held_out_refusal.py`,
rule in `bench/appbench/metrics.py`), then the quantized path against fp32 on action prompts captured
during the run (`bench/appbench/quantized.py`).

The result has exactly the keys of issues 29 and 30; everything else (each command's record, ambiguous
commands asked back, loads, screenshots folder) goes to `<out>-details.json`. Both files are rewritten
after every command, so a killed run keeps what it measured (`--resume` continues it).

    python bench/eval/app_autonomous.py --quick          # smoke: ~8 min, writes app_autonomous-quick.json
    python bench/eval/app_autonomous.py                  # default: ~6-7 h on a shared 2-core machine
    python bench/eval/app_autonomous.py --langs en,it --kinds pick,stack --starts home --seeds 7000-7004
    python bench/eval/app_autonomous.py --dev            # the dev set (tuning), app_autonomous-dev.json
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.appbench import metrics
from bench.appbench.cli import parse, plan_of, word

ROOT = Path(__file__).resolve().parents[2]


def write(out: Path, records: list[dict], cfg: dict, partial: bool) -> dict:
    summary = metrics.summarize(records, cfg["kinds"], cfg["langs"], cfg["starts"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    head = {"partial": partial, "config": cfg, "extras": metrics.extras(records)}
    lines = [json.dumps(r, ensure_ascii=False, default=str) for r in records]  # one record per line
    details_path(out).write_text(json.dumps(head, indent=1, ensure_ascii=False)[:-2] + ',\n "records": [\n'
                                 + ",\n".join(lines) + "\n ]\n}\n")
    return summary


def details_path(out: Path) -> Path:
    return out.with_name(out.stem + "-details.json")


def chromium_cpu_s() -> float | None:
    """CPU seconds used so far by this process's chromium children (None without psutil)."""
    try:
        import psutil
    except ImportError:
        return None
    total = 0.0
    for p in psutil.Process().children(recursive=True):
        try:
            if "chrom" in p.name():
                t = p.cpu_times()
                total += t.user + t.system
        except psutil.Error:
            pass
    return total


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        cfg, cells, items = plan_of(args)
    except ValueError as exc:
        print(f"app_autonomous: {exc}", file=sys.stderr)
        return 2
    out: Path = args.out
    records: list[dict] = []
    if args.resume and details_path(out).is_file():
        records = [r for r in json.loads(details_path(out).read_text())["records"] if r.get("type") != "quantized"]
        print(f"app_autonomous: resuming with {len(records)} records from {details_path(out)}", flush=True)
    done = {r.get("key") for r in records}
    folder = Path(tempfile.mkdtemp(prefix="app-autonomous-"))
    shots = args.screenshots or folder / "shots"
    cfg.update(app_folder=folder.name, screenshots=shots.name)  # names only: the temporary folder is the machine's
    print(f"app_autonomous: {len(cells)} task episodes, {len(items)} refusal items, {args.prompts} quantized "
          f"prompts; app log and screenshots under {folder}", flush=True)

    from bench.appbench.episodes import Harness, quiesce, refusal_item, task_episode
    from bench.appbench.inproc import RunningApp
    from bench.appbench.page import AutonomousPage, chromium
    from bench.appbench.starts import KeyDriver

    ra = RunningApp(args.port, folder, folder / "app.log", capture=args.prompts, seed=args.prompt_seed)
    t_all = time.perf_counter()
    ra.start()
    try:
        with chromium() as browser:
            page = AutonomousPage(browser, ra.base)
            page.open()
            cfg["app"] = ra.wait_model()
            print(f"app_autonomous: {cfg['app']}", flush=True)
            h = Harness(ra, page, KeyDriver(page, ra.app), shots)
            cpu0, t0 = chromium_cpu_s(), time.perf_counter()
            # refusal items spread among the episodes: a partial run, or a change of load, touches every part
            todo = metrics.interleave([("episode", c) for c in cells if c.key not in done],
                                      [("refusal", it) for it in items if it["key"] not in done])
            n_done = len(cells) + len(items) - len(todo)
            for n, (what, job) in enumerate(todo, start=n_done + 1):
                load = os.getloadavg()[0]
                if what == "episode":
                    rec = task_episode(h, job, word(args.dev))
                    tag = f"{job.key}: {rec.get('task')} <- {rec.get('command', '')!r}"
                    verdict = "SETUP FAILED" if rec["type"] == "setup_failed" else (
                        f"{'success' if rec['success'] else 'failure'} ({rec['outcome']}, {rec['cycles']} cycles, "
                        f"{rec['command_s']} s)")
                else:
                    rec = refusal_item(h, job, job["seed"])
                    rec["key"] = job["key"]
                    tag = f"{job['key']} {job['category']}/{job['subcategory']} {job['text']!r}"
                    verdict = ("refused" + (" and asked back" if rec["asked_back"] else "") if rec["refused"]
                               else f"not refused ({rec['outcome']}, moved {rec['moved_cm']} cm)")
                rec["load1"] = round(load, 2)
                records.append(rec)
                write(out, records, cfg, partial=True)
                print(f"app_autonomous [{n}/{len(cells) + len(items)}] {tag}: {verdict}", flush=True)
            quiesce(h)
            cpu1 = chromium_cpu_s()
            if cpu0 is not None and cpu1 is not None:
                cfg["chromium_cores_used"] = round((cpu1 - cpu0) / max(1e-6, time.perf_counter() - t0), 3)
            page.close()
    finally:
        ra.close()
    cfg["in_app_wall_s"] = round(time.perf_counter() - t_all, 1)
    if args.prompts > 0:
        from bench.appbench.quantized import compare

        records.append(compare(ra.app.model, list(ra.recorder.sample),
                               progress=lambda m: print(f"app_autonomous {m}", flush=True)))
        records[-1]["captured_of"] = ra.recorder.seen
    cfg["wall_s"] = round(time.perf_counter() - t_all, 1)
    s = write(out, records, cfg, partial=False)
    en = {k: v.get("en") for k, v in s["success"].items()}
    others = [r for k, v in s["success"].items() for lang, r in v.items() if lang != "en" and r is not None]
    ex = metrics.extras(records)
    print(f"app_autonomous: en success {en}; other languages mean "
          f"{round(sum(others) / len(others), 3) if others else None}; cycle p50 {s['cycle_s_p50']} s; "
          f"pick command p50 {s['command_s_p50'].get('pick')} s; loop {s['loop_hz_mean']} Hz mean, "
          f"{s['loop_hz_min']} min, missed {s['missed_tick_rate']}; malformed {s['malformed_rate']}; refusal "
          f"recall {s['refusal']['recall']} false {s['refusal']['false_rate']} (ambiguous asked back "
          f"{ex['ambiguous_asked_back']}); quantized x{s['quantized_speedup']} match {s['quantized_match_rate']} "
          f"-> {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
