"""Build the restater: a small text-only LoRA that restates a command as a canonical English instruction.

    python -m recipes.restater                 # build (about 5 min on 2 CPU cores), write assets/restate
    python -m recipes.restater --steps 20 --out /tmp/try   # a quick look

Options: `RestaterConfig` (its fields are the command line, `recipes.cli`).

Trained on English only (`core.language.restate.restate_pairs`): the canonical instructions and their
English rewordings, asked as "Say this robot command in English ...", the answer being the canonical
instruction (loss on the answer only). The build is seeded and measured on held-out English rewordings
by ranking (`core.policy.restate.rank_instructions`), and writes a PEFT adapter folder (fp16 weights) with
a card. The app loads it next to the action adapter (`core.policy.shipped`) and switches it in only for the
restatement call.
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

from core.language.restate import NEUTRAL_COMMAND, PRIOR_WEIGHT, PROMPT, restate_pairs, restate_prompt
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


def train_restater(model: Any, processor: Any, pairs: list[tuple[str, str]], *, steps: int, batch_size: int,
                   lr: float, seed: int, on_step: Any = None) -> list[float]:
    """Train the (PEFT) model's LoRA on `pairs` for `steps` AdamW steps (linear decay); returns the losses."""
    tok = getattr(processor, "tokenizer", processor)
    encoded = [encode_pair(processor, c, i) for c, i in pairs]
    rng = random.Random(seed)
    order: list[int] = []
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1.0 - s / steps))
    model.train()
    losses: list[float] = []
    for step in range(steps):
        if len(order) < batch_size:
            more = list(range(len(encoded)))
            rng.shuffle(more)
            order += more
        batch = collate([encoded[i] for i in order[:batch_size]], tok.pad_token_id or 0)
        del order[:batch_size]
        loss = model(**batch).loss
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
    model.eval()
    return losses


def held_out_accuracy(model: Any, processor: Any, held: list[tuple[str, str]]) -> float | None:
    """Share of held-out English rewordings restated right, with the app's calibrated ranking."""
    from core.policy.restate import restate, restate_prior

    if not held:
        return None
    prior = restate_prior(model, processor)
    hits = sum(restate(model, processor, c, prior)[0].text == i for c, i in held)
    return hits / len(held)


@dataclass(frozen=True)
class RestaterConfig:
    steps: int = option(150, "AdamW steps")
    batch_size: int = option(8, "pairs per step")
    lr: float = option(2e-4, "learning rate (linear decay)")
    r: int = option(16, "LoRA rank (alpha is twice it)")
    seed: int = option(0, "data order and initialisation")
    threads: int | None = option(None, "CPU threads for torch (default: torch's)")
    out: Path = option(ASSET_DIR, "where the restater folder goes")

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
    train, held = restate_pairs()

    def report(step: int, total: int, loss: float) -> None:
        if step % 10 == 0 or step == total:
            log.info("restater step %d/%d loss %.4f (%.0f s)", step, total, loss, time.perf_counter() - t0)

    losses = train_restater(peft_model, processor, train, steps=steps, batch_size=batch_size, lr=lr, seed=seed,
                            on_step=report)
    train_s = time.perf_counter() - t0
    acc = held_out_accuracy(peft_model, processor, held)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    peft_model.save_pretrained(str(tmp))
    write_fp16_adapter(tmp, tmp)
    card = {
        "name": NAME,
        "purpose": "restate a command (any language) as one of the robot's canonical English instructions",
        "base_model": "default (embedded Gemma-3-270M VLM)",
        "base_fingerprint": base_fingerprint(),
        "data": {"language": "English only", "train_pairs": len(train), "held_out_pairs": len(held),
                 "source": "core.language.restate.restate_pairs (canonical instructions + English rewordings)"},
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
