"""Settings tab: input shaping (deadzone, per-axis sensitivity, inversion, SpaceMouse axis map), speed."""

from __future__ import annotations

import gradio as gr

from core.context import App
from core.teleop.base import ShapingConfigError
from core.teleop.shaping import TWIST_AXES
from ui import guard


def build(app: App) -> None:
    cfg = app.shaping
    gr.Markdown("Input shaping applies to the server SpaceMouse and the browser inputs (keyboard and pad "
                "are digital: they ignore the deadzone).")
    with gr.Row():
        deadzone = gr.Slider(0.0, 0.5, value=cfg.deadzone, step=0.01, label="Deadzone (fraction of full scale)")
        speed = gr.Slider(0.05, 1.0, value=app.loop.config.speed_scale, step=0.05, label="Speed (fraction of the limit)")
    with gr.Row():
        sens = [gr.Slider(0.0, 3.0, value=cfg.sensitivity[i], step=0.05, label=f"Sensitivity {a}")
                for i, a in enumerate(TWIST_AXES)]
    invert = gr.CheckboxGroup(list(TWIST_AXES), value=[a for a, v in zip(TWIST_AXES, cfg.invert) if v],
                              label="Invert axes")
    axis_map = gr.Textbox(str(cfg.axis_map), label="SpaceMouse axis map (dx dy dz droll dpitch dyaw ← raw axis, '-' flips, 'off' disables)")
    lim = app.loop.config.limits
    gr.Markdown(
        f"Workspace: x {lim.x[0]:.2f}..{lim.x[1]:.2f} m, y {lim.y[0]:.2f}..{lim.y[1]:.2f} m, "
        f"z {lim.z[0]:.3f}..{lim.z[1]:.2f} m · max speed {lim.max_speed:.2f} m/s · max yaw rate {lim.max_yaw_rate:.1f} rad/s"
    )
    apply = gr.Button("Apply", variant="primary")
    result = gr.Markdown()

    def do_apply(request: gr.Request, dz, spd, inv, amap, *sensitivity):
        who = guard.require(request, "settings")
        try:
            app.apply_teleop_settings(dz, list(sensitivity), [a in inv for a in TWIST_AXES], amap, spd)
        except (ShapingConfigError, ValueError) as exc:
            raise gr.Error(str(exc)) from exc
        guard.audit(who, "settings", "input shaping", speed=spd, deadzone=dz)
        return "Applied."

    apply.click(do_apply, inputs=[deadzone, speed, invert, axis_map, *sens], outputs=result)
