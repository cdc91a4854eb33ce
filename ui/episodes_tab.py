"""Episodes tab: filter and list recorded episodes, play their videos, plot the end-effector path,
see the episode as language on a timeline aligned with the video (click an entry to seek), correct
subtask / plan text (saved as a new verbalization version), tag, edit, delete with confirmation,
bulk actions, LeRobot v3 export and import, and replay the language on a separate simulator.

Only wiring: the logic lives in `core.review` and `core.store.episodes`.
"""

from __future__ import annotations

import html
import logging
from typing import Any

import gradio as gr
import pandas as pd
from sqlalchemy.exc import SQLAlchemyError

from core.context import App
from core.review import ReviewError, TimelineSubtask, build_timeline
from core.review import browse as B
from core.review.errors import StaleVerbalization
from core.review.replay import ReplayRunner, replay_stored
from core.store import episodes as E
from core.store.errors import EpisodeBusy, StoreError
from core.store.lookup import InvalidValue
from ui import episodes_import, guard

log = logging.getLogger(__name__)

VIDEO_SLOTS = 3
COLUMN_WIDTHS = ["45px", "135px", "220px", "120px", "80px", "75px", "55px", "65px", "80px", "95px", "190px"]
LIST_LIMIT = 200
AUTO_REFRESH_S = 3.0
DB_ERRORS = (StoreError, SQLAlchemyError, OSError)

HELP = """Click a row to open an episode. The timeline shows the episode as language: subtasks, their motion
plans and action entries; **click an entry to jump the videos there**. Corrections of a subtask or plan are saved
as a new verbalization version, which training uses."""

# Delegated click -> seek every episode video; a playhead and the current entry follow the main video.
TIMELINE_JS = """
const videos = () => document.querySelectorAll('.episode-video video');
element.addEventListener('click', (e) => {
  const b = e.target.closest('[data-seek]');
  if (!b) return;
  const t = parseFloat(b.dataset.seek);
  if (!isFinite(t)) return;
  videos().forEach((v) => { try { v.pause(); v.currentTime = t; } catch (err) {} });
  element.querySelectorAll('.tl-active').forEach((x) => x.classList.remove('tl-active'));
  b.classList.add('tl-active');
});
setInterval(() => {
  const v = document.querySelector('#episode-video video');
  const head = element.querySelector('.tl-playhead');
  const bar = element.querySelector('.tl-bar');
  if (!v || !head || !bar) return;
  const total = parseFloat(bar.dataset.duration);
  if (!(total > 0)) return;
  const t = v.currentTime;
  head.style.left = Math.min(100, 100 * t / total) + '%';
  element.querySelectorAll('.tl-chunk').forEach((c) => {
    const a = parseFloat(c.dataset.seek), z = parseFloat(c.dataset.end);
    c.classList.toggle('tl-now', t >= a && t < z);
  });
}, 250);
"""

TIMELINE_CSS = """
.tl { font-size: 0.92em; }
.tl-bar { position: relative; height: 26px; background: #eceff3; border-radius: 4px; margin: 4px 0 10px 0; }
.tl-seg { position: absolute; top: 3px; height: 20px; min-width: 3px; border: 0; border-right: 1px solid white;
          border-radius: 2px; cursor: pointer;
          padding: 0; opacity: 0.85; }
.tl-seg:hover { opacity: 1; outline: 2px solid #333; }
.tl-playhead { position: absolute; top: 0; bottom: 0; width: 2px; background: #c0392b; left: 0; pointer-events: none; }
.tl-list { list-style: none; padding: 0; margin: 0; }
.tl-sub { border-left: 5px solid #999; padding: 4px 8px; margin: 6px 0; background: #fafbfc; }
.tl-head { font-weight: 600; }
.tl-plan { color: #444; margin: 2px 0 4px 0; }
.tl-chunks { display: flex; flex-wrap: wrap; gap: 4px; }
.tl-chunk, .tl-subbtn { border: 1px solid #ccd; background: white; border-radius: 4px; padding: 2px 6px; cursor: pointer;
                        font-family: ui-monospace, monospace; font-size: 0.9em; }
.tl-subbtn { font-family: inherit; font-weight: 600; font-size: 1em; }
.tl-chunk:hover, .tl-subbtn:hover { background: #eef3ff; }
.tl-chunk.tl-now { background: #fff4cc; }
.tl-chunk.tl-active { outline: 2px solid #2d6cdf; }
.tl-chunk[disabled] { cursor: default; opacity: 0.6; }
.tl-time { color: #666; font-weight: normal; font-size: 0.9em; }
"""

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7")


# ---- rendering (pure) -----------------------------------------------------------------------------
def esc(text: object) -> str:
    """HTML-escape, and neutralise template syntax (`${`, `{{`) of the HTML component."""
    return html.escape(str(text)).replace("$", "&#36;").replace("{", "&#123;").replace("}", "&#125;")


def _num(v: float | None, fmt: str = "{:.2f}") -> str:
    return "" if v is None else fmt.format(v)


def timeline_html(tl: list[TimelineSubtask], duration: float | None) -> str:
    """The clickable timeline: a proportional bar of entries, then subtask -> plan -> entries."""
    if not tl:
        return '<div class="tl"><em>No language for this episode (no motion, or no verbalization).</em></div>'
    ends = [c.seek_end for s in tl for c in s.chunks if c.seek_end is not None]
    total = duration if duration and duration > 0 else (max(ends) if ends else 0.0)
    segs: list[str] = []
    items: list[str] = []
    for s in tl:
        color = PALETTE[s.index % len(PALETTE)]
        chunks: list[str] = []
        for c in s.chunks:
            title = esc(f"{s.index + 1}. {s.text}: {c.phrase}")
            if c.seek is None:
                chunks.append(f'<button class="tl-chunk" disabled title="{title}">{esc(c.action)}</button>')
                continue
            end = c.seek_end if c.seek_end is not None and c.seek_end > c.seek else c.seek + 0.05
            chunks.append(
                f'<button class="tl-chunk" data-seek="{c.seek:.3f}" data-end="{end:.3f}" data-chunk="{c.index}" '
                f'title="{title}">{c.seek:.1f} s · {esc(c.action)}</button>'
            )
            if total > 0:
                left = min(100.0, 100.0 * c.seek / total)
                width = max(0.4, min(100.0 - left, 100.0 * (end - c.seek) / total))
                segs.append(
                    f'<button class="tl-seg" data-seek="{c.seek:.3f}" title="{title}" '
                    f'style="left:{left:.2f}%;width:{width:.2f}%;background:{color}"></button>'
                )
        span = f"{_num(s.t_start, '{:.1f}')}–{_num(s.t_end, '{:.1f}')} s" if s.t_start is not None else ""
        head = (
            f'<button class="tl-subbtn" data-seek="{s.seek:.3f}">{s.index + 1}. {esc(s.text)}</button>'
            if s.seek is not None else f"{s.index + 1}. {esc(s.text)}"
        )
        items.append(
            f'<li class="tl-sub" style="border-left-color:{color}"><div class="tl-head">{head} '
            f'<span class="tl-time">{span} · {len(s.chunks)} entries</span></div>'
            f'<div class="tl-plan">Plan: {esc(s.plan)}</div><div class="tl-chunks">{"".join(chunks)}</div></li>'
        )
    bar = (
        f'<div class="tl-bar" data-duration="{total:.3f}">{"".join(segs)}<div class="tl-playhead"></div></div>'
        if total > 0 else ""
    )
    return f'<div class="tl">{bar}<ol class="tl-list">{"".join(items)}</ol></div>'


def info_markdown(ep: E.EpisodeSummary, problems: list[str]) -> str:
    lines = [
        f"### Episode {ep.id} · {esc(ep.instruction or '(no instruction)')}",
        f"**Result:** {B.result_word(ep.success)} · **status:** {ep.status} · **started:** "
        f"{ep.started_at:%Y-%m-%d %H:%M:%S} UTC · **{ep.duration_s:.1f} s**, {ep.num_steps} steps at {ep.fps:g} Hz",
        f"**Task:** {esc(ep.task or '–')} · **operator:** {esc(ep.operator or '–')} · **seed:** "
        f"{'–' if ep.seed is None else ep.seed} · **robot:** {esc(ep.robot or '–')} · **folder:** `{ep.uid}`",
    ]
    lines += [f"⚠️ {esc(p)}" for p in problems if p]
    return "  \n".join(lines)


def version_markdown(cur: B.CurrentVerbalization | None) -> str:
    if cur is None:
        return ""
    if cur.verbalization is None:
        return f"**Verbalization:** none ({esc(cur.problem)})"
    shown = f"v{cur.version}" if cur.version else "computed now (not stored)"
    hist = ", ".join(f"v{v} ({label})" for v, _, label in cur.history) or "none stored"
    out = f"**Verbalization:** {shown} · spec {cur.spec_version} · history: {hist}"
    if not cur.verbalization.subtasks:
        out += " · no subtasks (no motion was recorded)"
    return out + (f"  \n⚠️ {esc(cur.problem)}" if cur.problem else "")


def subtask_choices(cur: B.CurrentVerbalization | None) -> list[tuple[str, int]]:
    if cur is None or cur.verbalization is None:
        return []
    return [(f"{i + 1}. {s.text}"[:90], i) for i, s in enumerate(cur.verbalization.subtasks)]


# ---- the tab ------------------------------------------------------------------------------------
def build(app: App) -> None:
    store = app.store
    if store is None:
        gr.Markdown("**The episode store is not available**: start the app with a recordings folder.")
        return
    runner = ReplayRunner()
    default_export = str(store.recordings_dir / "exports")

    gr.Markdown(HELP)
    with gr.Row():
        f_task = gr.Dropdown(choices=[], value=None, label="Task", allow_custom_value=True, scale=2)
        f_result = gr.Radio(list(B.SUCCESS_CHOICES), value="any", label="Result", scale=2)
        f_since = gr.Textbox(label="From (YYYY-MM-DD)", placeholder="2026-01-31", scale=1)
        f_until = gr.Textbox(label="To (YYYY-MM-DD)", placeholder="2026-12-31", scale=1)
        f_operator = gr.Dropdown(choices=[], value=None, label="Operator", allow_custom_value=True, scale=1)
        f_text = gr.Textbox(label="Instruction contains", placeholder="red block", scale=2)
    with gr.Row():
        refresh = gr.Button("Apply filters / refresh", scale=0)
        count_md = gr.Markdown("")
    def initial_table() -> pd.DataFrame:
        try:
            return B.table_rows(E.list_episodes(store, E.EpisodeFilter(limit=LIST_LIMIT)))
        except DB_ERRORS as exc:
            log.warning("episode list at page load: %s", exc)
            return pd.DataFrame(columns=B.TABLE_COLUMNS)

    table = gr.Dataframe(
        value=initial_table, headers=B.TABLE_COLUMNS, interactive=False,
        label="Episodes (click a row to open it)", elem_id="episodes-table", max_height=320, wrap=True,
        column_widths=COLUMN_WIDTHS,
    )
    listed = gr.State([])
    sig = gr.State(None)
    pending = gr.State([])
    shown = gr.State(None)

    with gr.Accordion("Bulk actions and LeRobot export", open=True):
        with gr.Row():
            bulk = gr.Dropdown(choices=[], value=[], multiselect=True, label="Selected episodes", scale=4,
                               elem_id="episodes-bulk")
            sel_all = gr.Button("Select all listed", scale=0)
            sel_none = gr.Button("Clear", scale=0)
        with gr.Row():
            b_ok = gr.Button("Tag success")
            b_fail = gr.Button("Tag failure")
            b_untag = gr.Button("Untag")
            b_delete = gr.Button("Delete selected…", variant="stop")
        with gr.Row():
            ex_root = gr.Textbox(value=default_export, label="Export folder (inside the recordings folder's exports/; a name is taken there)",
                                 scale=3)
            ex_name = gr.Textbox(label="Dataset name", placeholder="red_block_demos", scale=2)
            ex_btn = gr.Button("Export selected (LeRobot v3)", scale=1)
        ex_md = gr.Markdown("")
        im_btn = episodes_import.build(store)
    with gr.Group(visible=False) as confirm_box:
        confirm_md = gr.Markdown("")
        with gr.Row():
            confirm_btn = gr.Button("Confirm delete", variant="stop", elem_id="episodes-confirm-delete")
            cancel_btn = gr.Button("Cancel")

    gr.Markdown("---")
    episode = gr.Dropdown(choices=[], value=None, label="Open episode", elem_id="episode-pick")
    info = gr.Markdown("")
    with gr.Row():
        videos = [
            gr.Video(label="camera", interactive=False, visible=i == 0, elem_classes=["episode-video"],
                     elem_id="episode-video" if i == 0 else f"episode-video-{i + 1}", height=300)
            for i in range(VIDEO_SLOTS)
        ]
    with gr.Row():
        pos_plot = gr.LinePlot(x="t", y="value", color="series", x_title="time (s)", y_title="cm",
                               label="End-effector position")
        grip_plot = gr.LinePlot(x="t", y="value", color="series", x_title="time (s)", y_title="1 open · 0 closed",
                                label="Gripper", y_lim=[-0.05, 1.05])
    timeline = gr.HTML("", js_on_load=TIMELINE_JS, css_template=TIMELINE_CSS, elem_id="episode-timeline",
                       padding=False)
    version_md = gr.Markdown("", elem_id="episode-version")
    with gr.Row():
        with gr.Column(scale=3):
            with gr.Row():
                sub_pick = gr.Dropdown(choices=[], value=None, label="Correct subtask", scale=1)
                sub_text = gr.Textbox(label="Subtask text", scale=2)
            sub_plan = gr.Textbox(label="Motion plan")
            save_corr = gr.Button("Save correction (new version)")
        with gr.Column(scale=2):
            instr = gr.Textbox(label="Instruction")
            save_instr = gr.Button("Save instruction")
            with gr.Row():
                e_ok = gr.Button("Success")
                e_fail = gr.Button("Failure")
                e_untag = gr.Button("Untag")
                e_delete = gr.Button("Delete…", variant="stop")
    with gr.Row():
        replay_btn = gr.Button("Replay as language (simulator)", scale=0, elem_id="episode-replay")
        replay_md = gr.Markdown("", elem_id="episode-replay-result")

    filters = [f_task, f_result, f_since, f_until, f_operator, f_text]

    # ---- list --------------------------------------------------------------------------------
    def list_values(task, result, since, until, operator, text, bulk_values, current) -> list[Any]:
        f = B.make_filter(task, result, since, until, operator, text, limit=LIST_LIMIT)
        eps = E.list_episodes(store, f)
        total = E.count_episodes(store, f)
        ids = [ep.id for ep in eps]
        choices = [(B.choice_label(ep), ep.id) for ep in eps]
        keep = [i for i in B.parse_ids(bulk_values) if i in ids]
        broken = sum(1 for ep in eps if B.problem_text(ep))
        count = f"**{total}** episode(s)" + (f", showing the newest {len(eps)}" if total > len(eps) else "")
        count += f" · {broken} with problems" if broken else ""
        tasks = E.distinct_tasks(store)
        ops = E.operators(store)
        cur = current if current in ids else None
        return [
            B.table_rows(eps), count,
            gr.update(choices=choices, value=keep),
            gr.update(choices=choices, value=cur),
            ids,
            gr.update(choices=[""] + tasks), gr.update(choices=[""] + ops),
            B.listing_signature(store),
        ]

    list_outputs = [table, count_md, bulk, episode, listed, f_task, f_operator, sig]

    def do_refresh(*args: Any) -> list[Any]:
        try:
            return list_values(*args)
        except ReviewError as exc:
            raise gr.Error(str(exc)) from exc
        except DB_ERRORS as exc:
            log.exception("episode list")
            raise gr.Error(f"Cannot read the episode store: {exc}") from exc

    def auto_refresh(*args: Any) -> list[Any]:
        *form, last = args
        try:
            now = B.listing_signature(store)
            if now == last:
                return [gr.skip()] * len(list_outputs)
            return list_values(*form)
        except (ReviewError, *DB_ERRORS) as exc:  # a bad filter was already reported on Apply
            log.debug("auto refresh skipped: %s", exc)
            return [gr.skip()] * len(list_outputs)

    list_inputs = [*filters, bulk, episode]
    refresh.click(do_refresh, inputs=list_inputs, outputs=list_outputs)
    for box in (f_since, f_until, f_text):
        box.submit(do_refresh, inputs=list_inputs, outputs=list_outputs)
    for dd in (f_task, f_result, f_operator):
        dd.input(do_refresh, inputs=list_inputs, outputs=list_outputs)
    timer = gr.Timer(AUTO_REFRESH_S)
    timer.tick(auto_refresh, inputs=[*list_inputs, sig], outputs=list_outputs, show_progress="hidden")

    def on_row(evt: gr.SelectData) -> Any:
        row = evt.row_value or []
        try:
            return int(row[0])
        except (IndexError, TypeError, ValueError):
            return gr.skip()

    table.select(on_row, outputs=episode)
    sel_all.click(lambda ids: gr.update(value=list(ids)), inputs=listed, outputs=bulk)
    sel_none.click(lambda: gr.update(value=[]), outputs=bulk)

    # ---- one episode -------------------------------------------------------------------------
    def empty_view(message: str = "") -> list[Any]:
        vids = [gr.update(value=None, visible=i == 0, label="camera") for i in range(VIDEO_SLOTS)]
        return [message, *vids, None, None, "", "", gr.update(choices=[], value=None), "", "", "", None, ""]

    view_outputs = [info, *videos, pos_plot, grip_plot, timeline, instr, sub_pick, sub_text, sub_plan, version_md,
                    shown, replay_md]

    def language_parts(ep: E.EpisodeSummary, cur: B.CurrentVerbalization, arrays: E.StepArrays | None,
                       pick: int | None) -> list[Any]:
        """timeline, sub_pick, sub_text, sub_plan, version_md for `cur`."""
        tl_html = ""
        if cur.verbalization is not None:
            t = arrays.t.tolist() if arrays is not None else []
            fi = arrays.frame_index.tolist() if arrays is not None else []
            duration = (max(fi) + 1) / ep.fps if fi and max(fi) >= 0 and ep.fps else None
            tl_html = timeline_html(build_timeline(cur.verbalization, t, fi, ep.fps), duration)
        else:
            tl_html = timeline_html([], None)
        choices = subtask_choices(cur)
        idx = pick if pick is not None and 0 <= pick < len(choices) else (0 if choices else None)
        sub = cur.verbalization.subtasks[idx] if idx is not None and cur.verbalization else None
        return [tl_html, gr.update(choices=choices, value=idx), sub.text if sub else "", sub.plan if sub else "",
                version_markdown(cur)]

    def open_episode(eid: Any) -> list[Any]:
        if eid in (None, ""):
            return empty_view()
        try:
            ep = E.get_episode(store, int(eid))
        except (ValueError, TypeError):
            gr.Warning(f"Not an episode id: {eid!r}")
            return empty_view()
        except DB_ERRORS as exc:
            gr.Warning(str(exc))
            return empty_view(f"⚠️ {esc(exc)}")
        cams, video_problems = B.playable_videos(ep)
        problems = [B.problem_text(ep), *video_problems]
        vids = []
        for i in range(VIDEO_SLOTS):
            if i < len(cams):
                vids.append(gr.update(value=str(cams[i].path), visible=True, label=f"{cams[i].camera} camera"))
            else:
                vids.append(gr.update(value=None, visible=i == 0 and not cams, label="no playable video"))
        if len(cams) > VIDEO_SLOTS:
            problems.append(f"showing {VIDEO_SLOTS} of {len(cams)} cameras")
        arrays = None
        pos = grip = None
        try:
            arrays = E.step_arrays(store, ep.id)
            pos, grip = B.plot_frames(arrays)
        except DB_ERRORS as exc:
            problems.append(f"steps cannot be read: {exc}")
        cur = B.current_verbalization(store, ep.id, ep.instruction)
        lang = language_parts(ep, cur, arrays, None)
        return [info_markdown(ep, problems), *vids, pos, grip, lang[0], ep.instruction or "", *lang[1:4], lang[4],
                cur, ""]

    episode.change(open_episode, inputs=episode, outputs=view_outputs)

    def pick_subtask(idx: Any, cur: B.CurrentVerbalization | None) -> tuple[Any, Any]:
        if cur is None or cur.verbalization is None or idx is None:
            return "", ""
        try:
            sub = cur.verbalization.subtasks[int(idx)]
        except (IndexError, ValueError, TypeError):
            return gr.skip(), gr.skip()
        return sub.text, sub.plan

    sub_pick.input(pick_subtask, inputs=[sub_pick, shown], outputs=[sub_text, sub_plan])

    def do_correct(eid: Any, idx: Any, text: str, plan: str, cur: B.CurrentVerbalization | None,
                   request: gr.Request) -> list[Any]:
        who = guard.require(request, "edit")
        if eid in (None, "") or cur is None:
            raise gr.Error("Open an episode first.")
        if idx is None:
            raise gr.Error("Pick the subtask to correct.")
        try:
            ep = E.get_episode(store, int(eid))
            arrays = E.step_arrays(store, ep.id)
            version = B.save_correction(store, ep.id, cur, int(idx), text, plan)
        except StaleVerbalization as exc:
            # show the newer version, keep what the user typed in the boxes
            gr.Warning(str(exc))
            new = B.current_verbalization(store, ep.id, ep.instruction)
            parts = language_parts(ep, new, arrays, int(idx))
            return [parts[0], parts[1], gr.skip(), gr.skip(), parts[4], new]
        except ReviewError as exc:
            raise gr.Error(str(exc)) from exc
        except DB_ERRORS as exc:
            raise gr.Error(f"The correction was not saved: {exc}") from exc
        guard.audit(who, "episode.correct", f"episode {eid}", version=version)
        gr.Info(f"Saved as verbalization v{version}; training uses it from now on.")
        new = B.current_verbalization(store, ep.id, ep.instruction)
        return [*language_parts(ep, new, arrays, int(idx)), new]

    save_corr.click(do_correct, inputs=[episode, sub_pick, sub_text, sub_plan, shown],
                    outputs=[timeline, sub_pick, sub_text, sub_plan, version_md, shown])

    def do_instruction(eid: Any, text: str, request: gr.Request) -> Any:
        guard.require(request, "edit")
        if eid in (None, ""):
            raise gr.Error("Open an episode first.")
        try:
            E.set_instruction(store, int(eid), text or "")
        except InvalidValue as exc:
            raise gr.Error(f"Instruction not saved: {exc}") from exc
        except DB_ERRORS as exc:
            raise gr.Error(f"Instruction not saved: {exc}") from exc
        gr.Info(f"Episode {eid}: instruction saved.")

    def do_tag(ids: list[int], value: bool | None, request: gr.Request | None = None) -> None:
        guard.require(request, "edit")
        if not ids:
            raise gr.Error("Select episodes first.")
        try:
            n = E.set_success(store, ids, value)
        except DB_ERRORS as exc:
            raise gr.Error(f"Not tagged: {exc}") from exc
        gr.Info(f"{n} episode(s) tagged {B.result_word(value)}.")

    def reopen(eid: Any) -> Any:
        """After a tag or an edit: refresh the episode's header only (the players keep their place)."""
        if eid in (None, ""):
            return gr.skip()
        try:
            ep = E.get_episode(store, int(eid))
        except (ValueError, TypeError, *DB_ERRORS):
            return gr.skip()
        _, video_problems = B.playable_videos(ep)
        return info_markdown(ep, [B.problem_text(ep), *video_problems])

    def tag_one(value: bool | None):
        def tag_episode(eid: Any, request: gr.Request) -> None:
            do_tag([] if eid in (None, "") else [int(eid)], value, request)
        return tag_episode

    def tag_many(value: bool | None):
        def tag_selected(sel: Any, request: gr.Request) -> None:
            do_tag(_ids(sel), value, request)
        return tag_selected

    for btn, value in ((e_ok, True), (e_fail, False), (e_untag, None)):
        btn.click(
            tag_one(value), inputs=episode
        ).success(do_refresh, inputs=list_inputs, outputs=list_outputs).then(
            reopen, inputs=episode, outputs=info)
    for btn, value in ((b_ok, True), (b_fail, False), (b_untag, None)):
        btn.click(
            tag_many(value), inputs=bulk
        ).success(do_refresh, inputs=list_inputs, outputs=list_outputs).then(
            reopen, inputs=episode, outputs=info)
    save_instr.click(do_instruction, inputs=[episode, instr]).success(
        do_refresh, inputs=list_inputs, outputs=list_outputs).then(reopen, inputs=episode, outputs=info)

    # ---- delete (two steps) ------------------------------------------------------------------
    def ask_delete(ids: list[int]) -> list[Any]:
        if not ids:
            raise gr.Error("Select episodes first.")
        what = f"episode {ids[0]}" if len(ids) == 1 else f"{len(ids)} episodes ({', '.join(map(str, ids[:12]))}" + (
            " …)" if len(ids) > 12 else ")")
        text = f"**Delete {what}?** Their steps, videos and verbalizations are removed from disk. This cannot be undone."
        return [gr.update(visible=True), text, ids]

    def do_delete(ids: list[int], request: gr.Request) -> list[Any]:
        who = guard.require(request, "delete")
        if not ids:
            raise gr.Error("Nothing to delete.")
        try:
            n = E.delete_episodes(store, ids)
        except EpisodeBusy as exc:
            raise gr.Error(str(exc)) from exc
        except DB_ERRORS as exc:
            raise gr.Error(f"Nothing was deleted: {exc}") from exc
        guard.audit(who, "episode.delete", f"episodes {', '.join(map(str, ids))}"[:300], ids=list(ids), deleted=n)
        gr.Info(f"Deleted {n} episode(s).")
        return [gr.update(visible=False), "", []]

    def ask_delete_one(eid: Any, request: gr.Request) -> list[Any]:
        guard.require(request, "delete")
        return ask_delete([] if eid in (None, "") else [int(eid)])

    def ask_delete_selected(sel: Any, request: gr.Request) -> list[Any]:
        guard.require(request, "delete")
        return ask_delete(_ids(sel))

    e_delete.click(ask_delete_one, inputs=episode, outputs=[confirm_box, confirm_md, pending])
    b_delete.click(ask_delete_selected, inputs=bulk, outputs=[confirm_box, confirm_md, pending])
    confirm_btn.click(do_delete, inputs=pending, outputs=[confirm_box, confirm_md, pending]).success(
        do_refresh, inputs=list_inputs, outputs=list_outputs)
    cancel_btn.click(lambda: (gr.update(visible=False), "", []), outputs=[confirm_box, confirm_md, pending])

    # ---- export ------------------------------------------------------------------------------
    def do_export(sel: list[Any], root_text: str, name: str, request: gr.Request) -> str:
        who = guard.require(request, "export")
        try:
            root = B.export_root(store.recordings_dir, root_text)
            res = B.export_selection(store, _ids(sel), root, name)
        except ReviewError as exc:
            raise gr.Error(str(exc)) from exc
        except DB_ERRORS as exc:
            raise gr.Error(f"Export failed: {exc}") from exc
        guard.audit(who, "episode.export", str(res.root)[-300:], episodes=res.episodes)
        out = (f"Exported **{res.episodes}** episode(s), {res.frames} frames, to `{res.root}` (LeRobot v3.0: "
               f"{res.data_files} data / {res.video_files} video file(s), language for {res.language_episodes}).")
        if res.skipped:
            out += "  \nSkipped: " + "; ".join(f"episode {i}: {esc(why)}" for i, why in res.skipped)
        return out

    ex_btn.click(do_export, inputs=[bulk, ex_root, ex_name], outputs=ex_md)

    im_btn.success(do_refresh, inputs=list_inputs, outputs=list_outputs)  # imported episodes appear in the list

    # ---- replay ------------------------------------------------------------------------------
    def do_replay(eid: Any, request: gr.Request):
        guard.require(request, "replay")
        if eid in (None, ""):
            raise gr.Error("Open an episode first.")
        try:
            fut = runner.submit(replay_stored, store, int(eid))
        except ReviewError as exc:
            raise gr.Error(str(exc)) from exc
        yield f"Replaying episode {eid} as language on a separate simulator…"
        try:
            report = fut.result(timeout=300)
        except ReviewError as exc:  # cannot be replayed: say why, here and as a toast
            gr.Warning(str(exc))
            yield f"⚠️ {esc(exc)}"
            return
        except Exception as exc:  # the simulator failed: report it, the app keeps running
            log.exception("replay of episode %s", eid)
            raise gr.Error(f"Replay failed: {type(exc).__name__}: {exc}") from exc
        yield esc(report.summary()).replace("\n", "  \n")

    replay_btn.click(do_replay, inputs=episode, outputs=replay_md)


def _ids(values: Any) -> list[int]:
    try:
        return B.parse_ids(values)
    except ReviewError as exc:
        raise gr.Error(str(exc)) from exc
