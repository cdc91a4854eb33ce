"""The app's adapter registry: rows in the store's `adapters` table + folders under the adapters folder,
with export and import (a folder or a zip).

Every folder is checked against the adapter folder format (`core.model.adapter_files`) before anything is
kept, and nothing is written to the registry until the copy is complete and checked. Activating a
registered adapter on the running model is `core.training.service.TrainingService.activate_adapter`, which
hands it to `core.policy.service.ModelService.activate_adapter`.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core import settings
from core.model.adapter_files import read_card, safe_name, unzip_adapter, validate_adapter_dir
from core.model.errors import AdapterError
from core.policy.config import PolicyInputs
from core.policy.shipped import SIDE_NAMES
from core.training.errors import AdapterNotFound

if TYPE_CHECKING:
    from core.store import Store

log = logging.getLogger(__name__)

DEFAULT_ADAPTERS_DIR = Path("adapters")
# names of side adapters the app loads on the model itself (`core.policy.shipped.SIDE_NAMES`: the restater,
# the scene reader): a user adapter of the same name would be mistaken for them on the model, so registering
# one gets a numbered name instead
RESERVED_NAMES = SIDE_NAMES


def adapters_dir(path: str | Path | None = None) -> Path:
    """The adapters folder: `path`, `$VLM2VLA_ADAPTERS_DIR`, or `./adapters`; created on demand."""
    root = Path(path or settings.current().adapters_dir or DEFAULT_ADAPTERS_DIR).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root


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
                folder = unzip_adapter(src, Path(tmp))
                return self.add(folder, name or folder.name)
        if not src.exists():
            raise AdapterError(f"{src} does not exist")
        return self.add(src, name or src.name)


