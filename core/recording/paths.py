"""Path and name checks: nothing we write or read may escape the folder it belongs to."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from core.recording.errors import UnsafePath

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_name(name: str, what: str = "name") -> str:
    """A single path component made of letters, digits, `_`, `-`, `.` (no `..`, no separators)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise UnsafePath(f"invalid {what} {name!r}: use letters, digits, '_', '-', '.' (max 64)")
    return name


def safe_join(root: Path, relative: str | Path) -> Path:
    """`root / relative`, refusing absolute paths, `..` and symlinks that resolve outside `root`."""
    rel = PurePosixPath(str(relative).replace("\\", "/"))
    if rel.is_absolute() or not rel.parts or any(p in ("..", "") for p in rel.parts):
        raise UnsafePath(f"path {str(relative)!r} is not a plain relative path")
    base = root.resolve()
    target = (base / Path(*rel.parts)).resolve()
    if target == base or not target.is_relative_to(base):
        raise UnsafePath(f"path {str(relative)!r} escapes {base}")
    return target


def resolve_export_dir(base: Path, name: str) -> Path:
    """A dataset folder `name` directly inside the chosen `base` folder."""
    return safe_join(base, check_name(name, "dataset name"))
