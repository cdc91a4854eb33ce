"""What the web layer asks: who is this, may they do that, who holds control, and write it down.

    auth = AuthService(store)             # built by core.context.App
    auth.start()                          # reaper: expires a silent holder, notices accounts appearing
    auth.open_lab                         # True while no account exists: no login, everyone may do everything
    auth.authorize("bob", Action.RECORD)  # -> Principal, or AccessDenied / NotSignedIn / ControlRequired
    auth.take_control("bob"); auth.release_control("bob"); auth.control_state()
    auth.audit(principal, "episode.delete", target="episodes 3, 4")

Open lab: with no account in the store, every request is the anonymous `OPEN_LAB` principal (an admin)
and the control lock is not enforced: `python app.py` on a single-user machine works as before. Once
an account exists (`python -m core.auth create-user NAME --role admin`), the web layer requires a
login and every rule here applies; the switch happens while the app runs (within `refresh_s`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from core.auth import users
from core.auth.audit import AuditLog
from core.auth.errors import AccessDenied, ControlRequired, NotSignedIn
from core.auth.lock import ControlLock, LockEvent, LockState
from core.auth.roles import NEEDS_CONTROL, Action, Role, allowed
from core.auth.throttle import LoginRefused, LoginThrottle
from core.store import Store

log = logging.getLogger(__name__)


@dataclass
class LoginAttempt:
    """What the web layer knows about a sign-in request (set around Gradio's /login; read by `gradio_auth`):
    the client's address, and afterwards why it was refused without checking the password, if it was."""

    source: str | None
    refused: LoginRefused | None = None


LOGIN_ATTEMPT: ContextVar[LoginAttempt | None] = ContextVar("vlm2vla_login_attempt", default=None)


@dataclass(frozen=True)
class Principal:
    """The user behind a request. `name` None is the open lab (no accounts: anyone, full rights)."""

    name: str | None
    role: Role
    user_id: int | None = None

    @property
    def open_lab(self) -> bool:
        return self.name is None

    @property
    def label(self) -> str:
        return "open lab" if self.name is None else f"{self.name} ({self.role.value})"


OPEN_LAB = Principal(None, Role.ADMIN)


class AuthService:
    def __init__(self, store: Store, *, lock: ControlLock | None = None, audit: AuditLog | None = None,
                 refresh_s: float = 2.0, clock: Callable[[], float] = time.monotonic,
                 throttle: LoginThrottle | None = None) -> None:
        self.store = store
        self.audit_log = audit or AuditLog(store)
        self.lock = lock or ControlLock()
        self.lock.on_event = self._on_lock_event
        self.refresh_s = refresh_s
        self.clock = clock
        self._cache_lock = threading.Lock()
        self._open_lab: tuple[float, bool] | None = None
        self._principals: dict[str, tuple[float, Principal | None]] = {}
        self.throttle = throttle or LoginThrottle(clock=clock)
        self._mode_listeners: list[Callable[[bool], None]] = []
        self._lock_listeners: list[Callable[[LockEvent], None]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- lifecycle ----------------------------------------------------------------------------------
    def start(self, period_s: float = 0.5) -> None:
        """Background reaper: expires a silent lock holder and notices the lab opening or closing."""
        if self._thread is not None:
            return
        users.dummy_hash()  # made now, so the first unknown name at the login page is not the fast one
        last = self.open_lab

        def run() -> None:
            nonlocal last
            while not self._stop.wait(period_s):
                try:
                    self.lock.expire_stale()
                    now = self.open_lab
                except SQLAlchemyError as exc:  # database busy: keep the last mode, try again next time
                    log.warning("auth refresh: %s", exc)
                    continue
                if now != last:
                    last = now
                    log.warning("%s", "no accounts left: the lab is open (no login)" if now
                                else "accounts exist: login is now required")
                    for fn in list(self._mode_listeners):
                        fn(now)

        self._thread = threading.Thread(target=run, name="auth-reaper", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self.audit_log.close()

    def on_mode_change(self, fn: Callable[[bool], None]) -> None:
        """`fn(open_lab)` after accounts appear (False) or the last one goes (True)."""
        self._mode_listeners.append(fn)

    def on_lock_event(self, fn: Callable[[LockEvent], None]) -> None:
        self._lock_listeners.append(fn)

    # ---- who ----------------------------------------------------------------------------------------
    @property
    def open_lab(self) -> bool:
        """True while no account exists (cached for `refresh_s`)."""
        now = self.clock()
        with self._cache_lock:
            cached = self._open_lab
        if cached is not None and now - cached[0] < self.refresh_s:
            return cached[1]
        value = users.count_accounts(self.store) == 0
        with self._cache_lock:
            self._open_lab = (now, value)
        return value

    def refresh(self) -> None:
        """Forget cached accounts (after creating or changing one in this process)."""
        with self._cache_lock:
            self._open_lab = None
            self._principals.clear()

    def principal(self, username: str | None) -> Principal | None:
        """The principal for a signed-in name (OPEN_LAB in the open lab); None if nobody usable is signed in."""
        if self.open_lab:
            return OPEN_LAB
        if not username:
            return None
        now = self.clock()
        with self._cache_lock:
            hit = self._principals.get(username)
        if hit is not None and now - hit[0] < self.refresh_s:
            return hit[1]
        account = users.get_account(self.store, username)
        p = None if account is None or account.disabled else Principal(account.name, account.role, account.id)
        with self._cache_lock:
            self._principals[username] = (now, p)
        return p

    def check_login(self, username: str, password: str, attempt: LoginAttempt | None = None) -> bool:
        """The password check behind the login page. Attempts are limited per source address and per
        account from each source (`core.auth.throttle`); a refused attempt is not checked at all and says
        why in `attempt.refused`. Unknown names cost as much time as known ones."""
        name = (username or "").strip()[:120]
        source = attempt.source if attempt is not None else None
        try:
            ticket = self.throttle.begin(name, source)
        except LoginRefused as exc:
            if attempt is not None:
                attempt.refused = exc
            if exc.first:  # one entry per block, not one per attempt of a flood
                self.audit_log.record("login.refused", name, detail=str(exc), source=source)
            return False
        account = None
        try:
            account = users.authenticate(self.store, name, password)
        finally:
            self.throttle.end(ticket, account is not None)
        if account is None:
            self.audit_log.record("login.failed", name, source=source)
            return False
        with self._cache_lock:
            self._principals.pop(name, None)
        self.audit_log.record("login", account.name, account.role.value, user_id=account.id, source=source)
        return True

    async def gradio_auth(self, username: str, password: str) -> bool:
        """`auth=` for gr.mount_gradio_app: the scrypt check runs off the event loop. The web layer's
        `LOGIN_ATTEMPT` (the client's address) travels with the call."""
        return await asyncio.to_thread(self.check_login, username, password, LOGIN_ATTEMPT.get())

    # ---- may they -----------------------------------------------------------------------------------
    def authorize(self, username: str | None, action: Action | str) -> Principal:
        """The principal if `username` may do `action` now; raises AccessDenied (or a subclass) saying why.

        Actions that move the robot or record (`NEEDS_CONTROL`) also need the control lock: a member
        gets it automatically when it is free; a language command is open to everyone signed in while
        the operator has opened the floor.
        """
        action = Action(action)
        p = self.principal(username)
        if p is None:
            raise NotSignedIn("sign in first: this lab requires a login", action.value)
        if p.open_lab:
            return p
        if action == Action.COMMAND:
            st = self.lock.state()
            if st.floor_open:
                self.lock.touch(p.name)  # type: ignore[arg-type]
                return p
            if not allowed(p.role, Action.CONTROL):
                raise AccessDenied("visitors may send commands only while the operator has opened the floor",
                                   action.value)
        elif not allowed(p.role, action):
            raise AccessDenied(f"a {p.role.value} may not {_verb(action)}; ask a lab member", action.value)
        if action in NEEDS_CONTROL:
            self.ensure_control(p)
        return p

    def may(self, username: str | None, action: Action | str) -> bool:
        """Role check only (no lock side effects): for showing or hiding buttons."""
        p = self.principal(username)
        return p is not None and (p.open_lab or allowed(p.role, Action(action)))

    # ---- control ------------------------------------------------------------------------------------
    def ensure_control(self, p: Principal) -> None:
        """`p` holds the control lock afterwards (taken if free), or ControlRequired says who has it."""
        if p.open_lab:
            return
        if not allowed(p.role, Action.CONTROL):
            raise AccessDenied("visitors cannot drive the robot", Action.CONTROL.value)
        if not self.lock.acquire(p.name):  # type: ignore[arg-type]
            holder = self.lock.holder
            raise ControlRequired(f"{holder} has control of the robot: use Request control (Teleop tab), "
                                  "or wait until they release it", Action.CONTROL.value)

    def _controller(self, username: str | None) -> Principal:
        p = self.principal(username)
        if p is None:
            raise NotSignedIn("sign in first: this lab requires a login", Action.CONTROL.value)
        if p.open_lab:
            raise AccessDenied("the open lab has no control lock (no accounts exist)", Action.CONTROL.value)
        if not allowed(p.role, Action.CONTROL):
            raise AccessDenied("visitors cannot take control of the robot", Action.CONTROL.value)
        return p

    def take_control(self, username: str | None) -> LockState:
        p = self._controller(username)
        self.ensure_control(p)
        return self.lock.state()

    def release_control(self, username: str | None) -> LockState:
        p = self._controller(username)
        if not self.lock.release(p.name):  # type: ignore[arg-type]
            raise ControlRequired("you do not hold control", Action.CONTROL.value)
        return self.lock.state()

    def request_control(self, username: str | None) -> LockState:
        p = self._controller(username)
        return self.lock.request(p.name)  # type: ignore[arg-type]

    def takeover(self, username: str | None) -> LockState:
        p = self._controller(username)
        self.lock.takeover(p.name, force=p.role == Role.ADMIN)  # type: ignore[arg-type]
        return self.lock.state()

    def hand_over(self, username: str | None, to: str | None = None) -> LockState:
        p = self._controller(username)
        if to is not None:
            target = self.principal(to)
            if target is None or target.open_lab or not allowed(target.role, Action.CONTROL):
                raise AccessDenied(f"{to} cannot take control (no such member)", Action.CONTROL.value)
        self.lock.hand_over(p.name, to)  # type: ignore[arg-type]
        return self.lock.state()

    def set_floor(self, username: str | None, open_: bool) -> LockState:
        p = self._controller(username)
        self.lock.set_floor(p.name, open_)  # type: ignore[arg-type]
        return self.lock.state()

    def control_state(self) -> LockState:
        return self.lock.state()

    def heartbeat(self, username: str | None) -> bool:
        """The page of `username` is alive: keeps their control lock; True if they hold it."""
        return bool(username) and self.lock.touch(username)  # type: ignore[arg-type]

    # ---- audit --------------------------------------------------------------------------------------
    def audit(self, who: Principal | str | None, action: str, target: str | None = None, **detail: object) -> None:
        """Write an audit entry for `who` (a Principal, a user name, or None for the open lab / system)."""
        if isinstance(who, Principal):
            self.audit_log.record(action, who.name, None if who.open_lab else who.role.value,
                                  user_id=who.user_id, target=target, **detail)
            return
        p = self.principal(who) if who else None
        if p is not None and not p.open_lab:
            self.audit_log.record(action, p.name, p.role.value, user_id=p.user_id, target=target, **detail)
        else:
            self.audit_log.record(action, who, None, target=target, **detail)

    def _on_lock_event(self, ev: LockEvent) -> None:
        target = f"from {ev.previous}" if ev.previous and ev.previous != ev.user else None
        self.audit(ev.user or None, f"control.{ev.kind}", target, **({"detail": ev.detail} if ev.detail else {}))
        for fn in list(self._lock_listeners):
            try:
                fn(ev)
            except Exception:  # a listener must not break the lock
                log.exception("control lock listener failed")


def _verb(action: Action) -> str:
    return {
        Action.RECORD: "record episodes", Action.EDIT: "edit episodes", Action.DELETE: "delete episodes",
        Action.EXPORT: "export episodes", Action.IMPORT: "import episodes", Action.REPLAY: "replay episodes", Action.TRAIN: "train models",
        Action.ADAPTER: "switch or import adapters", Action.SETTINGS: "change settings",
        Action.AUDIT: "read the audit log", Action.USERS: "manage accounts", Action.CONTROL: "drive the robot",
    }.get(action, action.value)
