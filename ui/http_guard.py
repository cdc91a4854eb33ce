"""The request guard: one ASGI layer in front of every route (ours and Gradio's).

For each request, before any route runs:

1. the login cookie's session is checked (`HttpAuth.session_user`): ended sessions and disabled accounts
   lose their token for Gradio too;
2. state-changing requests (POST, PUT, PATCH, DELETE) from another site's page are refused (403,
   `ui.http_auth.origin_refusal`): the teleop input, e-stop, recording, control, adapter upload, Gradio's
   event and upload routes, the login form;
3. with accounts, a request without a valid session gets 401 except for what the login page itself
   loads (`PUBLIC_PATHS`, `PUBLIC_PREFIXES`);
4. state-changing `/api/*` requests must carry a non-simple content type (`application/json`, or the
   zip's type for the adapter upload): a cross-site form or `text/plain` post is refused with 415 even
   where a browser would send no Origin;
5. Gradio's file routes serve only the media the page needs (`ui.file_guard.FilePolicy`); its URL proxy
   is closed; its upload route is refused to roles without any upload widget (visitors);
6. the sign-in form: the client's address goes to the login throttle (`core.auth.throttle`); a
   throttled attempt gets 429 with the reason; the session cookies get `Max-Age` (the session limit)
   and `SameSite=Lax` instead of Gradio's `SameSite=None` (and, with `$VLM2VLA_SECURE_COOKIES=1`
   behind https, only the `Secure` cookie is set);
7. every response carries `X-Frame-Options`, a `Content-Security-Policy` with `frame-ancestors 'self'`,
   `X-Content-Type-Options: nosniff` and `Referrer-Policy`.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import settings
from core.auth import Action
from core.auth.service import LOGIN_ATTEMPT, LoginAttempt
from ui.file_guard import FilePolicy
from ui.http_auth import origin_refusal

if TYPE_CHECKING:
    from ui.http_auth import HttpAuth

log = logging.getLogger(__name__)

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# What a browser may send cross-site without asking first (CORS "simple" requests), plus no type at all.
SIMPLE_TYPES = frozenset({"", "application/x-www-form-urlencoded", "multipart/form-data", "text/plain"})
PUBLIC_PATHS = frozenset({
    "/", "/login", "/login/", "/logout", "/config", "/config/", "/favicon.ico", "/theme.css", "/robots.txt",
    "/manifest.json", "/gradio_api/login_check", "/gradio_api/login_check/", "/gradio_api/app_id",
    "/gradio_api/app_id/", "/gradio_api/theme.css", "/gradio_api/startup-events",
})
PUBLIC_PREFIXES = ("/assets/", "/static/", "/svelte/", "/pwa_icon", "/studio-static/")
FILE_ROUTE = re.compile(r"^/gradio_api/file(?:=|/)(.*)$", re.DOTALL)
PROXY_PREFIX = "/gradio_api/proxy="
UPLOAD_PATHS = frozenset({"/gradio_api/upload", "/gradio_api/upload/"})
LOGIN_PATHS = frozenset({"/login", "/login/"})
DROPPED_ATTRS = frozenset({"samesite", "max-age", "expires", "secure"})  # set again by _session_cookies
SECURITY_HEADERS = (
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"content-security-policy", b"frame-ancestors 'self'; object-src 'none'; base-uri 'self'; form-action 'self'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


@dataclass(frozen=True)
class GuardSettings:
    secure_cookies: bool = False  # behind https: only the Secure cookie

    @classmethod
    def from_env(cls) -> GuardSettings:
        return cls(secure_cookies=settings.current().secure_cookies)


class RequestGuard:
    def __init__(self, app: ASGIApp, *, http: HttpAuth, files: FilePolicy, settings: GuardSettings | None = None):
        self.app = app
        self.http = http
        self.files = files
        self.settings = settings or GuardSettings.from_env()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        user = self.http.session_user(_cookies(headers))
        if scope["type"] == "websocket":
            if self.http.login_required and user is None:
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        refused = self.refusal(scope, headers, user)
        if refused is not None:
            status, message, extra = refused
            await _json(send, status, message, extra)
            return
        if scope["method"] == "POST" and scope["path"] in LOGIN_PATHS:
            await self._login(scope, receive, send)
            return
        await self.app(scope, receive, _with_security_headers(send))

    # ---- the checks ---------------------------------------------------------------------------------
    def refusal(self, scope: Scope, headers: Headers, user: str | None) -> tuple[int, str, dict[str, str]] | None:
        path, method = scope["path"], scope["method"]
        unsafe = method in UNSAFE_METHODS
        if unsafe:
            why = origin_refusal(headers, self.http.extra_origins)
            if why:
                log.warning("%s %s refused: %s", method, path[:200], why)
                return 403, why, {}
        if self.http.login_required and user is None and not _public(path):
            return 401, "sign in first: this lab requires a login (open the page and sign in)", {}
        if unsafe and path.startswith("/api/"):
            ctype = headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype in SIMPLE_TYPES:
                return 415, ("send the body as Content-Type: application/json (the adapter upload: application/zip); "
                             "form and text posts are refused because any web site can send them"), {}
        if path.startswith(PROXY_PREFIX):
            return 403, "the file proxy is closed", {}
        match = FILE_ROUTE.match(path)
        if match:
            why = self.files.refusal(match.group(1))
            if why:
                log.warning("file request refused (%s): %s", why, match.group(1)[:200])
                return 403, f"file not served: {why}", {}
        if unsafe and path in UPLOAD_PATHS and self.http.login_required:
            svc = self.http.service
            if svc is None or not svc.may(user, Action.ADAPTER):
                return 403, "your role has no upload (visitors watch and ask)", {}
        return None

    # ---- sign-in ------------------------------------------------------------------------------------
    async def _login(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        attempt = LoginAttempt(source=client[0] if client else None)
        reset = LOGIN_ATTEMPT.set(attempt)
        swallow = False

        async def send_login(message: Message) -> None:
            nonlocal swallow
            if message["type"] == "http.response.start":
                if attempt.refused is not None:
                    swallow = True
                    retry = f"{max(1, round(attempt.refused.retry_after_s))}"
                    await _json(send, 429, str(attempt.refused), {"retry-after": retry})
                    return
                message = {**message, "headers": self._session_cookies(message.get("headers", []))}
                await _with_security_headers(send)(message)
                return
            if not swallow:
                await send(message)

        try:
            await self.app(scope, receive, send_login)
        finally:
            LOGIN_ATTEMPT.reset(reset)

    def _session_cookies(self, raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """Gradio's login cookies with an expiry and SameSite=Lax; the new token is recorded as a session."""
        names = self.http.cookie_names
        out: list[tuple[bytes, bytes]] = []
        for key, value in raw:
            parts = [p.strip() for p in value.decode("latin-1").split(";")]
            name, _, token = parts[0].partition("=")
            if key.lower() != b"set-cookie" or name not in names:
                out.append((key, value))
                continue
            if token:
                self.http.issued(token)
            if self.settings.secure_cookies and name == names[1]:
                continue  # behind https the plain-http twin is not needed
            attrs = [p for p in parts[1:] if p and p.split("=")[0].strip().lower() not in DROPPED_ATTRS]
            secure = self.settings.secure_cookies or any(p.lower() == "secure" for p in parts[1:])
            attrs += [f"Max-Age={int(self.http.sessions.max_age_s)}", "SameSite=Lax", *(["Secure"] if secure else [])]
            out.append((key, "; ".join([f"{name}={token}", *attrs]).encode("latin-1")))
        return out


def _public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def _cookies(headers: Headers) -> dict[str, str]:
    from starlette.requests import cookie_parser

    return cookie_parser(headers.get("cookie", ""))


def _with_security_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            have = {k.lower() for k, _ in message.get("headers", [])}
            extra = [(k, v) for k, v in SECURITY_HEADERS if k not in have]
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return wrapped


async def _json(send: Send, status: int, message: str, extra: dict[str, str]) -> None:
    body = json.dumps({"detail": message}).encode()
    headers: list[Any] = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                          (b"cache-control", b"no-store"), *SECURITY_HEADERS]
    headers += [(k.encode(), v.encode()) for k, v in extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
