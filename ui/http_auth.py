"""The same login for the FastAPI routes beside Gradio (/api/*, /stream/*, /frame/*).

Gradio's login page sets a cookie whose token maps to the user name in the mounted Gradio app
(`tokens`); the routes here read that cookie, so a page signed in to Gradio is signed in to the API and
a client without the cookie is refused (401), a signed-in user without the right role too (403).
While no account exists (open lab) everything passes, as before accounts existed.

`bind()` also switches Gradio's own login on and off as accounts appear or disappear, so creating the
first admin with `python -m core.auth` locks the running app within seconds.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request
from starlette.routing import Mount

from core.auth import OPEN_LAB, AccessDenied, Action, NotSignedIn, Principal

if TYPE_CHECKING:
    from core.auth import AuthService

log = logging.getLogger(__name__)


def find_gradio_app(api: FastAPI) -> Any:
    """The Gradio app that `gr.mount_gradio_app` mounted on `api`."""
    from gradio.routes import App as GradioApp

    for route in api.routes:
        if isinstance(route, Mount) and isinstance(route.app, GradioApp):
            return route.app
    raise LookupError("no Gradio app is mounted")


class HttpAuth:
    def __init__(self, service: AuthService | None) -> None:
        self.service = service
        self._gradio: Any = None

    def bind(self, api: FastAPI) -> None:
        """Share Gradio's login tokens and keep Gradio's login switched on exactly while accounts exist."""
        self._gradio = find_gradio_app(api)
        svc = self.service
        if svc is None:
            self._gradio.auth = None
            return

        def set_mode(open_lab: bool) -> None:
            self._gradio.auth = None if open_lab else svc.gradio_auth

        set_mode(svc.open_lab)
        svc.on_mode_change(set_mode)

    # ---- who ----------------------------------------------------------------------------------------
    def username(self, request: Request) -> str | None:
        g = self._gradio
        if g is None:
            return None
        token = request.cookies.get(f"access-token-{g.cookie_id}") or request.cookies.get(
            f"access-token-unsecure-{g.cookie_id}")
        return g.tokens.get(token) if token else None

    def principal(self, request: Request) -> Principal:
        """The signed-in principal (OPEN_LAB in the open lab); HTTP 401 if nobody usable is signed in."""
        svc = self.service
        if svc is None or svc.open_lab:
            return OPEN_LAB
        p = svc.principal(self.username(request))
        if p is None:
            raise HTTPException(401, "sign in first: this lab requires a login (open the page and sign in)")
        return p

    def authorize(self, request: Request, action: Action | str) -> Principal:
        """The principal if they may do `action`; HTTP 401 / 403 with the reason otherwise."""
        svc = self.service
        if svc is None:
            return OPEN_LAB
        try:
            return svc.authorize(self.username(request) if not svc.open_lab else None, action)
        except NotSignedIn as exc:
            raise HTTPException(401, str(exc)) from exc
        except AccessDenied as exc:
            raise HTTPException(403, str(exc)) from exc

    @staticmethod
    def check_origin(request: Request) -> None:
        """Refuse a state-changing request sent by another site's page (the browser names it in Origin)."""
        origin = request.headers.get("origin")
        if not origin or origin == "null":
            return
        host = request.headers.get("host", "")
        if urlsplit(origin).netloc.lower() != host.lower():
            raise HTTPException(403, f"cross-site request from {origin} refused")

    def teleop_gate(self, request: Request, is_input: bool) -> tuple[bool, str | None]:
        """Whether a page's teleop event may reach the robot: (forward, refusal message).

        Motion, gripper or button events need the control lock (a member takes it when free). A
        heartbeat (all zero) keeps the holder's lock alive; anyone else's heartbeat is answered but
        not forwarded, so an idle viewer's page cannot zero the operator's input.
        """
        svc = self.service
        if svc is None or svc.open_lab:
            return True, None
        p = self.principal(request)
        if not is_input:
            return svc.heartbeat(p.name), None
        try:
            svc.ensure_control(p)
        except AccessDenied as exc:
            return False, str(exc)
        svc.heartbeat(p.name)
        return True, None

    def audit(self, who: Principal, action: str, target: str | None = None, **detail: object) -> None:
        if self.service is not None:
            self.service.audit(who, action, target, **detail)
