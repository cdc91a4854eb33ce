"""Hyper-parameters of a LoRA fine-tuning run (defaults: the paper's recipe) and presets for the UI."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from core.model.adapters import LORA_MODULES
from core.training.errors import TrainingError

# Module paths of the language model inside image-text-to-text models (Gemma 3, PaliGemma, Qwen2.5-VL:
# `language_model`; Idefics3 / SmolVLM: `text_model`). The vision tower never matches.
LM_PATH = r"(language_model|text_model)"


def lora_target_regex(modules: tuple[str, ...] = LORA_MODULES, lm_path: str = LM_PATH) -> str:
    """PEFT `target_modules` regex (full match) restricted to the language model's linear layers."""
    return rf".*\.{lm_path}\..*\.({'|'.join(modules)})"


@dataclass(frozen=True)
class TrainConfig:
    """One fine-tuning run.

    Batch: `batch_size` samples per forward pass, `grad_accum` passes per optimizer step (effective
    batch = batch_size * grad_accum * processes; the paper used 8). Length: `epochs` over the training
    samples, or exactly `max_steps` optimizer steps when set. LR: AdamW, linear decay from `lr` to 0
    after `warmup_steps` of linear warm-up. `threads`: torch CPU threads (None = leave as is).
    `checkpoint_every` optimizer steps (0 = only at the end / on cancel); `keep_checkpoints` newest kept.
    `init_adapter`: a finished adapter folder whose LoRA weights the run starts from instead of PEFT's
    initialisation (continued training on new data; its rank and target modules must be these).
    """

    base_model: str = "default"
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_modules: tuple[str, ...] = LORA_MODULES
    lr: float = 5e-5
    weight_decay: float = 0.0
    warmup_steps: int = 0
    batch_size: int = 4
    grad_accum: int = 2
    epochs: float = 1.0
    max_steps: int | None = None
    max_grad_norm: float | None = 1.0
    seed: int = 0
    threads: int | None = None
    checkpoint_every: int = 25
    keep_checkpoints: int = 2
    max_length: int = 2048
    action_format: str = "language"  # "language" | "tokens" (the AT baseline)
    action_bins: int = 256
    decision_weight: float = 1.0  # loss weight of an action answer's decision entries (1 = plain mean)
    init_adapter: str | None = None  # start the LoRA from this adapter folder's weights (same rank and modules)

    def __post_init__(self) -> None:
        checks = [
            (self.lora_r > 0, "lora_r must be positive"),
            (self.lora_alpha > 0, "lora_alpha must be positive"),
            (0.0 <= self.lora_dropout < 1.0, "lora_dropout must be in [0, 1)"),
            (bool(self.lora_modules), "lora_modules cannot be empty"),
            (0.0 < self.lr < 1.0, "lr must be in (0, 1)"),
            (self.batch_size > 0 and self.grad_accum > 0, "batch_size and grad_accum must be positive"),
            (self.epochs > 0 or (self.max_steps or 0) > 0, "epochs or max_steps must be positive"),
            (self.max_steps is None or self.max_steps > 0, "max_steps must be positive"),
            (self.checkpoint_every >= 0, "checkpoint_every must be >= 0"),
            (self.keep_checkpoints >= 1, "keep_checkpoints must be >= 1"),
            (self.action_format in ("language", "tokens"), "action_format must be 'language' or 'tokens'"),
            (self.threads is None or self.threads > 0, "threads must be positive"),
            (self.decision_weight > 0, "decision_weight must be positive"),
        ]
        for ok, msg in checks:
            if not ok:
                raise TrainingError(f"invalid training config: {msg}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["lora_modules"] = list(self.lora_modules)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise TrainingError(f"unknown training options: {sorted(unknown)}")
        data = dict(data)
        if "lora_modules" in data:
            data["lora_modules"] = tuple(data["lora_modules"])
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def with_(self, **changes: Any) -> TrainConfig:
        return replace(self, **changes)


# Presets for the Train tab. "paper" is the paper's recipe (for a GPU: one epoch at lr 5e-5 is thousands of
# steps there, a few dozen on this kind of CPU, too few to learn the action format). "cpu" is the recipe of
# the shipped adapter (recipes/default_adapter.py: lr 4e-4, decision-entry weight 20, a short warm-up) cut
# to a step count that fits a coffee break on two cores: small batches, many optimizer steps.
PRESETS: dict[str, dict[str, Any]] = {
    "cpu": {"lr": 4e-4, "decision_weight": 20.0, "warmup_steps": 5, "batch_size": 2, "grad_accum": 2,
            "max_steps": 60, "checkpoint_every": 20},
    "paper": {},
    "quick": {"max_steps": 30, "batch_size": 2, "grad_accum": 2, "checkpoint_every": 10},
    "cpu-small": {"batch_size": 2, "grad_accum": 4, "checkpoint_every": 20},
    "actions-as-tokens baseline": {"action_format": "tokens"},
}


# What each preset gave when measured (shown beside the Train tab's preset list). Measured with
# `python bench/perf/train.py --preset NAME` (25 scripted-expert demos, the app's job runner, 2-core CPU).
PRESET_OUTCOMES: dict[str, str] = {
    "cpu": "on the 2-core CPU shared with other jobs (load average 7-9): 60 steps, action parse rate 1.0 (8 of 8 "
           "held-out action lists), VQA retention 0.82; trained in 17 min, 26 min with the evaluation (about half "
           "that on an idle machine: 0.26 samples/s here, 0.53 measured idle)",
    "paper": "measured on the 2-core CPU: 41 steps in 12 min, action parse rate 0.0 (the action format is not "
             "learned in one epoch at lr 5e-5 there); the paper's recipe, meant for a GPU",
    "quick": "not measured: a 30-step first look at the pipeline, not a usable adapter",
    "cpu-small": "not measured: the paper's learning rate with a smaller batch",
    "actions-as-tokens baseline": "not measured here: the paper's comparison (actions as new tokens)",
}


def preset(name: str, **overrides: Any) -> TrainConfig:
    if name not in PRESETS:
        raise TrainingError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return TrainConfig(**{**PRESETS[name], **overrides})


def default_preset(gpu: bool | None = None) -> str:
    """The preset a new job starts from: "paper" where a GPU trains, "cpu" otherwise (`gpu` None: ask torch)."""
    if gpu is None:
        try:
            import torch

            gpu = bool(torch.cuda.is_available())
        except ImportError:
            gpu = False
    return "paper" if gpu else "cpu"
