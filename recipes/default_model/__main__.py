"""Build the embedded default VLM's vision side: `python -m recipes.default_model [--fresh]`.

Stage 1 - tower pretraining without the LM: a small SigLIP tower learns the scene's ground truth
(presence, counts, extremes, left/right of the bowl, containers, positions, per-cell occupancy) from
the 4x4 pooled patch grid that the projector will later see. Cheap per step; run until held-out
accuracy stops improving.
Stage 2 - alignment through the LM: projector + tower (lower lr) + LoRA r=8 on q/k/v/o of Gemma-3-270M,
on every question about an image packed into one multi-turn chat; LM head only at answer positions.

Seeded, resumable (checkpoints in `$VLM2VLA_CACHE/build`), one torch thread by default. Every
improved held-out evaluation of stage 2 exports the small weights and a card to `assets/model/`.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import torch

from core.model.cache import build_dir
from core.model.scenes import SceneMaker
from recipes.cli import parse
from recipes.default_model.card import rerender_card
from recipes.default_model.config import DefaultModelConfig
from recipes.default_model.stage1 import stage1
from recipes.default_model.stage2 import stage2


def main(argv: list[str] | None = None) -> None:
    args = parse(DefaultModelConfig, argv, __doc__)
    if args.card_only:
        rerender_card(args.out_dir, Path(__file__).resolve().parents[2] / "bench" / "results" / "model.json")
        return
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(name)s %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    cfg = args.build_config()
    torch.set_num_threads(cfg.threads)
    work = args.work_dir or build_dir() / f"seed{cfg.seed}"
    work.mkdir(parents=True, exist_ok=True)
    if args.fresh:
        for f in ("stage1.pt", "stage1_final.pt", "stage2.pt"):
            (work / f).unlink(missing_ok=True)
    torch.manual_seed(cfg.seed)
    maker = SceneMaker(image_size=cfg.spec.image_size, seed=cfg.seed, task_poses=cfg.s1_task_poses)
    tower = stage1(cfg, maker, work) if "1" in args.stages else None
    if "2" in args.stages:
        if tower is None:
            tower = torch.load(work / "stage1_final.pt")["tower"]
        s1 = torch.load(work / "stage1_final.pt", weights_only=False)["state"]
        s1_info = {"steps": s1["step"], "minutes": s1["elapsed"] / 60, "best": s1["best"],
                   "changes": s1.get("changes", []),
                   "last_eval": s1["history"][-1] if s1["history"] else {}}
        stage2(cfg, maker, tower, work, args.out_dir, s1_info, args.s2_init)


if __name__ == "__main__":
    main()
