"""The ceiling of grounded servoing, without the language model: a fixed rule (`core.policy.servo`) reads
each cycle's grounding line (the shipped object locator + the camera calibration, `core.policy.grounding`)
and writes one action entry the way the direct-style expert moves (`core.control.expert.Expert`, long
entries). The same closed loop (`core.control.autonomous.AutonomousRun`) executes it and the simulator
judges the tasks.

If this rule fails, no adapter trained on those lines can do better through them: it bounds what the
locator, the calibration, the entry execution and the loop allow. Writes
bench/results/grounded_oracle.json.

    python bench/eval/grounded_oracle.py [--episodes 10] [--kinds pick put_in] [--starts home after_teleop after_command]
                                         [--robot so101-sim]

Each task kind runs `--episodes` seeded scenes, the start states taken in turn (`core.control.starts`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bench.common import write_result
from core.control.starts import STARTS
from core.policy.servo import ServoPolicy
from core.robot.tasks import TASK_KINDS


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--episodes", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--kinds", nargs="+", default=list(TASK_KINDS))
    ap.add_argument("--starts", nargs="+", default=["home"], choices=list(STARTS))
    ap.add_argument("--robot", default="sim", help="a simulated robot of the registry (the rule takes its expert's "
                    "heights: core.policy.servo.ServoRule.for_heights)")
    ap.add_argument("--out", default="grounded_oracle", help="result name under bench/results/")
    args = ap.parse_args()

    from core.policy.grounding import sim_grounder
    from core.policy.rollout import run_sim_episodes
    from core.policy.servo import ServoRule

    grounder = sim_grounder(robot=args.robot)
    policy = ServoPolicy(grounder.line, rule=ServoRule.for_heights(grounder.heights))
    result: dict[str, Any] = {"robot": args.robot, "episodes_per_kind": args.episodes, "seed": args.seed,
                              "starts": args.starts,
                              "success": {}, "success_by_start": {}, "failures": {}, "setup_failed": {}}
    for kind in args.kinds:
        r = run_sim_episodes(policy, episodes=args.episodes, seed=args.seed, kind=kind, starts=args.starts,
                             robot=args.robot)
        result["success"][kind] = round(sum(e.success for e in r.episodes) / max(1, len(r.episodes)), 3)
        for st in args.starts:
            got = [e.success for e in r.episodes if e.start == st]
            if got:
                result["success_by_start"].setdefault(st, {})[kind] = round(sum(got) / len(got), 3)
        result["failures"][kind] = [f"{e.seed} ({e.start}): {e.message}" for e in r.episodes if not e.success]
        result["setup_failed"][kind] = r.setup_failed
    write_result(args.out, result)
    print("grounded_oracle: " + ", ".join(f"{k} {v:.2f}" for k, v in result["success"].items())
          + f" success over {args.episodes} seeded {args.robot} episodes each (starts: {', '.join(args.starts)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
