"""Do the shipped adapter's motion plans react to where the gripper is? (bench/results/plan_fit.json)

On held-out scripted-expert demos (seeds the adapter never saw), the plan question of every cycle
(windows of `CHUNK_ENTRIES` entries, each with the frame at its start, as the loop asks) is answered
by the adapter under the plan grammar and compared with the expert's own plan for that window, by the
direction of each axis in the plan's first phase (`core.language.plan.first_entry_rule`: forward /
back, left / right, up / down, or none):
- plan_exact: the whole plan is the expert's;
- first_phase_axis_agreement: over the axes the expert's first phase moves along, how often the model's
  first phase moves the same way;
- lateral_agreement (x and y only) and vertical_agreement (z only): the two halves of the above; a plan
  that does not look at the gripper still gets "down" right when every grasp plan ends in "down";
- grasp_phase_recall: in the "grasp the X block" windows, the expert's first phase is one of three
  phases: approach (it moves sideways), descend (down, nothing sideways: the gripper is over the block)
  or close (close the gripper: it is around the block). Per phase, how often the model's first phase is
  the same phase; grasp_phase_balanced is their mean. A plan that reads only the subtask and not the
  image says the same phase in all three (balanced ~0.33); a plan that sees where the gripper is
  relative to the block gets all three.
"""

from __future__ import annotations

import statistics
import sys

from bench.common import write_result
from bench.heldout import grasp_phase, signs


def plan_questions(seeds: range, kind: str, inputs) -> list[tuple]:  # noqa: ANN001
    """(image, subtask, expert plan, first line or None) of every cycle of each demo (`inputs`: the
    adapter's, see `bench.common.question_lines`)."""
    from bench.heldout import question_lines
    from core.language.prompts import CHUNK_ENTRIES, episode_samples, plan_prompt
    from core.training.sources import expert_episodes

    out = []
    for rec in expert_episodes(seeds, kind=kind, camera=inputs.camera):
        lines = question_lines(rec, inputs, CHUNK_ENTRIES)
        turns = [t for t in episode_samples(rec.verbalization, rec.instruction, max_entries=CHUNK_ENTRIES)
                 if t.kind == "plan"]
        frames = rec.frames(sorted({t.step for t in turns}))
        for t in turns:
            subtask = next(s.text for s in rec.verbalization.subtasks if plan_prompt(s.text) == t.prompt)
            out.append((frames[t.step], subtask, t.target, lines(t.step, subtask) if lines else None))
    return out


def ratio(hits: int, total: int) -> float | None:
    return round(hits / total, 3) if total else None


def main() -> int:
    from bench.heldout import adapter_inputs, held_out_args, load_shipped, result_name

    args = held_out_args(__doc__)
    loaded = load_shipped("plan_fit", "auto", args.threads, args.adapter)
    if loaded is None:
        return 2
    from core.policy.config import PolicyConfig
    from core.policy.vlm import VLMPolicy

    inputs = adapter_inputs(args.adapter)
    policy = VLMPolicy(loaded, PolicyConfig(inputs))
    rows = []
    for i, kind in enumerate(("pick", "put_in")):
        seeds = range(args.seed + 100 * i, args.seed + 100 * i + args.episodes)
        for image, subtask, expert, state in plan_questions(seeds, kind, inputs):
            rows.append({"kind": kind, "subtask": subtask, "expert": expert,
                         "model": policy.plan(image, "", subtask, state=state)})
    axis = {"all": [0, 0], "lateral": [0, 0], "vertical": [0, 0]}
    phases: dict[str, list[int]] = {p: [0, 0] for p in ("approach", "descend", "close")}
    for r in rows:
        if r["subtask"].startswith("grasp") and (want := grasp_phase(r["expert"])) in phases:
            phases[want][0] += int(grasp_phase(r["model"]) == want)
            phases[want][1] += 1
    recalls = [v[0] / v[1] for v in phases.values() if v[1]]
    for r in rows:
        e, m = signs(r["expert"]), signs(r["model"])
        if e is None:
            continue
        m = m or (0, 0, 0)
        for a in range(3):
            if e[a] != 0:
                for key in ("all", "lateral" if a < 2 else "vertical"):
                    axis[key][0] += int(m[a] == e[a])
                    axis[key][1] += 1
    result = {
        "plans": len(rows),
        "plan_exact": ratio(sum(r["expert"] == r["model"] for r in rows), len(rows)),
        "first_phase_axis_agreement": ratio(*axis["all"]),
        "lateral_agreement": ratio(*axis["lateral"]),
        "vertical_agreement": ratio(*axis["vertical"]),
        "grasp_phase_recall": {p: ratio(*v) for p, v in phases.items()},
        "grasp_phase_windows": {p: v[1] for p, v in phases.items()},
        "grasp_phase_balanced": round(statistics.mean(recalls), 3) if recalls else None,
        "rows": rows,
    }
    result["robot_state"], result["grounded"] = policy.robot_state, policy.grounded
    write_result(result_name("plan_fit", args.adapter), result)
    print(f"plan_fit: {len(rows)} plans, exact {result['plan_exact']}, first-phase axes {result['first_phase_axis_agreement']} "
          f"(lateral {result['lateral_agreement']}, vertical {result['vertical_agreement']}); grasp phase recall "
          f"{result['grasp_phase_recall']} (balanced {result['grasp_phase_balanced']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
