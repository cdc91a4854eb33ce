"""Autonomous mode end to end: the shipped default adapter drives the sim in closed loop, commanded in
English and five other languages (bench/results/autonomous.json).

What it measures, in one run:
- success rate per task kind and language over the same seeded scenes (the paper's loop: subtasks ->
  per cycle plan + action chunk under the grammar -> executed -> verified by the simulator);
- subtasks_correct: how often the model restated the command (in any language) as the task's own
  English subtasks: the multilingual step, measured apart from the motion;
- cycle_s_p50 / p95: model time per cycle (plan + actions), malformed_rate (unparseable model
  outputs per model call; the grammar should make it 0), verifier_agreement (the model's own yes/no on
  "is the subtask done?" vs the simulator's predicate);
- constrained_speedup: grammar-constrained decoding (LM head restricted to the allowed rows, guessed
  tokens checked several per pass) vs plain greedy `generate` with the full head, on held-out action
  prompts (whether the two agree when the unconstrained answer was valid, and whether they agree up to
  the first token the grammar forbids, valid or not); draft_speedup: the
  guessed-token passes vs one token per pass, and whether their outputs are identical;
- speedup: the quantized CPU default vs fp32, same prompts, with the adapter active (through the default's
  engine when it has one, `core.model.engine`; `bench/perf/quantized.py` compares all engines).
Targets (issue 8): cycle p50 <= 1.5 s, pick >= 0.8 and put-in >= 0.6 in English, every other language
>= 0.8 x English, malformed_rate 0.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from bench.common import write_result
from bench.heldout import result_name
from bench.phrases import LANGUAGES, command


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return round(v[min(len(v) - 1, int(round(q * (len(v) - 1))))], 3)


def action_prompts(n: int, inputs, seed: int = 5000) -> list[tuple]:  # noqa: ANN001
    """(image, prompt) of held-out action questions: expert demos on seeds the adapter never saw
    (`inputs`: the adapter's `PolicyInputs`, see `bench.common.question_lines`)."""
    from bench.heldout import question_lines
    from core.language.prompts import CHUNK_ENTRIES, episode_samples
    from core.training.sources import expert_episodes

    out = []
    for rec in expert_episodes(range(seed, seed + n), kind="put_in", camera=inputs.camera):
        lines = question_lines(rec, inputs, CHUNK_ENTRIES)
        turns = [t for t in episode_samples(rec.verbalization, rec.instruction, max_entries=CHUNK_ENTRIES,
                                            lines=lines) if t.kind == "actions"]
        t = turns[0]
        out.append((rec.frames([t.step])[t.step], t.prompt))
        if len(out) >= n:
            break
    return out


def action_grammar(loaded):  # noqa: ANN001, ANN201 - core.model.constrained.TokenConstraint
    """The plain action-list grammar (`CHUNK_ENTRIES` entries) over the model's tokenizer."""
    from core.language.grammar import ActionListAcceptor
    from core.language.prompts import CHUNK_ENTRIES
    from core.model.constrained import make_constraint

    return make_constraint(getattr(loaded.processor, "tokenizer", loaded.processor),
                           ActionListAcceptor(max_entries=CHUNK_ENTRIES))


def constrained_actions(loaded, prompts: list[tuple], draft: int = 16, grammar=None) -> list:  # noqa: ANN001
    """Each prompt's action list decoded under the plain action grammar (restricted LM head, `draft`
    guessed tokens checked per pass), as the loop decodes it when the plan names no motion:
    `core.model.constrained.DecodeResult`s. `grammar`: an `action_grammar` already built for this model."""
    from core.model.chat import prepare_inputs
    from core.model.constrained import constrained_generate

    tok = getattr(loaded.processor, "tokenizer", loaded.processor)
    c = grammar or action_grammar(loaded)
    return [constrained_generate(loaded.model, tok, prepare_inputs(loaded, image, prompt), c.acceptor,
                                 max_new_tokens=400, constraint=c, draft=draft) for image, prompt in prompts]


def tokens_per_s(results: list) -> float:
    return sum(len(r.token_ids) for r in results) / sum(r.seconds for r in results)


def decode_speed(loaded, prompts: list[tuple], grammar) -> tuple[dict, list]:  # noqa: ANN001
    """Constrained decoding (restricted head, drafted passes) vs unconstrained greedy with the full head, and
    drafted vs one token per pass; also the constrained results. `grammar`: `action_grammar(loaded)`; an
    untimed pass first fills its per-state cache of allowed tokens, so no configuration pays for that."""
    import torch

    from core.language import ParseError, parse
    from core.model.chat import prepare_inputs
    from core.model.constrained import agrees_until_forbidden

    tok = getattr(loaded.processor, "tokenizer", loaded.processor)
    constrained_actions(loaded, prompts, grammar=grammar)  # warm-up (grammar cache, first passes)
    constrained = constrained_actions(loaded, prompts, grammar=grammar)
    single = constrained_actions(loaded, prompts, draft=0, grammar=grammar)
    free_s, free_n, same, valid, until = 0.0, 0, 0, 0, 0
    for (image, prompt), r in zip(prompts, constrained):
        inputs = prepare_inputs(loaded, image, prompt)
        t0 = time.perf_counter()
        with torch.inference_mode():
            out = loaded.model.generate(**inputs, max_new_tokens=len(r.token_ids) + 8, do_sample=False)
        free_s += time.perf_counter() - t0
        new = out[0, inputs["input_ids"].shape[1]:]
        free_n += int(new.numel())
        until += agrees_until_forbidden(grammar, r.token_ids, new.tolist())
        free = tok.decode(new, skip_special_tokens=True).strip()
        try:
            parse(free)
            valid += 1
            same += int(free == r.text.strip())
        except ParseError:
            pass
    con_tps = tokens_per_s(constrained)
    single_tps = tokens_per_s(single)
    return {
        "one_token_per_pass_tokens_per_s": round(single_tps, 2),
        "draft_speedup": round(con_tps / single_tps, 2),
        "drafted_equals_one_token_per_pass": f"{sum(a.token_ids == b.token_ids for a, b in zip(constrained, single))}"
                                             f"/{len(prompts)}",
        "passes_per_token": round(sum(r.stats['forwards'] for r in constrained)
                                  / max(1, sum(len(r.token_ids) for r in constrained)), 3),
        "constrained_tokens_per_s": round(con_tps, 2),
        "unconstrained_tokens_per_s": round(free_n / free_s, 2),
        "constrained_speedup": round(con_tps / (free_n / free_s), 2),
        "unconstrained_valid": f"{valid}/{len(prompts)}",
        "constrained_equals_unconstrained_when_valid": f"{same}/{valid}",
        "constrained_equals_unconstrained_until_grammar_forbids": f"{until}/{len(prompts)}",
    }, constrained


def quantized_speed(prompts: list[tuple], quantized: list, fp32, grammar=None) -> dict:  # noqa: ANN001
    """The same constrained decoding on an fp32 copy of the model (`fp32`, loaded with the same adapter):
    speed and identical outputs (`grammar`: the one `decode_speed` warmed; the fp32 copy gets an untimed
    warm-up pass of its own)."""
    grammar = grammar or action_grammar(fp32)
    constrained_actions(fp32, prompts[:1], grammar=grammar)
    out = constrained_actions(fp32, prompts, grammar=grammar)
    return {"fp32_tokens_per_s": round(tokens_per_s(out), 2),
            "speedup": round(tokens_per_s(quantized) / tokens_per_s(out), 2),
            "quantized_match_rate": round(sum(a.text == b.text for a, b in zip(quantized, out)) / len(prompts), 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--episodes", type=int, default=5, help="seeded scenes per task kind (same in every language)")
    ap.add_argument("--kinds", default="pick,put_in")
    ap.add_argument("--languages", default=",".join(LANGUAGES))
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--time-limit", type=float, default=150.0, help="seconds per command")
    ap.add_argument("--speed-prompts", type=int, default=8)
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--adapter", type=Path, default=None,
                    help="an adapter folder (trained on this model build) to measure instead of the shipped one; "
                         "the result file gets the folder's name as a suffix")
    ap.add_argument("--no-restater", action="store_true",
                    help="commands go to the subtask step as typed (without the shipped restater)")
    ap.add_argument("--starts", default="home",
                    help="start states, taken in turn over each cell's episodes (core.control.starts): a comma list of "
                         "home, after_teleop, after_command, or 'all'")
    ap.add_argument("--name", default=None, help="a suffix for the result file (autonomous-<name>.json)")
    ap.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 2) - 1),
                    help="model threads (default: as the app, one fewer than the machine's cores)")
    args = ap.parse_args()

    from core.model.loader import assets_present
    from core.policy.shipped import ADAPTER_DIR, load_shipped, matches_base

    if not assets_present():
        print("autonomous: the default model is not built (python -m recipes.default_model); nothing measured")
        return 2
    if not matches_base(args.adapter or ADAPTER_DIR):
        print("autonomous: no default adapter for this model build in "
              f"{'the given folder' if args.adapter else 'assets'} (python -m recipes.default_adapter); "
              "nothing measured")
        return 2

    from core.model.worker import run
    from core.policy.rollout import run_sim_episodes

    # every model computation runs on the model thread, as in the app (core.model.worker: a second
    # thread running torch kernels would slow both down)
    service = load_shipped("auto", threads=args.threads, adapter_dir=args.adapter, restater=not args.no_restater,
                           reader=False)
    loaded, restater = service.loaded, service.restater.name if service.restater else None
    if restater is None and not args.no_restater:
        print("autonomous: no restater for this model build in assets (python -m recipes.restater); "
              "commands go to the subtask step as typed")
    policy = service.policy()
    from core.control.starts import STARTS

    starts = STARTS if args.starts == "all" else tuple(x.strip() for x in args.starts.split(",") if x.strip())
    if not starts or set(starts) - set(STARTS):
        print(f"autonomous: --starts takes {', '.join(STARTS)} or all, not {args.starts!r}")
        return 2
    name = result_name("autonomous", args.adapter) + ("-no-restater" if args.no_restater else "")
    name += f"-{args.name}" if args.name else ""
    result: dict = {"precision": loaded.precision_label, "adapter": "default-sim" if args.adapter is None else args.adapter.name,
                    "restater": restater, "camera": policy.camera, "robot_state": policy.robot_state, "grounded": policy.grounded,
                    "episodes_per_cell": args.episodes, "starts": list(starts), "threads": args.threads,
                    "seeds": [args.seed, args.seed + args.episodes - 1], "time_limit_s": args.time_limit,
                    "targets": {"cycle_s_p50": 1.5, "pick_en": 0.8, "put_in_en": 0.6,
                                "other_language_over_english": 0.8, "malformed_rate": 0.0}}
    if not args.skip_speed:
        prompts = run(action_prompts, args.speed_prompts, policy.config.inputs)  # the locator
        grammar = run(action_grammar, loaded)
        speed, quantized = run(decode_speed, loaded, prompts, grammar)
        result.update(speed)
        if loaded.info.get("engine") is not None:  # the precision decodes plans and actions through its engine
            from core.model.engine import engine_view

            view = run(engine_view, loaded)
            run(constrained_actions, view, prompts[:1], grammar=grammar)  # warm-up
            quantized = run(constrained_actions, view, prompts, grammar=grammar)
        fp32 = load_shipped("fp32", adapter_dir=args.adapter, restater=False, reader=False).loaded
        result.update(run(quantized_speed, prompts, quantized, fp32, grammar))
        del fp32
        write_result(name, {**result, "partial": True})

    kinds = [k for k in args.kinds.split(",") if k]
    langs = [x for x in args.languages.split(",") if x]
    from core.language import parse_subtasks
    from core.robot.tasks import task_from_instruction

    success: dict[str, dict[str, float]] = {}
    subtasks_ok: dict[str, dict[str, float]] = {}
    cycles: list[float] = []
    calls = malformed = 0
    pairs: list[tuple] = []
    episodes: list[dict] = []
    setup_failed = 0
    t_all = time.perf_counter()
    for kind in kinds:
        for lang in langs:
            r = run_sim_episodes(policy, seeds=range(args.seed, args.seed + args.episodes), kind=kind,
                                 time_limit_s=args.time_limit, instruction_for=lambda t, lang=lang: command(t, lang),
                                 starts=starts)
            success.setdefault(kind, {})[lang] = round(r.success_rate, 3)
            ok = [bool(e.subtasks.strip()) and parse_subtasks(e.subtasks) == list(task_from_instruction(e.task).subtasks)
                  for e in r.episodes]  # a run stopped before its subtasks (time limit) has none
            subtasks_ok.setdefault(kind, {})[lang] = round(sum(ok) / max(1, len(ok)), 3)
            for e in r.episodes:
                cycles.extend(e.cycles_s)
                calls += e.model_calls + e.malformed
                malformed += e.malformed
                pairs.extend(p for p in e.verifications if p[0] is not None and p[1] is not None)
                episodes.append({"kind": kind, "lang": lang, "seed": e.seed, "start": e.start, "setup": e.setup,
                                 "command": e.instruction, "subtasks": e.subtasks, "restated": e.restated,
                                 "success": e.success, "result": e.loop_result, "message": e.message,
                                 "cycles": len(e.cycles_s), "seconds": round(e.seconds, 1),
                                 **({} if e.success else {"events": e.events})})
            setup_failed += len(r.setup_failed)
            print(f"autonomous: {kind} {lang}: {r.success_rate:.2f} ({r.n} episodes, {r.seconds:.0f} s)", flush=True)
            result.update(success=success, subtasks_correct=subtasks_ok, episodes=episodes, partial=True)
            write_result(name, result)

    ratios = {k: {lang: (round(v[lang] / v["en"], 3) if v.get("en") else None) for lang in v if lang != "en"}
              for k, v in success.items()}
    by_start: dict[str, dict[str, float]] = {}
    for st in starts:
        for kind in kinds:
            got = [e["success"] for e in episodes if e["lang"] == "en" and e["kind"] == kind and e["start"] == st]
            if got:
                by_start.setdefault(st, {})[kind] = round(sum(got) / len(got), 3)
    result.update(
        partial=False,
        success=success,
        success_by_start_en=by_start,
        setup_failed=setup_failed,
        subtasks_correct=subtasks_ok,
        non_english_over_english=ratios,
        cycle_s_p50=pct(cycles, 0.5),
        cycle_s_p95=pct(cycles, 0.95),
        cycles=len(cycles),
        malformed_rate=round(malformed / calls, 4) if calls else None,
        model_calls=calls,
        verifier_agreement=round(sum(s == m for s, m in pairs) / len(pairs), 3) if pairs else None,
        verifier_pairs=len(pairs),
        verifier_sim_done=sum(bool(s) for s, _ in pairs),  # agreement means little if the sim never said "done"
        verifier_model_done=sum(bool(m) for _, m in pairs),
        episodes_wall_s=round(time.perf_counter() - t_all, 1),
        episodes=episodes,
    )
    write_result(name, result)
    en = {k: v.get("en") for k, v in success.items()}
    print(f"autonomous: success en {en}, cycle p50 {result['cycle_s_p50']} s p95 {result['cycle_s_p95']} s, "
          f"malformed {result['malformed_rate']}, verifier agreement {result['verifier_agreement']}, "
          f"constrained x{result.get('constrained_speedup')} (drafting x{result.get('draft_speedup')}), "
          f"quantized x{result.get('speedup')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
