"""Stage 1: the vision tower pretrained alone (no language model) on the scene's ground truth, read from the
4x4 pooled patch grid the projector will later see (`TowerProbe`), until held-out accuracy stops improving."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.model.assemble import VisionSpec, new_tower
from core.model.scenes import HELDOUT, OBJECTS, TRAIN, SceneMaker
from core.model.targets import (
    CLASS_HEADS,
    IGNORE,
    N_REGRESS,
    TOKEN_HEADS,
    scene_targets,
    token_targets,
)
from recipes.default_model.common import lr_at, pool_grid, save_atomic, to_pixels
from recipes.default_model.config import BuildConfig

log = logging.getLogger("build_default")


class TowerProbe(nn.Module):
    """Tower + linear read-outs of the pooled grid (the heads are thrown away after stage 1)."""

    def __init__(self, spec: VisionSpec, seed: int) -> None:
        super().__init__()
        self.spec = spec
        self.tower = new_tower(spec, seed)
        h = spec.hidden_size
        self.norm = nn.LayerNorm(h)
        self.cls = nn.ModuleDict({k: nn.Linear(h, n) for k, n in CLASS_HEADS.items()})
        self.reg = nn.Linear(h, N_REGRESS)
        self.cell = nn.Linear(h, len(OBJECTS))
        self.pos = nn.Linear(h, spec.mm_tokens_per_image)
        self.tok = nn.ModuleDict({k: nn.Linear(h, n) for k, n in TOKEN_HEADS.items()})

    def forward(self, pixels: torch.Tensor) -> dict[str, torch.Tensor]:
        tokens = self.norm(pool_grid(self.tower(pixel_values=pixels).last_hidden_state, self.spec))
        g = tokens.mean(1)
        out = {k: head(g) for k, head in self.cls.items()}
        out["reg"] = self.reg(g)
        out["cells"] = self.cell(tokens)
        out["pos"] = self.pos(tokens)
        out.update({k: head(tokens) for k, head in self.tok.items()})
        return out


def s1_batch(maker: SceneMaker, split: int, start: int, n: int) -> dict[str, torch.Tensor]:
    scenes = [maker.make(split, start + i) for i in range(n)]
    tg = [scene_targets(s, image_size=s.image.shape[1]) for s in scenes]
    return {
        "pixels": to_pixels([s.image for s in scenes]),
        "cls": torch.from_numpy(np.stack([t["cls"] for t in tg])),
        "reg": torch.from_numpy(np.stack([t["reg"] for t in tg])),
        "reg_mask": torch.from_numpy(np.stack([t["reg_mask"] for t in tg])),
        "cells": torch.from_numpy(np.stack([t["cells"] for t in tg])),
        "tok": torch.from_numpy(np.stack([token_targets(s, image_size=s.image.shape[1]) for s in scenes])),
    }


def loc_targets(cells: torch.Tensor) -> torch.Tensor:
    """(B, T, O) one-hot cell occupancy -> (B, O) index of the cell holding each object (IGNORE if absent)."""
    idx = cells.argmax(1)
    return torch.where(cells.sum(1) > 0, idx, torch.full_like(idx, IGNORE))


def s1_loss(out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor], loc_weight: float = 1.0,
            self_pos_weight: float = 0.0, token_weight: float = 0.0) -> torch.Tensor:
    loss = torch.zeros(())
    if token_weight:
        for j, k in enumerate(TOKEN_HEADS):
            y = batch["tok"][:, :, j].reshape(-1)
            if (y != IGNORE).any():
                loss = loss + token_weight * F.cross_entropy(out[k].reshape(y.shape[0], -1), y, ignore_index=IGNORE)
    if self_pos_weight:
        b, t, _ = out["pos"].shape
        loss = loss + self_pos_weight * F.cross_entropy(out["pos"].reshape(b * t, t), torch.arange(t).repeat(b))
    if loc_weight:
        b, t, o = out["cells"].shape
        logits = out["cells"].transpose(1, 2).reshape(b * o, t)
        loss = loss + loc_weight * F.cross_entropy(logits, loc_targets(batch["cells"]).reshape(-1), ignore_index=IGNORE)
    for i, k in enumerate(CLASS_HEADS):
        y = batch["cls"][:, i]
        if (y != IGNORE).any():
            loss = loss + F.cross_entropy(out[k], y, ignore_index=IGNORE)
    mask = batch["reg_mask"]
    loss = loss + ((out["reg"] - batch["reg"]) ** 2 * mask).sum() / mask.sum().clamp(min=1)
    loss = loss + 2.0 * F.binary_cross_entropy_with_logits(out["cells"], batch["cells"])
    return loss


@torch.no_grad()
def s1_evaluate(probe: TowerProbe, batches: list[dict[str, torch.Tensor]], self_pos: bool = False,
                tokens: bool = False) -> dict[str, float]:
    probe.eval()
    hits = {k: [0, 0] for k in CLASS_HEADS}
    tok_hits = {k: [0, 0] for k in TOKEN_HEADS}
    reg_err, cell_hits, cell_n, pos_hits = 0.0, 0.0, 0, 0.0
    loc = {n: [0, 0] for n in OBJECTS}
    for batch in batches:
        out = probe(batch["pixels"])
        tgt = loc_targets(batch["cells"])
        pred = out["cells"].argmax(1)
        for j, name in enumerate(OBJECTS):
            keep = tgt[:, j] != IGNORE
            loc[name][0] += int((pred[:, j][keep] == tgt[:, j][keep]).sum())
            loc[name][1] += int(keep.sum())
        for i, k in enumerate(CLASS_HEADS):
            y = batch["cls"][:, i]
            keep = y != IGNORE
            hits[k][0] += int((out[k].argmax(-1)[keep] == y[keep]).sum())
            hits[k][1] += int(keep.sum())
        for j, k in enumerate(TOKEN_HEADS):
            y = batch["tok"][:, :, j]
            keep = y != IGNORE
            tok_hits[k][0] += int((out[k].argmax(-1)[keep] == y[keep]).sum())
            tok_hits[k][1] += int(keep.sum())
        m = batch["reg_mask"]
        reg_err += float((((out["reg"] - batch["reg"]) / 5.0).abs() * m).sum() / m.sum())
        cell_hits += float(((out["cells"] > 0) == (batch["cells"] > 0.5)).float().mean())
        pos_hits += float((out["pos"].argmax(-1) == torch.arange(out["pos"].shape[1])).float().mean())
        cell_n += 1
    probe.train()
    acc = {k: h / max(1, n) for k, (h, n) in hits.items()}
    acc["mean"] = float(np.mean([acc[k] for k in CLASS_HEADS]))
    acc["pos_err_cm"] = 100 * reg_err / len(batches)
    acc["cell_acc"] = cell_hits / cell_n
    acc["self_pos"] = pos_hits / cell_n  # tokens whose own grid cell the linear head reads off them
    acc["loc_blocks"] = sum(loc[n][0] for n in OBJECTS[:4]) / max(1, sum(loc[n][1] for n in OBJECTS[:4]))
    acc["loc_containers"] = sum(loc[n][0] for n in OBJECTS[4:]) / max(1, sum(loc[n][1] for n in OBJECTS[4:]))
    acc.update({k: h / max(1, n) for k, (h, n) in tok_hits.items()})
    parts = [acc[k] for k in CLASS_HEADS] + [acc["loc_blocks"], acc["loc_containers"]]
    if self_pos:
        parts.append(acc["self_pos"])
    if tokens:
        parts.extend(acc[k] for k in TOKEN_HEADS)
    acc["score"] = float(np.mean(parts))  # what "best" and "converged" refer to
    return acc


def stage1(cfg: BuildConfig, maker: SceneMaker, work: Path) -> dict[str, torch.Tensor]:
    done = work / "stage1_final.pt"
    if done.exists():
        log.info("stage 1 already finished (%s)", done)
        return torch.load(done)["tower"]
    probe = TowerProbe(cfg.spec, cfg.seed)
    opt = torch.optim.AdamW(probe.parameters(), lr=cfg.s1_lr, weight_decay=0.01)
    state = {"step": 0, "elapsed": 0.0, "best": -1.0, "best_tower": None, "since_best": 0, "history": []}
    ckpt = work / "stage1.pt"
    if ckpt.exists():
        saved = torch.load(ckpt, weights_only=False)
        shapes = {k: v.shape for k, v in probe.state_dict().items()}
        wrong = [k for k, v in saved["probe"].items() if k in shapes and v.shape != shapes[k]]
        if wrong:
            raise SystemExit(f"the stage-1 checkpoint in {work} was trained with another grid ({wrong[0]}); "
                             "finish stage 1 at its own --image-tokens, or start it over with --fresh")
        missing = probe.load_state_dict(saved["probe"], strict=False).missing_keys
        if missing:  # a head added since the checkpoint: it starts fresh, and so does the optimiser
            log.info("stage 1 checkpoint lacks %s: new head, fresh optimiser state", missing)
        else:
            opt.load_state_dict(saved["opt"])
        state = saved["state"]
        log.info("stage 1 resumed at step %d (%.1f min)", state["step"], state["elapsed"] / 60)
    if state.get("loc_weight") != cfg.s1_loc_weight:  # the loss changed under a resumed run: say so in the card
        state.setdefault("changes", []).append(
            {"step": state["step"], "change": f"cell-localisation loss weight {state.get('loc_weight', 0.0)}"
                                              f" -> {cfg.s1_loc_weight}"})
        state["loc_weight"], state["since_best"], state["best"] = cfg.s1_loc_weight, 0, -1.0
    for key, value, what in (("self_pos_weight", cfg.s1_self_pos_weight, "own-cell loss weight"),
                             ("token_weight", cfg.s1_token_weight, "per-block token relation loss weight"),
                             ("task_poses", cfg.s1_task_poses, "share of scenes with the gripper among the blocks")):
        if state.get(key, 0.0) != value:
            state.setdefault("changes", []).append(
                {"step": state["step"], "change": f"{what} {state.get(key, 0.0)} -> {value}"})
            state[key], state["since_best"], state["best"] = value, 0, -1.0
    eval_batches = [s1_batch(maker, HELDOUT, i, 32) for i in range(0, cfg.s1_eval_images, 32)]
    t_start, t_ckpt = time.time() - state["elapsed"], time.time()

    def checkpoint() -> None:
        state["elapsed"] = time.time() - t_start
        save_atomic({"probe": probe.state_dict(), "opt": opt.state_dict(), "state": state}, ckpt)

    probe.train()
    while state["step"] < cfg.s1_max_steps:
        step = state["step"]
        for g in opt.param_groups:
            progress = max(step / cfg.s1_max_steps, (time.time() - t_start) / 60 / cfg.s1_max_minutes)
            g["lr"] = lr_at(step, cfg.s1_lr, cfg.s1_warmup, progress)
        batch = s1_batch(maker, TRAIN, step * cfg.s1_batch, cfg.s1_batch)
        loss = s1_loss(probe(batch["pixels"]), batch, cfg.s1_loc_weight, cfg.s1_self_pos_weight, cfg.s1_token_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(probe.parameters(), 1.0)
        opt.step()
        state["step"] = step = step + 1
        if step % 25 == 0:
            log.info("s1 step %d loss %.4f lr %.2e %.1f min", step, loss.item(), opt.param_groups[0]["lr"],
                     (time.time() - t_start) / 60)
        stop = (time.time() - t_start) / 60 > cfg.s1_max_minutes
        if step % cfg.s1_eval_every == 0 or stop:
            acc = s1_evaluate(probe, eval_batches, bool(cfg.s1_self_pos_weight), bool(cfg.s1_token_weight))
            state["history"].append({"step": step, "min": (time.time() - t_start) / 60, **acc})
            log.info("s1 eval step %d score %.3f mean %.3f pos_err %.1f cm loc blocks %.3f containers %.3f "
                     "own cell %.3f | %s", step,
                     acc["score"], acc["mean"], acc["pos_err_cm"], acc["loc_blocks"], acc["loc_containers"],
                     acc["self_pos"],
                     " ".join(f"{k}={v:.2f}" for k, v in acc.items() if k in CLASS_HEADS or k in TOKEN_HEADS))
            if acc["score"] > state["best"] + 0.002:
                state["best"], state["since_best"] = acc["score"], 0
                state["best_tower"] = {k: v.clone() for k, v in probe.tower.state_dict().items()}
            else:
                state["since_best"] += 1
            if state["since_best"] >= cfg.s1_patience:
                log.info("s1 converged: no gain in %d evaluations", cfg.s1_patience)
                break
        if stop:
            log.info("s1 reached its time budget (%.0f min)", cfg.s1_max_minutes)
            break
        if time.time() - t_ckpt > cfg.checkpoint_minutes * 60:
            checkpoint()
            t_ckpt = time.time()
    checkpoint()
    tower = state["best_tower"] or probe.tower.state_dict()
    save_atomic({"tower": tower, "state": {k: v for k, v in state.items() if k != "best_tower"}}, done)
    log.info("stage 1 done: best held-out score %.3f after %d steps", state["best"], state["step"])
    return tower
