"""Stage 3 of the embedded default VLM: reading the layout line. `python -m recipes.layout_reader`

Continues the shipped alignment LoRA on stage-2 chats (`recipes.default_model.chat_sample`) whose
first question starts with the layout line (`core.language.layout`) that the object locator writes for
that image, as the chat path asks it (`core.policy.reader`); a share of the chats (`--plain`) have no line.
The tower and projector stay frozen. The result is shipped as a side adapter, the scene reader
(`assets/reader/`: the continued LoRA minus the shipped one, `reader_tensors`), which the app switches in
for scene questions only. The default model itself (vision weights, merged alignment LoRA) is unchanged,
so the object locator, the action adapter and the restater trained on it still fit: merged into the base
instead, the change cost the action adapter pick-up episodes (en 5/5 -> 4/5, fr and de 4/5 -> 3/5).
The reader and the card's `stage3` entry are written at every improved held-out evaluation
(teacher-forced exact match, chats with the line).

Seeded and resumable (checkpoint `stage3.pt` in `$VLM2VLA_CACHE/build/layout-seed<N>`).
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from core.model.assemble import VisionSpec, build_processor, build_vlm
from core.model.cache import ASSETS_DIR, build_dir
from core.model.scenes import HELDOUT, TRAIN, SceneMaker
from core.model.text_lm import ensure_text_lm
from core.policy.locator import Locator
from core.policy.reader import SceneLayout
from core.policy.shipped import READER_DIR
from core.policy.shipped import READER_NAME as READER
from recipes.cli import option, parse
from recipes.default_model.card import render_card
from recipes.default_model.chats import chat_sample, collate
from recipes.default_model.common import lr_at, save_atomic
from recipes.default_model.stage2 import answer_logits, s2_evaluate, trainable_state

log = logging.getLogger("build_layout")
SCENE_OFFSET = 3_000_000  # training scene indices: disjoint from stage 1 and stage 2


def as_peft_names(lora: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Shipped LoRA tensors (keyed by their path in the plain model, as `trainable_state` writes them) ->
    the names of a PEFT model's "default" adapter, in fp32."""
    return {"base_model.model." + k.replace(".lora_A.", ".lora_A.default.").replace(".lora_B.", ".lora_B.default."):
            v.float() for k, v in lora.items()}


def load_shipped(assets: Path, spec: VisionSpec, text_dir: Path, meta: dict):  # noqa: ANN201 - a PEFT model
    """The shipped build as a PEFT model: tower and projector loaded and frozen, the alignment LoRA as a
    trainable LoRA (not merged)."""
    from peft import LoraConfig, get_peft_model
    from safetensors.torch import load_file

    model = build_vlm(text_dir, spec)
    res = model.load_state_dict({k: v.float() for k, v in load_file(str(assets / "vision.safetensors")).items()},
                                strict=False)
    if res.unexpected_keys:
        raise RuntimeError(f"vision weights do not fit the model: {res.unexpected_keys[:3]}")
    lcfg = LoraConfig(r=meta["lora"]["r"], lora_alpha=meta["lora"]["alpha"], lora_dropout=0.0,
                      target_modules=meta["lora"]["targets"])
    model = get_peft_model(model, lcfg)
    res = model.load_state_dict(as_peft_names(load_file(str(assets / "alignment_lora.safetensors"))), strict=False)
    if res.unexpected_keys:
        raise RuntimeError(f"alignment LoRA does not fit the model: {res.unexpected_keys[:3]}")
    for name, p in model.named_parameters():
        p.requires_grad_("lora_" in name)
    return model


def reader_tensors(trained: dict[str, torch.Tensor], shipped: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The continued LoRA (`trained`) minus the shipped one (merged into the default model), as one PEFT
    LoRA of twice the rank: A = [A_trained; A_shipped], B = [B_trained, -B_shipped], so B @ A is exactly
    B_trained @ A_trained - B_shipped @ A_shipped (same alpha / r scale with alpha and r both doubled)."""
    out = {}
    for key in trained:
        if not key.endswith(".lora_A.weight"):
            continue
        path = key[: -len(".lora_A.weight")]
        a = torch.cat([trained[key], shipped[key].to(trained[key].dtype)], 0)
        b = torch.cat([trained[f"{path}.lora_B.weight"], -shipped[f"{path}.lora_B.weight"].to(trained[key].dtype)], 1)
        out[f"base_model.model.{path}.lora_A.weight"] = a
        out[f"base_model.model.{path}.lora_B.weight"] = b
    return out


def export(model, assets: Path, reader_dir: Path, meta: dict, info: dict) -> None:  # noqa: ANN001
    """Write the scene reader (`reader_dir`: a PEFT adapter folder and its card) and the model card's entry."""
    write_reader({k: v.to(torch.bfloat16) for k, v in trainable_state(model)["lora"].items()}, assets, reader_dir,
                 meta, info)


def write_reader(trained: dict[str, torch.Tensor], assets: Path, reader_dir: Path, meta: dict, info: dict) -> None:
    """`export` from the continued LoRA's tensors (keyed as in `alignment_lora.safetensors`)."""
    from safetensors.torch import load_file, save_file

    from core.model.adapters import base_fingerprint

    shipped = load_file(str(assets / "alignment_lora.safetensors"))
    reader_dir.mkdir(parents=True, exist_ok=True)
    tmp = reader_dir / "adapter_model.safetensors.tmp"
    save_file({k: v.contiguous() for k, v in reader_tensors(trained, shipped).items()}, str(tmp), metadata={"format": "pt"})
    os.replace(tmp, reader_dir / "adapter_model.safetensors")
    config = {"peft_type": "LORA", "base_model_name_or_path": "default", "r": 2 * meta["lora"]["r"],
              "lora_alpha": 2 * meta["lora"]["alpha"], "lora_dropout": 0.0, "target_modules": meta["lora"]["targets"],
              "bias": "none", "inference_mode": True, "task_type": None}
    (reader_dir / "adapter_config.json").write_text(json.dumps(config, indent=2))
    card = {"name": READER, "purpose": "reads the layout line before scene questions (the chat path)",
            "base_fingerprint": base_fingerprint(), **info}
    (reader_dir / "card.json").write_text(json.dumps(card, indent=2))
    model_card = json.loads((assets / "card.json").read_text())
    model_card["stage3"] = info
    (assets / "card.json").write_text(json.dumps(model_card, indent=2))
    (assets / "CARD.md").write_text(render_card(model_card))
    log.info("exported the scene reader to %s and the card to %s", reader_dir, assets)


@dataclass(frozen=True)
class LayoutReaderConfig:
    seed: int = option(0, "scene order and initialisation")
    threads: int = option(1, "CPU threads for torch")
    max_steps: int = option(150, "optimizer steps")
    batch: int = option(4, "chats per step")
    lr: float = option(2e-4, "learning rate (warm-up, then cosine)")
    warmup: int = option(10, "warm-up steps")
    plain: float = option(0.25, "share of chats without the layout line")
    focus: float = option(0.5, "share of batches of short chats of one or two relational questions (leftmost, side "
                          "of the bowl...): a few of ~15 answers in a full chat, they are learned slowly otherwise")
    eval_every: int = option(30, "steps between held-out evaluations")
    eval_images: int = option(48, "held-out images per evaluation")
    assets: Path = option(ASSETS_DIR, "the shipped build to continue (its card is updated)")
    out: Path = option(READER_DIR, "where the scene reader adapter goes")
    work_dir: Path | None = option(None, "checkpoint folder (default: $VLM2VLA_CACHE/build/layout-seed<N>)")
    fresh: bool = option(False, "ignore the checkpoint (default: resume)")


def main(argv: list[str] | None = None) -> None:
    args = parse(LayoutReaderConfig, argv, __doc__)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(name)s %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    work = args.work_dir or build_dir() / f"layout-seed{args.seed}"
    work.mkdir(parents=True, exist_ok=True)
    ckpt = work / "stage3.pt"
    if args.fresh:
        ckpt.unlink(missing_ok=True)

    meta = json.loads((args.assets / "config.json").read_text())
    spec = VisionSpec(**meta["vision_spec"])
    text_dir = ensure_text_lm()
    processor = build_processor(text_dir, spec)
    pad_id = processor.tokenizer.pad_token_id
    model = load_shipped(args.assets, spec, text_dir, meta)
    layout = SceneLayout(Locator.load(args.assets))
    where = bool(json.loads((args.assets / "card.json").read_text())["build_config"].get("s2_where", False))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    recipe = {"lr": args.lr, "plain": args.plain, "focus": args.focus, "max_steps": args.max_steps}
    state = {"step": 0, "elapsed": 0.0, "best": -1.0, "history": [], "recipe": recipe, "changes": []}
    if ckpt.exists():
        saved = torch.load(ckpt, weights_only=False)
        model.load_state_dict(saved["trainable"], strict=False)
        opt.load_state_dict(saved["opt"])
        state = saved["state"]
        log.info("stage 3 resumed at step %d (%.1f min)", state["step"], state["elapsed"] / 60)
        old = state.get("recipe", {"lr": 2e-4, "plain": 0.25, "focus": 0.0, "max_steps": recipe["max_steps"]})
        for key, value in recipe.items():
            if old.get(key) != value:
                state.setdefault("changes", []).append({"step": state["step"], "change": f"{key} {old.get(key)} -> {value}"})
        state["recipe"] = recipe
    maker = SceneMaker(image_size=spec.image_size, seed=args.seed)

    def sample(split: int, idx: int, rng: random.Random, with_line: bool, focus: bool = False) -> tuple[dict, list[str]]:
        scene = maker.make(split, idx)
        return chat_sample(processor, scene, rng, where, focus=focus,
                           layout=layout.line(scene.image) if with_line else None)

    evals = {"line": [sample(HELDOUT, 10_000 + i, random.Random(i), True) for i in range(args.eval_images)],
             "plain": [sample(HELDOUT, 10_000 + i, random.Random(i), False) for i in range(args.eval_images)]}
    if not state["history"]:
        before = {k: s2_evaluate(model, v, pad_id) for k, v in evals.items()}
        state["history"].append({"step": 0, "min": 0.0, **{f"{k}_{q}": a for k, r in before.items() for q, a in r.items()}})
        log.info("before: with the line %.3f, without %.3f", before["line"]["all"], before["plain"]["all"])
    t_start = time.time() - state["elapsed"]
    model.train()
    while state["step"] < args.max_steps:
        step = state["step"]
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.lr, args.warmup, step / args.max_steps)
        samples = []
        focus = random.Random(f"focus{step}").random() < args.focus  # a whole batch is short or full
        for i in range(args.batch):
            idx = SCENE_OFFSET + step * args.batch + i
            rng = random.Random(idx)
            samples.append(sample(TRAIN, idx, rng, rng.random() >= args.plain, focus)[0])
        logits, labels, _ = answer_logits(model, collate(samples, pad_id))
        loss = F.cross_entropy(logits, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        state["step"] = step = step + 1
        if step % 5 == 0:
            log.info("s3 step %d loss %.4f %.1f min", step, loss.item(), (time.time() - t_start) / 60)
        if step % args.eval_every == 0 or step == args.max_steps:
            acc = {k: s2_evaluate(model, v, pad_id) for k, v in evals.items()}
            minutes = (time.time() - t_start) / 60
            state["history"].append({"step": step, "min": minutes,
                                     **{f"{k}_{q}": a for k, r in acc.items() for q, a in r.items()}})
            log.info("s3 eval step %d with the line %.3f, without %.3f | %s", step, acc["line"]["all"],
                     acc["plain"]["all"], " ".join(f"{q}={a:.2f}" for q, a in acc["line"].items() if q != "all"))
            if acc["line"]["all"] > state["best"]:
                state["best"] = acc["line"]["all"]
                export(model, args.assets, args.out, meta, {
                    "steps": step, "minutes": minutes, "batch": args.batch, "lr": args.lr, "plain_share": args.plain,
                    "focus_share": args.focus, "changes": state.get("changes", []), "seed": args.seed,
                    "threads": args.threads, "heldout_with_line": acc["line"], "heldout_without_line": acc["plain"],
                    "before": state["history"][0]})
            state["elapsed"] = time.time() - t_start
            save_atomic({"trainable": {n: p.detach() for n, p in model.named_parameters() if p.requires_grad},
                         "opt": opt.state_dict(), "state": state}, ckpt)
    maker.close()
    log.info("stage 3 done: best held-out accuracy with the line %.3f after %d steps", state["best"], state["step"])


if __name__ == "__main__":
    main()
