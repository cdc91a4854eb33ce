"""Training jobs and adapters: the rows a background trainer and the Train tab share.

A job goes queued -> running -> done | failed | cancelled. The trainer process reports progress and
polls `cancel_requested`; the UI only reads and requests cancellation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from core.store.db import Store
from core.store.errors import StoreError
from core.store.lookup import clean_text
from core.store.models import Adapter, JobStatus, TrainingJob

FINISHED = (JobStatus.DONE.value, JobStatus.FAILED.value, JobStatus.CANCELLED.value)


class JobNotFound(StoreError, LookupError):
    """No training job with the given id."""


@dataclass(frozen=True)
class JobInfo:
    id: int
    name: str
    kind: str
    status: str
    progress: float
    message: str | None
    cancel_requested: bool
    config: dict[str, Any]
    episode_ids: list[int]
    metrics: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True)
class AdapterInfo:
    id: int
    name: str
    path: str
    base_model: str
    training_job_id: int | None
    metrics: dict[str, Any]
    created_at: datetime


def _job(r: TrainingJob) -> JobInfo:
    return JobInfo(
        r.id, r.name, r.kind, r.status, r.progress, r.message, r.cancel_requested, dict(r.config),
        list(r.episode_ids), dict(r.metrics), r.created_at, r.started_at, r.finished_at,
    )  # fmt: skip


def create_job(store: Store, name: str, config: dict[str, Any], episode_ids: Sequence[int], kind: str = "lora") -> int:
    with store.session() as s:
        job = TrainingJob(
            name=clean_text(name, "job name", 200), kind=kind, config=dict(config), episode_ids=list(episode_ids)
        )
        s.add(job)
        s.flush()
        return job.id


def get_job(store: Store, job_id: int) -> JobInfo:
    with store.session() as s:
        r = s.get(TrainingJob, job_id)
        if r is None:
            raise JobNotFound(f"training job {job_id} does not exist")
        return _job(r)


def list_jobs(store: Store, limit: int = 50) -> list[JobInfo]:
    with store.session() as s:
        return [_job(r) for r in s.scalars(select(TrainingJob).order_by(TrainingJob.id.desc()).limit(limit))]


def update_job(
    store: Store,
    job_id: int,
    *,
    status: str | None = None,
    progress: float | None = None,
    message: str | None = None,
    metrics: dict[str, Any] | None = None,
    pid: int | None = None,
) -> JobInfo:
    """Report from the trainer. Setting a finished status stamps `finished_at`; running stamps `started_at`."""
    if status is not None and status not in {s.value for s in JobStatus}:
        raise StoreError(f"unknown job status {status!r}")
    with store.session() as s:
        r = s.get(TrainingJob, job_id)
        if r is None:
            raise JobNotFound(f"training job {job_id} does not exist")
        now = datetime.now(UTC)
        if status is not None:
            r.status = status
            if status == JobStatus.RUNNING.value and r.started_at is None:
                r.started_at = now
            if status in FINISHED:
                r.finished_at = now
        if progress is not None:
            r.progress = min(1.0, max(0.0, float(progress)))
        if message is not None:
            r.message = message
        if metrics is not None:
            r.metrics = {**(r.metrics or {}), **metrics}
        if pid is not None:
            r.pid = pid
        s.flush()
        return _job(r)


def request_cancel(store: Store, job_id: int) -> None:
    with store.session() as s:
        r = s.get(TrainingJob, job_id)
        if r is None:
            raise JobNotFound(f"training job {job_id} does not exist")
        if r.status not in FINISHED:
            r.cancel_requested = True


def register_adapter(
    store: Store,
    name: str,
    path: str,
    base_model: str,
    training_job_id: int | None = None,
    metrics: dict[str, Any] | None = None,
) -> int:
    with store.session() as s:
        if s.scalar(select(Adapter.id).where(Adapter.name == name)) is not None:
            raise StoreError(f"an adapter named {name!r} already exists")
        row = Adapter(
            name=clean_text(name, "adapter name", 200), path=path, base_model=base_model,
            training_job_id=training_job_id, metrics=dict(metrics or {}),
        )  # fmt: skip
        s.add(row)
        s.flush()
        return row.id


def list_adapters(store: Store) -> list[AdapterInfo]:
    with store.session() as s:
        return [
            AdapterInfo(a.id, a.name, a.path, a.base_model, a.training_job_id, dict(a.metrics), a.created_at)
            for a in s.scalars(select(Adapter).order_by(Adapter.id.desc()))
        ]
