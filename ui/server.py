"""FastAPI routes beside Gradio: MJPEG camera streams, teleop input from the page, a status probe.

`make_server` also puts `ui.http_guard.RequestGuard` in front of everything (sessions, cross-site
requests, the file routes, uploads, security headers) and keeps FastAPI's and Gradio's route listings
(`/openapi.json`, `/docs`, `/redoc`) switched off.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path

import gradio as gr
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles

from core.auth import Action
from core.context import App
from ui import guard
from ui.file_guard import FilePolicy
from ui.http_auth import HttpAuth
from ui.http_guard import RequestGuard

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
BOUNDARY = "frame"
MAX_INPUT_BYTES = 4096
MAX_INT_DIGITS = 20  # a teleop event's numbers are small; a 400-digit integer is refused before any arithmetic
# Gradio's own upload route: no widget on the page uploads through it (adapters use /api/adapters/upload,
# with its own limit), so a small cap; visitors are refused outright (ui.http_guard).
MAX_UPLOAD = "25mb"
STREAM_RECHECK_S = 1.0  # an open camera stream notices an ended session or a disabled account this fast
KEEPALIVE_S = 1.0  # an unchanged frame (the robot holds still) is sent again this often, not every tick


class BadInput(ValueError):
    """A request body that is not a small, plain JSON value."""


def _small_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise BadInput(f"number with more than {MAX_INT_DIGITS} digits")
    return int(text)


def _no_constant(text: str) -> float:
    raise BadInput(f"{text} is not a number here")


def parse_small_json(body: bytes) -> object:
    """Decode a request body that must be small JSON; BadInput (a ValueError) says what is wrong."""
    try:
        return json.loads(body, parse_int=_small_int, parse_constant=_no_constant)
    except RecursionError:
        raise BadInput("JSON nested too deeply") from None
    except UnicodeDecodeError:
        raise BadInput("the body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"not JSON: {exc}") from None


def make_server(app: App, blocks: gr.Blocks, head: str, css: str) -> FastAPI:
    api = FastAPI(title="VLM2VLA Studio", docs_url=None, redoc_url=None, openapi_url=None)
    http = HttpAuth(app.auth)  # the Gradio login's cookie, for these routes too (open lab: no checks)
    guard.install(app.auth)
    api.mount("/studio-static", StaticFiles(directory=STATIC), name="studio-static")  # Gradio owns /static
    new_frame = FrameSignal()
    app.loop.add_listener(new_frame.on_tick)  # wakes the streams once per frame instead of each polling

    @api.get("/stream/{camera}.mjpg")
    async def stream(camera: str, request: Request, fps: float = 30.0) -> StreamingResponse:
        who = http.authorize(request, Action.WATCH)
        hub = app.loop.frames
        if camera not in hub.cameras:
            raise HTTPException(404, f"no camera {camera!r}; cameras: {hub.cameras}")
        min_gap = 0.8 / max(1.0, min(fps, 60.0))  # 0.8: tick jitter must not drop frames at the loop's own rate

        async def frames():
            loop = asyncio.get_running_loop()
            sent = None  # the frame last sent (a robot holding still publishes the same frame every tick)
            last = 0.0
            checked = loop.time()
            first = True
            with hub.hold(camera):  # the loop draws a camera only while someone watches it (or records it)
                while True:
                    if loop.time() - checked > STREAM_RECHECK_S:
                        checked = loop.time()  # the session may have ended, the account been disabled, the lab closed
                        if await request.is_disconnected():
                            return
                        if (http.login_required if who.open_lab
                                else http.session_user(request.cookies, touch=False) != who.name):
                            return
                    frame = hub.latest(camera)
                    now = loop.time()
                    if frame is None or now - last < min_gap or (frame is sent and now - last < KEEPALIVE_S):
                        await new_frame.wait(0.25)
                        continue
                    jpg = hub.jpeg(camera)
                    if jpg is None:
                        await asyncio.sleep(0.05)
                        continue
                    sent, last = frame, now
                    # each part ends with the next part's boundary, so a browser shows it as soon as it arrives
                    # instead of when the next frame comes (which, while the robot holds still, is a while)
                    yield (
                        (f"--{BOUNDARY}\r\n" if first else "")
                        + f"Content-Type: image/jpeg\r\nContent-Length: {len(jpg)}\r\n\r\n"
                    ).encode() + jpg + f"\r\n--{BOUNDARY}\r\n".encode()
                    first = False

        return StreamingResponse(
            frames(),
            media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
            headers={"Cache-Control": "no-store"},
        )

    @api.get("/frame/{camera}.jpg")
    def frame(camera: str, request: Request):
        http.authorize(request, Action.WATCH)
        hub = app.loop.frames
        if camera in hub.cameras:
            hub.want(camera)  # drawn on demand: ask, then wait for the next frame that has it
            hub.wait_for(camera, timeout=1.0)
        jpg = hub.jpeg(camera)
        if jpg is None:
            raise HTTPException(404, f"no frame for camera {camera!r}")
        return Response(jpg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    @api.post("/api/teleop/input")
    async def teleop_input(request: Request) -> JSONResponse:
        from core.teleop.base import TeleopInputError
        from core.teleop.browser import parse_event

        http.check_origin(request)
        http.principal(request)  # 401 before the body is even read
        body = await request.body()
        if len(body) > MAX_INPUT_BYTES:
            return JSONResponse({"ok": False, "error": "input event too large"}, status_code=413)
        try:
            payload = parse_small_json(body)
            ev = parse_event(payload)
            forward, refused = http.teleop_gate(request, any(ev.axes) or ev.gripper is not None or any(ev.buttons))
            if refused:
                return JSONResponse({"ok": False, "error": refused}, status_code=403)
            if not forward:  # a viewer's heartbeat: answered, not applied (it must not zero the operator's input)
                return JSONResponse({"ok": True, "applied": False, "seq": ev.seq, "gripper": None,
                                     "estop": app.loop.estopped})
            ack = app.browser_input.submit(payload)  # type: ignore[attr-defined]
        except (ValueError, TeleopInputError) as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
        return JSONResponse({**ack, "estop": app.loop.estopped})

    @api.post("/api/estop")
    def estop(request: Request) -> JSONResponse:
        http.check_origin(request)
        who = http.authorize(request, Action.ESTOP)
        app.loop.estop("e-stop (keyboard or page)" + ("" if who.open_lab else f" by {who.name}"))
        http.audit(who, "estop", detail="keyboard or page")
        return JSONResponse({"ok": True})

    @api.post("/api/record/{action}")
    def record(action: str, request: Request) -> JSONResponse:
        """Keyboard shortcuts of the Teleop tab: start | success | failure | discard."""
        from core.recording import NotRecording, RecordingRefused

        http.check_origin(request)
        who = http.authorize(request, Action.RECORD)
        try:
            if action == "start":
                episode = app.start_recording(operator=who.name)
                http.audit(who, "record.start", f"episode {episode}")
                return JSONResponse({"ok": True, "episode": episode})
            if action in ("success", "failure"):
                saved = app.stop_recording(action == "success")
                http.audit(who, "record.save", f"episode {saved.result.episode_id}", result=action)
                return JSONResponse({"ok": True, "episode": saved.result.episode_id, "status": saved.result.status})
            if action == "discard":
                app.recording.discard()
                http.audit(who, "record.discard")
                return JSONResponse({"ok": True})
        except (RecordingRefused, NotRecording) as exc:
            app.last_message = f"recording: {exc}"
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=409)
        return JSONResponse({"ok": False, "error": f"unknown action {action!r}"}, status_code=404)

    @api.get("/api/status")
    def status(request: Request) -> JSONResponse:
        http.authorize(request, Action.WATCH)
        s = app.loop.status()
        return JSONResponse(
            {
                "mode": s.mode,
                "estop": s.estop,
                "hz": round(s.hz, 2),
                "ticks": s.ticks,
                "missed_ticks": s.missed_ticks,
                "ee_pos": [round(v, 4) for v in s.ee_pos],
                "gripper": round(s.gripper, 3),
                "seed": s.seed,
                "error": s.error,
                "robot": app.robot_report(),
                "estop_reason": s.estop_reason,
                "recording": app.recording.recorder.status.state if app.recording else "unavailable",
                "episode": app.recording.recorder.status.episode_id if app.recording else None,
                "control": control_json(app),
                "tick_ms": app.loop.phases.summary(),  # where the loop's ticks go (core.control.ticks)
                "drawn": list(app.loop.frames.wanted() or app.loop.frames.cameras),
            }
        )

    from ui.lab_routes import add_lab_routes, database_files

    add_lab_routes(api, app, http)
    recordings = app.store.recordings_dir if app.store is not None else app.config.recordings_dir
    server = gr.mount_gradio_app(api, blocks, path="", head=head, css=css, theme=gr.themes.Soft(),
                                 allowed_paths=[str(recordings)],
                                 blocked_paths=database_files(app),  # kept elsewhere by default; never served
                                 auth=app.auth.gradio_auth if app.auth else None, max_file_size=MAX_UPLOAD,
                                 auth_message="VLM2VLA Studio: sign in with your lab account.",
                                 app_kwargs={"openapi_url": None})
    http.bind(server)  # Gradio's login is on exactly while accounts exist (open lab otherwise)
    files = FilePolicy.of([recordings, *gradio_folders()], protected=lambda: database_files(app))
    inside = [f for f in database_files(app)[:1] if Path(f).is_relative_to(Path(recordings).resolve())]
    if inside:
        log.error("the database %s is inside the recordings folder, whose media the page loads: the file guard "
                  "refuses it, but keep it elsewhere (by default it lives in %s-db/)", inside[0], recordings)
    server.add_middleware(RequestGuard, http=http, files=files)
    return server


def quiet_gradio_analytics() -> None:
    """Gradio 6 rebuilds a pandas summary of up to 10,000 past events after every event (for its monitoring
    page, which this app does not link). With the page's timers that is several events a second per open
    page, 2-8 ms of GIL-holding CPU each (more as the app's uptime fills the record): docs/performance.md.
    These variables are read when `gr.Blocks()` makes its queue, so `ui.layout.build_blocks` calls this
    first (set in `make_server`, they came too late and the summary was still rebuilt after every event)."""
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", str(10**9))  # never recompute the summary
    os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")  # and keep fewer records


def gradio_folders() -> list[Path]:
    """Gradio's own folders that the page loads files from: the upload/output cache and the examples cache."""
    from gradio import utils

    return [Path(utils.get_upload_folder()), Path(utils.get_cache_folder()).resolve()]


class FrameSignal:
    """Wakes every waiting MJPEG stream when the control loop has published a frame.

    `on_tick` runs on the control thread and only schedules a callback on the server's event loop
    (nothing when no stream waits); the streams then share each frame's single JPEG encoding.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None
        self._waiting = 0

    def on_tick(self, _obs: object, _step: object) -> None:
        loop = self._loop
        if loop is not None and self._waiting:
            try:
                loop.call_soon_threadsafe(self._fire)
            except RuntimeError:  # the server's loop has closed
                self._loop = None

    def _fire(self) -> None:
        event, self._event = self._event, asyncio.Event()
        if event is not None:
            event.set()

    async def wait(self, timeout: float) -> None:
        """Until the next frame (or `timeout`, a safety net for a missed wake-up)."""
        if self._event is None or self._loop is None:
            self._loop, self._event = asyncio.get_running_loop(), asyncio.Event()
        event = self._event
        self._waiting += 1
        try:
            async with asyncio.timeout(timeout):
                await event.wait()
        except TimeoutError:
            pass
        finally:
            self._waiting -= 1


def control_json(app: App) -> dict[str, object]:
    """Who drives, for /api/status: the open lab has no lock."""
    if app.auth is None or app.auth.open_lab:
        return {"mode": "open lab", "holder": None, "floor_open": False}
    st = app.auth.control_state()
    return {"mode": "login", "holder": st.holder, "floor_open": st.floor_open,
            "requests": [r.user for r in st.requests]}
