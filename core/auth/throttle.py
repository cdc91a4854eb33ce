"""Password guessing limits: per source address, and per account from each source, race-free.

    throttle = LoginThrottle()
    ticket = throttle.begin("ann", "10.0.0.7")     # LoginRefused(retry_after_s) when over a limit
    ok = check_the_password(...)
    throttle.end(ticket, ok)

Two budgets, both checked and reserved under one lock *before* the password is checked, so 100 parallel
attempts cannot all pass the check before the first failure is counted: attempts in flight count as
failures until they end, and an attempt that finds the rest of a budget held by attempts in flight waits
for them (up to `max_wait_s`) and is then judged on their outcome. Several people signing in at once
from one address are only served one after the other; a flood of guesses is refused once its first
failures are counted. Once a budget is spent and its block has passed, attempts go one at a time.

- **per source** (the client address): `source_limit` failures (any accounts) within `window_s`, then
  the source is refused for `source_block_s`, doubling with each further failure up to `max_block_s`;
- **per account from one source**: `account_limit` failures, then that pair waits `account_block_s`,
  doubling likewise. Other sources are not affected, so someone guessing from another machine does not
  lock the real user out; a success from a source clears its pair.

Failures are forgotten `window_s` after the last one. With no source (a test, a tool) all attempts share
the source `None`. Pure: no store or web imports.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


class LoginRefused(Exception):
    """Too many failed sign-ins; `retry_after_s` says when the next attempt is checked."""

    def __init__(self, message: str, retry_after_s: float, first: bool) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.first = first  # the first refusal of this block (worth one audit entry, not one per attempt)


@dataclass
class _Budget:
    fails: int = 0
    inflight: int = 0
    last_fail: float = 0.0
    blocked_until: float = 0.0
    refusals: int = 0


@dataclass(frozen=True)
class Ticket:
    account: str
    source: str | None


class LoginThrottle:
    def __init__(self, *, source_limit: int = 20, account_limit: int = 5, window_s: float = 900.0,
                 source_block_s: float = 60.0, account_block_s: float = 30.0, max_block_s: float = 900.0,
                 max_wait_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.source_limit, self.account_limit = source_limit, account_limit
        self.window_s, self.max_block_s = window_s, max_block_s
        self.source_block_s, self.account_block_s = source_block_s, account_block_s
        self.clock = clock
        self.max_wait_s = max_wait_s
        self._lock = threading.Condition()
        self._sources: dict[str | None, _Budget] = {}
        self._pairs: dict[tuple[str, str | None], _Budget] = {}

    def begin(self, account: str, source: str | None) -> Ticket:
        """Reserve one attempt (raises LoginRefused, reserving nothing, when a budget is spent)."""
        waited_until = time.monotonic() + self.max_wait_s
        with self._lock:
            while True:
                now = self.clock()
                self._forget(now)
                src = self._sources.setdefault(source, _Budget())
                pair = self._pairs.setdefault((account, source), _Budget())
                budgets = ((src, self.source_limit, "from this address"),
                           (pair, self.account_limit, "for this account from this address"))
                held = any(b.inflight and b.fails + b.inflight >= limit for b, limit, _ in budgets)
                blocked = [(b, b.blocked_until - now, what) for b, _, what in budgets if b.blocked_until > now]
                if blocked or not held:
                    break
                left = waited_until - time.monotonic()
                if left <= 0:
                    blocked = [(b, 1.0, what) for b, limit, what in budgets if b.fails + b.inflight >= limit]
                    break
                self._lock.wait(min(left, 1.0))  # attempts in flight hold the rest of the budget: their outcome decides
            if blocked:
                budget, wait, what = blocked[0]
                budget.refusals += 1
                raise LoginRefused(f"too many failed sign-ins {what}; try again in {wait:.0f} s", wait,
                                   budget.refusals == 1)
            src.inflight += 1
            pair.inflight += 1
        return Ticket(account, source)

    def end(self, ticket: Ticket, ok: bool) -> None:
        """The attempt's outcome: a failure counts against both budgets, a success clears its pair."""
        now = self.clock()
        with self._lock:
            src = self._sources.setdefault(ticket.source, _Budget())
            pair = self._pairs.setdefault((ticket.account, ticket.source), _Budget())
            src.inflight = max(0, src.inflight - 1)
            pair.inflight = max(0, pair.inflight - 1)
            self._lock.notify_all()
            if ok:
                if not pair.inflight:
                    self._pairs.pop((ticket.account, ticket.source), None)
                else:
                    pair.fails = 0
                return
            for budget, limit, base in ((src, self.source_limit, self.source_block_s),
                                        (pair, self.account_limit, self.account_block_s)):
                budget.fails += 1
                budget.last_fail = now
                if budget.fails >= limit:
                    block = min(self.max_block_s, base * 2 ** (budget.fails - limit))
                    budget.blocked_until = now + block
                    budget.refusals = 0

    def _forget(self, now: float) -> None:
        for table in (self._sources, self._pairs):
            stale = [k for k, b in table.items() if not b.inflight and now - b.last_fail > self.window_s
                     and now >= b.blocked_until]
            for k in stale:
                del table[k]
