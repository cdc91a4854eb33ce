"""Plain JSON views of the store's, the jobs' and the adapters' objects, for the scripting API
(`ui.api`): what `gradio_client` returns to a script. Only JSON types (no paths on disk, no dates as
objects), so a script's output can be printed or saved as it is."""

from __future__ import annotations

from typing import Any

# Job fields a script polls; the rest (log tail, job folder) stay on the page.
JOB_FIELDS = ("job_id", "name", "kind", "status", "phase", "step", "total_steps", "loss", "samples_per_s", "eta_s",
              "elapsed_s", "message", "adapter", "resumable")


def _when(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def episode(ep: Any) -> dict[str, Any]:
    """An `core.store.episodes.EpisodeSummary`."""
    return {"id": ep.id, "uid": ep.uid, "task": ep.task, "instruction": ep.instruction, "operator": ep.operator,
            "status": ep.status, "success": ep.success, "started_at": _when(ep.started_at),
            "duration_s": round(float(ep.duration_s or 0.0), 3), "num_steps": ep.num_steps, "fps": ep.fps,
            "seed": ep.seed, "robot": ep.robot, "source": ep.source, "problem": ep.problem,
            "cameras": list(ep.cameras), "playable": ep.playable}


def verbalization(cur: Any) -> dict[str, Any]:
    """A `core.review.browse.CurrentVerbalization`: its subtasks with plan and actions (version 0: computed
    from the steps, not stored)."""
    v = cur.verbalization
    subtasks = [] if v is None else [
        {"text": s.text, "plan": s.plan, "steps": list(s.steps), "actions": s.actions()} for s in v.subtasks]
    return {"version": cur.version, "spec_version": cur.spec_version, "problem": cur.problem or None,
            "subtasks": subtasks}


def job(p: Any) -> dict[str, Any]:
    """A `core.training.jobs.JobProgress`, with its evaluation's plain numbers."""
    out = {k: getattr(p, k) for k in JOB_FIELDS}
    out["evaluation"] = {k: v for k, v in (p.eval or {}).items() if isinstance(v, (int, float, str, bool))}
    return out


def adapter(a: Any, active: str | None) -> dict[str, Any]:
    """A `core.training.adapters.AdapterInfo`."""
    metrics = {k: v for k, v in (a.metrics or {}).items() if isinstance(v, (int, float, str, bool))}
    return {"name": a.name, "base_model": a.base_model, "created_at": _when(a.created_at),
            "training_job_id": a.training_job_id, "action_format": a.action_format, "metrics": metrics,
            "active": a.name == active}
