"""The ceiling of grounded servoing, without the language model: a fixed rule reads each cycle's grounding
line (the shipped object locator + the camera calibration, `core.model.grounding`) and writes one action
entry the way the direct-style expert moves (`core.robot.expert.Expert`, long entries). The same closed
loop (`core.control.autonomous.AutonomousRun`) executes it and the simulator judges the tasks.

If this rule fails, no adapter trained on those lines can do better through them: it bounds what the
locator, the calibration, the entry execution and the loop allow. Writes
bench/results/grounded_oracle.json.

    python bench/grounded_oracle.py [--episodes 10] [--kinds pick put_in]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/grounded_oracle.py` from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import write_result  # noqa: E402
from core.robot.expert import DIRECT_Z  # noqa: E402

_GRIPPER = re.compile(r"Gripper (?P<h>[\d.]+) cm above the table, (?P<g>open|closed)\.")
_OBJECT = re.compile(r": (?P<x>[\d.]+) cm (?P<xs>forward|back), (?P<y>[\d.]+) cm (?P<ys>left|right), "
                     r"(?P<z>[\d.]+) cm (?P<zs>up|down)\.")
CLAMP_CM = 9.3  # what a long entry reaches before the chunker's cut, in the expert's demos
LATERAL_OK_CM = 0.6  # go down once the object is this close sideways
# at the reach height the fingers hide part of the block and the locator drifts by 1 cm or so; the expert's
# demos close there all the same
LATERAL_OK_LOW_CM = 2.0
TRAVEL_CM = 100 * DIRECT_Z[0]  # the direct expert's lowest travel height


def _clamp(v: float) -> float:
    return round(max(-CLAMP_CM, min(CLAMP_CM, v)), 1) + 0.0


def oracle_entry(line: str, placing: bool) -> tuple[float, float, float, int]:
    """The next [dx, dy, dz, gripper] entry for a grounding line (see the module doc)."""
    g = _GRIPPER.search(line)
    if g is None:
        raise ValueError(f"not a grounding line: {line!r}")
    height, grip = float(g["h"]), 1 if g["g"] == "open" else 0
    o = _OBJECT.search(line)
    if o is None:  # a lift (no object named), or the object is not in view: go up to travel height
        return (0.0, 0.0, _clamp(max(0.0, TRAVEL_CM + 2.0 - height)), grip)
    fx = float(o["x"]) * (1 if o["xs"] == "forward" else -1)
    ly = float(o["y"]) * (1 if o["ys"] == "left" else -1)
    dz = float(o["z"]) * (1 if o["zs"] == "up" else -1)
    at_height = abs(dz) <= 0.5
    if max(abs(fx), abs(ly)) > (LATERAL_OK_LOW_CM if at_height else LATERAL_OK_CM):
        return (_clamp(fx), _clamp(ly), _clamp(max(0.0, TRAVEL_CM - height)), grip)
    if not at_height:
        return (0.0, 0.0, _clamp(dz), grip)
    return (0.0, 0.0, 0.0, 1 if placing else 0)


class GroundedOracle:
    """A `core.control.autonomous.Policy` that writes `oracle_entry` for each cycle's grounding line."""

    name = "grounded-oracle"
    camera = "front"

    def __init__(self, line: Callable[..., str]) -> None:
        self._line = line
        self._entry: tuple[float, float, float, int] | None = None

    def context(self, image: Any, subtask: str, ee_pos: Any, gripper: float, seen: dict | None = None) -> str:
        return self._line(image, subtask, ee_pos, gripper, seen)

    def subtasks(self, image: Any, instruction: str, on_text: Any = None) -> str:
        from core.language.prompts import subtasks_target
        from core.robot.tasks import all_tasks

        task = next((t for t in all_tasks() if t.instruction == instruction), None)
        if task is None:
            raise ValueError(f"the oracle knows only the canonical English instructions, not {instruction!r}")
        return subtasks_target(task.subtasks)

    def plan(self, image: Any, instruction: str, subtask: str, on_text: Any = None, state: str | None = None) -> str:
        from core.language.grounding import is_placing
        from core.language.plan import motion_plan
        from core.language.spec import Chunk

        assert state is not None, "the oracle reads the grounding line"
        self._entry = oracle_entry(state, is_placing(subtask))
        now = _GRIPPER.search(state)
        return motion_plan([Chunk(*self._entry)], 1 if now and now["g"] == "open" else 0) or "hold"

    def actions(self, image: Any, instruction: str, subtask: str, plan: str, on_text: Any = None,
                state: str | None = None) -> str:
        from core.language.render import render_list
        from core.language.spec import Chunk

        assert self._entry is not None
        return render_list([Chunk(*self._entry)])

    def is_done(self, image: Any, subtask: str, state: str | None = None) -> bool | None:
        return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--episodes", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--kinds", nargs="+", default=["pick", "put_in"])
    args = ap.parse_args()

    from core.model.grounding import sim_grounder
    from core.training.evaluate import run_sim_episodes

    grounder = sim_grounder()
    policy = GroundedOracle(grounder.line)
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
