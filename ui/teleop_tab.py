"""Teleop tab: live cameras (MJPEG routes), e-stop, scene reset, task picker, input devices."""

from __future__ import annotations

import gradio as gr

from core.context import App
from core.robot.tasks import all_tasks
from ui import access, guard

KEY_HELP = """**Keyboard** (click the camera view first; ignored while typing in a text box):
W/S forward/back · A/D left/right · R/F up/down · Q/E rotate · Space open/close gripper · Shift slow ·
Esc **e-stop** · N start recording · Y save as success · U save as failure · X discard"""


def camera_html(cameras: list[str]) -> str:
    """The cameras' live pictures; ui/static/streams.js opens each stream only while its picture is shown."""
    imgs = "".join(
        f'<div class="cam" style="flex:1"><div>{c}</div><img id="cam-{c}" data-stream="/stream/{c}.mjpg" '
        f'alt="{c} camera"/></div>'
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
        f"**Robot:** {app.robot_report()} · **Scene seed:** {s.seed}",
        app.task_report(),
    ]
    for src in app.loop.sources:
        st = src.status()
        lines.append(f"**{st.source}:** {st.state}" + (f" ({st.detail})" if st.detail else ""))
    rec = app.recording.recorder.status if app.recording else None
    if rec is not None:
        if rec.state == "recording":
            lines.append(f"**Recording:** episode {rec.episode_id} · {rec.steps} steps · {rec.elapsed_s:.1f} s"
                         f" · frames pending {rec.frames_pending}")
        elif app.recording.last is not None:
            r = app.recording.last.result
            lines.append(f"**Last episode:** {r.episode_id} {r.status}, {r.num_steps} steps"
                         + (f" ({'; '.join(r.problems)})" if r.problems else ""))
    if app.last_message:
        lines.append(f"**Note:** {app.last_message}")
    if s.error:
        lines.append(f"**Error:** {s.error}")
    return "  \n".join(lines)


def saved_language(app: App) -> str:
    last = app.recording.last if app.recording else None
    if last is None:
        return ""
    if last.verbalization is None:
        return last.note
    v = last.verbalization
    return f"Episode {last.result.episode_id} as language (spec {v.spec_version}):\n\n" + (v.text() or "(no motion)")


def build(app: App) -> None:
    with gr.Row():
        with gr.Column(scale=3):
            gr.HTML(camera_html(list(app.loop.frames.cameras) or ["front", "wrist"]))
            status = gr.Markdown(status_text(app), elem_classes="status-line")
            live = gr.Textbox(label="Live: this episode as language actions", lines=4, interactive=False)
            saved = gr.Textbox(label="Last saved episode, verbalized", lines=8, interactive=False)
        with gr.Column(scale=2):
            access.build_control_panel()  # who drives: take / release / request / take over / floor
            estop = gr.Button("E-STOP", elem_id="estop-btn")
            reset_estop = gr.Button("Reset e-stop")
            with gr.Row():
                seed = gr.Number(value=app.config.seed, label="Scene seed", precision=0, minimum=0)
                reset = gr.Button("Reset scene")
            task = gr.Dropdown(
                choices=[t.instruction for t in all_tasks()], value=None, label="Task", allow_custom_value=False
            )
            with gr.Group():
                instruction = gr.Textbox(label="Instruction for the recording", placeholder="put the red block in the bowl")
                operator = gr.Textbox(label="Operator", placeholder="your name")
                with gr.Row():
                    rec_start = gr.Button("● Record", variant="primary")
                    rec_ok = gr.Button("Save: success")
                    rec_fail = gr.Button("Save: failure")
                    rec_discard = gr.Button("Discard")
            gr.Markdown(KEY_HELP)
            gr.HTML(
                '<div id="teleop-pad"></div>'
                '<button id="webhid-connect" type="button">Connect SpaceMouse (browser)</button>'
            )
    timer = gr.Timer(0.5)
    timer.tick(lambda: (status_text(app), app.recording.live_text(), saved_language(app)),
               outputs=[status, live, saved], show_progress="hidden",
               concurrency_limit=None)  # read-only: every open page's status line at once, not one by one

    def do_estop(request: gr.Request) -> str:
        who = guard.require(request, "estop")  # everyone may stop the robot
        app.loop.estop("e-stop button" + ("" if who.open_lab else f" ({who.name})"))
        guard.audit(who, "estop", detail="button")
        return status_text(app)

    def do_reset_estop(request: gr.Request) -> str:
        guard.audit(guard.require(request, "control"), "estop.reset")
        app.loop.reset_estop()
        return status_text(app)

    def do_reset(s: float | None, request: gr.Request) -> str:
        guard.require(request, "control")
        if s is None or s < 0:
            raise gr.Error("The seed must be a whole number ≥ 0.")
        app.reset_scene(int(s))
        return status_text(app)

    def do_task(instruction: str | None, request: gr.Request):
        guard.require(request, "control")
        app.set_task(instruction)
        if instruction:
            app.record_instruction = instruction
        return status_text(app), instruction or gr.skip()

    def do_record(text: str, who: str, request: gr.Request) -> str:
        from core.recording import RecordingRefused

        p = guard.require(request, "record")
        try:
            episode = app.start_recording(text, p.name or who)  # signed in: the account is the operator
        except RecordingRefused as exc:
            raise gr.Error(str(exc)) from exc
        guard.audit(p, "record.start", f"episode {episode}")
        return status_text(app)

    def do_stop(success: bool | None, request: gr.Request):
        from core.recording import NotRecording

        p = guard.require(request, "record")
        try:
            saved = app.stop_recording(success)
        except NotRecording as exc:
            raise gr.Error("Nothing is being recorded.") from exc
        guard.audit(p, "record.save", f"episode {saved.result.episode_id}", success=success)
        return status_text(app), saved_language(app)

    def save_success(request: gr.Request):
        return do_stop(True, request)

    def save_failure(request: gr.Request):
        return do_stop(False, request)

    def do_discard(request: gr.Request) -> str:
        from core.recording import NotRecording

        p = guard.require(request, "record")
        try:
            app.recording.discard()
        except NotRecording as exc:
            raise gr.Error("Nothing is being recorded.") from exc
        guard.audit(p, "record.discard")
        return status_text(app)

    def set_instruction(text: str, request: gr.Request) -> None:
        if guard.can_drive(request):  # silently ignored for viewers who may not record
            app.record_instruction = text.strip()

    rec_start.click(do_record, inputs=[instruction, operator], outputs=status)
    rec_ok.click(save_success, outputs=[status, saved])
    rec_fail.click(save_failure, outputs=[status, saved])
    rec_discard.click(do_discard, outputs=status)
    instruction.change(set_instruction, inputs=instruction)

    estop.click(do_estop, outputs=status, show_progress="hidden")
    reset_estop.click(do_reset_estop, outputs=status, show_progress="hidden")
    reset.click(do_reset, inputs=seed, outputs=status)
    task.change(do_task, inputs=task, outputs=[status, instruction])
