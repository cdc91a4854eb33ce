"""The loaded model's adapters: which are live, switching one in for a call, side adapters, and the base
fingerprint an adapter's card is checked against.

A running model carries at most one live *action adapter* (activated by `core.policy.service.ModelService`)
and any number of *side adapters* loaded beside it but not active (the restater, the scene reader), each
switched in for one call by `adapter_switched`, which puts back whatever was live before (another adapter,
or adapters off), also on error. All of it is PEFT's integration in transformers models (`load_adapter`,
`set_adapter`, `enable_adapters` / `disable_adapters`): no reload. Call these where the model runs (the
model thread, `core.model.worker`), never concurrently with generation.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def base_fingerprint() -> str:
    """A short hash of the default model's own weights (the vision side and the alignment LoRA): an
    adapter trained on one vision build does not fit another (its card keeps the hash it was trained on)."""
    from core.model.cache import assets_dir

    h = hashlib.sha256()
    for name in ("vision.safetensors", "alignment_lora.safetensors"):
        path = assets_dir() / name
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def adapter_state(model: Any) -> tuple[list[str], bool]:
    """(active adapter names, adapters enabled?) of a transformers model with PEFT adapters."""
    try:
        names = list(model.active_adapters())
    except ValueError:  # no adapter loaded
        names = []
    from peft.tuners.tuners_utils import BaseTunerLayer

    enabled = any(not m.disable_adapters for m in model.modules() if isinstance(m, BaseTunerLayer))
    return names, enabled


def _restore(model: Any, names: list[str], enabled: bool, without: str | None = None) -> None:
    """Make `names` (minus `without`) the active adapters again, and switch adapters off if they were off."""
    keep = [n for n in names if n != without]
    if keep:
        model.set_adapter(keep[0] if len(keep) == 1 else keep)
    if not enabled or not keep:
        model.disable_adapters()


@contextlib.contextmanager
def adapter_switched(model: Any, name: str) -> Iterator[None]:
    """Run `name` (a loaded adapter) for the calls inside, then restore the previous adapter state."""
    if name not in (getattr(model, "peft_config", None) or {}):
        raise KeyError(f"adapter {name!r} is not loaded on this model")
    names, enabled = adapter_state(model)
    model.set_adapter(name)
    model.enable_adapters()
    try:
        yield
    finally:
        _restore(model, names, enabled, without=name)


@contextlib.contextmanager
def adapters_off(model: Any, off: bool = True) -> Iterator[None]:
    """Run the base weights for the calls inside (PEFT adapters stay loaded and come back on afterwards)."""
    if not off or not getattr(model, "_hf_peft_config_loaded", False):
        yield
        return
    model.disable_adapters()
    try:
        yield
    finally:
        model.enable_adapters()


def load_side_adapter(model: Any, path: str | Path, name: str) -> bool:
    """Load an adapter folder next to the others without making it active (a side adapter is only switched
    in per call). Returns False when it was already loaded."""
    from core.training.adapters import validate_adapter_dir

    if name in (getattr(model, "peft_config", None) or {}):
        return False
    validate_adapter_dir(path)
    names, enabled = adapter_state(model) if getattr(model, "_hf_peft_config_loaded", False) else ([], False)
    model.load_adapter(str(path), adapter_name=name)
    _restore(model, names, enabled, without=name)
    return True


__all__ = ["adapter_state", "adapter_switched", "adapters_off", "base_fingerprint", "load_side_adapter"]
