"""FastAPI routes beside Gradio: MJPEG camera streams, teleop input from the page, a status probe."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import gradio as gr
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles

from core.context import App

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
BOUNDARY = "frame"
MAX_INPUT_BYTES = 4096


def make_server(app: App, blocks: gr.Blocks, head: str, css: str) -> FastAPI:
    api = FastAPI(title="VLM2VLA Studio")
    api.mount("/studio-static", StaticFiles(directory=STATIC), name="studio-static")  # Gradio owns /static

    @api.get("/stream/{camera}.mjpg")
    async def stream(camera: str, request: Request, fps: float = 30.0) -> StreamingResponse:
        hub = app.loop.frames
        if camera not in hub.cameras:
            raise HTTPException(404, f"no camera {camera!r}; cameras: {hub.cameras}")
        min_gap = 1.0 / max(1.0, min(fps, 60.0))

        async def frames():
            seq = -1
            loop = asyncio.get_running_loop()
            last = 0.0
            while not await request.is_disconnected():
                if hub.seq == seq or loop.time() - last < min_gap:
                    await asyncio.sleep(0.005)
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
    def frame(camera: str):
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

            payload = json.loads(body)
            ack = app.browser_input.submit(payload)  # type: ignore[attr-defined]
        except (ValueError, TeleopInputError) as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
        return JSONResponse({**ack, "estop": app.loop.estopped})

    @api.post("/api/estop")
    def estop() -> JSONResponse:
        app.loop.estop("e-stop (keyboard or page)")
        return JSONResponse({"ok": True})

    @api.post("/api/record/{action}")
    def record(action: str) -> JSONResponse:
        """Keyboard shortcuts of the Teleop tab: start | success | failure | discard."""
        from core.recording import NotRecording, RecordingRefused

        try:
            if action == "start":
                episode = app.start_recording()
                return JSONResponse({"ok": True, "episode": episode})
            if action in ("success", "failure"):
                saved = app.stop_recording(action == "success")
                return JSONResponse({"ok": True, "episode": saved.result.episode_id, "status": saved.result.status})
            if action == "discard":
                app.recording.discard()
                return JSONResponse({"ok": True})
        except (RecordingRefused, NotRecording) as exc:
            app.last_message = f"recording: {exc}"
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=409)
        return JSONResponse({"ok": False, "error": f"unknown action {action!r}"}, status_code=404)

    @api.get("/api/status")
    def status() -> JSONResponse:
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
                "recording": app.recording.recorder.status.state if app.recording else "unavailable",
                "episode": app.recording.recorder.status.episode_id if app.recording else None,
            }
        )

    return gr.mount_gradio_app(api, blocks, path="", head=head, css=css, theme=gr.themes.Soft(),
                               allowed_paths=[str(app.config.recordings_dir)])
