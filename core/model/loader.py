"""Load an image-text-to-text model: any Hugging Face id / local directory, or the embedded default.

    loaded = load_model()                         # embedded default (Gemma-3-270M + project vision)
    loaded = load_model("google/gemma-3-4b-it")   # a hub id (needs the weights cached, or a hub)
    loaded = load_model("/models/smolvlm")        # a local directory

Device "auto" = CUDA if available else CPU; weights load in bf16 on CUDA and fp32 on CPU, then the
precision mode (see `core.model.quantize`) is applied: NF4 on CUDA, the measured CPU default on CPU.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from core.model.cache import assets_dir, cache_dir
from core.model.quantize import ENGINE_PRECISIONS, apply_precision, choose_precision, describe, load_kwargs

log = logging.getLogger(__name__)

DEFAULT_NAME = "vlm2vla-default (Gemma-3-270M + sim-trained SigLIP)"
ASSET_FILES = ("config.json", "vision.safetensors", "alignment_lora.safetensors")


class ModelNotAvailableError(RuntimeError):
    """The requested model's weights are not on this machine and cannot be downloaded."""


@dataclass
class LoadedModel:
    model: Any  # a transformers image-text-to-text model
    processor: Any
    name: str
    device: str
    precision: str
    load_s: float
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def precision_label(self) -> str:
        """What the UI shows, e.g. "CPU · bf16 + int8 LM head"; an engine precision that could not run says so."""
        label = describe(self.precision, self.device)
        fallback = self.info.get("engine_fallback")
        return f"{label} ({fallback})" if fallback else label


def pick_device(device: str = "auto") -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def load_model(source: str | Path | None = None, device: str = "auto", precision: str = "auto") -> LoadedModel:
    """Load `source` (hub id, local dir, or None for the embedded default) ready for inference."""
    t0 = time.perf_counter()
    device = pick_device(device)
    default = source is None or str(source) in ("", "default")
    chosen = choose_precision(device, precision)
    if precision == "auto" and not default:  # the engine default was measured on the embedded model only
        chosen = ENGINE_PRECISIONS.get(chosen, chosen)
    precision = chosen
    if default:
        model, processor, name, info = _load_default(device, precision)
    else:
        model, processor, name, info = _load_hf(str(source), device, precision)
    model = apply_precision(model, precision, info.get("cache_dir"))
    model.eval()
    loaded = LoadedModel(model, processor, name, device, precision, time.perf_counter() - t0, info)
    if precision in ENGINE_PRECISIONS:
        attach_engine(loaded)
    log.info("loaded %s on %s in %.1f s", name, loaded.precision_label, loaded.load_s)
    return loaded


def attach_engine(loaded: LoadedModel) -> None:
    """Give an engine precision its engine (`loaded.info["engine"]`, used by the policy); when it cannot
    run here (package missing, not the default Gemma-3 model), fall back to the companion precision and
    say why in the log and in `loaded.info["engine_error"]`."""
    from core.model.engine import EngineError, make_engine

    try:
        loaded.info["engine"] = make_engine(loaded, loaded.precision)
    except (EngineError, OSError) as exc:
        fallback = ENGINE_PRECISIONS[loaded.precision]
        log.warning("precision %s cannot run: %s; running %s instead", loaded.precision, exc, fallback)
        loaded.info["engine_error"] = str(exc)
        loaded.info["engine_fallback"] = f"{loaded.precision} not available: {exc}"
        loaded.precision = fallback


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")


def _load_hf(source: str, device: str, precision: str) -> tuple[Any, Any, str, dict]:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    local = Path(source).expanduser()
    is_dir = local.is_dir()
    if not is_dir and (source.startswith((".", "/", "~")) or local.suffix):
        raise ModelNotAvailableError(f"model directory {source!r} does not exist")
    ref = str(local) if is_dir else source
    kwargs: dict[str, Any] = {"local_files_only": _offline()} if not is_dir else {}
    try:
        processor = AutoProcessor.from_pretrained(ref, **kwargs)
        model = AutoModelForImageTextToText.from_pretrained(ref, **load_kwargs(precision, device), **kwargs)
    except OSError as exc:
        where = "the directory" if is_dir else "the local Hugging Face cache (HF_HUB_OFFLINE is set)" if _offline() \
            else "the local cache or the hub"
        raise ModelNotAvailableError(
            f"weights for {source!r} are not available in {where}: {exc}. Download them on a machine with "
            f"network access (huggingface-cli download {source}) or pass a local directory with --model."
        ) from exc
    if precision != "nf4":
        model.to(device)
    return model, processor, source, {"source": ref}


# ---- the embedded default ------------------------------------------------------------------------


def assets_present(assets: Path | None = None) -> bool:
    assets = assets or assets_dir()
    return all((assets / f).exists() for f in ASSET_FILES)


def _assets_hash(assets: Path) -> str:
    h = hashlib.sha256()
    for f in ASSET_FILES:
        h.update((assets / f).read_bytes())
    return h.hexdigest()[:12]


def merge_lora(model: torch.nn.Module, lora: dict[str, torch.Tensor], r: int, alpha: float) -> int:
    """W += alpha/r * B @ A for every `<module>.lora_A.weight` / `<module>.lora_B.weight` pair."""
    modules = dict(model.named_modules())
    n = 0
    for key, a in lora.items():
        if not key.endswith(".lora_A.weight"):
            continue
        path = key[: -len(".lora_A.weight")]
        b = lora[f"{path}.lora_B.weight"]
        lin = modules[path]
        with torch.no_grad():
            lin.weight += (alpha / r) * (b.float() @ a.float()).to(lin.weight.dtype)
        n += 1
    return n


def assemble_default(assets: Path | None = None) -> tuple[Any, Any]:
    """Text weights from the cache + the shipped vision weights + the merged alignment LoRA."""
    assets = assets or assets_dir()
    from safetensors.torch import load_file

    from core.model.assemble import VisionSpec, build_processor, build_vlm
    from core.model.text_lm import ensure_text_lm

    meta = json.loads((assets / "config.json").read_text())
    spec = VisionSpec(**meta["vision_spec"])
    text_dir = ensure_text_lm()
    model = build_vlm(text_dir, spec)
    vision = {k: v.float() for k, v in load_file(str(assets / "vision.safetensors")).items()}
    res = model.load_state_dict(vision, strict=False)
    if res.unexpected_keys:
        raise ModelNotAvailableError(f"vision weights do not fit the model: {res.unexpected_keys[:3]}")
    lora = load_file(str(assets / "alignment_lora.safetensors"))
    merged = merge_lora(model, lora, meta["lora"]["r"], meta["lora"]["alpha"])
    log.info("merged the alignment LoRA into %d linear layers", merged)
    return model, build_processor(text_dir, spec)


def default_model_dir(assets: Path | None = None) -> Path:
    """Assemble the default model once into the cache and return its directory (fast to reload)."""
    assets = assets or assets_dir()
    if not assets_present(assets):
        raise ModelNotAvailableError(
            f"the embedded default's vision weights are missing from {assets}; "
            "build them with `python -m recipes.default_model`"
        )
    target = cache_dir() / f"default-vlm-{_assets_hash(assets)}"
    if (target / "config.json").exists():
        return target
    log.info("assembling the embedded default model into %s (one-off)", target)
    model, processor = assemble_default(assets)
    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    processor.save_pretrained(tmp)
    # a bf16 copy: the bf16 / int8 modes load it directly (half the bytes to read and keep resident)
    model.to(torch.bfloat16).save_pretrained(tmp / "bf16")
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def _load_default(device: str, precision: str) -> tuple[Any, Any, str, dict]:
    from transformers import AutoProcessor, Gemma3ForConditionalGeneration

    path = default_model_dir()
    processor = AutoProcessor.from_pretrained(path)
    kwargs = load_kwargs(precision, device)
    weights = path / "bf16" if kwargs["dtype"] == torch.bfloat16 and (path / "bf16").is_dir() else path
    model = Gemma3ForConditionalGeneration.from_pretrained(weights, **kwargs)
    if precision != "nf4":
        model.to(device)
    card = assets_dir() / "card.json"
    info = {"source": str(path), "cache_dir": path, "card": json.loads(card.read_text()) if card.exists() else {}}
    return model, processor, DEFAULT_NAME, info
