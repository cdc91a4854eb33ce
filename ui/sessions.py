"""Sign-in sessions: when each login token was issued and last used, and when it ends.

Gradio's login keeps only a token -> user name map and never forgets a token. The web layer records each
token it sees issued (`add`) and checks it on every request (`check`): a session ends `max_age_s` after
sign-in, or after `idle_s` without any request from the page (an open page polls every second, so this
is a closed tab or a sleeping laptop). A token this registry never saw issued is not accepted.

Settings: `$VLM2VLA_SESSION_MAX_S` (default 12 h) and `$VLM2VLA_SESSION_IDLE_S` (default 2 h).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from core import settings

log = logging.getLogger(__name__)



def _span(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    return f"{seconds / 60:g} min" if seconds >= 120 else f"{seconds:g} s"


@dataclass
class _Session:
    user: str
    issued: float
    seen: float


class SessionRegistry:
    def __init__(self, max_age_s: float | None = None, idle_s: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        env = settings.current()
        self.max_age_s = max_age_s or env.session_max_s
        self.idle_s = idle_s or env.session_idle_s
        self.clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}

    def add(self, token: str, user: str) -> None:
        now = self.clock()
        with self._lock:
            self._sessions[token] = _Session(user, now, now)
            for t in [t for t, s in self._sessions.items() if self._expired(s, now)]:
                del self._sessions[t]

    def check(self, token: str, user: str, *, touch: bool = True) -> str | None:
        """Why the session of `token` (Gradio says: `user`) is over, or None while it lasts (then, with
        `touch`, this request counts as activity)."""
        now = self.clock()
        with self._lock:
            s = self._sessions.get(token)
            if s is None or s.user != user:
                return "unknown sign-in"
            reason = self._expired(s, now)
            if reason:
                del self._sessions[token]
                return reason
            if touch:
                s.seen = now
        return None

    def forget(self, token: str) -> None:
        with self._lock:
            self._sessions.pop(token, None)

    def _expired(self, s: _Session, now: float) -> str | None:
        if now - s.issued >= self.max_age_s:
            return f"signed in more than {_span(self.max_age_s)} ago"
        if now - s.seen >= self.idle_s:
            return f"no request for {_span(self.idle_s)}"
        return None

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)
