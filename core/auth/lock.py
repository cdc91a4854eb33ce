"""The control lock: one operator at a time drives the robot and records.

- `acquire(user)`: take the lock if it is free (or already yours).
- `touch(user)`: the holder's page is alive (every teleop event and heartbeat of that user's page);
  a holder silent for `ttl_s` loses the lock (`expire_stale()`, called by a reaper thread and on every
  read), which is how a closed tab or a dead laptop gives control back.
- `request(user)`: ask the holder for control; the request is shown beside the owner.
  `hand_over(holder, to)`: the holder passes control on. `takeover(user)`: allowed at once for an
  admin (`force=True`), or for a requester whose request has waited `takeover_after_s` unanswered.
- `set_floor(holder, open)`: the operator lets visitors send language commands; the floor closes
  whenever the lock changes hands.

The lock knows names only; roles are checked by `core.auth.service.AuthService`. Every change is
reported to `on_event` (outside the internal lock) for the audit log and for stopping an autonomous
run that lost its operator.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.auth.errors import ControlRequired

log = logging.getLogger(__name__)

Clock = Callable[[], float]


@dataclass(frozen=True)
class LockEvent:
    kind: str  # take | release | expire | request | hand_over | takeover | floor_open | floor_close
    user: str
    previous: str | None = None  # the holder before (takeover, hand_over, expire)
    detail: str = ""


@dataclass(frozen=True)
class PendingRequest:
    user: str
    waited_s: float


@dataclass(frozen=True)
class LockState:
    holder: str | None
    held_for_s: float | None
    last_seen_s: float | None  # seconds since the holder's page was last heard from
    floor_open: bool
    requests: tuple[PendingRequest, ...]
    ttl_s: float
    takeover_after_s: float

    @property
    def free(self) -> bool:
        return self.holder is None

    def describe(self) -> str:
        if self.holder is None:
            return "free"
        out = f"{self.holder} (for {self.held_for_s:.0f} s)" if self.held_for_s is not None else self.holder
        if self.floor_open:
            out += ", floor open to visitors"
        return out


class ControlLock:
    def __init__(self, ttl_s: float = 8.0, takeover_after_s: float = 15.0, clock: Clock = time.monotonic,
                 on_event: Callable[[LockEvent], None] | None = None) -> None:
        if not ttl_s > 0 or not takeover_after_s >= 0:
            raise ValueError("ttl_s must be > 0 and takeover_after_s >= 0")
        self.ttl_s = float(ttl_s)
        self.takeover_after_s = float(takeover_after_s)
        self.clock = clock
        self.on_event = on_event
        self._lock = threading.Lock()
        self._holder: str | None = None
        self._since = 0.0
        self._seen = 0.0
        self._floor = False
        self._requests: dict[str, float] = {}

    # ---- internals (call with self._lock held) ------------------------------------------------------
    def _expire(self, now: float, events: list[LockEvent]) -> None:
        if self._holder is not None and now - self._seen > self.ttl_s:
            events.append(LockEvent("expire", self._holder, self._holder,
                                    f"page silent for {now - self._seen:.1f} s"))
            self._set(None, now, events)

    def _set(self, user: str | None, now: float, events: list[LockEvent]) -> None:
        if self._floor:
            events.append(LockEvent("floor_close", self._holder or "", self._holder, "control changed hands"))
        self._holder, self._since, self._seen, self._floor = user, now, now, False
        if user is not None:
            self._requests.pop(user, None)
        self._requests = {u: t for u, t in self._requests.items() if u != user}

    def _emit(self, events: list[LockEvent]) -> None:
        for ev in events:
            log.info("control lock: %s %s%s", ev.kind, ev.user, f" ({ev.detail})" if ev.detail else "")
            if self.on_event is not None:
                try:
                    self.on_event(ev)
                except Exception:  # a listener must not break the lock
                    log.exception("control lock listener failed")

    def _run(self, fn: Callable[[float, list[LockEvent]], object]) -> object:
        events: list[LockEvent] = []
        try:
            with self._lock:
                now = self.clock()
                self._expire(now, events)
                return fn(now, events)
        finally:
            self._emit(events)

    # ---- reading ------------------------------------------------------------------------------------
    def state(self) -> LockState:
        def read(now: float, _events: list[LockEvent]) -> LockState:
            held = self._holder is not None
            return LockState(
                holder=self._holder,
                held_for_s=now - self._since if held else None,
                last_seen_s=now - self._seen if held else None,
                floor_open=self._floor,
                requests=tuple(PendingRequest(u, now - t) for u, t in sorted(self._requests.items(), key=lambda x: x[1])),
                ttl_s=self.ttl_s,
                takeover_after_s=self.takeover_after_s,
            )

        return self._run(read)  # type: ignore[return-value]

    @property
    def holder(self) -> str | None:
        return self.state().holder

    def expire_stale(self) -> None:
        self._run(lambda now, events: None)

    # ---- changing -----------------------------------------------------------------------------------
    def acquire(self, user: str) -> bool:
        """Take the lock if free (or refresh it if `user` holds it). True if `user` holds it now."""

        def do(now: float, events: list[LockEvent]) -> bool:
            if self._holder == user:
                self._seen = now
                return True
            if self._holder is not None:
                return False
            self._set(user, now, events)
            events.append(LockEvent("take", user))
            return True

        return bool(self._run(do))

    def touch(self, user: str) -> bool:
        """A sign of life from `user`'s page; True if `user` holds the lock."""

        def do(now: float, _events: list[LockEvent]) -> bool:
            if self._holder == user:
                self._seen = now
                return True
            return False

        return bool(self._run(do))

    def release(self, user: str, reason: str = "released") -> bool:
        """Give the lock back; False if `user` did not hold it."""

        def do(now: float, events: list[LockEvent]) -> bool:
            if self._holder != user:
                return False
            self._set(None, now, events)
            events.append(LockEvent("release", user, user, reason))
            return True

        return bool(self._run(do))

    def request(self, user: str) -> LockState:
        """Ask for the lock: granted at once if free, else queued for the holder to see."""

        def do(now: float, events: list[LockEvent]) -> None:
            if self._holder is None:
                self._set(user, now, events)
                events.append(LockEvent("take", user))
            elif self._holder != user and user not in self._requests:
                self._requests[user] = now
                events.append(LockEvent("request", user, self._holder))

        self._run(do)
        return self.state()

    def cancel_request(self, user: str) -> None:
        self._run(lambda now, events: self._requests.pop(user, None))

    def hand_over(self, holder: str, to: str | None = None) -> str:
        """The holder passes control to `to` (default: the oldest request). Returns the new holder."""

        def do(now: float, events: list[LockEvent]) -> str:
            if self._holder != holder:
                raise ControlRequired(f"{holder} does not hold control")
            target = to or (min(self._requests, key=self._requests.get) if self._requests else None)
            if target is None:
                raise ControlRequired("nobody has asked for control")
            if target == holder:
                return holder
            self._set(target, now, events)
            events.append(LockEvent("hand_over", target, holder))
            return target

        return str(self._run(do))

    def takeover(self, user: str, force: bool = False) -> None:
        """Take the lock from its holder: at once with `force`, else after an unanswered request."""

        def do(now: float, events: list[LockEvent]) -> None:
            if self._holder in (None, user):
                if self._holder is None:
                    self._set(user, now, events)
                    events.append(LockEvent("take", user))
                else:
                    self._seen = now
                return
            asked = self._requests.get(user)
            if not force:
                if asked is None:
                    raise ControlRequired(f"{self._holder} has control: request it first; you can take over if "
                                          f"they do not answer within {self.takeover_after_s:.0f} s")
                if now - asked < self.takeover_after_s:
                    raise ControlRequired(f"{self._holder} has control: you can take over in "
                                          f"{self.takeover_after_s - (now - asked):.0f} s if they do not answer")
            previous = self._holder
            self._set(user, now, events)
            events.append(LockEvent("takeover", user, previous, "forced" if force else "request unanswered"))

        self._run(do)

    def set_floor(self, holder: str, open_: bool) -> None:
        """The holder opens (or closes) the floor: visitors may send language commands while it is open."""

        def do(now: float, events: list[LockEvent]) -> None:
            if self._holder != holder:
                raise ControlRequired("only the operator (the holder of the control lock) opens the floor")
            if self._floor != open_:
                self._floor = open_
                events.append(LockEvent("floor_open" if open_ else "floor_close", holder))

        self._run(do)
