"""The multilingual step alone: commands for every task in six languages, restated by the restater as
canonical English instructions (bench/results/restate.json).

Every canonical task (36: 7 kinds x colours x targets) is worded in en, es, fr, de, zh and ja
(`bench.phrases`, hand-written; the restater is trained on English only) and restated by ranking the
36 instructions, calibrated and with each word's colour gloss added as in the app (for comparison also
without the glosses, and uncalibrated). Reported per language and task kind: accuracy, and non-English
over English. `--wording dev` measures a second set of wordings instead (the one the gloss weight was
chosen on; `--gloss-weight` to try others). With
--baseline, the same prompt is also ranked by the model with adapters off (what the restater adds).
Seconds per restatement are wall time on this machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bench.common import write_result
from bench.phrases import LANGUAGES, WORDINGS, command


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--restater", type=Path, default=None, help="restater folder (default: assets/restate)")
    ap.add_argument("--languages", default=",".join(LANGUAGES))
    ap.add_argument("--baseline", action="store_true", help="also rank with adapters off")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--name", default=None, help="result file name in bench/results (default: restate, or "
                                                     "restate-dev for the dev wording)")
    ap.add_argument("--wording", choices=WORDINGS, default="main",
                    help="dev: the second wording, on which the settings were chosen (no English)")
    ap.add_argument("--gloss-weight", type=float, default=None, help="weight of the colour glosses "
                    "(default: the app's, core.language.restate.GLOSS_WEIGHT)")
    args = ap.parse_args()

    import torch

    from core.language.restate import GLOSS_WEIGHT, calibrated, with_colors
    from core.model.adapters import adapter_switched, adapters_off, load_side_adapter
    from core.model.loader import load_model
    from core.policy.restate import gloss_evidence, rank_instructions, restate_prior
    from core.policy.shipped import RESTATER_DIR as ASSET_DIR
    from core.policy.shipped import RESTATER_NAME as NAME
    from core.robot.tasks import all_tasks

    torch.set_num_threads(args.threads)
    langs = [x for x in args.languages.split(",") if x and not (x == "en" and args.wording == "dev")]
    weight = GLOSS_WEIGHT if args.gloss_weight is None else args.gloss_weight
    loaded = load_model(None, "cpu", "auto")
    load_side_adapter(loaded.model, args.restater or ASSET_DIR, NAME)
    model, proc = loaded.model, loaded.processor
    with adapter_switched(model, NAME):
        prior = restate_prior(model, proc)
    variants = ["restater", "without_gloss", "uncalibrated"] + (["adapters_off"] if args.baseline else [])
    rows, seconds = [], []
    for lang in langs:
        for task in all_tasks():
            cmd = command(task, lang, args.wording)
            row = {"lang": lang, "kind": task.kind, "command": cmd, "gold": task.instruction}
            t0 = time.perf_counter()
            with adapter_switched(model, NAME):
                scores = {r.text: r.logprob for r in rank_instructions(model, proc, cmd)}
                evidence = gloss_evidence(model, proc, cmd, prior)
            ranked = calibrated(scores, prior.instructions)
            row["restater"] = with_colors(ranked, evidence, weight)[0][0]  # the app's restatement
            seconds.append(time.perf_counter() - t0)
            row["without_gloss"] = ranked[0][0]
            row["uncalibrated"] = max(scores, key=scores.get)
            if args.baseline:
                with adapters_off(model, True):
                    row["adapters_off"] = rank_instructions(model, proc, cmd)[0].text
            rows.append(row)
        print(lang, {v: sum(r[v] == r["gold"] for r in rows if r["lang"] == lang) for v in variants}, flush=True)

    def acc(v: str, **where: str) -> float:
        sel = [r for r in rows if all(r[k] == x for k, x in where.items())]
        return round(sum(r[v] == r["gold"] for r in sel) / len(sel), 3)

    result = {"commands_per_language": len(all_tasks()), "precision": loaded.precision_label,
              "restate_s_p50": round(sorted(seconds)[len(seconds) // 2], 3), "threads": args.threads,
              "wording": args.wording, "gloss_weight": weight}
    kinds = sorted({r["kind"] for r in rows})
    for v in variants:
        result[v] = {lang: acc(v, lang=lang) for lang in langs}
        result[f"{v}_per_kind"] = {lang: {k: acc(v, lang=lang, kind=k) for k in kinds} for lang in langs}
        if "en" in langs and result[v]["en"]:
            result[f"{v}_over_english"] = {lang: round(result[v][lang] / result[v]["en"], 3)
                                           for lang in langs if lang != "en"}
    result["errors"] = [{k: r[k] for k in ("lang", "command", "restater", "gold")}
                        for r in rows if r["restater"] != r["gold"]]
    path = write_result(args.name or ("restate" if args.wording == "main" else "restate-dev"), result)
    print(f"restate: accuracy {result['restater']}, p50 {result['restate_s_p50']} s -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
