"""Command line: `python -m core.training {data,train,job} ...` (also under `accelerate launch`).

    # build samples from recorded episodes (or expert demos) and export them (JSONL + PNG frames)
    python -m core.training data --episodes 1,2,3 --out data/red
    python -m core.training data --expert 25 --out data/expert25
    # train a LoRA adapter on an exported dataset (resumes if --out already has a checkpoint)
    python -m core.training train --data data/expert25 --out runs/first --max-steps 200
    accelerate launch -m core.training train --data data/expert25 --out runs/first
    # what the app's job manager runs
    python -m core.training job --job-dir training_jobs/job-7 --job-id 7
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from core.training.config import PRESETS, preset


def _ints(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            a, b = part.split("-", 1)
            out.extend(range(int(a), int(b) + 1))
        elif part:
            out.append(int(part))
    return out


def _store():  # noqa: ANN202
    from core.store import StoreConfig, open_store

    return open_store(StoreConfig.from_env())


def cmd_data(args: argparse.Namespace) -> int:
    from core.training.data import DataConfig, build_dataset, export_jsonl, to_hf_dataset
    from core.training.sources import expert_episodes, store_episodes

    cfg = DataConfig(image_size=args.image_size, max_entries=args.max_entries, val_fraction=args.val_fraction,
                     seed=args.seed, instruction_paraphrases=args.paraphrases)
    records = []
    if args.episodes:
        records.extend(store_episodes(_store(), _ints(args.episodes), camera=args.camera,
                                      verbalize_missing=args.verbalize_missing))
    if args.expert:
        records.extend(expert_episodes(range(args.expert_seed, args.expert_seed + args.expert), camera=args.camera,
                                       image_size=args.image_size))
    split = build_dataset(records, cfg)
    export_jsonl(split, args.out, cfg)
    if args.hf:
        to_hf_dataset(split).save_to_disk(str(Path(args.out) / "hf"))
    logging.getLogger("core.training").info("dataset: %s", json.dumps(split.summary()))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from core.training.data import load_jsonl
    from core.training.trainer import Hooks, train

    overrides = {k: v for k, v in {
        "base_model": args.model, "max_steps": args.max_steps, "epochs": args.epochs, "lr": args.lr,
        "batch_size": args.batch_size, "grad_accum": args.grad_accum, "threads": args.threads,
        "checkpoint_every": args.checkpoint_every, "action_format": args.action_format, "seed": args.seed,
        "decision_weight": args.decision_weight,
    }.items() if v is not None}
    config = preset(args.preset, **overrides)
    split = load_jsonl(args.data)
    log = logging.getLogger("core.training")
    result = train(config, split.train, args.out, hooks=Hooks(on_progress=lambda p: log.info(
        "step %d/%d loss %.4f lr %.2e %.2f samples/s eta %.0f s", p.step, p.total_steps, p.loss, p.lr,
        p.samples_per_s, p.eta_s)), resume=not args.fresh)
    log.info("%s at step %d/%d; adapter: %s", result.status, result.step, result.total_steps, result.adapter_dir)
    return 0


def cmd_job(args: argparse.Namespace) -> int:
    from core.store import StoreConfig, open_store
    from core.training.jobs import read_job_settings
    from core.training.runner import run_job

    settings = read_job_settings(Path(args.job_dir))  # the app's store, also when given by flags
    if args.no_store:
        store = None
    elif settings is not None:
        store = open_store(StoreConfig(recordings_dir=Path(settings["recordings_dir"]), db_url=settings["db_url"]))
    else:
        store = _store()
    adapters = settings.get("adapters_dir") if settings else None
    return run_job(Path(args.job_dir), args.job_id, store, Path(adapters) if adapters else None)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m core.training", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-v", "--verbose", action="store_true")
    sub = ap.add_subparsers(dest="cmd", required=True)

    d = sub.add_parser("data", help="build and export training samples")
    d.add_argument("--episodes", help="recorded episode ids, e.g. 1,2,5-9 (store from VLM2VLA_DB_URL)")
    d.add_argument("--expert", type=int, default=0, help="number of scripted-expert demos to generate")
    d.add_argument("--expert-seed", type=int, default=0)
    d.add_argument("--camera", default="front")
    d.add_argument("--image-size", type=int, default=224)
    d.add_argument("--max-entries", type=int, default=None)
    d.add_argument("--paraphrases", type=int, default=0, help="extra subtask questions per episode, English rewordings")
    d.add_argument("--val-fraction", type=float, default=0.1)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--verbalize-missing", action="store_true")
    d.add_argument("--hf", action="store_true", help="also save a Hugging Face `datasets` copy (needs datasets)")
    d.add_argument("--out", required=True)
    d.set_defaults(fn=cmd_data)

    t = sub.add_parser("train", help="train a LoRA adapter on an exported dataset")
    t.add_argument("--data", required=True)
    t.add_argument("--out", required=True, help="run folder (checkpoints/, adapter/)")
    t.add_argument("--model", default=None, help="'default', a local model folder or a cached hub id")
    t.add_argument("--preset", default="paper", choices=sorted(PRESETS))
    t.add_argument("--max-steps", type=int)
    t.add_argument("--epochs", type=float)
    t.add_argument("--lr", type=float)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--grad-accum", type=int)
    t.add_argument("--threads", type=int)
    t.add_argument("--checkpoint-every", type=int)
    t.add_argument("--action-format", choices=("language", "tokens"))
    t.add_argument("--decision-weight", type=float,
                   help="loss weight of the tokens of an action list's decision entries (default 1)")
    t.add_argument("--seed", type=int)
    t.add_argument("--fresh", action="store_true", help="ignore existing checkpoints in --out")
    t.set_defaults(fn=cmd_train)

    j = sub.add_parser("job", help="run a queued training job (started by the app's job manager)")
    j.add_argument("--job-dir", required=True)
    j.add_argument("--job-id", type=int, default=None)
    j.add_argument("--no-store", action="store_true", help="report to progress.json only")
    j.set_defaults(fn=cmd_job)

    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stdout)
    return int(args.fn(args))


if __name__ == "__main__":
    sys.exit(main())
