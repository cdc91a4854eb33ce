"""The multilingual step alone: commands for every task in six languages, restated by the restater as
canonical English instructions (bench/results/restate.json).

Every canonical task (36: 7 kinds x colours x targets) is worded in en, es, fr, de, zh and ja
(`bench.phrases`, hand-written; the restater is trained on English only) and restated by ranking the
36 instructions, calibrated as in the app (and, for comparison, uncalibrated). Reported per language and
task kind: accuracy, and non-English over English. With
--baseline, the same prompt is also ranked by the model with adapters off (what the restater adds).
Seconds per restatement are wall time on this machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import write_result  # noqa: E402
from bench.phrases import LANGUAGES, command  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--restater", type=Path, default=None, help="restater folder (default: assets/restate)")
    ap.add_argument("--languages", default=",".join(LANGUAGES))
    ap.add_argument("--baseline", action="store_true", help="also rank with adapters off")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--name", default="restate", help="result file name in bench/results")
    args = ap.parse_args()

    import torch

    from core.language.restate import calibrated
    from core.model.loader import load_model
    from core.model.restate import adapter_switched, load_side_adapter, rank_instructions, restate_prior
    from core.model.service import _adapters_off
    from core.robot.tasks import all_tasks
    from core.training.restater import ASSET_DIR, NAME

    torch.set_num_threads(args.threads)
    langs = [x for x in args.languages.split(",") if x]
    loaded = load_model(None, "cpu", "auto")
    load_side_adapter(loaded.model, args.restater or ASSET_DIR, NAME)
    model, proc = loaded.model, loaded.processor
    with adapter_switched(model, NAME):
        prior = restate_prior(model, proc)
    variants = ["restater", "uncalibrated"] + (["adapters_off"] if args.baseline else [])
    rows, seconds = [], []
    for lang in langs:
        for task in all_tasks():
            cmd = command(task, lang)
            row = {"lang": lang, "kind": task.kind, "command": cmd, "gold": task.instruction}
            t0 = time.perf_counter()
            with adapter_switched(model, NAME):
                scores = {r.text: r.logprob for r in rank_instructions(model, proc, cmd)}
            row["restater"] = calibrated(scores, prior)[0][0]
            seconds.append(time.perf_counter() - t0)
            row["uncalibrated"] = max(scores, key=scores.get)
            if args.baseline:
                with _adapters_off(model, True):
                    row["adapters_off"] = rank_instructions(model, proc, cmd)[0].text
            rows.append(row)
        print(lang, {v: sum(r[v] == r["gold"] for r in rows if r["lang"] == lang) for v in variants}, flush=True)

    def acc(v: str, **where: str) -> float:
        sel = [r for r in rows if all(r[k] == x for k, x in where.items())]
        return round(sum(r[v] == r["gold"] for r in sel) / len(sel), 3)

    result = {"commands_per_language": len(all_tasks()), "precision": loaded.precision_label,
              "restate_s_p50": round(sorted(seconds)[len(seconds) // 2], 3), "threads": args.threads}
    kinds = sorted({r["kind"] for r in rows})
    for v in variants:
        result[v] = {lang: acc(v, lang=lang) for lang in langs}
        result[f"{v}_per_kind"] = {lang: {k: acc(v, lang=lang, kind=k) for k in kinds} for lang in langs}
        if "en" in langs and result[v]["en"]:
            result[f"{v}_over_english"] = {lang: round(result[v][lang] / result[v]["en"], 3)
                                           for lang in langs if lang != "en"}
    result["errors"] = [{k: r[k] for k in ("lang", "command", "restater", "gold")}
                        for r in rows if r["restater"] != r["gold"]]
    path = write_result(args.name, result)
    print(f"restate: accuracy {result['restater']}, p50 {result['restate_s_p50']} s -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
