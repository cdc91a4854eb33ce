"""The ceiling of grounded servoing, without the language model: a fixed rule (`core.policy.servo`) reads
each cycle's grounding line (the shipped object locator + the camera calibration, `core.policy.grounding`)
and writes one action entry the way the direct-style expert moves (`core.control.expert.Expert`, long
entries). The same closed loop (`core.control.autonomous.AutonomousRun`) executes it and the simulator
judges the tasks.

If this rule fails, no adapter trained on those lines can do better through them: it bounds what the
locator, the calibration, the entry execution and the loop allow. Writes
bench/results/grounded_oracle.json.

    python bench/grounded_oracle.py [--episodes 10] [--kinds pick put_in]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/grounded_oracle.py` from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import write_result  # noqa: E402
from core.policy.servo import ServoPolicy  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--episodes", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--kinds", nargs="+", default=["pick", "put_in"])
    args = ap.parse_args()

    from core.policy.grounding import sim_grounder
    from core.policy.rollout import run_sim_episodes

    grounder = sim_grounder()
    policy = ServoPolicy(grounder.line)
    result: dict[str, Any] = {"episodes_per_kind": args.episodes, "seed": args.seed, "success": {}, "failures": {}}
    for kind in args.kinds:
        r = run_sim_episodes(policy, episodes=args.episodes, seed=args.seed, kind=kind)
        result["success"][kind] = round(sum(e.success for e in r.episodes) / len(r.episodes), 3)
        result["failures"][kind] = [f"{e.seed}: {e.message}" for e in r.episodes if not e.success]
    write_result("grounded_oracle", result)
    print("grounded_oracle: " + ", ".join(f"{k} {v:.2f}" for k, v in result["success"].items())
          + f" success over {args.episodes} seeded sim episodes each")
    return 0


if __name__ == "__main__":
    sys.exit(main())
