"""A loaded model's adapters (the PEFT state): activating one, which are live, switching one in for a call,
side adapters, and the base fingerprint an adapter's card is checked against.

A running model carries at most one live *action adapter* (`activate_adapter`; the app's
`core.policy.service.ModelService` owns which one) and any number of *side adapters* loaded beside it but
not active (the restater, the scene reader), each switched in for one call by `adapter_switched`, which puts
back whatever was live before (another adapter, or adapters off), also on error. All of it is PEFT's
integration in transformers models (`load_adapter`, `set_adapter`, `enable_adapters` /
`disable_adapters`): no reload. Works for fp32, bf16, int8-head and nf4 precisions; precisions that replace
the language model's linear layers (int8-weight, int8-dynamic) take no LoRA (`AdapterError`). Call these
where the model runs (the model thread, `core.model.worker`), never concurrently with generation. The
folder format is `core.model.adapter_files`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.model.adapter_files import validate_adapter_dir
from core.model.errors import AdapterError

log = logging.getLogger(__name__)

# the language model's linear layers a LoRA adapts (the paper's q/k/v/o/gate/up/down)
LORA_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


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
    if name in (getattr(model, "peft_config", None) or {}):
        return False
    validate_adapter_dir(path)
    names, enabled = adapter_state(model) if getattr(model, "_hf_peft_config_loaded", False) else ([], False)
    load_adapter_weights(model, path, name)
    _restore(model, names, enabled, without=name)
    return True


def load_adapter_weights(model: Any, path: str | Path, name: str) -> None:
    """`model.load_adapter(path, adapter_name=name)` without transformers' misleading load report, checking
    the part of it that would be true.

    transformers' PEFT integration reports as MISSING ("newly initialized") every LoRA weight on the model
    that the file does not hold, which includes the weights of the adapters loaded before this one (the
    app loads the action adapter, the restater and the scene reader side by side): a table of untrue
    warnings at each start. Those weights are neither missing nor touched. So the report is silenced and
    only this adapter's own weights are checked: one missing from the file raises `AdapterError` (it would
    really run newly initialized); keys the model has no place for are logged.
    """
    with _quiet_transformers(), warnings.catch_warnings():
        # PEFT's "Already found a `peft_config` attribute ... multiple adapters" is the intended set-up here
        warnings.filterwarnings("ignore", message="Already found a `peft_config`")
        info = model.load_adapter(str(path), adapter_name=name)
    tag = f".{name}."
    missing = sorted(k for k in getattr(info, "missing_keys", None) or () if tag in k)
    if missing:
        raise AdapterError(f"adapter {name!r} ({path}) lacks {len(missing)} of its weights, e.g. {missing[0]}: "
                           "it does not fit this model")
    unexpected = sorted(getattr(info, "unexpected_keys", None) or ())
    if unexpected:
        log.warning("adapter %s: %d weights in %s have no place in the model (ignored), e.g. %s", name,
                    len(unexpected), path, unexpected[0])


def _model_of(loaded: Any) -> Any:
    return getattr(loaded, "model", loaded) if not hasattr(loaded, "load_adapter") else loaded


def activate_adapter(loaded: Any, path: str | Path, name: str | None = None) -> str:
    """Load the adapter folder `path` (once, as `name`, default: the folder's name) on an already loaded model
    and make it the live adapter; returns the adapter name used.

    `loaded` is a `core.model.loader.LoadedModel` or a transformers model. Works for fp32, bf16,
    int8-head and nf4 precisions; precisions that replace the language model's linear layers
    (int8-weight, int8-dynamic) cannot take LoRA and raise `AdapterError`.
    """
    model = _model_of(loaded)
    path = Path(path)
    name = name or path.name
    validate_adapter_dir(path)
    if not hasattr(model, "load_adapter"):
        raise AdapterError(f"{type(model).__name__} does not support adapters")
    _check_lora_compatible(model)
    loaded_names = set()
    try:
        loaded_names = set(model.peft_config) if getattr(model, "_hf_peft_config_loaded", False) else set()
    except AttributeError:
        pass
    try:
        if name not in loaded_names:
            load_adapter_weights(model, path, name)
        model.set_adapter(name)
        if hasattr(model, "enable_adapters"):
            model.enable_adapters()
    except (ValueError, TypeError, RuntimeError, KeyError) as exc:
        raise AdapterError(f"cannot activate adapter {name!r} on this model: {exc}. Adapters need the "
                           "language model's linear layers in fp32/bf16 (precision fp32, bf16, int8-head or nf4) "
                           "and the base model they were trained on.") from exc
    log.info("active adapter: %s", name)
    return name


def _check_lora_compatible(model: Any) -> None:
    """Refuse (before touching the model) precisions that replaced the language model's linear layers."""
    from peft.tuners.tuners_utils import BaseTunerLayer
    from torch import nn

    for name, module in model.named_modules():
        if name.rsplit(".", 1)[-1] in LORA_MODULES and ("language_model" in name or "text_model" in name):
            if not isinstance(module, (nn.Linear, BaseTunerLayer)):
                raise AdapterError(
                    f"the model's language layers are {type(module).__name__} (a quantized precision); LoRA "
                    "adapters need fp32, bf16, int8-head or nf4: reload the model in one of those")


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)


def deactivate_adapters(loaded: Any) -> None:
    """Run the base model again (adapters stay loaded for a quick switch back)."""
    model = _model_of(loaded)
    if getattr(model, "_hf_peft_config_loaded", False):
        model.disable_adapters()


def active_adapter(loaded: Any) -> str | None:
    """The adapter the model runs with now, or None (no adapter loaded, or adapters disabled)."""
    model = _model_of(loaded)
    if not getattr(model, "_hf_peft_config_loaded", False):
        return None
    from peft.tuners.tuners_utils import BaseTunerLayer

    for module in model.modules():
        if isinstance(module, BaseTunerLayer):
            if module.disable_adapters:
                return None
            names = module.active_adapter
            return names if isinstance(names, str) else (names[0] if names else None)
    return None


__all__ = ["LORA_MODULES", "activate_adapter", "active_adapter", "adapter_state", "adapter_switched", "adapters_off",
           "base_fingerprint", "deactivate_adapters", "load_side_adapter"]
