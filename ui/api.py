"""The scripting API: named Gradio endpoints for `gradio_client`, and nothing else on the API page.

Every endpoint here is a `gr.api` function with plain parameters and a JSON answer (`core.apiviews`), so
a call never depends on an earlier call in the same session (the page's own events read widgets that
other events filled in; a script has no page). Each one checks the caller's role first (`ui.guard`, the
same rules as the buttons) and turns a core error into a `gr.Error` naming what is wrong.

`hide_page_events` then makes every other event of the page private: the page still calls them, but
`gradio_client` does not list them and refuses to call them, so `view_api()` shows exactly `PUBLIC`.
The one page event in `PUBLIC` is the Episodes tab's import (`ui.episodes_import`: two plain inputs).
`examples/api_client.py` shows a session; docs/api.md lists the endpoints and how a script signs in.
"""

from __future__ import annotations

import threading
from typing import Any

import gradio as gr

from core import apiviews as V
from core.context import App
from ui import guard

ANSWER_WAIT_S = 120.0  # /ask waits this long for the model's answer
TAGS = {"success": True, "failure": False, "untagged": None}
PUBLIC = ("status", "ask", "command", "stop", "record_start", "record_save", "record_discard", "list_episodes",
          "open_episode", "tag_episode", "export_episodes", "import_episodes", "start_job", "job_status",
          "cancel_job", "list_jobs", "list_adapters", "activate_adapter")


def _fail(exc: BaseException, prefix: str = "") -> gr.Error:
    return gr.Error(f"{prefix}{exc}")


def build(app: App) -> None:
    """Register the endpoints on the Blocks being built (call inside `with gr.Blocks()`)."""
    from sqlalchemy.exc import SQLAlchemyError

    from core.assistant import AssistantBusy
    from core.control.loop import ControlError
    from core.policy.service import ModelNotReadyError
    from core.recording import NotRecording, RecordingRefused
    from core.review import ReviewError
    from core.review import browse as B
    from core.store import episodes as E
    from core.store.errors import StoreError
    from core.training.errors import TrainingError
    from core.training.form import TrainForm

    store = app.store
    db_errors = (StoreError, SQLAlchemyError, OSError)
    run_errors = (ModelNotReadyError, AssistantBusy, ControlError, ValueError, RuntimeError)

    def status(request: gr.Request) -> dict[str, Any]:
        """The robot, the recorder, the model and the running command (every role). Also the caller's sign of
        life: while a script drives (a command, a recording) it keeps the control lock by calling this."""
        guard.require(request, "watch")
        guard.alive(request)
        s = app.loop.status()
        run = app.assistant.run
        rec = app.recording.recorder.status if app.recording else None
        return {"mode": s.mode, "estop": s.estop, "estop_reason": s.estop_reason, "hz": round(s.hz, 2),
                "ee_pos": [round(v, 4) for v in s.ee_pos], "gripper": round(s.gripper, 3),
                "recording": rec.state if rec else "unavailable", "episode": rec.episode_id if rec else None,
                "model": app.model.status().message, "adapter": app.model.status().adapter,
                "command": None if run is None else {"instruction": run.instruction, "state": run.state,
                                                    "finished": run.finished}}

    def ask(question: str, request: gr.Request) -> dict[str, Any]:
        """Ask a question about the scene; waits for the model's answer."""
        guard.require(request, "ask")
        try:
            worker: threading.Thread = app.assistant.ask(question)
        except run_errors as exc:
            raise _fail(exc) from exc
        worker.join(ANSWER_WAIT_S)
        answer = app.conversation.messages()[-1]["content"]
        return {"question": question, "answer": answer, "finished": not worker.is_alive()}

    def command(instruction: str, request: gr.Request) -> dict[str, Any]:
        """Give the robot a command (any language); it runs in the background: poll /status, end it with /stop."""
        who = guard.require(request, "command")
        guard.audit(who, "command", (instruction or "").strip()[:200])
        try:
            run = app.assistant.command(instruction)
        except run_errors as exc:
            raise _fail(exc) from exc
        return {"instruction": run.instruction, "state": run.state}

    def stop(request: gr.Request) -> dict[str, Any]:
        """Stop the running command (everyone may)."""
        who = guard.require(request, "estop")
        stopped = app.assistant.stop()
        if stopped:
            guard.audit(who, "command.stop")
        return {"stopped": stopped}

    def record_start(instruction: str, request: gr.Request) -> dict[str, Any]:
        """Start recording an episode with this instruction (needs the control lock while others drive)."""
        who = guard.require(request, "record")
        try:
            episode = app.start_recording(instruction, who.name)
        except (RecordingRefused, ValueError) as exc:
            raise _fail(exc) from exc
        guard.audit(who, "record.start", f"episode {episode}")
        return {"episode": episode}

    def record_save(result: str, request: gr.Request) -> dict[str, Any]:
        """Save the episode being recorded; result: success | failure | untagged."""
        who = guard.require(request, "record")
        if result not in TAGS:
            raise gr.Error(f"result must be one of {', '.join(TAGS)}, not {result!r}")
        try:
            saved = app.stop_recording(TAGS[result])
        except NotRecording as exc:
            raise gr.Error("Nothing is being recorded.") from exc
        guard.audit(who, "record.save", f"episode {saved.result.episode_id}", success=TAGS[result])
        return {"episode": saved.result.episode_id, "status": saved.result.status}

    def record_discard(request: gr.Request) -> dict[str, Any]:
        """Throw away the episode being recorded."""
        who = guard.require(request, "record")
        try:
            app.recording.discard()
        except NotRecording as exc:
            raise gr.Error("Nothing is being recorded.") from exc
        guard.audit(who, "record.discard")
        return {"discarded": True}

    def list_episodes(result: str, text: str, limit: int, request: gr.Request) -> list[dict[str, Any]]:
        """Episodes, newest first; result: any | success | failure | untagged; text: part of the instruction."""
        guard.require(request, "watch")
        try:
            f = E.EpisodeFilter(success=result or "any", text=text or None, limit=max(1, min(int(limit or 50), 1000)))
            return [V.episode(e) for e in E.list_episodes(store, f)]
        except (ValueError, *db_errors) as exc:
            raise _fail(exc) from exc

    def open_episode(episode_id: int, request: gr.Request) -> dict[str, Any]:
        """One episode: its summary and its verbalization (subtasks, plans, actions)."""
        guard.require(request, "watch")
        try:
            ep = E.get_episode(store, int(episode_id))
            cur = B.current_verbalization(store, ep.id, ep.instruction)
        except (ValueError, TypeError, *db_errors) as exc:
            raise _fail(exc) from exc
        return {**V.episode(ep), "verbalization": V.verbalization(cur)}

    def tag_episode(episode_id: int, result: str, request: gr.Request) -> dict[str, Any]:
        """Tag an episode: success | failure | untagged."""
        who = guard.require(request, "edit")
        if result not in TAGS:
            raise gr.Error(f"result must be one of {', '.join(TAGS)}, not {result!r}")
        try:
            n = E.set_success(store, [int(episode_id)], TAGS[result])
        except (ValueError, TypeError, *db_errors) as exc:
            raise _fail(exc, "Not tagged: ") from exc
        if not n:
            raise gr.Error(f"no episode {episode_id}")
        guard.audit(who, "episode.tag", f"episode {episode_id}", result=result)
        return {"episode": int(episode_id), "result": result}

    def export_episodes(episode_ids: list[int], folder: str, name: str, request: gr.Request) -> dict[str, Any]:
        """Export episodes as a LeRobot v3.0 dataset `name` under the export folder (`folder`: a sub-folder of it)."""
        who = guard.require(request, "export")
        try:
            root = B.export_root(store.recordings_dir, folder)
            res = B.export_selection(store, [int(i) for i in episode_ids or []], root, name)
        except (ReviewError, ValueError, TypeError, *db_errors) as exc:
            raise _fail(exc, "Export failed: ") from exc
        guard.audit(who, "episode.export", str(res.root)[-300:], episodes=res.episodes)
        return {"dataset": res.root.name, "episodes": res.episodes, "frames": res.frames,
                "skipped": [[i, why] for i, why in res.skipped]}

    def start_job(name: str, expert_demos: int, episode_ids: list[int], preset: str,
                  request: gr.Request) -> dict[str, Any]:
        """Start a training job with the Train tab's defaults for `preset` ("" = the tab's choice on this machine)."""
        who = guard.require(request, "train")
        try:
            form = TrainForm.for_preset(preset or None, name=name or "", expert_demos=int(expert_demos or 0),
                                        episode_ids=tuple(int(i) for i in episode_ids or []), robot=app.config.robot)
            jid = app.training.start_job(form.job_config(app.config.model or "default"))
        except (TrainingError, ValueError, TypeError) as exc:
            raise _fail(exc) from exc
        guard.audit(who, "train.start", f"job {jid}", name=form.name.strip(), episodes=len(form.episode_ids),
                    preset=form.preset)
        return {"job_id": jid, "preset": form.preset}

    def job_status(job_id: int, request: gr.Request) -> dict[str, Any]:
        """A job's progress and, once done, its evaluation."""
        guard.require(request, "watch")
        try:
            return V.job(app.training.job_progress(int(job_id)))
        except (TrainingError, ValueError, TypeError, *db_errors) as exc:
            raise _fail(exc) from exc

    def list_jobs(request: gr.Request) -> list[dict[str, Any]]:
        """The newest 30 jobs."""
        guard.require(request, "watch")
        return [V.job(p) for p in app.training.list_jobs(30)]

    def cancel_job(job_id: int, request: gr.Request) -> dict[str, Any]:
        """Cancel a queued or running job (a running one stops at its next step and keeps a checkpoint)."""
        who = guard.require(request, "train")
        try:
            app.training.cancel(int(job_id))
        except (TrainingError, ValueError, TypeError, *db_errors) as exc:
            raise _fail(exc) from exc
        guard.audit(who, "train.cancel", f"job {job_id}")
        return V.job(app.training.job_progress(int(job_id)))

    def list_adapters(request: gr.Request) -> list[dict[str, Any]]:
        """The registered adapters; `active` marks the one the model uses."""
        guard.require(request, "watch")
        active = app.model.status().adapter
        return [V.adapter(a, active) for a in app.training.list_adapters()]

    def activate_adapter(name: str, request: gr.Request) -> dict[str, Any]:
        """Switch the running model to the adapter `name` ("" = the base model, no adapter)."""
        who = guard.require(request, "adapter")
        try:
            active = app.training.activate_adapter(app.model, name or None)
        except (ModelNotReadyError, TrainingError, ValueError) as exc:
            raise _fail(exc) from exc
        guard.audit(who, "adapter.switch", active or "base model")
        return {"active": active}

    for fn in (status, ask, command, stop, record_start, record_save, record_discard, list_episodes, open_episode,
               tag_episode, export_episodes, start_job, job_status, list_jobs, cancel_job, list_adapters,
               activate_adapter):
        gr.api(fn, api_name=fn.__name__, api_description=(fn.__doc__ or "").strip())


def hide_page_events(blocks: gr.Blocks) -> None:
    """Make every event outside `PUBLIC` private (the page still calls it; `gradio_client` neither lists nor
    calls it). Raises if a name in `PUBLIC` is missing or was taken twice (Gradio would append a suffix)."""
    names = [fn.api_name for fn in blocks.fns.values()]
    missing = [n for n in PUBLIC if names.count(n) != 1]
    if missing:
        raise RuntimeError(f"API endpoints missing or defined twice: {missing}")
    for fn in blocks.fns.values():
        if fn.api_name not in PUBLIC:
            fn.api_visibility = "private"
