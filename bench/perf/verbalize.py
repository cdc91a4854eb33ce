"""Verbalization speed on a 300-step episode, and replay-as-language success on the simulator.

Writes bench/results/verbalize.json: `ms_p50` (median ms to verbalize 300 steps; target < 50),
`push_us_p99` (incremental `Verbalizer.push` per step, for the live view) and, when the simulator and
the scripted expert are available, `replay_success_rate`: for every successful expert demonstration,
its verbalized actions are rendered as text, parsed back and executed on the simulator from the same
seed; the rate is the fraction that meets the task's success predicate again.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from core.language import Verbalizer, verbalize
from core.types import Step

ROOT = Path(__file__).resolve().parents[2]

N_STEPS = 300


def episode_300() -> tuple[list[Step], str]:
    """A 300-step episode: a slowed-down expert stack demonstration (~300 steps, padded or cut to exactly
    300) if the simulator works, else a synthetic one."""
    try:
        from core.control.expert import rollout
        from core.control.safety import Limits
        from core.robot.sim import SimConfig, SimRobot
        from core.robot.tasks import Task
    except ImportError:
        return _synthetic(), "synthetic"
    robot = SimRobot(SimConfig(render=False))
    try:
        demo = rollout(robot, Task("stack", "red block", "green block"), 0, max_steps=N_STEPS,
                       limits=Limits(max_speed=0.085))
    finally:
        robot.close()
    steps = demo.steps[:N_STEPS]
    steps += [steps[-1]] * (N_STEPS - len(steps))  # the arm resting at the end
    return steps, f"expert stack demonstration at 8.5 cm/s, {len(demo.steps)} steps (sim)"


def _synthetic() -> list[Step]:
    from core.language.synthetic import episode

    return episode("stack", "red block", "green block", speed=0.1, min_steps=N_STEPS)[:N_STEPS]


def time_verbalize(steps: list[Step], repeats: int) -> tuple[float, float, int, int]:
    verbalize(steps)  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        v = verbalize(steps)
        times.append((time.perf_counter() - t) * 1000)
    pushes = []
    live = Verbalizer()
    for s in steps:
        t = time.perf_counter()
        live.push(s)
        pushes.append((time.perf_counter() - t) * 1e6)
    pushes.sort()
    return statistics.median(times), pushes[int(0.99 * (len(pushes) - 1))], len(v.subtasks), len(v.chunks)


def replay_rate(seeds: int) -> dict | None:
    try:
        from core.control.expert import rollout
        from core.control.replay import replay_episode
        from core.robot.episodes import draw_task
        from core.robot.sim import SimConfig, SimRobot
        from core.robot.tasks import TASK_KINDS
    except ImportError:
        return None
    robot = SimRobot(SimConfig(render=False))
    per_kind: dict[str, list[bool]] = {k: [] for k in TASK_KINDS}
    errors: list[float] = []
    demos_failed = 0
    try:
        for seed in range(seeds):
            scene = robot.reset(seed).scene
            for kind in TASK_KINDS:
                task = draw_task(seed, scene, kind)
                demo = rollout(robot, task, seed)
                if not demo.success:
                    demos_failed += 1
                    continue
                res = replay_episode(demo.steps, task, seed, robot=robot)
                per_kind[kind].append(res.success)
                errors.append(res.ee_error_cm)
    finally:
        robot.close()
    results = [ok for v in per_kind.values() for ok in v]
    return {
        "replay_success_rate": sum(results) / len(results) if results else 0.0,
        "replay_episodes": len(results),
        "replay_per_task": {k: (sum(v) / len(v) if v else None) for k, v in per_kind.items()},
        "replay_final_ee_error_cm_p50": statistics.median(errors) if errors else None,
        "demos_failed_skipped": demos_failed,
        "replay_seeds": seeds,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--seeds", type=int, default=10, help="replay: seeds x 7 task kinds (0 skips the replay)")
    args = ap.parse_args()

    steps, source = episode_300()
    ms, push_us, n_sub, n_chunks = time_verbalize(steps, args.repeats)
    result: dict = {
        "ms_p50": round(ms, 3),
        "target_ms": 50,
        "push_us_p99": round(push_us, 1),
        "steps": len(steps),
        "subtasks": n_sub,
        "chunks": n_chunks,
        "episode": source,
        "repeats": args.repeats,
    }
    t0 = time.perf_counter()
    replay = replay_rate(args.seeds) if args.seeds > 0 else None
    if replay is not None:
        result.update(replay)
        result["replay_wall_s"] = round(time.perf_counter() - t0, 1)
    out = ROOT / "bench" / "results" / "verbalize.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, sort_keys=True))
    line = f"verbalize: ms_p50={ms:.2f} for {len(steps)} steps ({n_sub} subtasks, {n_chunks} entries; {source})"
    if replay is not None:
        line += (f"; replay_success_rate={replay['replay_success_rate']:.3f} over {replay['replay_episodes']} "
                 f"expert demos")
    else:
        line += "; replay skipped" + ("" if args.seeds == 0 else " (simulator not available)")
    print(line)


if __name__ == "__main__":
    main()
