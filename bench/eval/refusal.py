"""Does the robot know what it cannot do? The command reader (`core.language.understand.decide`) on a
refusal set, from the restater's rankings alone (no app, no robot): bench/results/refusal.json.

Every item is ranked once by the restater, as the app ranks it for the verdict (calibrated, every answer
of `core.language.restate.answers`; the colour glosses only choose the block after a verdict to act, so
they are left out here), in the built-in scene with all four blocks, the bowl and the plate; the rule then
decides act / ask / refuse. Reported: `recall` (out-of-domain items refused), `false_rate` (in-domain items
refused or asked back), `asked_back` (ambiguous items answered with a question), `restated_right`
(in-domain items with a known instruction acted on with the right one, before the glosses: a lower bound;
`bench/eval/restate.py` measures the restatement), `task_right` (the best task instruction of the glossed
ranking, whatever the verdict, against the set's hand-written label: the restatement alone, also by
language), by language and subcategory.

    python bench/eval/refusal.py --dev        # the dev set: rankings cached, margins swept, refusal-dev.json
    python bench/eval/refusal.py              # the held-out set ONCE with the module's margins: refusal.json
    python bench/eval/refusal.py --set b      # held-out set B (other wordings, sv/tr/cs/id): refusal-b.json
    python bench/eval/refusal.py --set c      # held-out set C (an independent author, 28 languages): refusal-c.json
    python bench/eval/refusal.py --set d      # held-out set D (an independent author, 32 languages): refusal-d.json
    python bench/eval/refusal.py --set e      # held-out set E (an independent author, 37 languages): refusal-e.json

The held-out set (`bench/data/held_out_refusal.py`) is never swept: `--dev` is where the margins are chosen
(`choose`: the most out-of-domain refused with at most `MAX_FALSE` of the in-domain refused, ties to the
least false refusals, then to the most ambiguous commands asked back, then to margins nearest zero; with
the colour check's gain, `COLOR_GAIN`); the chosen ones go into `core.language.understand`. Each item's
words are also glossed over the basic colour terms, as the app does once it would act.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import sys
import time
from pathlib import Path

from bench.common import write_result

SCENE = ("red block", "green block", "blue block", "yellow block", "bowl", "plate")
SETS = ("b", "c", "d", "e")  # the held-out sets after the first: bench/data/held_out_refusal_<x>.py
MAX_FALSE = 0.05
GRID = (-8.0, -4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 48.0)  # NONE_MARGIN, QUESTION_MARGIN
OPEN_GRID = (-2.0, 0.0, 1.0, 2.0, 4.0)
FLOOR_GRID = (float("-inf"), -2.0, -1.0, 0.0, 0.5, 1.0, 1.5)
COLOR_GRID = (float("inf"), 2.0, 3.0, 4.0, 6.0, 8.0)  # COLOR_GAIN (inf: no colour check)


def dev_items(per_language: int = 6) -> list[dict]:
    from bench.data.dev_refusal import AMBIGUOUS, OUT, dev_in_domain

    items = [{"category": "in", "subcategory": "task", "lang": lang, "text": text, "gold": gold or None}
             for lang, gold, text in dev_in_domain(per_language)]
    items += [{"category": "out", "subcategory": sub, "lang": lang, "text": text} for lang, sub, text in OUT]
    items += [{"category": "ambiguous", "subcategory": "which block", "lang": lang, "text": text}
              for lang, text in AMBIGUOUS]
    return items


def held_out_items(which: str = "held-out") -> list[dict]:
    """The held-out set's items with their labels: "held-out" (`bench.data.held_out_refusal`) or
    "held-out-b" .. "held-out-e" (`bench.data.held_out_refusal_b` .. `_e`)."""
    suffix = which.removeprefix("held-out")
    data = importlib.import_module("bench.data.held_out_refusal" + (f"_{suffix[1:]}" if suffix[1:] in SETS else ""))
    every = data.items()
    gold = dict(zip([it["text"] for it in every if it["category"] == "in"], data.IN_DOMAIN_GOLD, strict=True))
    return [{**it, "gold": gold.get(it["text"])} for it in every]


def named(record: dict, color_gain: float) -> list[str] | None:
    """The colours the record's words name at this gain (`core.language.restate.colors_named` over the stored
    `color_leads`); None without glosses (pure)."""
    from core.language.restate import colors_named

    leads = record.get("color_words")
    return None if leads is None else colors_named(leads, color_gain)


def picked(record: dict) -> list | None:
    """The record's ranking with its colour glosses added (what chooses the block), None without glosses."""
    from core.language.restate import with_colors

    ranked = [tuple(x) for x in record["ranked"]]
    return with_colors(ranked, record["evidence"]) if record.get("evidence") else None


def verdicts(records: list[dict], none_margin: float, question_margin: float, open_margin: float,
             task_floor: float = float("-inf"), color_gain: float = float("inf")) -> list[dict]:
    """Each record with the rule's verdict and instruction for these margins (pure): the verdict from the
    calibrated ranking, the block chosen with the colour glosses (`pick`), as the app does."""
    from core.language.cues import agreeing
    from core.language.restate import is_task_answer
    from core.language.understand import decide

    out = []
    for r in records:
        ranked = [tuple(x) for x in r["ranked"]]
        pick = r["pick"] if "pick" in r else picked(r)
        u = decide(r["text"], ranked, SCENE, none_margin=none_margin, question_margin=question_margin,
                   open_margin=open_margin, task_floor=task_floor, pick=pick, named=named(r, color_gain))
        best = max(((a, sc) for a, sc in agreeing(pick or ranked, r["text"]) if is_task_answer(a)),
                   key=lambda x: x[1], default=(None, 0))  # as `decide` chooses
        out.append({**r, "verdict": u.verdict, "instruction": u.instruction, "best_task": best[0]})
    return out


def _rate(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 3) if flags else None


def rates(decided: list[dict]) -> dict:
    """recall, false_rate, asked_back, restated_right, the counts, and recall / false rate by language and
    subcategory (pure)."""
    ins = [r for r in decided if r["category"] == "in"]
    outs = [r for r in decided if r["category"] == "out"]
    amb = [r for r in decided if r["category"] == "ambiguous"]
    known = [r for r in ins if r.get("gold")]
    langs = sorted({r["lang"] for r in decided})
    subs = sorted({r["subcategory"] for r in outs})
    return {
        "recall": _rate([r["verdict"] == "refuse" for r in outs]),
        "false_rate": _rate([r["verdict"] != "act" for r in ins]),
        "asked_back": _rate([r["verdict"] == "ask" for r in amb]),
        "restated_right": _rate([r["verdict"] == "act" and r["instruction"] == r["gold"] for r in known]),
        "task_right": _rate([r["best_task"] == r["gold"] for r in known]),
        "task_right_by_lang": {lg: _rate([r["best_task"] == r["gold"] for r in known if r["lang"] == lg])
                               for lg in langs},
        "n_in": len(ins), "n_out": len(outs), "n_ambiguous": len(amb),
        "recall_by_lang": {lg: _rate([r["verdict"] == "refuse" for r in outs if r["lang"] == lg]) for lg in langs},
        "false_by_lang": {lg: _rate([r["verdict"] != "act" for r in ins if r["lang"] == lg]) for lg in langs},
        "recall_by_subcategory": {s: _rate([r["verdict"] == "refuse" for r in outs if r["subcategory"] == s])
                                  for s in subs},
    }


def choose(records: list[dict], grid: tuple[float, ...] = GRID, max_false: float = MAX_FALSE,
           open_grid: tuple[float, ...] = OPEN_GRID, floor_grid: tuple[float, ...] = FLOOR_GRID,
           color_grid: tuple[float, ...] = (float("inf"),)) -> dict:
    """The margins with the highest recall whose false rate is at most `max_false` (ties: the lowest false
    rate, then the best asked-back rate, then margins nearest zero), and their rates; when no margins keep
    the false rate that low, the lowest false rate (then the highest recall). Pure."""
    best, best_key = None, None
    records = [{**r, "pick": picked(r)} for r in records]  # the same for every setting: once
    for none_m, q_m, open_m, floor, gain in itertools.product(grid, grid, open_grid, floor_grid, color_grid):
        if q_m < none_m:
            continue  # a question-like command is refused at least as readily as any other
        r = rates(verdicts(records, none_m, q_m, open_m, floor, gain))
        ok = r["false_rate"] is None or r["false_rate"] <= max_false
        recall, false = r["recall"] or 0.0, r["false_rate"] or 0.0
        key = (ok, recall if ok else -false, -false if ok else recall, r["asked_back"] or 0.0,
               -(abs(none_m) + abs(q_m) + abs(open_m)))
        if best_key is None or key > best_key:
            best, best_key = {"none_margin": none_m, "question_margin": q_m, "open_margin": open_m,
                              "task_floor": floor, "color_gain": gain, **r}, key
    assert best is not None
    return best


def rank_items(items: list[dict], restater: Path | None, threads: int) -> list[dict]:
    import torch

    from core.language.restate import color_evidence, color_leads
    from core.model.adapters import load_side_adapter
    from core.model.loader import load_model
    from core.policy.restate import Restater
    from core.policy.shipped import RESTATER_DIR, RESTATER_NAME, restater_weight

    torch.set_num_threads(threads)
    folder = restater or RESTATER_DIR
    loaded = load_model(None, "cpu", "auto")
    load_side_adapter(loaded.model, folder, RESTATER_NAME)
    r = Restater(RESTATER_NAME, refuses=True, prior_weight=restater_weight(folder))
    prior = r.prepare(loaded.model, loaded.processor)
    out = []
    for i, it in enumerate(items):
        t0 = time.perf_counter()
        ranked = r.rank(loaded.model, loaded.processor, it["text"], gloss=False)
        glosses = r.glosses(loaded.model, loaded.processor, it["text"])
        out.append({**it, "ranked": [[x.text, round(x.logprob, 4)] for x in ranked],
                    "evidence": color_evidence(glosses, prior.colors) if glosses else None,
                    "color_words": [[w, c, round(lead, 3)] for w, c, lead in color_leads(glosses, prior.colors)]
                    if glosses else None,
                    "seconds": round(time.perf_counter() - t0, 2)})
        if i % 20 == 0:
            print(f"{i}/{len(items)} {it['text']!r} -> {ranked[0].text}", flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dev", action="store_true", help="the dev set: sweep the margins (never the held-out set)")
    ap.add_argument("--restater", type=Path, default=None, help="restater folder (default: assets/restate)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--set", choices=("a", *SETS), default="a",
                    help="which held-out set: a (bench/data/held_out_refusal.py, refusal.json), b "
                         "(bench/data/held_out_refusal_b.py, refusal-b.json) c, d or e (held_out_refusal_c.py, "
                         "_d.py, _e.py: refusal-c.json, refusal-d.json, refusal-e.json)")
    ap.add_argument("--rankings", type=Path, default=None,
                    help="score the rankings in this file (a previous --dev result, or a --rank-only file of the "
                         "same set) instead of ranking again")
    ap.add_argument("--rank-only", type=Path, default=None,
                    help="rank the set and write the rankings to this file, no scores (e.g. the held-out set "
                         "while the margins are still being chosen on the dev set; scored later with --rankings)")
    args = ap.parse_args()

    from core.language.understand import COLOR_GAIN, NONE_MARGIN, OPEN_MARGIN, QUESTION_MARGIN, TASK_FLOOR

    name = "refusal-dev" if args.dev else ("refusal" if args.set == "a" else f"refusal-{args.set}")
    which = "dev" if args.dev else ("held-out" if args.set == "a" else f"held-out-{args.set}")
    if args.rank_only is not None:
        records = rank_items(dev_items() if args.dev else held_out_items(which), args.restater, args.threads)
        args.rank_only.write_text(json.dumps({"set": which, "records": records}, ensure_ascii=False) + "\n")
        print(f"refusal: {len(records)} {which} items ranked -> {args.rank_only} (not scored)")
        return 0
    if args.rankings is not None:
        cached = json.loads(args.rankings.read_text())
        if cached.get("set") != which:
            ap.error(f"{args.rankings} holds the {cached.get('set')} set, not the {which} set")
        records = cached["records"]
        if not args.dev:  # the labels as the set holds them now (a rank-only file may predate them)
            gold = {it["text"]: it["gold"] for it in held_out_items(which)}
            records = [{**r, "gold": gold.get(r["text"])} for r in records]
    else:
        records = rank_items(dev_items() if args.dev else held_out_items(which), args.restater, args.threads)
    seconds = sorted(r["seconds"] for r in records)
    used = {"none_margin": NONE_MARGIN, "question_margin": QUESTION_MARGIN, "open_margin": OPEN_MARGIN,
            "task_floor": TASK_FLOOR, "color_gain": COLOR_GAIN}
    result: dict = {"set": which, "margins": used,
                    **rates(verdicts(records, NONE_MARGIN, QUESTION_MARGIN, OPEN_MARGIN, TASK_FLOOR, COLOR_GAIN)),
                    "rank_s_p50": seconds[len(seconds) // 2], "threads": args.threads}
    if args.dev:
        result["chosen"] = choose(records, color_grid=COLOR_GRID)
    decided = verdicts(records, NONE_MARGIN, QUESTION_MARGIN, OPEN_MARGIN, TASK_FLOOR, COLOR_GAIN)
    result["wrong"] = [{k: r[k] for k in ("category", "lang", "text", "verdict", "instruction")} for r in decided
                       if (r["category"] == "in") != (r["verdict"] == "act") or
                       (r["category"] == "ambiguous" and r["verdict"] != "ask")]
    result["records"] = records
    path = write_result(name, result)
    line = (f"refusal ({result['set']}): recall {result['recall']} (n_out {result['n_out']}), false rate "
            f"{result['false_rate']} (n_in {result['n_in']}), ambiguous asked back {result['asked_back']}, "
            f"margins {used}")
    if args.dev:
        c = result["chosen"]
        line += (f"; chosen none {c['none_margin']} question {c['question_margin']} open {c['open_margin']} "
                 f"floor {c['task_floor']} colour gain {c['color_gain']}: "
                 f"recall {c['recall']} false {c['false_rate']} asked {c['asked_back']}")
    print(f"{line} -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
