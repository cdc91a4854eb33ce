"""An advisory lock file per episode folder, held while the episode is being recorded.

The operating system releases it when the process dies (even by kill -9), so crash recovery can
tell an abandoned episode (lock free) from one that another live process is still recording.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_NAME = ".recording.lock"


class EpisodeLock:
    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False if another process (or open file) holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self, remove: bool = True) -> None:
        if self._fd is None:
            return
        if remove:
            try:
                self.path.unlink()
            except OSError:
                pass
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


def is_abandoned(folder: Path) -> bool:
    """True when no live process holds the folder's lock (or there is no folder at all)."""
    if not folder.is_dir():
        return True
    lock = EpisodeLock(folder)
    if lock.acquire():
        lock.release(remove=False)
        return True
    return False
