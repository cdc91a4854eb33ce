"""Teleop tab: live cameras (MJPEG routes), e-stop, scene reset, task picker, input devices."""

from __future__ import annotations

import gradio as gr

from core.context import App
from core.robot.tasks import all_tasks

KEY_HELP = """**Keyboard** (click the camera view first; ignored while typing in a text box):
W/S forward/back · A/D left/right · R/F up/down · Q/E rotate · Space open/close gripper · Esc **e-stop**"""


def camera_html(cameras: list[str]) -> str:
    imgs = "".join(
        f'<div class="cam" style="flex:1"><div>{c}</div><img id="cam-{c}" src="/stream/{c}.mjpg" alt="{c} camera"/></div>'
        for c in cameras
    )
    return f'<div id="cameras" tabindex="0" style="display:flex;gap:8px">{imgs}</div>'


def status_text(app: App) -> str:
    s = app.loop.status()
    x, y, z = s.ee_pos
    lines = [
        f"**Mode:** {s.mode.upper()}" + (f" ({s.estop_reason})" if s.estop else ""),
        f"**Loop:** {s.hz:.1f} Hz · missed ticks {s.missed_ticks} · tick p95 {s.tick_ms_p95:.1f} ms",
        f"**Gripper:** x={x * 100:.1f} cm, y={y * 100:.1f} cm, z={z * 100:.1f} cm, opening {s.gripper:.2f}",
        f"**Scene seed:** {s.seed}",
        app.task_report(),
    ]
    for src in app.loop.sources:
        st = src.status()
        lines.append(f"**{st.source}:** {st.state}" + (f" ({st.detail})" if st.detail else ""))
    if s.error:
        lines.append(f"**Error:** {s.error}")
    return "  \n".join(lines)


def build(app: App) -> None:
    with gr.Row():
        with gr.Column(scale=3):
            gr.HTML(camera_html(list(app.loop.frames.cameras) or ["front", "wrist"]))
            status = gr.Markdown(status_text(app), elem_classes="status-line")
        with gr.Column(scale=2):
            estop = gr.Button("E-STOP", elem_id="estop-btn")
            reset_estop = gr.Button("Reset e-stop")
            with gr.Row():
                seed = gr.Number(value=app.config.seed, label="Scene seed", precision=0, minimum=0)
                reset = gr.Button("Reset scene")
            task = gr.Dropdown(
                choices=[t.instruction for t in all_tasks()], value=None, label="Task", allow_custom_value=False
            )
            gr.Markdown(KEY_HELP)
            gr.HTML(
                '<div id="teleop-pad"></div>'
                '<button id="webhid-connect" type="button">Connect SpaceMouse (browser)</button>'
                '<div id="teleop-js-status"></div>'
            )
    timer = gr.Timer(0.5)
    timer.tick(lambda: status_text(app), outputs=status, show_progress="hidden")

    def do_estop() -> str:
        app.loop.estop("e-stop button")
        return status_text(app)

    def do_reset_estop() -> str:
        app.loop.reset_estop()
        return status_text(app)

    def do_reset(s: float | None) -> str:
        if s is None or s < 0:
            raise gr.Error("The seed must be a whole number ≥ 0.")
        app.reset_scene(int(s))
        return status_text(app)

    def do_task(instruction: str | None) -> str:
        app.set_task(instruction)
        return status_text(app)

    estop.click(do_estop, outputs=status, show_progress="hidden")
    reset_estop.click(do_reset_estop, outputs=status, show_progress="hidden")
    reset.click(do_reset, inputs=seed, outputs=status)
    task.change(do_task, inputs=task, outputs=status)
