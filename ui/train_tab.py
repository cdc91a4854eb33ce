"""Train tab: pick episodes, start a background LoRA job, watch it, evaluate, activate the adapter."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from core.context import App
from core.store.episodes import EpisodeFilter, list_episodes
from core.training.config import PRESETS, preset
from ui import guard

BASE = "base model (no adapter)"


def episode_choices(app: App, only_success: bool) -> list[tuple[str, int]]:
    eps = list_episodes(app.store, EpisodeFilter(success="success" if only_success else "any", limit=500))
    return [(f"#{e.id} {e.instruction[:50]} ({e.num_steps} steps{', ✓' if e.success else ''})", e.id)
            for e in eps if e.playable]


def jobs_table(app: App) -> pd.DataFrame:
    rows = []
    for j in app.training.list_jobs(30):
        eta = f"{j.eta_s / 60:.1f} min" if j.eta_s and j.active else ""
        rows.append({"id": j.job_id, "name": j.name, "kind": j.kind, "status": j.status, "phase": j.phase,
                     "step": f"{j.step}/{j.total_steps}", "loss": None if j.loss is None else round(j.loss, 4),
                     "ETA": eta, "adapter": j.adapter or ""})
    return pd.DataFrame(rows, columns=["id", "name", "kind", "status", "phase", "step", "loss", "ETA", "adapter"])


def progress_html(p) -> str:
    pct = int(100 * (p.fraction or 0))
    eta = f" · ETA {p.eta_s / 60:.1f} min" if p.eta_s and p.active else ""
    sps = f" · {p.samples_per_s:.2f} samples/s" if p.samples_per_s else ""
    msg = f"<div>{p.message}</div>" if p.message else ""
    return (f"<div><b>Job {p.job_id} · {p.name}</b> · {p.status} ({p.phase}) · step {p.step}/{p.total_steps}{sps}{eta}</div>"
            f'<div style="background:#ddd;border-radius:4px;height:14px"><div style="width:{pct}%;background:#4f6bed;'
            f'height:14px;border-radius:4px"></div></div>{msg}')


def eval_table(p) -> pd.DataFrame:
    rows = [{"metric": k, "value": v} for k, v in sorted((p.eval or {}).items()) if not isinstance(v, (dict, list))]
    return pd.DataFrame(rows, columns=["metric", "value"])


def adapter_choices(app: App) -> list[str]:
    return [BASE] + [a.name for a in app.training.list_adapters()]


def build(app: App) -> None:
    gr.Markdown("LoRA fine-tuning as in the paper (r=16, alpha=32 on q/k/v/o/gate/up/down of the language model, "
                "AdamW 5e-5 with linear decay, loss on answers only). Jobs run in a separate low-priority process, "
                "one at a time; you can keep teleoperating.")
    with gr.Row():
        with gr.Column():
            only_success = gr.Checkbox(True, label="Only episodes tagged success")
            episodes = gr.Dropdown(choices=episode_choices(app, True), multiselect=True, label="Recorded episodes")
            with gr.Row():
                refresh_eps = gr.Button("Refresh list")
                select_all = gr.Button("Select all")
            expert = gr.Number(0, precision=0, minimum=0, maximum=500, label="Plus scripted-expert demos (simulated)")
            preview = gr.Markdown()
        with gr.Column():
            name = gr.Textbox(label="Job / adapter name", placeholder="red-block-v1")
            preset_name = gr.Dropdown(list(PRESETS), value="paper", label="Preset")
            with gr.Row():
                lr = gr.Number(5e-5, label="Learning rate")
                epochs = gr.Number(1.0, label="Epochs")
                max_steps = gr.Number(0, precision=0, minimum=0, label="Max steps (0 = by epochs)")
            with gr.Row():
                r = gr.Number(16, precision=0, minimum=1, label="LoRA r")
                alpha = gr.Number(32, precision=0, minimum=1, label="LoRA alpha")
                batch = gr.Number(4, precision=0, minimum=1, label="Batch")
                accum = gr.Number(2, precision=0, minimum=1, label="Grad. accumulation")
                weight = gr.Number(1.0, minimum=0.1, label="Decision-entry weight",
                                   info="loss weight of the action entries where the motion changes (1 = plain)")
            with gr.Row():
                camera = gr.Radio(["front", "wrist"], value="front", label="Camera the adapter acts from",
                                  info="the loop shows the model the same camera")
                vqa = gr.Number(10, precision=0, minimum=0, label="Scene-VQA retention check: scenes (0 = skip)")
            with gr.Row():
                state = gr.Checkbox(False, label="Also give the model the gripper's state",
                                    info="place and open/closed, written into each question; the loop gives it live")
                grounded = gr.Checkbox(False, label="Or tell it where the subtask's object is",
                                       info="the gripper's height and the object's offset from it, found by the "
                                            "default model's object locator in the front camera (simulator calibration)")
                servo = gr.Checkbox(False, label="Grounded servoing: one long entry per cycle",
                                    info="implies the object line; expert demos move straight to the object and are "
                                         "written in entries of up to 9.5 cm, one per question, every second one "
                                         "starting off the home pose (beyond the paper; see docs/training.md)")
                corrections = gr.Number(0, precision=0, minimum=0, maximum=500, label="Servo corrections (simulated)",
                                        info="with grounded servoing: noisy rollouts of the fixed servo rule (pick-up, "
                                             "put-in), every cycle answered with the rule's entry, so the adapter "
                                             "learns the way back from states off the expert's path")
            start = gr.Button("Train", variant="primary")
    jobs = gr.Dataframe(jobs_table(app), label="Jobs", interactive=False)
    with gr.Row():
        job_id = gr.Number(None, precision=0, minimum=0, label="Job id (click a row)")
        cancel = gr.Button("Cancel")
        resume = gr.Button("Resume")
    progress = gr.HTML()
    with gr.Row():
        loss_plot = gr.LinePlot(x="step", y="loss", title="Training loss", height=260)
        evals = gr.Dataframe(pd.DataFrame(columns=["metric", "value"]), interactive=False,
                             label="Evaluation (held-out actions, VQA before/after)")
    log_tail = gr.Textbox(label="Log", lines=8, interactive=False, autoscroll=True)
    gr.Markdown("### Adapters")
    with gr.Row():
        adapter = gr.Dropdown(adapter_choices(app), value=BASE, label="Active adapter")
        activate = gr.Button("Activate")
        refresh_adapters = gr.Button("Refresh")
        active_line = gr.Markdown()

    def load_eps(only):
        return gr.update(choices=episode_choices(app, only))

    def do_preview(ids, n_expert):
        ids = [int(i) for i in ids or []]
        p = app.training.preview(ids)
        extra = f" + {int(n_expert or 0)} simulated expert demos" if n_expert else ""
        warn = f" · **not verbalized:** {p.missing} (they will be skipped)" if p.missing else ""
        return f"{p.verbalized}/{p.episodes} episodes verbalized, {p.subtasks} subtasks{extra}{warn}"

    def do_preset(name_):
        c = preset(name_)
        return c.lr, c.epochs, c.max_steps or 0, c.lora_r, c.lora_alpha, c.batch_size, c.grad_accum, c.decision_weight

    # the form's widgets by their core.training.form.TrainForm field
    form = {name: "name", episodes: "episode_ids", expert: "expert_demos", preset_name: "preset", lr: "lr",
            epochs: "epochs", max_steps: "max_steps", r: "lora_r", alpha: "lora_alpha", batch: "batch_size",
            accum: "grad_accum", weight: "decision_weight", camera: "camera", state: "robot_state",
            grounded: "grounded", servo: "servo", vqa: "vqa_scenes", corrections: "corrections"}

    fields_in_order = list(form)  # a list, not a set: the API's parameters keep this order

    def do_start(name_, ids, n_expert, pre, lr_, ep, ms, r_, a_, b_, acc_, w_, cam, state_, grounded_, servo_,
                 vqa_, n_corr, request: gr.Request):  # the widgets of `fields_in_order`, in that order
        values = (name_, ids, n_expert, pre, lr_, ep, ms, r_, a_, b_, acc_, w_, cam, state_, grounded_, servo_,
                  vqa_, n_corr)
        from core.training.errors import TrainingError
        from core.training.form import TrainForm

        who = guard.require(request, "train")
        try:
            f = TrainForm.from_values({**{form[c]: v for c, v in zip(fields_in_order, values, strict=True)},
                                       "robot": app.config.robot})
            jid = app.training.start_job(f.job_config(app.config.model or "default"))
        except (TrainingError, ValueError, TypeError) as exc:
            raise gr.Error(str(exc)) from exc
        guard.audit(who, "train.start", f"job {jid}", name=f.name.strip(), episodes=len(f.episode_ids), preset=f.preset)
        return jobs_table(app), jid

    def show(jid):
        if not jid:
            return "<div>Start a job, or click a row of the jobs table to follow it.</div>", None, None, "", jobs_table(app)
        try:
            p = app.training.job_progress(int(jid))
        except Exception as exc:  # unknown id: say so, keep the rest
            return f"<div>{exc}</div>", None, None, "", jobs_table(app)
        hist = pd.DataFrame(p.loss_history, columns=["step", "loss"])
        return progress_html(p), hist, eval_table(p), p.log_tail, jobs_table(app)

    def do_cancel(jid, request: gr.Request):
        who = guard.require(request, "train")
        if not jid:
            raise gr.Error("Enter the id of the job to cancel.")
        app.training.cancel(int(jid))
        guard.audit(who, "train.cancel", f"job {jid}")
        return show(jid)

    def do_resume(jid, request: gr.Request):
        from core.training.errors import TrainingError

        who = guard.require(request, "train")
        if not jid:
            raise gr.Error("Enter the id of the job to resume.")
        try:
            app.training.resume(int(jid))
        except TrainingError as exc:
            raise gr.Error(str(exc)) from exc
        guard.audit(who, "train.resume", f"job {jid}")
        return show(jid)

    def do_activate(name_, request: gr.Request):
        from core.policy.service import ModelNotReadyError
        from core.training.errors import TrainingError

        who = guard.require(request, "adapter")
        try:
            active = app.training.activate_adapter(app.model, None if name_ == BASE else name_)
        except (ModelNotReadyError, TrainingError, ValueError) as exc:
            raise gr.Error(str(exc)) from exc
        guard.audit(who, "adapter.switch", active or BASE)
        return f"Active: **{active or BASE}**", gr.update(choices=adapter_choices(app), value=active or BASE)

    only_success.change(load_eps, only_success, episodes)
    refresh_eps.click(load_eps, only_success, episodes)
    select_all.click(lambda only: [i for _, i in episode_choices(app, only)], only_success, episodes)
    episodes.change(do_preview, [episodes, expert], preview)
    expert.change(do_preview, [episodes, expert], preview)
    preset_name.change(do_preset, preset_name, [lr, epochs, max_steps, r, alpha, batch, accum, weight])
    start.click(do_start, fields_in_order, [jobs, job_id])
    outs = [progress, loss_plot, evals, log_tail, jobs]
    cancel.click(do_cancel, job_id, outs)
    resume.click(do_resume, job_id, outs)

    def pick_job(evt: gr.SelectData):
        row = evt.row_value or []
        return row[0] if row else gr.skip()

    jobs.select(pick_job, None, job_id)
    timer = gr.Timer(2.0)
    timer.tick(show, job_id, outs, show_progress="hidden")
    activate.click(do_activate, adapter, [active_line, adapter])
    refresh_adapters.click(lambda: gr.update(choices=adapter_choices(app)), None, adapter)
