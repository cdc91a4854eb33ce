"""Autonomous tab: one conversation to chat about the scene and to give the robot commands."""

from __future__ import annotations

import gradio as gr

from core.context import App
from core.conversation import looks_like_question
from ui import access, guard
from ui.teleop_tab import camera_html

HELP = """Type a **question** ("what is left of the bowl?") or a **command** in any language
("pon el bloque rojo en el cuenco"). *Send* decides by the wording (a question mark or a question word);
*Ask* and *Do it* force the kind. Everything the model writes appears here before the robot moves.
A command the robot cannot do is answered with why and what it can do (the robot holds); when several
blocks fit ("pick up the block") it asks which one: type the answer ("the red one") next.
Any keyboard or SpaceMouse motion, *Stop*, or Esc takes over at once."""


def model_line(app: App) -> str:
    st = app.model.status()
    run = app.assistant.run
    inputs = app.model.config.inputs  # what the live adapter reads (its card)
    reads = f"acts from the {inputs.camera} camera"
    if inputs.robot_state:
        reads += " and the gripper's state"
    if inputs.grounded:
        reads += (", told where the subtask's object is by the object locator with the simulator camera's "
                  "calibration")
    parts = [f"**Model:** {st.message}" + (f" · {st.precision}" if st.precision else ""),
             f"**Adapter:** {st.adapter}" + (f" ({reads})" if st.adapter != "none" else "")]
    parts.append("**Commands:** " + ("other wordings and languages are first restated in English by the restater"
                                    if app.model.restater is not None else "read as typed (no restater loaded: English commands work best)"))
    if app.assistant.last_path:
        parts.append(f"**Last answer:** {app.assistant.last_path}")
    if run is not None:
        parts.append(f"**Command:** {run.state}")
    return "  \n".join(parts)


def build(app: App, presenter: bool = False) -> None:
    with gr.Row(equal_height=False):
        with gr.Column(scale=3 if presenter else 2):
            gr.HTML(camera_html(["front"]) if presenter else camera_html(["front", "wrist"]))
            seen = gr.Image(label="What the model saw", interactive=False, height=224, visible=not presenter)
        with gr.Column(scale=2 if presenter else 3):
            chat = gr.Chatbot(value=app.conversation.messages(), label="Chat and act", height=520 if presenter else 420,
                              buttons=["copy"])
            status = gr.Markdown(model_line(app))
            if not presenter:
                access.build_control_panel("auto-control", period_s=2.0)  # who drives; whether visitors may command
                gr.Markdown(HELP)
                box = gr.Textbox(placeholder="Ask about the scene or tell the robot what to do…", show_label=False,
                                 lines=1, max_lines=3)
                with gr.Row():
                    send = gr.Button("Send", variant="primary")
                    ask = gr.Button("Ask")
                    do = gr.Button("Do it")
                    stop = gr.Button("Stop", variant="stop")
                    clear = gr.Button("Clear chat")

    timer = gr.Timer(0.4)
    outputs = [chat, status] if presenter else [chat, status, seen]
    shown = gr.State(None)  # what this page was last sent by the timer (the three parts' versions)

    def refresh():
        vals = [app.conversation.messages(), model_line(app)]
        if not presenter:
            vals.append(app.assistant.seen.image)
        return vals

    def tick(last: tuple | None):
        """Only what changed since this page's last tick: every 0.4 s re-sending the whole chat and
        re-encoding the picture cost each open page CPU the control loop and the model needed."""
        seen_obj = app.assistant.seen
        now = (app.conversation.version, model_line(app), (id(seen_obj.image), seen_obj.caption))
        last = last or (None, None, None)
        vals = [app.conversation.messages() if now[0] != last[0] else gr.skip(),
                now[1] if now[1] != last[1] else gr.skip()]
        if not presenter:
            vals.append(seen_obj.image if now[2] != last[2] else gr.skip())
        return [*vals, now]

    timer.tick(tick, inputs=shown, outputs=[*outputs, shown], show_progress="hidden",
               concurrency_limit=None, api_name="refresh")  # read-only, every viewer
    if presenter:
        return

    def guarded(fn, action: str | None):
        def run(text: str, request: gr.Request):
            from core.assistant import AssistantBusy
            from core.control.loop import ControlError
            from core.policy.service import ModelNotReadyError

            # a question is open to everyone signed in; a command needs control (or the open floor)
            kind = action or ("ask" if looks_like_question(text) else "command")
            who = guard.require(request, kind)
            if kind == "command":
                guard.audit(who, "command", (text or "").strip()[:200])
            try:
                fn(text)
            except (ModelNotReadyError, AssistantBusy, ControlError, ValueError, RuntimeError) as exc:
                raise gr.Error(str(exc)) from exc
            return "", *refresh()

        return run

    outs = [box, chat, status, seen]
    send.click(guarded(app.assistant.send, None), inputs=box, outputs=outs)
    box.submit(guarded(app.assistant.send, None), inputs=box, outputs=outs)
    ask.click(guarded(app.assistant.ask, "ask"), inputs=box, outputs=outs)
    do.click(guarded(app.assistant.command, "command"), inputs=box, outputs=outs)

    def do_stop(request: gr.Request):
        who = guard.require(request, "estop")  # anyone may stop the robot
        if app.assistant.stop():
            guard.audit(who, "command.stop")
        return refresh()

    def do_clear(request: gr.Request):
        guard.require(request, "edit")  # the chat is shared by every viewer
        app.conversation.clear()
        return refresh()

    stop.click(do_stop, outputs=[chat, status, seen])
    clear.click(do_clear, outputs=[chat, status, seen])
