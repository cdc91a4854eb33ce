"""FastAPI routes beside Gradio: MJPEG camera streams, teleop input from the page, a status probe."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import gradio as gr
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles

from core.auth import Action
from core.context import App
from ui import guard
from ui.http_auth import HttpAuth

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
BOUNDARY = "frame"
MAX_INPUT_BYTES = 4096
MAX_UPLOAD = "1gb"  # Gradio's own uploads (the adapter upload route has its own limit)


def make_server(app: App, blocks: gr.Blocks, head: str, css: str) -> FastAPI:
    api = FastAPI(title="VLM2VLA Studio")
    http = HttpAuth(app.auth)  # the Gradio login's cookie, for these routes too (open lab: no checks)
    guard.install(app.auth)
    api.mount("/studio-static", StaticFiles(directory=STATIC), name="studio-static")  # Gradio owns /static
    new_frame = FrameSignal()
    app.loop.add_listener(new_frame.on_tick)  # wakes the streams once per frame instead of each polling

    @api.get("/stream/{camera}.mjpg")
    async def stream(camera: str, request: Request, fps: float = 30.0) -> StreamingResponse:
        http.authorize(request, Action.WATCH)
        hub = app.loop.frames
        if camera not in hub.cameras:
            raise HTTPException(404, f"no camera {camera!r}; cameras: {hub.cameras}")
        min_gap = 0.8 / max(1.0, min(fps, 60.0))  # 0.8: tick jitter must not drop frames at the loop's own rate

        async def frames():
            seq = -1
            loop = asyncio.get_running_loop()
            last = 0.0
            while not await request.is_disconnected():
                if hub.seq == seq or loop.time() - last < min_gap:
                    await new_frame.wait(0.25)
                    continue
                seq, last = hub.seq, loop.time()
                jpg = hub.jpeg(camera)
                if jpg is None:
                    await asyncio.sleep(0.05)
                    continue
                yield (
                    f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpg)}\r\n\r\n".encode()
                    + jpg
                    + b"\r\n"
                )

        return StreamingResponse(
            frames(),
            media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
            headers={"Cache-Control": "no-store"},
        )

    @api.get("/frame/{camera}.jpg")
    def frame(camera: str, request: Request):
        http.authorize(request, Action.WATCH)
        jpg = app.loop.frames.jpeg(camera)
        if jpg is None:
            raise HTTPException(404, f"no frame for camera {camera!r}")
        from fastapi.responses import Response

        return Response(jpg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    @api.post("/api/teleop/input")
    async def teleop_input(request: Request) -> JSONResponse:
        from core.teleop.base import TeleopInputError

        body = await request.body()
        if len(body) > MAX_INPUT_BYTES:
            return JSONResponse({"ok": False, "error": "input event too large"}, status_code=413)
        try:
            import json

            from core.teleop.browser import parse_event

            payload = json.loads(body)
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
            }
        )

    from ui.lab_routes import add_lab_routes, database_files

    add_lab_routes(api, app, http)
    server = gr.mount_gradio_app(api, blocks, path="", head=head, css=css, theme=gr.themes.Soft(),
                                 allowed_paths=[str(app.config.recordings_dir)],
                                 blocked_paths=database_files(app),  # the database (password hashes) lives there
                                 auth=app.auth.gradio_auth if app.auth else None, max_file_size=MAX_UPLOAD,
                                 auth_message="VLM2VLA Studio: sign in with your lab account.")
    http.bind(server)  # Gradio's login is on exactly while accounts exist (open lab otherwise)
    return server


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
