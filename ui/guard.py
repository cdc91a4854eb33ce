"""Role checks for Gradio event handlers: call `require(request, "record")` first thing in a handler.

Gradio passes `request: gr.Request` to any handler that declares it; `request.username` is the name the
login page accepted (None in the open lab). The rules live in `core.auth`; this module turns a refusal
into a `gr.Error` that the page shows, so a call made straight to /gradio_api/... is refused the same
way as a click.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import gradio as gr

from core.auth import OPEN_LAB, AccessDenied, Action, Principal

if TYPE_CHECKING:
    from core.auth import AuthService

log = logging.getLogger(__name__)

_service: AuthService | None = None


def install(service: AuthService | None) -> None:
    """Use `service` for every check (ui.server.make_server calls this once)."""
    global _service
    _service = service


def service() -> AuthService | None:
    return _service


def username(request: gr.Request | None) -> str | None:
    return getattr(request, "username", None) if request is not None else None


def require(request: gr.Request | None, action: Action | str) -> Principal:
    """The principal behind `request` if they may do `action`; else gr.Error saying why (nothing done)."""
    svc = _service
    if svc is None:  # no server wiring (unit tests that build the page only)
        return OPEN_LAB
    try:
        return svc.authorize(username(request), action)
    except AccessDenied as exc:
        log.info("refused %s for %s: %s", action, username(request) or "anonymous", exc)
        raise gr.Error(str(exc), title="Not allowed") from exc


def may(request: gr.Request | None, action: Action | str) -> bool:
    """Role check without side effects (for showing or hiding controls)."""
    svc = _service
    return True if svc is None else svc.may(username(request), action)


def audit(who: Principal | gr.Request | None, action: str, target: str | None = None, **detail: object) -> None:
    """Write an audit entry for a principal (from `require`) or a request."""
    svc = _service
    if svc is None:
        return
    if isinstance(who, Principal):
        svc.audit(who, action, target, **detail)
    else:
        svc.audit(username(who), action, target, **detail)


def alive(request: gr.Request | None) -> None:
    """A sign of life from the caller (a page's poll, a script's /status): keeps their control lock."""
    svc = _service
    if svc is not None:
        svc.heartbeat(username(request))


def can_drive(request: gr.Request | None) -> bool:
    """Whether the viewer may drive right now without taking anything from anyone (no side effects):
    the open lab, or a member/admin while the control lock is free or theirs."""
    svc = _service
    if svc is None or svc.open_lab:
        return True
    name = username(request)
    if not svc.may(name, Action.CONTROL):
        return False
    holder = svc.control_state().holder
    return holder is None or holder == name
