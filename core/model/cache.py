"""Where the embedded default model keeps its derived files (never committed)."""

from __future__ import annotations

from pathlib import Path

from core import settings

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets" / "model"


def assets_dir() -> Path:
    """The default model's shipped vision weights: `$VLM2VLA_MODEL_ASSETS` or `assets/model/`."""
    return settings.current().model_assets or ASSETS_DIR


def cache_dir() -> Path:
    """`$VLM2VLA_CACHE` or `~/.cache/vlm2vla`, created on demand."""
    path = settings.current().cache_dir
    path.mkdir(parents=True, exist_ok=True)
    return path


def text_lm_dir() -> Path:
    """The dequantized Gemma-3-270M causal LM (fp32 safetensors + fixed tokenizer)."""
    return cache_dir() / "gemma-3-270m-fp32"


def build_dir() -> Path:
    """Checkpoints and logs of `python -m recipes.default_model`."""
    path = cache_dir() / "build"
    path.mkdir(parents=True, exist_ok=True)
    return path
