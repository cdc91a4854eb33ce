"""Episodes tab, LeRobot import row: a dataset folder, the joint-space choice, the Import button.

Only wiring: `core.review.browse.import_dataset` does the work. Members and admins may import; a
visitor is refused before anything is read.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
from sqlalchemy.exc import SQLAlchemyError

from core.review import ReviewError
from core.review import browse as B
from core.store.errors import StoreError
from ui import guard

DB_ERRORS = (StoreError, SQLAlchemyError, OSError)


def run_import(store: Any, path_text: str, joint_space: bool, request: gr.Request | None) -> str:
    """The Import button's handler: role check, import, audit entry, a summary for the page."""
    who = guard.require(request, "import")
    try:
        res = B.import_dataset(store, store.recordings_dir, path_text, joint_space=bool(joint_space))
    except ReviewError as exc:
        raise gr.Error(str(exc)) from exc
    except DB_ERRORS as exc:  # the store failed: say so, the app keeps running
        raise gr.Error(f"Import failed: {exc}") from exc
    guard.audit(who, "episode.import", (path_text or "")[-300:], episodes=len(res.episode_ids))
    return html_safe(B.import_summary(res))


def html_safe(text: str) -> str:
    from ui.episodes_tab import esc  # here, not at the top: episodes_tab imports this module

    return esc(text)


def build(store: Any) -> Any:
    """The import row; returns the click event (the tab chains a list refresh on its success)."""
    with gr.Row():
        path = gr.Textbox(label="LeRobot dataset folder to import (relative = inside the recordings folder)",
                          placeholder="/data/lerobot/so100_pick", scale=4)
        joint = gr.Checkbox(label="Keep joint-space episodes of a robot without built-in kinematics", value=False,
                            scale=2)
        btn = gr.Button("Import LeRobot dataset", scale=1)
    result = gr.Markdown("")

    def do_import(path_text: str, joint_space: bool, request: gr.Request) -> str:
        return run_import(store, path_text, joint_space, request)

    return btn.click(do_import, inputs=[path, joint], outputs=result, api_name="import_episodes")
