"""The same login for the FastAPI routes beside Gradio (/api/*, /stream/*, /frame/*).

Gradio's login page sets a cookie whose token maps to the user name in the mounted Gradio app
(`tokens`); the routes here read that cookie, so a page signed in to Gradio is signed in to the API and
a client without the cookie is refused (401), a signed-in user without the right role too (403).
While no account exists (open lab) everything passes, as before accounts existed.

`bind()` also switches Gradio's own login on and off as accounts appear or disappear, so creating the
first admin with `python -m core.auth` locks the running app within seconds.

Every use of a login token goes through `session_user`: the token must have been issued by this app's
login (`ui.sessions`), be younger than the session limits, and belong to an account that is still
enabled; otherwise it is removed from Gradio's map too, so Gradio's own handlers and file routes stop
accepting it at once (no restart).

Cross-site requests: `origin_refusal` accepts a state-changing request only without an `Origin` header
(not a browser) or with the page's own origin (the `Host` the request was sent to, or one listed in
`$VLM2VLA_ALLOWED_ORIGINS`, comma-separated, for a reverse proxy that rewrites `Host`). `Origin: null`
(sandboxed frames, file pages) and `Sec-Fetch-Site: cross-site` are refused.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request
from starlette.routing import Mount

from core import settings
from core.auth import OPEN_LAB, AccessDenied, Action, NotSignedIn, Principal
from ui.sessions import SessionRegistry

if TYPE_CHECKING:
    from core.auth import AuthService

log = logging.getLogger(__name__)

def allowed_origins_from_env() -> frozenset[str]:
    """Extra origins (scheme://host[:port]) the page may be served from, e.g. behind a reverse proxy."""
    return frozenset(urlsplit(o).netloc.lower() for o in settings.current().allowed_origins)


def origin_refusal(headers: Mapping[str, str], extra_hosts: frozenset[str] = frozenset()) -> str | None:
    """Why a state-changing request looks sent by another site's page, or None."""
    origin = headers.get("origin")
    if origin is None:
        if headers.get("sec-fetch-site") == "cross-site":
            return "cross-site request refused"
        return None  # not sent by a browser page (curl, scripts): they need the cookie anyway
    if origin == "null":
        return "request from an opaque origin (sandboxed frame or local file) refused"
    netloc = urlsplit(origin).netloc.lower()
    host = headers.get("host", "").lower()
    if netloc and (netloc == host or netloc in extra_hosts):
        return None
    return f"cross-site request from {origin[:100]} refused"


def find_gradio_app(api: FastAPI) -> Any:
    """The Gradio app that `gr.mount_gradio_app` mounted on `api`."""
    from gradio.routes import App as GradioApp

    for route in api.routes:
        if isinstance(route, Mount) and isinstance(route.app, GradioApp):
            return route.app
    raise LookupError("no Gradio app is mounted")


class HttpAuth:
    def __init__(self, service: AuthService | None, sessions: SessionRegistry | None = None,
                 extra_origins: frozenset[str] | None = None) -> None:
        self.service = service
        self.sessions = sessions or SessionRegistry()
        self.extra_origins = allowed_origins_from_env() if extra_origins is None else extra_origins
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
    @property
    def login_required(self) -> bool:
        svc = self.service
        return svc is not None and not svc.open_lab

    @property
    def cookie_names(self) -> tuple[str, str]:
        """Gradio's login cookies: (the Secure one, the plain-http one); Gradio reads them in this order."""
        cid = self._gradio.cookie_id if self._gradio is not None else ""
        return f"access-token-{cid}", f"access-token-unsecure-{cid}"

    def issued(self, token: str) -> str | None:
        """Record a token Gradio's login just issued; returns its user (None if Gradio did not keep it)."""
        user = self._gradio.tokens.get(token) if self._gradio is not None else None
        if user is not None:
            self.sessions.add(token, user)
        return user

    def session_user(self, cookies: Mapping[str, str], *, touch: bool = True) -> str | None:
        """The user whose login cookie came with a request, or None. A session that is over (too old,
        idle, unknown, account disabled or removed) is ended here, for Gradio's routes as well."""
        g = self._gradio
        if g is None:
            return None
        secure, plain = self.cookie_names
        token = cookies.get(secure) or cookies.get(plain)
        if not token:
            return None
        user = g.tokens.get(token)
        if user is None:
            self.sessions.forget(token)
            return None
        reason = self.sessions.check(token, user, touch=touch)
        svc = self.service
        if reason is None and svc is not None and not svc.open_lab and svc.principal(user) is None:
            reason = "the account is disabled or was removed"
        if reason is None:
            return user
        g.tokens.pop(token, None)
        self.sessions.forget(token)
        log.info("session of %s ended: %s", user, reason)
        return None

    def username(self, request: Request) -> str | None:
        return self.session_user(request.cookies)

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

    def check_origin(self, request: Request) -> None:
        """Refuse a state-changing request sent by another site's page (the request guard does this for
        every route already; routes call it too so that they stay safe on their own)."""
        refused = origin_refusal(request.headers, self.extra_origins)
        if refused:
            raise HTTPException(403, refused)

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
