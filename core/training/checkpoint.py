"""Checkpoints for exact resume: adapter weights + optimizer + scheduler + RNG + data cursor.

Layout of `<run>/checkpoints/step-00000025/`:
- `adapter_model.safetensors`, `adapter_config.json`  (a loadable PEFT adapter as it was at that step)
- `state.pt`    optimizer and scheduler state dicts, torch RNG states (tensors and numbers only: loaded
                with `weights_only=True`, so no code can hide in it)
- `state.json`  step, loss history, the config and a fingerprint of the training samples
A checkpoint is written to `step-N.partial` and renamed when complete; `latest` names the newest. A
failure while writing (disk full) removes the partial folder and leaves the previous checkpoint intact.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from core.training.errors import CheckpointError

log = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
LATEST = "latest"
STATE_PT = "state.pt"
STATE_JSON = "state.json"


@dataclass
class TrainState:
    """What the loop needs, besides weights and optimizer, to continue exactly where it stopped."""

    step: int = 0
    samples_seen: int = 0
    loss_history: list[tuple[int, float]] = field(default_factory=list)
    lr_history: list[tuple[int, float]] = field(default_factory=list)
    train_seconds: float = 0.0  # wall time spent in the loop over all runs

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "samples_seen": self.samples_seen,
            "loss_history": [list(x) for x in self.loss_history],
            "lr_history": [list(x) for x in self.lr_history],
            "train_seconds": self.train_seconds,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainState:
        return cls(
            step=int(d["step"]),
            samples_seen=int(d.get("samples_seen", 0)),
            loss_history=[(int(s), float(v)) for s, v in d.get("loss_history", [])],
            lr_history=[(int(s), float(v)) for s, v in d.get("lr_history", [])],
            train_seconds=float(d.get("train_seconds", 0.0)),
        )


def checkpoint_root(run_dir: Path) -> Path:
    return Path(run_dir) / CHECKPOINTS


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint of a run, or None."""
    root = checkpoint_root(run_dir)
    pointer = root / LATEST
    if pointer.is_file():
        path = root / pointer.read_text().strip()
        if path.is_dir() and (path / STATE_JSON).is_file():
            return path
    done = sorted(p for p in root.glob("step-*") if p.is_dir() and not p.name.endswith(".partial")
                  and (p / STATE_JSON).is_file())
    return done[-1] if done else None


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def save_checkpoint(
    run_dir: Path,
    peft_model: Any,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    state: TrainState,
    meta: dict[str, Any],
    keep: int = 2,
) -> Path:
    """Write a checkpoint of the current step atomically and prune old ones; returns its folder."""
    root = checkpoint_root(run_dir)
    name = f"step-{state.step:08d}"
    final = root / name
    tmp = root / (name + ".partial")
    try:
        root.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        peft_model.save_pretrained(str(tmp))
        torch.save(
            {
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": _rng_state(),
            },
            tmp / STATE_PT,
        )
        payload = {**state.to_dict(), "python_rng": _python_rng(), **meta}
        (tmp / STATE_JSON).write_text(json.dumps(payload, indent=1))
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        _write_pointer(root, name)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        why = "the disk is full" if exc.errno == errno.ENOSPC else str(exc)
        raise CheckpointError(f"cannot write checkpoint {final}: {why}; the previous checkpoint is kept") from exc
    _prune(root, keep)
    log.info("checkpoint %s", final)
    return final


def _write_pointer(root: Path, name: str) -> None:
    tmp = root / (LATEST + ".tmp")
    tmp.write_text(name)
    os.replace(tmp, root / LATEST)


def _prune(root: Path, keep: int) -> None:
    done = sorted(p for p in root.glob("step-*") if p.is_dir() and not p.name.endswith(".partial"))
    for old in done[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def _python_rng() -> list:
    version, internal, gauss = random.getstate()
    return [version, list(internal), gauss]


def load_checkpoint(
    path: Path,
    peft_model: Any,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
) -> tuple[TrainState, dict[str, Any]]:
    """Restore weights, optimizer, scheduler and RNG from `path`; returns the state and the saved meta."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    path = Path(path)
    try:
        meta = json.loads((path / STATE_JSON).read_text())
        weights = load_file(str(path / "adapter_model.safetensors"))
        blob = torch.load(path / STATE_PT, map_location="cpu", weights_only=True)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise CheckpointError(f"checkpoint {path} is unreadable: {exc}") from exc
    device = next(p.device for p in peft_model.parameters())
    result = set_peft_model_state_dict(peft_model, {k: v.to(device) for k, v in weights.items()})
    unexpected = getattr(result, "unexpected_keys", []) or []
    if unexpected:
        raise CheckpointError(f"checkpoint {path} does not fit this model: {unexpected[:3]}")
    optimizer.load_state_dict(blob["optimizer"])
    scheduler.load_state_dict(blob["scheduler"])
    torch.set_rng_state(blob["rng"]["torch"])
    if "cuda" in blob["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(blob["rng"]["cuda"])
    if "python_rng" in meta:
        v, internal, gauss = meta["python_rng"]
        random.setstate((v, tuple(internal), gauss))
    return TrainState.from_dict(meta), meta
