"""Retrying writes that lose a race for the database lock.

SQLite waits `busy_timeout` for a competing writer, then raises "database is locked" (PostgreSQL
raises a serialization or deadlock error). `write_with_retry(store, fn)` runs `fn(session)` in a fresh
transaction per attempt and retries such transient failures with a growing pause; anything else is
raised at once. `fn` must be safe to run again (it only sees a rolled-back session between tries).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from core.store.db import Store

log = logging.getLogger(__name__)

T = TypeVar("T")

TRANSIENT_MARKERS = (
    "database is locked",
    "database table is locked",
    "database is busy",
    "could not serialize access",
    "deadlock detected",
    "could not obtain lock",
)


def is_transient(exc: BaseException) -> bool:
    """True for lock/busy/serialization failures that succeed when tried again."""
    if not isinstance(exc, (OperationalError, DBAPIError)):
        return False
    text = str(getattr(exc, "orig", None) or exc).lower()
    return any(m in text for m in TRANSIENT_MARKERS)


def write_with_retry(
    store: Store,
    fn: Callable[[Session], T],
    *,
    attempts: int = 6,
    first_pause_s: float = 0.05,
    max_pause_s: float = 2.0,
    what: str = "write",
) -> T:
    """Run `fn(session)` in its own transaction, retrying transient lock errors up to `attempts` times."""
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")
    pause = first_pause_s
    for attempt in range(1, attempts + 1):
        try:
            with store.session() as s:
                return fn(s)
        except (OperationalError, DBAPIError) as exc:
            if not is_transient(exc) or attempt == attempts:
                raise
            log.warning("%s: database busy (attempt %d of %d), retrying in %.2f s: %s",
                        what, attempt, attempts, pause, getattr(exc, "orig", exc))
            time.sleep(pause)
            pause = min(max_pause_s, pause * 2)
    raise AssertionError("unreachable")  # pragma: no cover
