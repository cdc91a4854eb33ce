"""The adapter folder format: what a PEFT LoRA folder of this app holds, its card, and its checks.

An adapter folder holds exactly what PEFT writes (`adapter_config.json`, `adapter_model.safetensors`) plus
`card.json` (data, hyper-parameters, metrics, action format, the base fingerprint of the model build it was
trained on) and a `README.md` rendering of it. Only these kinds of files are accepted (.json, .md, .txt,
.safetensors): anything that could hold a pickle (.bin, .pt, .pkl, ...) or is a symlink is refused with a
clear `AdapterError`. `write_fp16_adapter` stores the weights in fp16 with the base model named "default", as
the shipped adapters are. `unzip_adapter` extracts an uploaded zip safely. The registry of the app's adapters
is `core.training.adapters`; switching them on a loaded model is `core.model.adapters`.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
import zlib
from pathlib import Path
from typing import Any

from core.model.errors import AdapterError

CONFIG = "adapter_config.json"
WEIGHTS = "adapter_model.safetensors"
CARD = "card.json"
README = "README.md"
ALLOWED_SUFFIXES = (".json", ".md", ".txt", ".safetensors")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".npy", ".npz")
MAX_ADAPTER_BYTES = 4 * 1024**3
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def safe_name(name: str) -> str:
    """An adapter name usable as a folder name: letters, digits, '.', '_' and '-', at most 100."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip()).strip(".-_")[:100]
    if not cleaned or not _NAME.match(cleaned):
        raise AdapterError(f"{name!r} is not a usable adapter name (letters, digits, '.', '_' and '-')")
    return cleaned


def validate_adapter_dir(path: str | Path) -> dict[str, Any]:
    """Check that `path` is a PEFT adapter folder this app can load; returns its adapter config.

    Raises `AdapterError` naming the problem: not a folder, missing files, pickled or unknown files,
    symlinks, sub-folders, malformed config or weights, too large.
    """
    path = Path(path)
    if not path.is_dir():
        raise AdapterError(f"{path} is not a folder")
    if path.is_symlink():
        raise AdapterError(f"{path} is a symbolic link; copy the folder itself")
    total = 0
    for entry in sorted(path.iterdir()):
        if entry.is_symlink():
            raise AdapterError(f"{entry.name}: symbolic links are not accepted in an adapter folder")
        if entry.is_dir():
            raise AdapterError(f"{entry.name}/: an adapter folder has no sub-folders (is this a full model "
                               "or a training run? export the adapter itself)")
        suffix = entry.suffix.lower()
        if suffix in PICKLE_SUFFIXES:
            raise AdapterError(f"{entry.name}: pickle-based files are refused (they can run code when loaded); "
                               "save the adapter with safetensors (PEFT's default)")
        if suffix not in ALLOWED_SUFFIXES:
            raise AdapterError(f"{entry.name}: unexpected file in an adapter folder (allowed: "
                               f"{', '.join(ALLOWED_SUFFIXES)})")
        if suffix != ".safetensors" and _looks_pickled(entry):
            raise AdapterError(f"{entry.name}: holds pickled or zipped binary data, not text; refused")
        total += entry.stat().st_size
    if total > MAX_ADAPTER_BYTES:
        raise AdapterError(f"the folder holds {total / 1e9:.1f} GB; an adapter is far smaller (is it a full model?)")
    if not (path / CONFIG).is_file():
        raise AdapterError(f"{path} is not a PEFT adapter: {CONFIG} is missing")
    if not (path / WEIGHTS).is_file():
        raise AdapterError(f"{path} is not a PEFT adapter with safetensors weights: {WEIGHTS} is missing")
    try:
        config = json.loads((path / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AdapterError(f"{CONFIG} is not valid JSON: {exc}") from exc
    if not isinstance(config, dict) or "peft_type" not in config:
        raise AdapterError(f"{CONFIG} has no peft_type: not a PEFT adapter config")
    if str(config["peft_type"]).upper() != "LORA":
        raise AdapterError(f"only LoRA adapters are supported, this one is {config['peft_type']}")
    try:
        from safetensors import safe_open

        with safe_open(str(path / WEIGHTS), framework="pt") as f:
            keys = list(f.keys())
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types for corrupt headers
        raise AdapterError(f"{WEIGHTS} is not a readable safetensors file: {exc}") from exc
    if not keys or not all("lora_" in k for k in keys):
        raise AdapterError(f"{WEIGHTS} does not hold LoRA weights only ({len(keys)} tensors)")
    return config


def _looks_pickled(path: Path) -> bool:
    """Pickle protocol 2+ header (0x80, 2..5) or a zip container (torch.save's format)."""
    with open(path, "rb") as f:
        head = f.read(2)
    return (len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5) or head == b"PK"


def read_card(path: str | Path) -> dict[str, Any]:
    p = Path(path) / CARD
    if not p.is_file():
        return {}
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AdapterError(f"{p} is not valid JSON: {exc}") from exc
    return data if isinstance(data, dict) else {}


def write_card(path: str | Path, card: dict[str, Any]) -> None:
    """`card.json` + a `README.md` (Hugging Face model-card front matter for PEFT) in the adapter folder."""
    path = Path(path)
    (path / CARD).write_text(json.dumps(card, indent=2, default=str), encoding="utf-8")
    (path / README).write_text(render_card(card), encoding="utf-8")


def render_card(card: dict[str, Any]) -> str:
    hp = card.get("hyperparameters", {})
    data = card.get("data", {})
    metrics = card.get("metrics", {})
    lines = [
        "---",
        "library_name: peft",
        f"base_model: {card.get('base_model', 'unknown')}",
        "tags: [lora, vlm2vla, robotics]",
        "---",
        f"# {card.get('name', 'adapter')}",
        "",
        "A LoRA adapter that fine-tunes a vision-language model to write robot actions "
        + ("as language (VLM2VLA)." if card.get("action_format", "language") == "language"
           else "as rarely used tokens (the VLM2VLA-AT baseline)."),
        "",
        "## Data",
        *[f"- {k}: {v}" for k, v in data.items()],
        "",
        "## Hyper-parameters",
        *[f"- {k}: {v}" for k, v in hp.items()],
        "",
        "## Metrics",
        *[f"- {k}: {v}" for k, v in metrics.items()],
        "",
    ]
    return "\n".join(lines)


def write_fp16_adapter(src: Path, dst: Path) -> None:
    """Write `src`'s PEFT weights to `dst` in fp16 (half the size; PEFT casts them back when loading) and
    its config with the base model named "default", not a path on the machine that built it. `src` and
    `dst` may be the same folder."""
    import torch
    from safetensors.torch import load_file, save_file

    tensors = {k: v.to(torch.float16).contiguous() for k, v in load_file(str(src / WEIGHTS)).items()}
    config = json.loads((src / CONFIG).read_text())
    config["base_model_name_or_path"] = "default"
    save_file(tensors, str(dst / WEIGHTS), metadata={"format": "pt"})
    (dst / CONFIG).write_text(json.dumps(config, indent=2))


def unzip_adapter(archive: Path, into: Path) -> Path:
    """Extract a zip holding one adapter folder (or the files at its top level) safely into `into`."""
    try:
        z = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise AdapterError(f"{archive.name} is not a zip archive: {exc}") from exc
    with z:
        names = [i for i in z.infolist() if not i.is_dir()]
        if not names:
            raise AdapterError(f"{archive.name} is empty")
        if sum(i.file_size for i in names) > MAX_ADAPTER_BYTES:
            raise AdapterError(f"{archive.name} expands to more than {MAX_ADAPTER_BYTES // 1024**3} GB")
        tops = {Path(i.filename).parts[0] for i in names}
        nested = len(tops) == 1 and all(len(Path(i.filename).parts) == 2 for i in names)
        out = into / (safe_name(next(iter(tops))) if nested else safe_name(archive.stem))
        out.mkdir(parents=True)
        for info in names:
            parts = Path(info.filename).parts
            rel = parts[1:] if nested else parts
            if len(rel) != 1 or rel[0] in ("", ".", "..") or info.filename.startswith(("/", "\\")) \
                    or (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise AdapterError(f"{archive.name}: refusing entry {info.filename!r} (nested path, absolute path "
                                   "or link)")
            target = (out / rel[0]).resolve()
            if not target.is_relative_to(out.resolve()):
                raise AdapterError(f"{archive.name}: entry {info.filename!r} escapes the folder")
            try:
                with z.open(info) as fin, open(target, "wb") as fout:
                    shutil.copyfileobj(fin, fout)
            except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError) as exc:
                raise AdapterError(f"{archive.name}: entry {info.filename!r} cannot be read ({exc}): the archive is "
                                   "damaged, encrypted or its sizes are false") from exc
    return out


__all__ = ["CARD", "CONFIG", "MAX_ADAPTER_BYTES", "README", "WEIGHTS", "read_card", "render_card", "safe_name",
           "unzip_adapter",
           "validate_adapter_dir", "write_card", "write_fp16_adapter"]
