"""The Gradio page: one tab per module, each only wiring components to `core` calls."""

from __future__ import annotations

import gradio as gr

from core.context import App
from ui import access, autonomous_tab, episodes_tab, settings_tab, teleop_tab, train_tab
from ui.server import quiet_gradio_analytics

CSS = """
.cam img { width: 100%; aspect-ratio: 1 / 1; image-rendering: auto; border-radius: 6px; background: #222; }
#estop-btn { background: #c0392b !important; color: white !important; font-weight: 700; font-size: 1.2em; min-height: 3.2em; }
#teleop-pad button { min-width: 3.2em; min-height: 3.2em; margin: 2px; touch-action: none; }
.status-line { font-family: ui-monospace, monospace; }
"""

HEAD = ('<script src="/studio-static/teleop.js" defer></script>'
        '<script src="/studio-static/teleop_pad.js" defer></script>'
        '<script src="/studio-static/streams.js" defer></script>')


def build_blocks(app: App) -> gr.Blocks:
    quiet_gradio_analytics()  # read when gr.Blocks makes its queue, i.e. on the next line
    with gr.Blocks(title="VLM2VLA Studio", analytics_enabled=False) as blocks:
        gr.Markdown("## VLM2VLA Studio: actions as language")
        access.build_banner(blocks)  # signed in as ... / open lab
        with gr.Tabs():
            with gr.Tab("Teleop & Record", id="teleop"):
                teleop_tab.build(app)
            with gr.Tab("Episodes", id="episodes"):
                episodes_tab.build(app)
            with gr.Tab("Train", id="train"):
                train_tab.build(app)
            with gr.Tab("Autonomous", id="autonomous"):
                autonomous_tab.build(app)
            with gr.Tab("Presenter", id="presenter"):
                autonomous_tab.build(app, presenter=True)
            with gr.Tab("Settings", id="settings"):
                settings_tab.build(app)
    return blocks
