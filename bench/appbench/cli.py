"""Options of `bench/eval/app_autonomous.py` and what they select: the task episodes, the refusal items and
how each command is worded (pure: no app, no browser)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from bench.appbench import metrics
from bench.data import render
from bench.data.dev_commands import DEV_LANGUAGES, DEV_WORDINGS, dev_refusal_items
from bench.data.held_out_commands import COLOURS, LANGUAGES, WORDINGS
from bench.data.held_out_refusal import items as held_out_items
from core.robot.tasks import TASK_KINDS, Task

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
# base scene seeds (demos use 0..119, servo corrections 500.., other benchmarks 1000..): task cells use
# base + 0..1049 (`metrics.scene_seed`), so test scenes are 7000..8099, dev 5000..6099, refusal items 9000.. / 6500..
TEST_SEED0, DEV_SEED0, REFUSAL_SEED0, DEV_REFUSAL_SEED0 = 7000, 5000, 9000, 6500
DEFAULT = {"kinds": TASK_KINDS, "starts": metrics.STARTS, "seeds": 2, "other_seeds": 1, "refusal": "all",
           "prompts": 24}
QUICK = {"kinds": ("pick",), "langs": ("en", "es"), "starts": metrics.STARTS, "seeds": 1,
         "other_seeds": 1, "refusal": "1", "prompts": 3}


def parse_seeds(text: str, seed0: int) -> tuple[int, ...]:
    """"3" -> three seeds from `seed0`; "7000-7004" -> that range; "7000,7003" -> those."""
    text = text.strip()
    try:
        if "," in text:
            seeds = tuple(int(s) for s in text.split(",") if s.strip())
        elif "-" in text.lstrip("-"):
            lo, hi = (int(s) for s in text.split("-", 1))
            seeds = tuple(range(lo, hi + 1))
        else:
            seeds = tuple(range(seed0, seed0 + int(text)))
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds: a count, a range a-b or a list a,b,c; got {text!r}") from None
    if not seeds or any(s < 0 for s in seeds):
        raise argparse.ArgumentTypeError(f"seeds: need at least one seed >= 0; got {text!r}")
    return seeds


def _csv(allowed: tuple[str, ...], what: str) -> Callable[[str], tuple[str, ...]]:
    def conv(text: str) -> tuple[str, ...]:
        vals = tuple(v.strip() for v in text.split(",") if v.strip())
        bad = [v for v in vals if v not in allowed]
        if bad or not vals:
            raise argparse.ArgumentTypeError(f"unknown {what} {', '.join(bad) or '(none)'}; choose from "
                                             f"{', '.join(allowed)}")
        return vals
    return conv


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="bench/eval/app_autonomous.py", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="a few minutes: smoke test of the whole harness")
    ap.add_argument("--dev", action="store_true", help="the dev set (tuning) instead of the held-out test set")
    ap.add_argument("--langs", type=_csv(LANGUAGES, "language"), default=None,
                    help=f"default: all ({','.join(LANGUAGES)}); --dev: {','.join(DEV_LANGUAGES)}")
    ap.add_argument("--kinds", type=_csv(TASK_KINDS, "task kind"), default=None, help="default: all seven")
    ap.add_argument("--starts", type=_csv(metrics.STARTS, "start state"), default=None, help="default: all three")
    ap.add_argument("--seeds", default=None, help="base scene seeds: a count (default 2), a range a-b or a list a,b,c (within 50)")
    ap.add_argument("--other-seeds", type=int, default=None,
                    help="how many of the seeds the non-English languages run (default 1; English runs all)")
    ap.add_argument("--refusal", default=None, help="refusal items: all (default), none, or N per category")
    ap.add_argument("--prompts", type=int, default=None, help="action prompts for quantized vs fp32 (0: skip)")
    ap.add_argument("--prompt-seed", type=int, default=0)
    ap.add_argument("--port", type=int, default=7910)
    ap.add_argument("--out", type=Path, default=None, help="result JSON (default bench/results/app_autonomous.json)")
    ap.add_argument("--screenshots", type=Path, default=None, help="folder for a screenshot at each command's end")
    ap.add_argument("--resume", action="store_true", help="keep the records of an earlier run of the same --out")
    args = ap.parse_args(argv)
    base = dict(QUICK if args.quick else DEFAULT)
    args.kinds = args.kinds or base["kinds"]
    args.starts = args.starts or base["starts"]
    dev_langs = DEV_LANGUAGES if args.dev else LANGUAGES
    args.langs = args.langs or base.get("langs") or dev_langs
    if args.dev and set(args.langs) - set(DEV_LANGUAGES):
        ap.error("--dev has commands in the dev languages only: " + ", ".join(DEV_LANGUAGES))
    seed0 = DEV_SEED0 if args.dev else TEST_SEED0
    try:
        args.seeds = parse_seeds(str(args.seeds if args.seeds is not None else base["seeds"]), seed0)
    except argparse.ArgumentTypeError as exc:
        ap.error(str(exc))
    args.other_seeds = base["other_seeds"] if args.other_seeds is None else args.other_seeds
    args.refusal = args.refusal or base["refusal"]
    if not (args.refusal in ("all", "none") or args.refusal.isdigit()):
        ap.error("--refusal: all, none or a number per category")
    args.prompts = base["prompts"] if args.prompts is None else args.prompts
    if args.other_seeds < 0 or args.prompts < 0:
        ap.error("--other-seeds and --prompts must be >= 0")
    name = "app_autonomous" + ("-dev" if args.dev else "") + ("-quick" if args.quick else "")
    args.out = args.out or RESULTS / f"{name}.json"
    return args


def refusal_items(dev: bool, selection: str) -> list[dict]:
    """The refusal items with their key and scene seed: all, none, or N per category spread over the list."""
    base = dev_refusal_items() if dev else held_out_items()
    seed0 = DEV_REFUSAL_SEED0 if dev else REFUSAL_SEED0
    out = [{**it, "key": f"refusal/{it['category']}/{i}", "seed": seed0 + i} for i, it in enumerate(base)]
    if selection == "all":
        return out
    if selection == "none":
        return []
    n = int(selection)
    picked: list[dict] = []
    for cat in ("in", "out", "ambiguous"):
        group = [it for it in out if it["category"] == cat]
        step = max(1, len(group) // max(1, n))
        picked += group[::step][:n]
    return picked


def plan_of(args: argparse.Namespace) -> tuple[dict, list[metrics.Cell], list[dict]]:
    cells = metrics.plan_episodes(args.kinds, args.langs, args.starts, args.seeds, args.other_seeds)
    items = refusal_items(args.dev, args.refusal)
    cfg = {"kinds": list(args.kinds), "langs": list(args.langs), "starts": list(args.starts), "seeds": list(args.seeds),
           "other_seeds": args.other_seeds, "refusal": args.refusal, "prompts": args.prompts, "dev": args.dev,
           "quick": args.quick, "rule": {"move_cm": metrics.MOVE_CM, "grip_change": metrics.GRIP_CHANGE,
                                         "reply_window_s": metrics.REPLY_WINDOW_S,
                                         "not_refusals": list(metrics.NOT_REFUSALS)}}
    return cfg, cells, items


def word(dev: bool) -> Callable[[Task, metrics.Cell], tuple[str, int]]:
    """`(task, cell) -> (command text, wording index)` from the held-out (or dev) wordings."""
    table = DEV_WORDINGS if dev else WORDINGS

    def command_for(task: Task, cell: metrics.Cell) -> tuple[str, int]:
        options = table[cell.lang][task.kind]
        i = metrics.stable_index(len(options), "wording", cell.key)
        target = task.target.split()[0] if task.kind == "stack" and task.target else None
        return render(options[i], COLOURS[cell.lang], task.obj.split()[0], target), i

    return command_for
