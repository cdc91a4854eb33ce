"""Lab routes beside Gradio: the control lock, the audit log, and adapter uploads.

    GET  /api/control                  who you are, who drives, pending requests, the floor
    POST /api/control/{action}         take | release | request | takeover | handover | floor-open | floor-close
    GET  /api/audit?limit=&action=&user=   newest audit entries (lab members and admins)
    POST /api/adapters/upload?name=    body: a .zip of a PEFT adapter folder (safetensors only), at most
                                       $VLM2VLA_MAX_UPLOAD_MB (default 512) MB; lab members and admins

Every POST needs a JSON content type (the upload: `application/zip` or `application/octet-stream`) and,
from a browser, the page's own Origin (`ui.http_guard` refuses the rest before these routes run).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from core import settings
from core.auth import AccessDenied, Action
from core.context import App
from ui.http_auth import HttpAuth

log = logging.getLogger(__name__)

CONTROL_ACTIONS = {"take": "take_control", "release": "release_control", "request": "request_control",
                   "takeover": "takeover", "handover": "hand_over"}


def max_upload_bytes() -> int:
    return int(settings.current().max_upload_mb * 1024 * 1024)


def database_files(app: App) -> list[str]:
    """The SQLite database files (they hold password hashes): never served, even inside the recordings folder."""
    if app.store is None or app.store.dialect != "sqlite":
        return []
    db = app.store.engine.url.database
    if not db or db == ":memory:":
        return []
    path = str(Path(db).resolve())
    return [path, path + "-wal", path + "-shm", path + "-journal"]


def add_lab_routes(api: FastAPI, app: App, http: HttpAuth) -> None:
    @api.get("/api/control")
    def control_state(request: Request) -> JSONResponse:
        who = http.authorize(request, Action.WATCH)
        svc = app.auth
        if svc is None or svc.open_lab:
            return JSONResponse({"mode": "open lab", "you": None, "role": "admin", "holder": None,
                                 "floor_open": False, "requests": []})
        st = svc.control_state()
        return JSONResponse({"mode": "login", "you": who.name, "role": who.role.value, "holder": st.holder,
                             "floor_open": st.floor_open, "requests": [r.user for r in st.requests],
                             "ttl_s": st.ttl_s, "takeover_after_s": st.takeover_after_s})

    @api.post("/api/control/{action}")
    def control_action(action: str, request: Request, to: str | None = None) -> JSONResponse:
        http.check_origin(request)
        who = http.principal(request)
        svc = app.auth
        if svc is None or svc.open_lab:
            raise HTTPException(409, "the open lab has no control lock (no accounts exist)")
        try:
            if action in ("floor-open", "floor-close"):
                svc.set_floor(who.name, action == "floor-open")
            elif action == "handover":
                svc.hand_over(who.name, to)
            elif action in CONTROL_ACTIONS:
                getattr(svc, CONTROL_ACTIONS[action])(who.name)
            else:
                raise HTTPException(404, f"unknown control action {action!r}; one of "
                                         f"{', '.join([*CONTROL_ACTIONS, 'floor-open', 'floor-close'])}")
        except AccessDenied as exc:
            raise HTTPException(403, str(exc)) from exc
        st = svc.control_state()
        return JSONResponse({"ok": True, "holder": st.holder, "floor_open": st.floor_open,
                             "requests": [r.user for r in st.requests]})

    @api.get("/api/audit")
    def audit(request: Request, limit: int = 100, action: str | None = None, user: str | None = None) -> JSONResponse:
        http.authorize(request, Action.AUDIT)
        if app.auth is None:
            return JSONResponse({"entries": []})
        app.auth.audit_log.flush(2.0)
        rows = app.auth.audit_log.query(limit, action, user)
        return JSONResponse({"entries": [
            {"id": r.id, "at": r.at.isoformat(), "user": r.user_name, "role": r.role, "action": r.action,
             "target": r.target, "detail": r.detail} for r in rows]})

    @api.post("/api/adapters/upload")
    async def upload_adapter(request: Request, name: str | None = None) -> JSONResponse:
        """A zipped PEFT adapter: size-limited while streaming, then checked by the adapter registry."""
        from starlette.concurrency import run_in_threadpool

        from core.training.errors import AdapterError

        http.check_origin(request)
        who = http.authorize(request, Action.ADAPTER)
        if app.training is None:
            raise HTTPException(503, "training is not available in this app")
        limit = max_upload_bytes()
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise HTTPException(413, f"upload larger than {limit // (1024 * 1024)} MB")
        with tempfile.TemporaryDirectory(prefix="adapter-upload-") as tmp:
            path = Path(tmp) / "upload.zip"  # never a name from the client
            size = 0
            with open(path, "wb") as f:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        raise HTTPException(413, f"upload larger than {limit // (1024 * 1024)} MB")
                    f.write(chunk)
            if size == 0:
                raise HTTPException(400, "empty upload: send the zip file as the request body")
            try:
                info = await run_in_threadpool(app.training.import_adapter, path, name or "uploaded-adapter")
            except AdapterError as exc:
                raise HTTPException(400, str(exc)) from exc
        http.audit(who, "adapter.import", info.name, bytes=size)
        return JSONResponse({"ok": True, "name": info.name})
