"""Loading the base model for training and wrapping it with LoRA on the language model only.

The base model is never changed: every base weight is frozen, only the LoRA matrices train.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch

from core.training.config import TrainConfig, lora_target_regex
from core.training.errors import ModelLoadError

log = logging.getLogger(__name__)


def resolve_base(source: str | None) -> str:
    """A loadable reference for `source`: the embedded default's assembled directory, a local
    directory, or a hub id (only usable when cached, as the hub is offline)."""
    if source is None or source in ("", "default"):
        try:
            from core.model.loader import ModelNotAvailableError, default_model_dir
        except ImportError as exc:  # the model package is not installed in this checkout
            raise ModelLoadError(f"the embedded default model is not available: {exc}") from exc
        try:
            return str(default_model_dir())
        except ModelNotAvailableError as exc:
            raise ModelLoadError(str(exc)) from exc
    path = Path(source).expanduser()
    if path.is_dir():
        return str(path.resolve())
    if source.startswith((".", "/", "~")):
        raise ModelLoadError(f"model directory {source!r} does not exist")
    return source


def training_dtype(device: str) -> torch.dtype:
    """fp32 on CPU (bf16 training is unusably slow on CPUs without AMX), bf16 weights on CUDA."""
    return torch.bfloat16 if device.startswith("cuda") else torch.float32


def load_base(source: str | None, device: str = "cpu") -> tuple[Any, Any, str]:
    """(model, processor, resolved reference) with every base weight frozen."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    ref = resolve_base(source)
    offline = os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")
    kwargs: dict[str, Any] = {} if Path(ref).is_dir() else {"local_files_only": offline}
    try:
        processor = AutoProcessor.from_pretrained(ref, **kwargs)
        model = AutoModelForImageTextToText.from_pretrained(ref, dtype=training_dtype(device), **kwargs)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot load base model {source!r} ({ref}): {exc}") from exc
    model.to(device)
    for p in model.parameters():
        p.requires_grad_(False)
    return model, processor, ref


def add_lora(model: Any, config: TrainConfig) -> Any:
    """A PEFT model with a fresh LoRA adapter on the language model's q/k/v/o/gate/up/down projections."""
    from peft import LoraConfig, get_peft_model

    regex = lora_target_regex(config.lora_modules)
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=regex,
        bias="none",
    )
    try:
        peft_model = get_peft_model(model, lora)
    except ValueError as exc:  # PEFT: "Target modules ... not found in the base model"
        raise ModelLoadError(f"no language-model layers match the LoRA targets {config.lora_modules}: {exc}") from exc
    names = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    if not names:
        raise ModelLoadError("LoRA added no trainable parameters")
    bad = [n for n in names if "lora_" not in n or "vision" in n]
    if bad:
        raise ModelLoadError(f"unexpected trainable parameters: {bad[:3]}")
    if config.init_adapter:
        load_init_weights(peft_model, Path(config.init_adapter))
    n_train = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    log.info("LoRA r=%d alpha=%d on %d tensors, %.2fM trainable parameters", config.lora_r, config.lora_alpha,
             len(names), n_train / 1e6)
    return peft_model


def load_init_weights(peft_model: Any, folder: Path) -> None:
    """Copy a finished adapter's LoRA weights (`folder`, a PEFT adapter folder, fp16 or fp32) into the fresh
    LoRA of `peft_model`, as fp32 trainable weights. Every LoRA tensor must be matched exactly: an adapter
    of another rank, other target modules or another base model is refused with the reason."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    from core.model.adapter_files import WEIGHTS, validate_adapter_dir

    try:
        validate_adapter_dir(folder)
    except Exception as exc:  # AdapterError: say which start adapter is wrong
        raise ModelLoadError(f"the start adapter {folder}: {exc}") from exc
    weights = load_file(str(folder / WEIGHTS))
    own = {n: p for n, p in peft_model.named_parameters() if p.requires_grad}
    device = next(iter(own.values())).device
    try:
        result = set_peft_model_state_dict(peft_model, {k: v.float().to(device) for k, v in weights.items()})
    except RuntimeError as exc:  # size mismatch: another rank
        raise ModelLoadError(f"the start adapter {folder} does not fit this LoRA (rank differs?): {exc}") from exc
    unexpected = list(getattr(result, "unexpected_keys", []) or [])
    missing = [k for k in (getattr(result, "missing_keys", []) or []) if "lora_" in k]
    if unexpected or missing:
        raise ModelLoadError(f"the start adapter {folder} does not fit this LoRA (rank, modules or base model "
                             f"differ): {len(unexpected)} unexpected, {len(missing)} missing tensors, e.g. "
                             f"{(unexpected or missing)[:2]}")
    for p in own.values():
        p.requires_grad_(True)
    log.info("LoRA started from %s (%d tensors)", folder, len(weights))


def unwrap(model: Any) -> Any:
    """The transformers model inside PEFT / DDP wrappers."""
    while hasattr(model, "module") and not hasattr(model, "get_base_model"):
        model = model.module
    if hasattr(model, "get_base_model"):
        model = model.get_base_model()
    return model
