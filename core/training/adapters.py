"""LoRA adapters: standard PEFT folders with a card, a registry in the store, export/import, activation.

An adapter folder holds exactly what PEFT writes (`adapter_config.json`, `adapter_model.safetensors`)
plus `card.json` (data, hyper-parameters, metrics, action format) and a `README.md` rendering of it.
Only these kinds of files are accepted on import (.json, .md, .txt, .safetensors): anything that could
hold a pickle (.bin, .pt, .pkl, ...) or is a symlink is refused with a clear error, and nothing is
written to the registry until the copy is complete and checked.

Activation in the running app (`activate_adapter`) uses the PEFT integration of transformers models
(`load_adapter` / `set_adapter` / `disable_adapters`) on the already loaded model: no reload, no
restart. Call it where the model is used (the model worker), not concurrently with generation.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.policy.config import PolicyInputs
from core.policy.shipped import SIDE_NAMES
from core.training.errors import AdapterError, AdapterNotFound

if TYPE_CHECKING:
    from core.store import Store

log = logging.getLogger(__name__)

ADAPTERS_DIR_ENV = "VLM2VLA_ADAPTERS_DIR"
DEFAULT_ADAPTERS_DIR = Path("adapters")
CONFIG = "adapter_config.json"
WEIGHTS = "adapter_model.safetensors"
CARD = "card.json"
README = "README.md"
ALLOWED_SUFFIXES = (".json", ".md", ".txt", ".safetensors")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".npy", ".npz")
MAX_ADAPTER_BYTES = 4 * 1024**3
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
# names of side adapters the app loads on the model itself (`core.policy.shipped.SIDE_NAMES`: the restater,
# the scene reader): a user adapter of the same name would be mistaken for them on the model, so registering
# one gets a numbered name instead
RESERVED_NAMES = SIDE_NAMES


def adapters_dir(path: str | Path | None = None) -> Path:
    """The adapters folder: `path`, `$VLM2VLA_ADAPTERS_DIR`, or `./adapters`; created on demand."""
    root = Path(path or os.environ.get(ADAPTERS_DIR_ENV) or DEFAULT_ADAPTERS_DIR).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root


def safe_name(name: str) -> str:
    """An adapter name usable as a folder name: letters, digits, '.', '_' and '-', at most 100."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip()).strip(".-_")[:100]
    if not cleaned or not _NAME.match(cleaned):
        raise AdapterError(f"{name!r} is not a usable adapter name (letters, digits, '.', '_' and '-')")
    return cleaned


@dataclass(frozen=True)
class AdapterInfo:
    name: str
    path: Path
    base_model: str
    created_at: datetime | None = None
    training_job_id: int | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    card: dict[str, Any] = field(default_factory=dict)

    @property
    def action_format(self) -> str:
        return str(self.card.get("action_format", "language"))

    @property
    def inputs(self) -> PolicyInputs:
        """What the adapter reads besides the frame (its card): the camera, the robot's state, a grounding line."""
        return PolicyInputs.from_card(self.card)


# ---- checking a folder ------------------------------------------------------------------------------
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


# ---- the registry -----------------------------------------------------------------------------------
def _info(row: Any, root: Path) -> AdapterInfo:
    path = Path(row.path)
    if not path.is_absolute():
        path = root / path
    return AdapterInfo(row.name, path, row.base_model, row.created_at, row.training_job_id, dict(row.metrics or {}),
                       read_card(path) if path.is_dir() else {})


class AdapterRegistry:
    """Adapters known to the app: rows in the store's `adapters` table + folders under `root`."""

    def __init__(self, store: Store, root: str | Path | None = None) -> None:
        self.store = store
        self.root = adapters_dir(root)

    def list(self) -> list[AdapterInfo]:
        from sqlalchemy import select

        from core.store.models import Adapter

        with self.store.session() as s:
            rows = list(s.scalars(select(Adapter).order_by(Adapter.created_at.desc(), Adapter.id.desc())))
            return [_info(r, self.root) for r in rows]

    def get(self, name: str) -> AdapterInfo:
        from sqlalchemy import select

        from core.store.models import Adapter

        with self.store.session() as s:
            row = s.scalars(select(Adapter).where(Adapter.name == name)).first()
            if row is None:
                raise AdapterNotFound(f"no adapter named {name!r}")
            return _info(row, self.root)

    def unique_name(self, name: str) -> str:
        base = safe_name(name)
        taken = {a.name for a in self.list()} | RESERVED_NAMES
        if base not in taken and not (self.root / base).exists():
            return base
        for i in range(2, 10_000):
            cand = f"{base[:95]}-{i}"
            if cand not in taken and not (self.root / cand).exists():
                return cand
        raise AdapterError(f"too many adapters named {base!r}")

    def add(self, src: str | Path, name: str, *, base_model: str | None = None, training_job_id: int | None = None,
            metrics: dict[str, Any] | None = None, move: bool = False) -> AdapterInfo:
        """Check `src`, copy (or move) it to `root/<name>` and register it; returns the new entry."""
        from core.store.models import Adapter

        config = validate_adapter_dir(src)
        name = self.unique_name(name)
        dest = self.root / name
        tmp = self.root / f".{name}.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            if move:
                shutil.move(str(src), tmp)
            else:
                shutil.copytree(src, tmp)
            os.replace(tmp, dest)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise AdapterError(f"cannot write the adapter to {dest}: {exc}") from exc
        card = read_card(dest)
        base = base_model or card.get("base_model") or config.get("base_model_name_or_path") or "unknown"
        with self.store.session() as s:
            s.add(Adapter(name=name, path=name, base_model=str(base)[:300], training_job_id=training_job_id,
                          metrics=metrics if metrics is not None else dict(card.get("metrics", {}))))
        log.info("registered adapter %s (%s)", name, dest)
        return self.get(name)

    def remove(self, name: str, delete_files: bool = True) -> None:
        from sqlalchemy import delete

        from core.store.models import Adapter

        info = self.get(name)
        with self.store.session() as s:
            s.execute(delete(Adapter).where(Adapter.name == name))
        if delete_files and info.path.is_dir() and info.path.resolve().is_relative_to(self.root):
            shutil.rmtree(info.path, ignore_errors=True)

    def update_metrics(self, name: str, metrics: dict[str, Any]) -> None:
        from sqlalchemy import select

        from core.store.models import Adapter

        with self.store.session() as s:
            row = s.scalars(select(Adapter).where(Adapter.name == name)).first()
            if row is None:
                raise AdapterNotFound(f"no adapter named {name!r}")
            row.metrics = {**(row.metrics or {}), **metrics}

    # ---- export / import ----------------------------------------------------------------------------
    def export(self, name: str, dest: str | Path) -> Path:
        """Copy the adapter folder to `dest` (a folder; `.zip` suffix writes a zip archive)."""
        info = self.get(name)
        validate_adapter_dir(info.path)
        dest = Path(dest)
        if dest.suffix.lower() == ".zip":
            with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
                for f in sorted(info.path.iterdir()):
                    z.write(f, arcname=f"{info.name}/{f.name}")
            return dest
        if dest.exists():
            raise AdapterError(f"{dest} already exists")
        shutil.copytree(info.path, dest)
        return dest

    def import_(self, src: str | Path, name: str | None = None) -> AdapterInfo:
        """Register an adapter from a folder or a `.zip` of one (checked before anything is kept)."""
        src = Path(src)
        if src.is_file() and src.suffix.lower() == ".zip":
            with tempfile.TemporaryDirectory(prefix="adapter-import-") as tmp:
                folder = _unzip_adapter(src, Path(tmp))
                return self.add(folder, name or folder.name)
        if not src.exists():
            raise AdapterError(f"{src} does not exist")
        return self.add(src, name or src.name)


def _unzip_adapter(archive: Path, into: Path) -> Path:
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


# ---- activation on a loaded model -------------------------------------------------------------------
def _model_of(loaded: Any) -> Any:
    return getattr(loaded, "model", loaded) if not hasattr(loaded, "load_adapter") else loaded


def activate_adapter(loaded: Any, adapter: AdapterInfo | str | Path, name: str | None = None) -> str:
    """Load (once) and switch to an adapter on an already loaded model; returns the adapter name used.

    `loaded` is a `core.model.loader.LoadedModel` or a transformers model. Works for fp32, bf16,
    int8-head and nf4 precisions; precisions that replace the language model's linear layers
    (int8-weight, int8-dynamic) cannot take LoRA and raise `AdapterError`.
    """
    model = _model_of(loaded)
    if isinstance(adapter, AdapterInfo):
        path, name = adapter.path, name or adapter.name
    else:
        path = Path(adapter)
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
            with _quiet_transformers():  # its load report lists every base weight as "missing"
                model.load_adapter(str(path), adapter_name=name)
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

    from core.training.config import LORA_MODULES

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
