"""Which files the page may fetch through Gradio's file routes (`/gradio_api/file=PATH`).

Gradio serves any file under `allowed_paths` and its own temp/cache folders, and its block list compares
lower-cased paths while the allow list compares resolved ones: with a capital letter in the recordings
path, `/gradio_api/file=/proc/self/fd/3` resolved to the open SQLite database and was served (password
hashes; and the server process opening the database file by other means dropped SQLite's locks, which
later cost the live WAL). This check runs before Gradio sees the request and allows only what the page
needs: media files (videos, images) whose *resolved* path lies inside one of `roots` (the recordings
folder, Gradio's upload and cache folders). It refuses:

- anything under /proc, /dev or /sys, whatever it resolves to;
- URLs (Gradio would fetch them from the server);
- a path resolving outside the roots (`..`, symlinks leading out), or to anything but a regular file;
- hidden files or folders below a root (`.recording.lock`, a `.store`), and suffixes not in `MEDIA`;
- the database files themselves, compared by device and inode (a hard link or a differently spelled
  path to them is still them).

Paths are compared exactly after `os.path.realpath`; a differently cased spelling of an allowed path on a
case-insensitive disk is refused, never widened. Nothing here opens a file (only stat). Pure: no web imports.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

MEDIA = frozenset({".mp4", ".m4v", ".webm", ".png", ".jpg", ".jpeg", ".webp", ".gif"})
SYSTEM_ROOTS = ("/proc", "/dev", "/sys")


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


@dataclass(frozen=True)
class FilePolicy:
    """`roots`: folders whose media may be served; `protected()`: files never served (the database's)."""

    roots: tuple[str, ...]
    protected: Callable[[], Iterable[str]] = lambda: ()

    @classmethod
    def of(cls, roots: Iterable[str | Path], protected: Callable[[], Iterable[str]] = lambda: ()) -> FilePolicy:
        return cls(tuple(os.path.realpath(os.fspath(r)) for r in roots), protected)

    def refusal(self, requested: str) -> str | None:
        """Why `requested` (the path after `file=`) may not be served, or None if it may."""
        raw = (requested or "").strip()
        if not raw:
            return "no file named"
        if "://" in raw or raw.lower().startswith(("http:", "https:", "//")):
            return "remote URLs are not fetched"
        if "\x00" in raw:
            return "invalid path"
        absolute = raw if os.path.isabs(raw) else os.path.join(os.getcwd(), raw)
        resolved = os.path.realpath(absolute)
        for path in (os.path.normpath(absolute), resolved):
            if any(_under(path, sysroot) for sysroot in SYSTEM_ROOTS):
                return "system files are never served"
        root = next((r for r in self.roots if _under(resolved, r)), None)
        if root is None:
            return "only the episodes' videos and images are served"
        rel = os.path.relpath(resolved, root)
        if any(part.startswith(".") for part in rel.split(os.sep)):
            return "hidden files are not served"
        if os.path.splitext(resolved)[1].lower() not in MEDIA:
            return "only videos and images are served"
        try:
            st = os.stat(resolved)
        except OSError:
            return "no such file"
        if not stat.S_ISREG(st.st_mode):
            return "not a regular file"
        ident = (st.st_dev, st.st_ino)
        if any(_identity(p) == ident for p in self.protected()):
            return "the database is never served"
        return None
