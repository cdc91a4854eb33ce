"""Quantized inference engines side by side on held-out grounded servo cycles (bench/results/quantized.json).

One cycle is what the closed loop asks each time it looks: a frame + the grounding line -> a motion plan,
then a frame + the grounding line + that plan -> one action entry, both decoded under the action-language
grammar with the restricted LM head and guessed tokens (`core.policy.vlm.VLMPolicy`, shipped adapter).
Cycles come from scripted-expert demos on seeds no adapter was trained on (direct style, one-entry windows,
grounding lines from the shipped locator), i.e. the loop's own kind of question.

Engines (`--engines`), all in one process, run the same cycles interleaved (cycle i visits the engines in
an order rotated by i), so load from other processes hits all of them alike:
- fp32: the transformers model in fp32 (the reference every output is compared with);
- int8-head: the CPU default before this bench (bf16 body + int8 LM head);
- torch-int8, llama-q8, ov-int8: the language model through `core.model.engine` with int8 weights
  (torch's int8 kernel / llama.cpp Q8_0 through llama-cpp-python / OpenVINO with int8 weights), adapter
  merged into each engine's own copy, embeddings and the restricted head in fp32; a new prompt keeps the
  cached positions it shares with the last one (a cycle's action question reuses its plan question's frame);
- ov-int8:full: the OpenVINO engine computing every prompt in full, to show what that reuse adds.
Per engine: prefill seconds per prompt (the prompt's pass, image included), decode tokens/s after it,
model seconds per cycle (p50), speed-up over fp32, how often the parsed action (and the plan) equals
fp32's, and on held-out "is this subtask complete?" questions (`--done`) how often the answer equals fp32's
and the truth. Peak RSS per engine comes from a separate process per engine that loads the model as the app does
(`--rss-probe`). The head timings show what the restricted head saves per token.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import write_result

ENGINES = ("fp32", "int8-head", "torch-int8", "llama-q8", "ov-int8", "ov-int8:full")
HF_MODES = ("fp32", "int8-head", "bf16", "fp32-int8-head")
TARGET_SPEEDUP, TARGET_MATCH = 1.5, 0.95


def held_out_cycles(n: int, seed: int, per_episode: int = 4) -> list[dict]:
    """(image, subtask, grounding line) of `n` cycles, up to `per_episode` spread over each demo."""
    from bench.heldout import adapter_inputs, question_lines
    from core.language.prompts import episode_samples
    from core.training.sources import expert_episodes

    inputs = adapter_inputs()
    out: list[dict] = []
    seeds = range(seed, seed + 10 * n)
    for rec in expert_episodes(seeds, kind=["pick", "put_in"], camera=inputs.camera, direct=True):
        lines = question_lines(rec, inputs, 1)
        turns = [t for t in episode_samples(rec.verbalization, rec.instruction, max_entries=1, lines=lines)
                 if t.kind == "plan"]
        pick = turns[:: max(1, len(turns) // per_episode)][:per_episode]
        frames = rec.frames([t.step for t in pick])
        for t in pick:
            subtask = t.prompt.split("Current subtask: ", 1)[1].split(". ", 1)[0]
            line = lines(t.step, subtask) if lines else None
            out.append({"image": frames[t.step], "subtask": subtask, "line": line})
        if len(out) >= n:
            break
    return out[:n]


def held_out_done(n: int, seed: int) -> list[dict]:
    """(image, "done?" prompt, true answer) of the first `n` "is this subtask complete?" questions of the
    held-out demos (as training writes them: the grounding line, then the question), yes and no alike."""
    from bench.heldout import adapter_inputs, question_lines
    from core.language.prompts import episode_samples
    from core.training.sources import expert_episodes

    inputs = adapter_inputs()
    out: list[dict] = []
    for rec in expert_episodes(range(seed, seed + 10 * n), kind=["pick", "put_in"], camera=inputs.camera, direct=True):
        turns = [t for t in episode_samples(rec.verbalization, rec.instruction, max_entries=1,
                                            lines=question_lines(rec, inputs, 1)) if t.kind == "done"]
        frames = rec.frames([t.step for t in turns])
        out += [{"image": frames[t.step], "prompt": t.prompt, "truth": t.target == "yes"} for t in turns]
        if len(out) >= n:
            break
    return out[:n]


def done_answer(policy, q: dict) -> bool | None:  # noqa: ANN001
    """The policy's "done?" decode (`VLMPolicy.is_done`'s call) on the question as training wrote it."""
    return {"yes": True, "no": False}.get(policy._gen("done", q["image"], q["prompt"], 3, None).strip())


def policy_for(loaded):  # noqa: ANN001, ANN201 - core.policy.vlm.VLMPolicy
    """The shipped adapter's policy on `loaded` (its inputs from the card; the lines are given: no locator)."""
    from bench.heldout import adapter_inputs
    from core.policy.config import PolicyConfig
    from core.policy.vlm import VLMPolicy

    return VLMPolicy(loaded, PolicyConfig(inputs=adapter_inputs()), locator=object())


def load_with_adapter(precision: str, threads: int):  # noqa: ANN201 - core.model.loader.LoadedModel
    """The default model in `precision` with the shipped adapter active, loaded as the app loads it
    (`core.policy.shipped.load_shipped`: an engine precision gets its engine and the adapter's copy)."""
    from bench.heldout import load_shipped

    loaded = load_shipped("quantized", precision, threads)
    if loaded is None:
        raise SystemExit(2)
    return loaded


def cycle(policy, c: dict) -> dict:  # noqa: ANN001
    """One plan + action through `policy`; model seconds and the parts of each decode."""
    t0 = time.perf_counter()
    plan = policy.plan(c["image"], "", c["subtask"], state=c["line"])
    rp = policy.last["plan"]
    actions = policy.actions(c["image"], "", c["subtask"], plan, state=c["line"])
    ra = policy.last["actions"]
    total = time.perf_counter() - t0
    pre = [r.stats["prefill_s"] for r in (rp, ra)]
    return {"plan": plan, "actions": actions, "total_s": total, "prefill_s": pre,
            "decode_s": sum(r.seconds for r in (rp, ra)) - sum(pre),
            "tokens": len(rp.token_ids) + len(ra.token_ids), "forwards": rp.stats["forwards"] + ra.stats["forwards"]}


def parsed(text: str) -> str:
    from core.language import ParseError, parse

    try:
        return repr(parse(text))
    except ParseError:
        return f"unparsed:{text}"


def build(engines: list[str], threads: int, reuse: bool = True) -> tuple[dict, dict, dict]:
    """(policy per engine, build seconds per engine, why an engine was skipped), every model on the model
    thread. The engines sit on one int8-head model, as the app's engine precisions do (its LoRA weights and
    vision copy included)."""
    import dataclasses

    from core.model.engine import EngineError, make_engine
    from core.model.quantize import ENGINE_PRECISIONS
    from core.model.worker import run

    hf: dict[str, object] = {}
    policies, build_s, skipped = {}, {}, {}
    for name in engines:
        t0 = time.perf_counter()
        kind, _, variant = name.partition(":")  # "ov-int8:full": the engine without prefix reuse
        companion = ENGINE_PRECISIONS.get(kind, kind)
        if companion not in hf:
            hf[companion] = load_with_adapter(companion, threads)
        loaded = hf[companion]
        if kind in ENGINE_PRECISIONS:
            try:
                engine = run(make_engine, loaded, kind, threads, reuse and variant != "full")
                run(engine.current)  # the adapter's merged int8 copy (GGUF / IR written once into the cache)
            except EngineError as exc:  # e.g. llama-cpp-python not installed: measure the others
                skipped[name] = str(exc)
                print(f"quantized: {name} skipped: {exc}", flush=True)
                continue
            loaded = dataclasses.replace(loaded, precision=kind, info={**loaded.info, "engine": engine})
        policies[name] = policy_for(loaded)
        build_s[name] = round(time.perf_counter() - t0, 2)
        print(f"quantized: {name} ready in {build_s[name]} s", flush=True)
    return policies, build_s, skipped


def head_timings(policy, reps: int = 20) -> dict:  # noqa: ANN001
    """Milliseconds to apply the LM head to one hidden state: all 262k rows (fp32 / int8) vs the rows an
    action-grammar state allows (what the restricted head computes)."""
    import torch

    from core.model.quantize import quantize_rows

    table = policy.loaded.model.get_output_embeddings().weight.detach().float()
    h = torch.randn(1, table.shape[1])
    q, s = quantize_rows(table)
    ids, _ = policy._c["actions"].allowed(policy._c["actions"].acceptor.start())

    def ms(fn) -> float:  # noqa: ANN001
        fn()
        t = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            t.append(time.perf_counter() - t0)
        return round(1000 * statistics.median(t), 3)

    out = {"full_fp32_ms": ms(lambda: h @ table.T),
           "full_int8_ms": ms(lambda: torch._weight_int8pack_mm(h.bfloat16(), q, s.bfloat16())),
           "restricted_fp32_ms": ms(lambda: h @ table.index_select(0, ids).T), "restricted_rows": int(ids.numel())}
    return out


def summarise(rows: dict[str, list[dict]]) -> dict:
    ref = rows["fp32"]
    out = {}
    for name, r in rows.items():
        cyc = statistics.median(x["total_s"] for x in r)
        pre = [p for x in r for p in x["prefill_s"]]
        dec_s = sum(x["decode_s"] for x in r)
        tokens = sum(x["tokens"] for x in r)
        out[name] = {
            "cycle_s_p50": round(cyc, 3),
            "prefill_s_p50": round(statistics.median(pre), 3),
            "decode_tokens_per_s": round(tokens / dec_s, 2) if dec_s > 0 else None,
            "tokens_per_cycle": round(tokens / len(r), 1),
            "passes_per_cycle": round(sum(x["forwards"] for x in r) / len(r), 1),
            "action_match_rate": round(sum(parsed(a["actions"]) == parsed(b["actions"]) for a, b in zip(r, ref)) / len(r), 3),
            "plan_match_rate": round(sum(a["plan"] == b["plan"] for a, b in zip(r, ref)) / len(r), 3),
        }
    base = out["fp32"]
    for v in out.values():
        v["speedup_vs_fp32"] = round(base["cycle_s_p50"] / v["cycle_s_p50"], 2)
        v["prefill_speedup"] = round(base["prefill_s_p50"] / v["prefill_s_p50"], 2)
        if v["decode_tokens_per_s"] and base["decode_tokens_per_s"]:
            v["decode_speedup"] = round(v["decode_tokens_per_s"] / base["decode_tokens_per_s"], 2)
    return out


def rss_probe(name: str, n: int, seed: int, threads: int) -> int:
    """Peak RSS (MB) of a process that loads `name` as the app does and runs `n` cycles; printed as JSON."""
    import torch

    from core.model.worker import run

    run(torch.set_num_threads, threads)
    cycles = held_out_cycles(n, seed)
    loaded = load_with_adapter(name, threads)
    policy = policy_for(loaded)
    for c in cycles:
        cycle(policy, c)
    peak = peak_rss_mb()
    print(json.dumps({"engine": name, "precision": loaded.precision, "peak_rss_mb": peak,
                      "engine_error": loaded.info.get("engine_error")}))
    return 0


def peak_rss_mb() -> int:
    """This process's peak resident memory (VmHWM; `ru_maxrss` would carry the parent's peak over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def cpu_flags() -> list[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    flags = next((ln.split(":", 1)[1].split() for ln in text.splitlines() if ln.startswith("flags")), [])
    return [f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_int8") if f in flags]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", type=int, default=40, help="held-out cycles (plan + action each)")
    ap.add_argument("--seed", type=int, default=7000)
    ap.add_argument("--threads", type=int, default=1, help="threads per engine (the app's model thread count)")
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--no-rss", action="store_true", help="skip the per-engine peak-RSS processes")
    ap.add_argument("--no-reuse", action="store_true",
                    help="engines compute every prompt in full (no reuse of the positions a prompt shares with the last)")
    ap.add_argument("--done", type=int, default=24,
                    help="held-out 'done?' questions (yes and no from the same demos; 0: skip)")
    ap.add_argument("--rss-probe", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", default="quantized")
    args = ap.parse_args()

    from core.model.loader import assets_present
    from core.policy.shipped import matches_base

    if not assets_present() or not matches_base():
        print("quantized: the default model or its shipped adapter is not built; nothing measured")
        return 2
    if args.rss_probe:
        return rss_probe(args.rss_probe, 3, args.seed, args.threads)
    engines = [e for e in args.engines.split(",") if e]
    if "fp32" not in engines:
        engines.insert(0, "fp32")

    import torch

    from core.model.worker import run

    run(torch.set_num_threads, args.threads)
    load0 = os.getloadavg()
    cycles = held_out_cycles(args.cycles + 1, args.seed)
    policies, build_s, skipped = build(engines, args.threads, not args.no_reuse)
    engines = [e for e in engines if e in policies]
    for name in engines:  # warm-up: grammar caches, first passes
        cycle(policies[name], cycles[0])
    rows: dict[str, list[dict]] = {name: [] for name in engines}
    t_all = time.perf_counter()
    for i, c in enumerate(cycles[1:]):
        order = engines[i % len(engines):] + engines[: i % len(engines)]
        for name in order:
            rows[name].append(cycle(policies[name], c))
        diff = [n for n in engines if rows[n][-1]["actions"] != rows["fp32"][-1]["actions"]]
        print(f"quantized: cycle {i + 1}/{args.cycles} " + " ".join(f"{n} {rows[n][-1]['total_s']:.2f}s" for n in engines)
              + (f" differs: {','.join(diff)}" if diff else ""), flush=True)
    summary = summarise(rows)
    if args.done:  # "done?" answers, the third question the policy decodes through the engine
        questions = held_out_done(args.done, args.seed)
        answers = {name: [] for name in engines}
        for i, q in enumerate(questions):
            for name in engines[i % len(engines):] + engines[: i % len(engines)]:
                answers[name].append(done_answer(policies[name], q))
        truth = [q["truth"] for q in questions]
        for name in engines:
            got = answers[name]
            summary[name]["done_match_rate"] = round(sum(a == b for a, b in zip(got, answers["fp32"])) / len(got), 3)
            summary[name]["done_accuracy"] = round(sum(a == b for a, b in zip(got, truth)) / len(got), 3)
            summary[name]["done_false_yes"] = sum(bool(a) and not b for a, b in zip(got, truth))
    heads = run(head_timings, policies["fp32"])
    for name in engines:
        summary[name]["build_s"] = build_s[name]
    if not args.no_rss:
        probes: dict[str, dict] = {}
        for name in engines:
            kind = name.partition(":")[0]
            if kind not in probes:
                cmd = [sys.executable, str(Path(__file__).resolve()), "--rss-probe", kind, "--threads",
                       str(args.threads), "--seed", str(args.seed)]
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
                line = next((ln for ln in reversed(p.stdout.splitlines()) if ln.startswith("{")), None)
                probes[kind] = json.loads(line) if line else {"error": p.stderr[-400:]}
            probe = probes[kind]
            summary[name]["peak_rss_mb"] = probe.get("peak_rss_mb")
            if probe.get("engine_error") or probe.get("error"):
                summary[name]["rss_probe_error"] = probe.get("engine_error") or probe.get("error")
    from core.model.quantize import CPU_DEFAULT

    ok = {n: v for n, v in summary.items() if n != "fp32" and v["action_match_rate"] >= TARGET_MATCH}
    best = max(ok, key=lambda n: ok[n]["speedup_vs_fp32"]) if ok else None
    default = CPU_DEFAULT if CPU_DEFAULT in summary else None
    result = {
        "cycles": args.cycles, "done_questions": args.done, "seed": args.seed, "threads_per_engine": args.threads, "prefix_reuse": not args.no_reuse,
        "engines": summary, "skipped": skipped, "head": heads, "fastest_matching": best, "cpu_default": default,
        # the shipped CPU default against fp32 (the keys the app benchmark reports)
        "quantized_speedup": summary[default]["speedup_vs_fp32"] if default else None,
        "quantized_match_rate": summary[default]["action_match_rate"] if default else None,
        "targets": {"speedup_vs_fp32": TARGET_SPEEDUP, "action_match_rate": TARGET_MATCH},
        "cpu_flags": cpu_flags(), "cpu_count": os.cpu_count(),
        "load_average_start": [round(x, 2) for x in load0], "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "wall_s": round(time.perf_counter() - t_all, 1),
        "cycle_outputs": {n: [[x["plan"], x["actions"]] for x in r] for n, r in rows.items()},
    }
    write_result(args.out, result)
    print("quantized: " + "; ".join(
        f"{n} x{v['speedup_vs_fp32']} (cycle {v['cycle_s_p50']} s, prefill {v['prefill_s_p50']} s, "
        f"{v['decode_tokens_per_s']} tok/s, match {v['action_match_rate']}"
        + (f", done = fp32 {v['done_match_rate']}" if "done_match_rate" in v else "") + ")" for n, v in summary.items())
        + f"; fastest matching: {best}; CPU default {default}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
