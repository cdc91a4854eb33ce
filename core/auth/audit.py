"""The audit log: who recorded, deleted, trained, switched adapters, took control, pressed e-stop.

`AuditLog.record()` never blocks the caller (a web request, the control-lock reaper): entries go to a
queue that a background thread writes in small batches with `write_with_retry`; a batch that still
cannot be written (database locked for long) stays queued and is tried again, so entries are not lost
while the process lives. `flush()` waits until everything queued so far is written.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core.store import Store
from core.store.models import AuditEntry, utcnow
from core.store.retry import write_with_retry
from core.store.text import clean_json, strip_controls

log = logging.getLogger(__name__)

MAX_QUEUED = 10_000


@dataclass(frozen=True)
class AuditRecord:
    action: str
    user_name: str | None = None
    role: str | None = None
    user_id: int | None = None
    target: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=utcnow)
    id: int | None = None

    def line(self) -> str:
        who = self.user_name or "(open lab)"
        role = f" ({self.role})" if self.role else ""
        target = f" {self.target}" if self.target else ""
        extra = " " + ", ".join(f"{k}={v}" for k, v in self.detail.items()) if self.detail else ""
        return f"{self.at:%Y-%m-%d %H:%M:%S} {who}{role} {self.action}{target}{extra}"


def _row(r: AuditRecord) -> dict[str, Any]:
    return {"at": r.at, "user_id": r.user_id, "user_name": (r.user_name or None) and r.user_name[:120],
            "role": r.role, "action": r.action[:40], "target": (r.target or None) and r.target[:300],
            "detail": dict(r.detail)}


class AuditLog:
    def __init__(self, store: Store, *, background: bool = True, retry_pause_s: float = 1.0) -> None:
        self.store = store
        self.background = background
        self.retry_pause_s = retry_pause_s
        self._queue: deque[AuditRecord] = deque()
        self._cond = threading.Condition()
        self._writing = 0
        self._stop = False
        self.dropped = 0
        self.last_error: str | None = None
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
            self._thread.start()

    # ---- writing ------------------------------------------------------------------------------------
    def record(self, action: str, user_name: str | None = None, role: str | None = None, *,
               user_id: int | None = None, target: str | None = None, **detail: Any) -> AuditRecord:
        """Queue one entry (written in the background); returns it."""
        entry = AuditRecord(action, user_name and strip_controls(user_name, multiline=False), role, user_id,
                            target and strip_controls(target, multiline=False), clean_json(_jsonable(detail)))
        log.info("audit: %s", entry.line())
        if not self.background:
            self._write([entry])
            return entry
        with self._cond:
            if len(self._queue) >= MAX_QUEUED:
                self._queue.popleft()
                self.dropped += 1
                log.error("audit queue full (database unavailable for long): oldest entry dropped")
            self._queue.append(entry)
            self._cond.notify_all()
        return entry

    def _write(self, batch: list[AuditRecord]) -> None:
        rows = [_row(r) for r in batch]

        def write(s: Session) -> None:
            s.execute(insert(AuditEntry), rows)

        write_with_retry(self.store, write, what="audit log")

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stop:
                    self._cond.wait()
                if not self._queue and self._stop:
                    return
                batch = list(self._queue)
                self._queue.clear()
                self._writing = len(batch)
            try:
                self._write(batch)
                self.last_error = None
            except SQLAlchemyError as exc:
                self.last_error = f"audit entries not written yet (will retry): {exc}"
                log.warning(self.last_error)
                with self._cond:
                    self._queue.extendleft(reversed(batch))
                    self._writing = 0
                    if self._stop:
                        return
                    self._cond.wait(self.retry_pause_s)
                continue
            with self._cond:
                self._writing = 0
                self._cond.notify_all()

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + self._writing

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every entry queued so far is written; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._writing:
                left = deadline - time.monotonic()
                if left <= 0 or self._thread is None or not self._thread.is_alive():
                    return False
                self._cond.wait(min(left, 0.1))
        return True

    def close(self, timeout: float = 10.0) -> None:
        self.flush(timeout)
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        if self._queue:
            log.error("%d audit entries could not be written: %s", len(self._queue), self.last_error)

    # ---- reading ------------------------------------------------------------------------------------
    def query(self, limit: int = 100, action: str | None = None, user: str | None = None) -> list[AuditRecord]:
        """Newest first. `action` matches exactly or as a prefix ending in '.' (e.g. 'control.')."""
        q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(max(1, min(int(limit), 10_000)))
        if action:
            q = q.where(AuditEntry.action.startswith(action) if action.endswith(".") else AuditEntry.action == action)
        if user:
            q = q.where(AuditEntry.user_name == user)
        with self.store.session() as s:
            return [AuditRecord(r.action, r.user_name, r.role, r.user_id, r.target, dict(r.detail or {}), r.at, r.id)
                    for r in s.scalars(q)]


def _jsonable(detail: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in detail.items():
        if v is None or isinstance(v, (bool, int, float, str)):
            out[k] = v
        elif isinstance(v, (list, tuple)):
            out[k] = [x if isinstance(x, (bool, int, float, str)) or x is None else str(x) for x in v][:200]
        else:
            out[k] = str(v)
    return out
