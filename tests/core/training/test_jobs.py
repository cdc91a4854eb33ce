"""Training jobs as separate processes: queue, cancel, resume, a process killed mid-way, recovery."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import pytest

from core.training.config import TrainConfig
from core.training.errors import JobError
from core.training.jobs import JobManager
from core.training.jobspec import DataSpec, EvalSpec, JobConfig
from tests.core.training.test_training_tiny import tiny_model_dir


@pytest.fixture
def env(tmp_path, monkeypatch):
    from core.store import StoreConfig, open_store

    monkeypatch.setenv("VLM2VLA_ADAPTERS_DIR", str(tmp_path / "adapters"))
    store = open_store(StoreConfig(recordings_dir=tmp_path / "recordings"))
    model_dir = tiny_model_dir(tmp_path / "tiny")
    jm = JobManager(store, tmp_path / "jobs", threads=1)
    yield jm, model_dir
    for p in jm.list_jobs():
        if p.status == "running":
            jm.cancel(p.job_id)
    jm.close()
    store.close()


def job(name: str, model_dir: Path, steps: int) -> JobConfig:
    return JobConfig(
        name,
        train=TrainConfig(base_model=str(model_dir), max_steps=steps, batch_size=2, grad_accum=1, lr=3e-3,
                          checkpoint_every=5),
        data=DataSpec(expert_seeds=(0, 1), val_fraction=0.5, max_entries=3),
        eval=EvalSpec(max_samples=2, max_new_tokens=6, vqa_scenes=0),
    )


def wait_for(jm: JobManager, job_id: int, cond, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jm.poll()
        p = jm.job_progress(job_id)
        if cond(p):
            return p
        time.sleep(0.2)
    raise TimeoutError(f"job {job_id}: {jm.job_progress(job_id)}")


def test_queue_cancel_kill_resume(env):
    jm, model_dir = env
    long_id = jm.start_job(job("long", model_dir, 200))
    short_id = jm.start_job(job("short", model_dir, 4))
    assert jm.job_progress(long_id).status == "running"
    assert jm.job_progress(short_id).status == "queued"  # one job at a time

    p = wait_for(jm, long_id, lambda p: p.step >= 6)
    jm.cancel(long_id)
    p = jm.wait(long_id, timeout=60)
    assert p.status == "cancelled" and p.resumable and "resume" in p.message
    stopped_at = p.step
    assert stopped_at < 200 and len(p.loss_history) == stopped_at

    p = jm.wait(short_id, timeout=90)  # started once the slot was free
    assert p.status == "done", p.message
    assert p.adapter == "short" and p.eval["heldout_samples"] == 2 and "action_parse_rate" in p.eval

    jm.resume(long_id)
    p = wait_for(jm, long_id, lambda p: p.status == "running" and p.step >= stopped_at + 6)
    pid = jm._row(long_id)["pid"]
    os.kill(pid, signal.SIGKILL)  # killed mid-way: no chance to report
    p = wait_for(jm, long_id, lambda p: p.status != "running")
    assert p.status == "failed" and p.resumable
    assert "ended unexpectedly" in p.message and "signal 9" in p.message and "log tail" in p.message
    with pytest.raises(JobError):
        jm.cancel(long_id)

    jm.resume(long_id)
    p = jm.wait(long_id, timeout=120)
    assert p.status == "done", p.message
    steps = [s for s, _ in p.loss_history]
    assert steps[-1] == 200 and p.step == 200
    assert steps.count(stopped_at + 1) >= 1 and p.adapter == "long"
    assert "step 200/200" in p.log_tail or "finished" in p.log_tail


def test_recovery_marks_a_dead_job_failed(env):
    jm, _ = env
    from core.store.models import TrainingJob

    with jm.store.session() as s:
        row = TrainingJob(name="orphan", status="running", pid=2**22 + 12345,
                          metrics={"host": socket.gethostname(), "loss_history": []})
        s.add(row)
        s.flush()
        job_id = row.id
    fresh = JobManager(jm.store, jm.jobs_root)  # app start
    p = fresh.job_progress(job_id)
    assert p.status == "failed" and not p.resumable and "process is gone" in p.message
