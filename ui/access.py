"""Who is signed in (banner) and who drives (the control panel): owner, request / release / take over,
hand over, and the floor for visitors' commands. The rules are in `core.auth`; this only wires them."""

from __future__ import annotations

import html
from typing import Any

import gradio as gr

from core.auth import AccessDenied, Role
from core.auth.lock import LockState
from ui import guard

OPEN_LAB_TEXT = ("**Open lab**: no user accounts exist, so nobody signs in and everyone who opens this page "
                 "may drive, record, train and delete. To require a login, create an admin on this machine: "
                 "`python -m core.auth create-user NAME --role admin`.")
ROLE_TEXT = {
    Role.ADMIN: "you may do everything, including taking over control at once",
    Role.MEMBER: "you may drive (take control), record, train, and manage episodes",
    Role.VISITOR: "you may watch and ask questions; robot commands only while the operator opens the floor",
}
PANEL_S = 1.0


def banner_text(request: gr.Request | None) -> str:
    svc = guard.service()
    if svc is None or svc.open_lab:
        return OPEN_LAB_TEXT
    p = svc.principal(guard.username(request))
    if p is None:
        return "Not signed in. [Sign in](/)"
    return f"Signed in as **{html.escape(p.name or '')}** ({p.role.value}): {ROLE_TEXT[p.role]}. [Log out](/logout)"


def build_banner(blocks: gr.Blocks) -> None:
    md = gr.Markdown(OPEN_LAB_TEXT, elem_id="access-banner")
    blocks.load(banner_text, outputs=md, show_progress="hidden")


def _ago(s: float | None) -> str:
    if s is None:
        return ""
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.0f} min"


def owner_text(st: LockState, me: str | None) -> str:
    if st.holder is None:
        line = "**Control:** free: *Take control* (or just start driving) to become the operator."
    else:
        who = "**you** are" if st.holder == me else f"**{html.escape(st.holder)}** is"
        line = f"**Control:** {who} the operator (for {_ago(st.held_for_s)})"
        line += " · **floor open**: visitors may send commands" if st.floor_open else " · floor closed"
    if st.requests:
        asks = ", ".join(f"{html.escape(r.user)} (waiting {_ago(r.waited_s)})" for r in st.requests)
        line += f"  \n**Asking for control:** {asks}"
        if st.holder == me:
            line += " · hand over, or they may take over after " + f"{st.takeover_after_s:.0f} s"
    return line


def panel_values(request: gr.Request | None) -> list[Any]:
    """Owner text and the visibility of each button, for the viewer behind `request`."""
    svc = guard.service()
    hidden = [gr.update(visible=False)] * 6
    if svc is None or svc.open_lab:
        return ["**Control:** open lab: no accounts, so there is no control lock.", *hidden]
    me = guard.username(request)
    p = svc.principal(me)
    svc.heartbeat(me)
    st = svc.control_state()
    if p is None:
        return [owner_text(st, None), *hidden]
    can = p.role in (Role.ADMIN, Role.MEMBER)
    mine = st.holder == me
    asked = any(r.user == me for r in st.requests)
    ripe = any(r.user == me and r.waited_s >= st.takeover_after_s for r in st.requests)
    show = [
        can and st.holder is None,  # take
        mine,  # release
        can and st.holder is not None and not mine and not asked,  # request
        can and st.holder is not None and not mine and (p.role == Role.ADMIN or ripe),  # take over
        mine and bool(st.requests),  # hand over
        mine,  # floor
    ]
    floor_label = "Close the floor" if st.floor_open else "Open the floor to visitors"
    ups = [gr.update(visible=v) for v in show]
    ups[5] = gr.update(visible=show[5], value=floor_label)
    return [owner_text(st, me), *ups]


def build_control_panel(prefix: str = "control", period_s: float = PANEL_S) -> None:
    """The owner line and the lock buttons; refreshed every second per viewer. `prefix` keeps element ids
    unique when the panel appears on more than one tab."""
    with gr.Group(elem_id=f"{prefix}-panel"):
        owner = gr.Markdown("**Control:** …", elem_id=f"{prefix}-owner")
        with gr.Row():
            take = gr.Button("Take control", size="sm", variant="primary", visible=False, elem_id=f"{prefix}-take")
            release = gr.Button("Release control", size="sm", visible=False, elem_id=f"{prefix}-release")
            ask = gr.Button("Request control", size="sm", visible=False, elem_id=f"{prefix}-request")
            over = gr.Button("Take over", size="sm", variant="stop", visible=False, elem_id=f"{prefix}-takeover")
            hand = gr.Button("Hand over", size="sm", visible=False, elem_id=f"{prefix}-handover")
            floor = gr.Button("Open the floor to visitors", size="sm", visible=False, elem_id=f"{prefix}-floor")
    outs = [owner, take, release, ask, over, hand, floor]

    def act(fn_name: str):
        def handler(request: gr.Request) -> list[Any]:
            svc = guard.service()
            if svc is None:
                return panel_values(request)
            me = guard.username(request)
            try:
                if fn_name == "floor":
                    svc.set_floor(me, not svc.control_state().floor_open)
                else:
                    getattr(svc, fn_name)(me)
            except AccessDenied as exc:
                raise gr.Error(str(exc), title="Control") from exc
            return panel_values(request)

        handler.__name__ = f"control_{fn_name}"
        return handler

    for btn, name in ((take, "take_control"), (release, "release_control"), (ask, "request_control"),
                      (over, "takeover"), (hand, "hand_over"), (floor, "floor")):
        btn.click(act(name), outputs=outs, show_progress="hidden")

    def control_refresh(request: gr.Request) -> list[Any]:
        return panel_values(request)

    gr.Timer(period_s).tick(control_refresh, outputs=outs, show_progress="hidden", concurrency_limit=None)

