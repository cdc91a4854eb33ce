"""Build the restater: a small text-only LoRA that restates a command as a canonical English instruction.

    python -m recipes.restater                 # build (about 10 min on 2 CPU cores), write assets/restate
    python -m recipes.restater --steps 20 --out /tmp/try   # a quick look

Options: `RestaterConfig` (its fields are the command line, `recipes.cli`).

Trained on `core.language.restate_data.training_pairs`: the canonical instructions and their English
rewordings (`core.language.restate.restate_pairs`), task commands in Spanish, German and Chinese, commands
that name no block (answer: the kind's *open* instruction, "pick up the block") and commands the robot must
not act on (answer: `NONE_ANSWER`), asked as "Say this robot command in English ...", loss on the answer
only. French and Japanese stay out: they are the dev languages on which the refusal rule is chosen
(`core.language.understand`). The build is seeded and measured on held-out English rewordings by ranking
all the answers (`core.language.restate.answers`), and writes a PEFT adapter folder (fp16 weights) with a
card whose `answers` field tells the app that it may answer an open instruction or `NONE_ANSWER`. The app
loads it next to the action adapter (`core.policy.shipped`) and switches it in only for the restatement call.

Checkpointed: every `--checkpoint-every` steps the LoRA weights, the optimizer and the data order go to
`<out>.ckpt` (one file); a build started again with the same options continues from there (`--fresh` starts over).
"""

from __future__ import annotations

import logging
import math
import random
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from core.language.restate import NEUTRAL_COMMAND, PRIOR_WEIGHT, PROMPT, answers, restate_prompt
from core.language.restate_data import TRAIN_LANGUAGES, training_pairs
from core.policy.shipped import RESTATER_DIR, RESTATER_NAME
from core.training.collate import IGNORE, collate
from core.training.config import TrainConfig
from recipes.cli import option, parse

log = logging.getLogger(__name__)

ASSET_DIR, NAME = RESTATER_DIR, RESTATER_NAME  # the side adapter's folder and its name on the loaded model


def encode_pair(processor: Any, command: str, instruction: str) -> dict[str, torch.Tensor]:
    """input_ids, attention_mask and labels of one text-only exchange; labels only on the answer and its
    end of turn (the format `core.training.collate.collate` pads into a batch)."""
    from core.policy.restate import text_messages

    tok = getattr(processor, "tokenizer", processor)
    p = processor.apply_chat_template(text_messages(restate_prompt(command)), add_generation_prompt=True,
                                      tokenize=False)
    f = processor.apply_chat_template(text_messages(restate_prompt(command), instruction), tokenize=False)
    pi = tok(p, add_special_tokens=False)["input_ids"]
    fi = tok(f.rstrip(), add_special_tokens=False)["input_ids"]  # no trailing newline after <end_of_turn>
    if fi[:len(pi)] != pi:
        raise ValueError("the chat template tokenises the prompt differently inside the whole exchange")
    return {"input_ids": torch.tensor(fi), "attention_mask": torch.ones(len(fi), dtype=torch.long),
            "labels": torch.tensor([IGNORE] * len(pi) + fi[len(pi):])}


def answer_loss(model: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The causal LM loss of `batch` (mean over the labelled tokens, as `model(**batch).loss`), with the
    262k-word head computed only from the first position that predicts a labelled token on: the prompt's
    positions cost the head nothing (about a third less time per step)."""
    labels = batch["labels"]
    labelled = (labels != IGNORE).any(0).nonzero()
    if labelled.numel() == 0:
        raise ValueError("a batch without labelled tokens")
    start = max(int(labelled[0]) - 1, 0)
    width = labels.shape[1]
    keep = torch.arange(start, width - 1)
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    logits = model(**inputs, logits_to_keep=keep).logits
    target = labels[:, start + 1:width]
    return torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), target.reshape(-1),
                                             ignore_index=IGNORE)


def _lora_state(model: Any) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.named_parameters() if v.requires_grad}


def save_checkpoint(path: Path, model: Any, opt: Any, sched: Any, step: int, order: list[int], rng: random.Random,
                    losses: list[float]) -> None:
    """The training state after `step` steps, written atomically to `path`."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"lora": _lora_state(model), "opt": opt.state_dict(), "sched": sched.state_dict(), "step": step,
                "order": order, "rng": rng.getstate(), "losses": losses}, tmp)
    tmp.replace(path)


def train_restater(model: Any, processor: Any, pairs: list[tuple[str, str]], *, steps: int, batch_size: int,
                   lr: float, seed: int, on_step: Any = None, checkpoint: Path | None = None,
                   checkpoint_every: int = 50) -> list[float]:
    """Train the (PEFT) model's LoRA on `pairs` for `steps` AdamW steps (linear decay); returns the losses.
    With `checkpoint`, the state is saved there every `checkpoint_every` steps and a saved state is resumed."""
    tok = getattr(processor, "tokenizer", processor)
    encoded = [encode_pair(processor, c, i) for c, i in pairs]
    rng = random.Random(seed)
    order: list[int] = []
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1.0 - s / steps))
    losses: list[float] = []
    first = 0
    if checkpoint is not None and checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        named = dict(model.named_parameters())
        with torch.no_grad():
            for k, v in state["lora"].items():
                named[k].copy_(v)
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        first, order, losses = state["step"], list(state["order"]), list(state["losses"])
        rng.setstate(state["rng"])
        log.info("restater: resumed at step %d from %s", first, checkpoint)
    model.train()
    for step in range(first, steps):
        if len(order) < batch_size:
            more = list(range(len(encoded)))
            rng.shuffle(more)
            order += more
        batch = collate([encoded[i] for i in order[:batch_size]], tok.pad_token_id or 0)
        del order[:batch_size]
        loss = answer_loss(model, batch)
        value = loss.item()
        if not math.isfinite(value):
            raise RuntimeError(f"restater training diverged at step {step} (loss {value})")
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(value)
        if on_step is not None:
            on_step(step + 1, steps, value)
        if checkpoint is not None and (step + 1) % checkpoint_every == 0 and step + 1 < steps:
            save_checkpoint(checkpoint, model, opt, sched, step + 1, order, rng, losses)
    model.eval()
    return losses


def held_out_accuracy(model: Any, processor: Any, held: list[tuple[str, str]]) -> float | None:
    """Share of held-out English rewordings restated right, with the app's calibrated ranking over every
    answer (tasks, open instructions, `NONE_ANSWER`)."""
    from core.policy.restate import restate, restate_prior

    if not held:
        return None
    candidates = answers()
    prior = restate_prior(model, processor, candidates)
    hits = sum(restate(model, processor, c, prior, candidates=candidates)[0].text == i for c, i in held)
    return hits / len(held)


@dataclass(frozen=True)
class RestaterConfig:
    steps: int = option(170, "AdamW steps")
    batch_size: int = option(8, "pairs per step")
    lr: float = option(2e-4, "learning rate (linear decay)")
    r: int = option(16, "LoRA rank (alpha is twice it)")
    seed: int = option(0, "data order and initialisation")
    threads: int | None = option(None, "CPU threads for torch (default: torch's)")
    out: Path = option(ASSET_DIR, "where the restater folder goes")
    checkpoint_every: int = option(50, "save the training state every this many steps (<out>.ckpt)")
    fresh: bool = option(False, "discard a saved training state and start over")

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError("--steps and --batch-size must be positive")


def build(config: RestaterConfig, *, base: str | None = None) -> dict[str, Any]:
    """Train, measure and write the restater to `config.out` (weights in fp16, with card.json). `base`: the
    model to train on (default: the embedded default model)."""
    out, steps, batch_size, lr, r, seed = config.out, config.steps, config.batch_size, config.lr, config.r, config.seed
    from core.model.adapter_files import write_card, write_fp16_adapter
    from core.model.adapters import base_fingerprint
    from core.training.model_io import add_lora, load_base

    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    model, processor, _ = load_base(base)
    peft_model = add_lora(model, TrainConfig(lora_r=r, lora_alpha=2 * r, lora_dropout=0.05, lr=lr))
    train, held = training_pairs()
    ckpt = out.with_name(out.name + ".ckpt")
    if config.fresh:
        ckpt.unlink(missing_ok=True)

    def report(step: int, total: int, loss: float) -> None:
        if step % 10 == 0 or step == total:
            log.info("restater step %d/%d loss %.4f (%.0f s)", step, total, loss, time.perf_counter() - t0)

    losses = train_restater(peft_model, processor, train, steps=steps, batch_size=batch_size, lr=lr, seed=seed,
                            on_step=report, checkpoint=ckpt, checkpoint_every=config.checkpoint_every)
    train_s = time.perf_counter() - t0
    acc = held_out_accuracy(peft_model, processor, held)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    peft_model.save_pretrained(str(tmp))
    write_fp16_adapter(tmp, tmp)
    card = {
        "name": NAME,
        "purpose": "restate a command (any language) as one of the robot's canonical English instructions, "
                   "an open instruction (no block named) or none of the robot's tasks",
        "answers": "tasks+open+none",
        "base_model": "default (embedded Gemma-3-270M VLM)",
        "base_fingerprint": base_fingerprint(),
        "data": {"languages": ["en", *TRAIN_LANGUAGES], "train_pairs": len(train), "held_out_pairs": len(held),
                 "source": "core.language.restate_data.training_pairs (canonical instructions, English rewordings, "
                           "es/de/zh task commands, open and out-of-domain commands)"},
        "prompt": PROMPT, "calibration": {"neutral_command": NEUTRAL_COMMAND, "prior_weight": PRIOR_WEIGHT},
        "hyper": {"r": r, "alpha": 2 * r, "targets": "q/k/v/o/gate/up/down of the language model",
                  "steps": steps, "batch_size": batch_size, "lr": lr, "seed": seed},
        "metrics": {"final_loss": round(sum(losses[-10:]) / len(losses[-10:]), 4),
                    "held_out_english_accuracy": None if acc is None else round(acc, 3)},
        "train_s": round(train_s, 1),
    }
    write_card(tmp, card)
    if out.exists():
        shutil.rmtree(out)
    tmp.replace(out)
    ckpt.unlink(missing_ok=True)
    log.info("restater written to %s: held-out English accuracy %s, %.0f s", out, acc, time.perf_counter() - t0)
    return card


def main(argv: list[str] | None = None) -> int:
    config = parse(RestaterConfig, argv, __doc__)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    card = build(config)
    print(f"restater: held-out English accuracy {card['metrics']['held_out_english_accuracy']}, "
          f"{card['train_s']} s -> {config.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
