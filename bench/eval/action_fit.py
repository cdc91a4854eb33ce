"""Does the shipped adapter write the expert's action list? (bench/results/action_fit.json)

On held-out scripted-expert demos (seeds the adapter never saw), the first action question of each
episode is asked exactly as in training: its frame, its subtask and the expert's own plan. Measured:
- expert_logprob / greedy_logprob: the adapter's log-probability of the expert's list and of the list
  it writes itself (greedy under the action grammar, without the loop's rule that the first entry
  moves the way the plan says, so the signs below are the adapter's own), both whole answers
  (`core.model.rank.rank_answers`, fp32). A greedy list far more likely than the expert's means the
  adapter has not learned the mapping, whatever its training loss;
- first_entry_error_cm: |greedy - expert| of the first entry's translation, summed over x, y, z;
- first_entry_sign_agreement: the axes on which the expert moves at least 0.5 cm and the greedy first
  entry moves the same way;
- distinct_greedy_lists: how many different lists the adapter wrote over all prompts (1 = it ignores
  the image and the plan);
- loop_first_entry_error_cm / loop_first_entry_sign_agreement: the same for the list the autonomous loop
  writes, whose first entry must follow the plan's first phase (`core.language.plan.first_entry_rule`).
"""

from __future__ import annotations

import statistics
import sys

from bench.common import write_result


def first_actions(seeds: range, kind: str, inputs) -> list[tuple]:  # noqa: ANN001
    """(image, prompt, subtask, plan, expert target, first line or None) of each demo's first action
    question (`inputs`: the adapter's, see `bench.common.question_lines`)."""
    from bench.heldout import question_lines
    from core.language.prompts import CHUNK_ENTRIES, episode_samples
    from core.training.sources import expert_episodes

    out = []
    for rec in expert_episodes(seeds, kind=kind, camera=inputs.camera):
        lines = question_lines(rec, inputs, CHUNK_ENTRIES)
        turns = episode_samples(rec.verbalization, rec.instruction, max_entries=CHUNK_ENTRIES, lines=lines)
        plans = {t.step: t.target for t in turns if t.kind == "plan"}
        sub = next((s.text for s in rec.verbalization.subtasks), "")
        t = next(t for t in turns if t.kind == "actions")
        state = lines(t.step, sub) if lines else None
        out.append((rec.frames([t.step])[t.step], t.prompt, sub, plans.get(t.step, ""), t.target, state))
    return out


def main() -> int:
    from bench.heldout import adapter_inputs, held_out_args, load_shipped, result_name

    args = held_out_args(__doc__)
    loaded = load_shipped("action_fit", "fp32", args.threads, args.adapter)
    if loaded is None:
        return 2
    from core.language import parse
    from core.language.prompts import actions_prompt
    from core.model.chat import prepare_inputs
    from core.model.rank import rank_answers
    from core.policy.config import PolicyConfig
    from core.policy.vlm import VLMPolicy

    inputs = adapter_inputs(args.adapter)
    policy = VLMPolicy(loaded, PolicyConfig(inputs, follow_plan=False))  # the adapter's own first entry, not the grammar's rule
    loop_policy = VLMPolicy(loaded, PolicyConfig(inputs))
    tok = getattr(loaded.processor, "tokenizer", loaded.processor)
    rows = []
    for i, kind in enumerate(("pick", "put_in")):  # own seeds per kind: both tasks start "grasp the X block"
        seeds = range(args.seed + 100 * i, args.seed + 100 * i + args.episodes)
        for image, prompt, subtask, plan, target, state in first_actions(seeds, kind, inputs):
            if actions_prompt(subtask, plan, state=state) != prompt:
                raise RuntimeError(f"the loop would not ask the training question: {prompt!r}")
            greedy = policy.actions(image, "", subtask, plan, state=state)
            in_loop = loop_policy.actions(image, "", subtask, plan, state=state)
            ranked, _ = rank_answers(loaded.model, tok, prepare_inputs(loaded, image, prompt), [target, greedy])
            lp = {r.text: r.logprob for r in ranked}
            e = parse(target)[0]
            moving = [a for a in e.translation if abs(a) >= 0.5]
            row = {"kind": kind, "plan": plan, "expert": target, "greedy": greedy, "loop": in_loop,
                   "expert_logprob": round(lp[target], 2), "greedy_logprob": round(lp[greedy], 2),
                   "sign_axes": len(moving)}
            for name, text in (("", greedy), ("loop_", in_loop)):
                g = parse(text)[0]
                row.update({f"{name}first_entry_error_cm": round(sum(abs(a - b) for a, b in zip(e.translation, g.translation)), 2),
                            f"{name}sign_hits": sum((a > 0) == (b > 0) and abs(b) > 0
                                                    for a, b in zip(e.translation, g.translation) if abs(a) >= 0.5)})
            rows.append(row)
    result = {
        "prompts": len(rows),
        "expert_logprob_mean": round(statistics.mean(r["expert_logprob"] for r in rows), 2),
        "greedy_logprob_mean": round(statistics.mean(r["greedy_logprob"] for r in rows), 2),
        "first_entry_error_cm_mean": round(statistics.mean(r["first_entry_error_cm"] for r in rows), 2),
        "first_entry_sign_agreement": round(sum(r["sign_hits"] for r in rows) / max(1, sum(r["sign_axes"] for r in rows)), 3),
        "loop_first_entry_error_cm": round(statistics.mean(r["loop_first_entry_error_cm"] for r in rows), 2),
        "loop_first_entry_sign_agreement": round(
            sum(r["loop_sign_hits"] for r in rows) / max(1, sum(r["sign_axes"] for r in rows)), 3),
        "distinct_greedy_lists": len({r["greedy"] for r in rows}),
        "rows": rows,
    }
    write_result(result_name("action_fit", args.adapter), result)
    print(f"action_fit: expert lp {result['expert_logprob_mean']} vs greedy lp {result['greedy_logprob_mean']}, "
          f"first-entry error {result['first_entry_error_cm_mean']} cm, sign agreement "
          f"{result['first_entry_sign_agreement']}, {result['distinct_greedy_lists']} distinct lists "
          f"over {result['prompts']} prompts; in the loop: first-entry error {result['loop_first_entry_error_cm']} cm, "
          f"sign agreement {result['loop_first_entry_sign_agreement']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
