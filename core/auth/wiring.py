"""Connecting the auth service to the running app (called by `core.context.App.build`)."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from core import settings
from core.auth import users
from core.auth.errors import AuthError
from core.auth.lock import ControlLock, LockEvent
from core.auth.service import AuthService


class App(Protocol):  # what this needs of `core.context.App` (core.auth does not import the app)
    store: Any
    browser_input: Any
    assistant: Any


log = logging.getLogger(__name__)

# Control changing hands stops what the previous operator left running.
STOP_RUN_ON = frozenset({"release", "expire", "takeover", "hand_over"})


def bootstrap_admin(auth: AuthService) -> None:
    """With $VLM2VLA_ADMIN_USER and $VLM2VLA_ADMIN_PASSWORD set and no account yet, create that admin."""
    env = settings.current()
    name, password = env.admin_user, env.admin_password
    if not name or not password or users.count_accounts(auth.store) > 0:
        return
    try:
        acc = users.create_user(auth.store, name, "admin", password)
    except AuthError as exc:
        log.error("cannot create the first admin from $VLM2VLA_ADMIN_USER: %s", exc)
        return
    auth.audit_log.record("user.create", "(environment)", target=acc.name, role_given="admin")
    auth.refresh()
    log.warning("created the first admin %s from the environment; login is required", acc.name)


def attach_auth(app: App) -> AuthService:
    """The app's AuthService: accounts from the store, the control lock stopping autonomous runs."""
    assert app.store is not None
    env = settings.current()
    auth = AuthService(app.store, lock=ControlLock(ttl_s=env.control_ttl_s, takeover_after_s=env.takeover_after_s))
    bootstrap_admin(auth)

    def on_lock(ev: LockEvent) -> None:
        if ev.kind in STOP_RUN_ON:  # the previous operator's held keys must not carry over to the next
            close = getattr(app.browser_input, "close", None)
            if close is not None:
                close()
        if ev.kind in STOP_RUN_ON and app.assistant is not None:
            try:
                if app.assistant.stop(f"control {ev.kind.replace('_', ' ')} ({ev.previous or ev.user})"):
                    log.warning("autonomous run stopped: control %s", ev.kind)
            except Exception:  # stopping must not break the lock; the watchdog still zeroes teleop
                log.exception("stopping the autonomous run after a control change failed")

    auth.on_lock_event(on_lock)
    if auth.open_lab:
        log.warning("open lab: no accounts exist, so there is no login and anyone who can reach this page has "
                    "full control; create one with: python -m core.auth create-user NAME --role admin")
    return auth
