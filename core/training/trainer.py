"""The LoRA fine-tuning loop, in one readable function (`train`).

    result = train(TrainConfig(max_steps=100), split.train, Path("runs/first"), hooks=Hooks(on_progress=print))

What it does, top to bottom:
1. load the base model (fp32 on CPU, bf16 weights + autocast on CUDA) and freeze it;
2. add LoRA (r=16, alpha=32) on q/k/v/o/gate/up/down of the *language model only*;
3. AdamW on the LoRA matrices, linear decay to 0 (after an optional warm-up);
4. each optimizer step: `grad_accum` micro-batches of `batch_size` samples (sorted by length within
   the step, so that little is padded); the loss is the
   cross-entropy over the answer tokens only, normalised by the answer tokens of the whole step;
   the LM head runs only at answer positions (hidden states -> gather -> head), which on a
   262k-token vocabulary costs less than the whole rest of the model would otherwise;
5. a checkpoint every `checkpoint_every` steps (adapter + optimizer + scheduler + RNG + cursor; see
   `core.training.checkpoint`), resumed exactly when the run directory already has one;
6. the cancel flag is checked before every micro-batch: a cancelled run saves a checkpoint of the
   last completed step and returns `status="cancelled"`;
7. the final adapter goes to `<run>/adapter` as a standard PEFT folder.

Multi-GPU / multi-node: the same code runs under `accelerate launch` (see docs/training.md). The data
order is a seeded permutation per epoch; each optimizer step takes the next
`batch_size * grad_accum * num_processes` samples of that stream and process `rank` takes its slice,
so the cursor is just the step number.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from core.training.action_tokens import ActionTokenCodec
from core.training.checkpoint import TrainState, latest_checkpoint, load_checkpoint, save_checkpoint
from core.training.collate import IGNORE, ChatEncoder, answer_token_count, collate
from core.training.config import TrainConfig
from core.training.data import TrainSample
from core.training.errors import CheckpointError, NoEpisodesError, TrainingError
from core.training.model_io import add_lora, load_base, unwrap

log = logging.getLogger(__name__)

ADAPTER_DIR = "adapter"


@dataclass(frozen=True)
class Progress:
    """Reported after every optimizer step."""

    step: int
    total_steps: int
    loss: float
    lr: float
    samples_per_s: float
    eta_s: float
    elapsed_s: float
    epoch: float

    @property
    def fraction(self) -> float:
        return self.step / max(1, self.total_steps)


@dataclass
class Hooks:
    """Callbacks of a run. `should_cancel` is polled before every micro-batch."""

    on_progress: Callable[[Progress], None] | None = None
    should_cancel: Callable[[], bool] | None = None
    on_checkpoint: Callable[[Path], None] | None = None


@dataclass
class TrainResult:
    status: str  # "done" | "cancelled"
    step: int
    total_steps: int
    run_dir: Path
    adapter_dir: Path | None
    checkpoint: Path | None
    loss_history: list[tuple[int, float]] = field(default_factory=list)
    samples_per_s: float = 0.0
    wall_s: float = 0.0
    trainable_params: int = 0
    base_model: str = ""
    codec: ActionTokenCodec | None = None
    model: Any = field(default=None, repr=False)  # the PEFT model, for evaluation right after training
    processor: Any = field(default=None, repr=False)

    @property
    def final_loss(self) -> float | None:
        return self.loss_history[-1][1] if self.loss_history else None


# ---- the loss: LM head only at answer positions -----------------------------------------------------
class AnswerLoss(nn.Module):
    """Summed cross-entropy over answer tokens (weighted by `loss_weights` when the batch has them),
    computing the LM head only where labels are set.

    Wraps the (PEFT) model so that `accelerate` / DDP see one module whose forward does the whole
    computation. Returns `(loss_sum, n_tokens)`.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        inputs = {k: v for k, v in batch.items() if k not in ("labels", "loss_weights")}
        labels = batch["labels"][:, 1:]
        where = labels != IGNORE
        base = unwrap(self.model)
        body = getattr(base, "model", None)
        head = base.get_output_embeddings()
        if body is not None and head is not None:
            hidden = body(**inputs).last_hidden_state[:, :-1][where]  # [n_answer_tokens, hidden]
            logits = head(hidden)
            cap = getattr(base.config.get_text_config(), "final_logit_softcapping", None)
            if cap:
                logits = torch.tanh(logits / cap) * cap
        else:  # models without a separate body: full logits, then gather
            logits = self.model(**inputs).logits[:, :-1][where]
        ce = nn.functional.cross_entropy(logits.float(), labels[where], reduction="none")
        if "loss_weights" in batch:
            ce = ce * batch["loss_weights"][:, 1:][where]
        return ce.sum(), where.sum()


# ---- data order -------------------------------------------------------------------------------------
class SampleOrder:
    """An endless stream of sample indices: a seeded permutation per epoch, concatenated."""

    def __init__(self, n: int, seed: int) -> None:
        self.n = n
        self.seed = seed
        self._cache: dict[int, np.ndarray] = {}

    def _perm(self, epoch: int) -> np.ndarray:
        if epoch not in self._cache:
            self._cache = {epoch: np.random.default_rng([self.seed, epoch]).permutation(self.n)}
        return self._cache[epoch]

    def take(self, start: int, count: int) -> list[int]:
        return [int(self._perm(p // self.n)[p % self.n]) for p in range(start, start + count)]


def fingerprint(samples: Sequence[TrainSample]) -> str:
    """A short hash of the samples' identity (episode, kind, step, prompt, target), not of the pixels."""
    h = hashlib.sha256()
    for s in samples:
        h.update(f"{s.episode}\x00{s.kind}\x00{s.step}\x00{s.prompt}\x00{s.target}\x01".encode())
    return h.hexdigest()[:16]


def total_steps_for(config: TrainConfig, n_samples: int, processes: int = 1) -> int:
    if config.max_steps:
        return config.max_steps
    per_step = config.batch_size * config.grad_accum * processes
    return max(1, math.ceil(config.epochs * n_samples / per_step))


def linear_schedule(total_steps: int, warmup: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return factor


# ---- the loop ---------------------------------------------------------------------------------------
def train(
    config: TrainConfig,
    samples: Sequence[TrainSample],
    run_dir: str | Path,
    *,
    model: Any = None,
    processor: Any = None,
    hooks: Hooks | None = None,
    resume: bool = True,
) -> TrainResult:
    """Fine-tune a LoRA adapter on `samples`; resumes from `run_dir`'s latest checkpoint if any.

    `model`/`processor` may be passed (tests, notebooks); otherwise `config.base_model` is loaded.
    A passed model is wrapped with LoRA in place: use a fresh one per call.
    """
    from accelerate import Accelerator

    hooks = hooks or Hooks()
    run_dir = Path(run_dir)
    if not samples:
        raise NoEpisodesError("no training samples: select episodes with verbalized subtasks")
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)

    # 1. model ------------------------------------------------------------------------------------
    use_cuda = torch.cuda.is_available()
    accelerator = Accelerator(cpu=not use_cuda, mixed_precision="bf16" if use_cuda else "no")
    base_ref = config.base_model
    if model is None:
        model, processor, base_ref = load_base(config.base_model, accelerator.device.type)
    elif processor is None:
        raise TrainingError("pass the processor together with the model")
    else:
        for p in model.parameters():
            p.requires_grad_(False)
    tokenizer = getattr(processor, "tokenizer", processor)
    codec = ActionTokenCodec.for_tokenizer(tokenizer, config.action_bins) if config.action_format == "tokens" else None
    encoder = ChatEncoder(processor, codec, config.max_length, config.decision_weight)

    # 2. LoRA on the language model ------------------------------------------------------------------
    torch.manual_seed(config.seed)  # the LoRA init does not depend on how the model was loaded
    peft_model = add_lora(model, config)
    peft_model.train()
    params = [p for p in peft_model.parameters() if p.requires_grad]
    n_trainable = sum(p.numel() for p in params)

    # 3. optimizer and schedule ----------------------------------------------------------------------
    world = accelerator.num_processes
    total_steps = total_steps_for(config, len(samples), world)
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, linear_schedule(total_steps, config.warmup_steps))
    loss_module, optimizer = accelerator.prepare(AnswerLoss(peft_model), optimizer)

    state = TrainState()
    data_id = fingerprint(samples)
    meta = {"config": config.to_dict(), "data_fingerprint": data_id, "n_samples": len(samples),
            "total_steps": total_steps, "base_model": base_ref, "processes": world,
            "codec": codec.to_dict() if codec else None}
    ckpt = latest_checkpoint(run_dir) if resume else None
    if ckpt is not None:
        state, saved = load_checkpoint(ckpt, peft_model, optimizer, scheduler)
        if saved.get("data_fingerprint") != data_id or saved.get("total_steps") != total_steps:
            raise CheckpointError(f"checkpoint {ckpt} belongs to a run with other data or length; "
                                  "start a new run directory")
        log.info("resumed from %s at step %d/%d", ckpt, state.step, total_steps)

    def checkpoint() -> Path | None:
        if not accelerator.is_main_process:
            return None
        path = save_checkpoint(run_dir, peft_model, optimizer, scheduler, state, meta, config.keep_checkpoints)
        if hooks.on_checkpoint:
            hooks.on_checkpoint(path)
        return path

    def cancelled() -> bool:
        return bool(hooks.should_cancel and hooks.should_cancel())

    order = SampleOrder(len(samples), config.seed)
    per_rank = config.batch_size * config.grad_accum
    t_start = time.perf_counter()
    seconds_before = state.train_seconds
    step_at_start = state.step
    last_ckpt: Path | None = ckpt

    # 4. the loop ------------------------------------------------------------------------------------
    while state.step < total_steps:
        group = order.take(state.step * per_rank * world, per_rank * world)
        mine = group[accelerator.process_index * per_rank : (accelerator.process_index + 1) * per_rank]
        encoded = sorted((encoder.encode(samples[i]) for i in mine), key=lambda e: e["input_ids"].shape[0])
        # similar lengths share a micro-batch: padding is pure waste on a CPU (same samples, same step)
        batches = [collate(encoded[i : i + config.batch_size], encoder.pad_id)
                   for i in range(0, len(encoded), config.batch_size)]
        n_tokens = torch.tensor(float(sum(answer_token_count(b) for b in batches)), device=accelerator.device)
        n_tokens = accelerator.reduce(n_tokens, reduction="mean").clamp(min=1.0)

        loss_sum = 0.0
        stop = False
        for k, batch in enumerate(batches):
            if cancelled():
                stop = True
                break
            batch = {key: v.to(accelerator.device) for key, v in batch.items()}
            sync = k == len(batches) - 1
            with contextlib.nullcontext() if sync else accelerator.no_sync(loss_module):
                with accelerator.autocast():
                    ce_sum, _ = loss_module(batch)
                accelerator.backward(ce_sum / n_tokens)
            loss_sum += float(ce_sum.detach())
        if stop:
            optimizer.zero_grad(set_to_none=True)
            break

        if config.max_grad_norm:
            accelerator.clip_grad_norm_(params, config.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)

        state.step += 1
        state.samples_seen += len(group)
        loss = float(accelerator.reduce(torch.tensor(loss_sum, device=accelerator.device), "sum")) / float(
            n_tokens * world)
        lr = scheduler.get_last_lr()[0]
        state.loss_history.append((state.step, loss))
        state.lr_history.append((state.step, lr))
        elapsed = time.perf_counter() - t_start
        state.train_seconds = seconds_before + elapsed
        done_here = state.step - step_at_start
        if hooks.on_progress:
            hooks.on_progress(Progress(
                step=state.step, total_steps=total_steps, loss=loss, lr=lr,
                samples_per_s=done_here * len(group) / max(elapsed, 1e-9),
                eta_s=(total_steps - state.step) * elapsed / max(done_here, 1),
                elapsed_s=state.train_seconds, epoch=state.samples_seen / len(samples),
            ))
        if config.checkpoint_every and state.step % config.checkpoint_every == 0 and state.step < total_steps:
            last_ckpt = checkpoint() or last_ckpt

    # 5. the end: cancelled -> checkpoint, done -> checkpoint + adapter --------------------------------
    accelerator.wait_for_everyone()
    wall = time.perf_counter() - t_start
    seen_here = (state.step - step_at_start) * per_rank * world
    common = dict(step=state.step, total_steps=total_steps, run_dir=run_dir, loss_history=list(state.loss_history),
                  samples_per_s=seen_here / max(wall, 1e-9), wall_s=wall, trainable_params=n_trainable,
                  base_model=base_ref, codec=codec, model=peft_model, processor=processor)
    if state.step < total_steps:
        path = checkpoint() if state.step > step_at_start or last_ckpt is None else last_ckpt
        log.info("cancelled at step %d/%d", state.step, total_steps)
        return TrainResult(status="cancelled", adapter_dir=None, checkpoint=path or last_ckpt, **common)
    path = checkpoint() if state.step > step_at_start or last_ckpt is None else last_ckpt
    adapter_dir = run_dir / ADAPTER_DIR
    if accelerator.is_main_process:
        unwrapped = accelerator.unwrap_model(loss_module).model
        unwrapped.save_pretrained(str(adapter_dir))
    log.info("finished %d steps in %.0f s, final loss %.4f", total_steps, wall,
             state.loss_history[-1][1] if state.loss_history else float("nan"))
    return TrainResult(status="done", adapter_dir=adapter_dir, checkpoint=path, **common)
