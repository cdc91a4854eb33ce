"""The default SQLite database lives in its own folder, never in the served recordings folder.

Earlier versions kept `studio.db` (plus `-wal` / `-shm`) inside the recordings folder, which the web
page serves episode videos from. `prepare_default_location(config)` (called when the store opens)
creates the database folder (`<recordings>-db/`, owner-only) and, when a database is still at the old
place and none at the new one, moves it there safely:

1. take the folder's move lock (another process starting at the same moment waits, then finds it done);
2. switch the old database out of WAL mode (`PRAGMA journal_mode=DELETE`): SQLite allows that only when
   no other connection has it open, and it checkpoints the WAL into the main file. If another program
   (an app still running an older version, a `sqlite3` shell) has it open, nothing is moved and the
   error says so;
3. copy it with SQLite's online backup into `studio.db.moving` next to the new place, check the copy
   (`PRAGMA integrity_check`), then rename it to `studio.db`;
4. move the old files out of the recordings folder into `<recordings>-db/moved-<UTC time>/` as a backup.

SQLite files are opened here only through SQLite, never with `open()`: a process that opens and closes
a database file by other means drops SQLite's POSIX locks on it, after which another process may delete
the live WAL (that is how serving the file once lost data).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from core.store.config import StoreConfig, legacy_db_path
from core.store.errors import StoreConfigError

log = logging.getLogger(__name__)

SIDE_FILES = ("-wal", "-shm", "-journal")
LOCK_NAME = ".move.lock"


def prepare_default_location(config: StoreConfig) -> Path:
    """Create the default database's folder (mode 0700) and move a database from the old place into it."""
    new = config.db_path
    try:
        new.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreConfigError(f"cannot create the database folder {new.parent}: {exc}; choose another place "
                               "with --db-url sqlite:////absolute/path/studio.db") from exc
    old = legacy_db_path(config.recordings_dir)
    if old.exists():
        with _move_lock(new.parent):
            if old.exists():
                move_database(old, new)
    return new


def restrict_permissions(db: Path) -> None:
    """Owner-only access to the database files we created (they hold password hashes)."""
    for path in (db, *(Path(f"{db}{s}") for s in SIDE_FILES)):
        with contextlib.suppress(OSError):
            if path.exists() and path.stat().st_uid == os.geteuid():
                path.chmod(0o600)


@contextlib.contextmanager
def _move_lock(folder: Path) -> Iterator[None]:
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def move_database(old: Path, new: Path) -> Path:
    """Move the SQLite database `old` (with its WAL) to `new`; returns the backup folder of the old files.
    Raises StoreConfigError and moves nothing if `new` exists or `old` is in use or damaged."""
    if new.exists():
        raise StoreConfigError(
            f"there are two databases: {old} (the old place, inside the served recordings folder) and {new}. "
            f"Keep one: move {old} out of the recordings folder (or delete it if {new} is the one in use).")
    tmp = new.with_name(new.name + ".moving")
    tmp.unlink(missing_ok=True)
    src = sqlite3.connect(str(old), timeout=10)
    try:
        in_use = (f"the database {old} is open in another program (an app or tool still running?): stop it, "
                  "then start again so the database can move out of the recordings folder")
        try:
            mode = src.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        except sqlite3.OperationalError as exc:
            raise StoreConfigError(f"{in_use} ({exc})") from exc
        except sqlite3.DatabaseError as exc:
            raise StoreConfigError(f"cannot move the database {old}: {exc}") from exc
        if str(mode).lower() != "delete":
            raise StoreConfigError(in_use)
        dst = sqlite3.connect(str(tmp))
        try:
            src.backup(dst)
            check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            dst.close()
    finally:
        src.close()
    if check != "ok":
        tmp.unlink(missing_ok=True)
        raise StoreConfigError(f"the database {old} failed its integrity check ({check}); it was not moved")
    os.chmod(tmp, 0o600)
    os.replace(tmp, new)
    backup = new.parent / time.strftime("moved-%Y%m%d-%H%M%S", time.gmtime())
    backup.mkdir(mode=0o700, exist_ok=True)
    for path in (old, *(Path(f"{old}{s}") for s in SIDE_FILES)):
        if path.exists():
            try:
                shutil.move(str(path), str(backup / path.name))
                (backup / path.name).chmod(0o600)
            except OSError as exc:  # a read-only recordings folder: the copy is in place, say what is left
                log.error("the database moved to %s, but its old file %s could not be moved away: %s. Delete "
                          "it by hand: the app refuses to serve it, but it should not stay in the recordings "
                          "folder.", new, path, exc)
    log.warning("moved the database out of the served recordings folder: %s -> %s (old files kept in %s)",
                old, new, backup)
    return backup
