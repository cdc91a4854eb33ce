"""Training jobs for the app: each job is a separate OS process; state lives in the store.

    jobs = JobManager(store)            # at app start: marks jobs whose process died as failed
    jobs.start_monitor()                # reaps finished processes, starts the next queued job
    job_id = jobs.start_job(JobConfig("red-block", data=DataSpec(episode_ids=(1, 2, 3))))
    jobs.job_progress(job_id)           # -> JobProgress (status, step, loss history, ETA, log tail, ...)
    jobs.cancel(job_id); jobs.resume(job_id); jobs.list_jobs()

A job runs `python -m core.training job --job-dir <jobs>/job-<id> --job-id <id>` under `nice`, with
`OMP_NUM_THREADS` and torch threads capped (default: all cores but one), so the control loop keeps its
rate. One job runs at a time (per store); the others wait in the queue. The process writes its own
progress to the job's `training_jobs` row; its stdout/stderr go to `<job dir>/train.log`. A process that
dies without saying so (killed, out of memory) is marked failed with the log tail, and resumable from
its last checkpoint. The app's store (database URL, recordings folder) and adapters folder reach the job in
`<job dir>/settings.json`, written at each launch: they may have come from command-line flags, which the
job's environment does not carry.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core import settings
from core.training.errors import JobError, JobNotFound
from core.training.jobspec import JobConfig
from core.training.runner import CANCEL_FILE, CONFIG_FILE, LOG_FILE, RUN_DIR, log_tail

if TYPE_CHECKING:
    from core.store import Store

log = logging.getLogger(__name__)

SETTINGS_FILE = "settings.json"
DEFAULT_JOBS_DIR = Path("training_jobs")
ROOT = Path(__file__).resolve().parents[2]
MIN_FREE_BYTES = 1 * 1024**3


def default_threads() -> int:
    """All cores but one (the control loop and the UI keep one), at least one."""
    return max(1, (os.cpu_count() or 2) - 1)


@dataclass(frozen=True)
class JobProgress:
    """Everything the Train tab shows about one job."""

    job_id: int
    name: str
    kind: str
    status: str  # queued | running | done | failed | cancelled
    phase: str
    step: int
    total_steps: int
    fraction: float
    loss: float | None
    lr: float | None
    samples_per_s: float | None
    eta_s: float | None
    elapsed_s: float | None
    loss_history: list[tuple[int, float]]
    message: str | None
    log_tail: str
    resumable: bool
    cancel_requested: bool
    adapter: str | None
    eval: dict[str, Any]
    data: dict[str, Any]
    episode_ids: list[int]
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    job_dir: str

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")


@dataclass
class _Proc:
    popen: subprocess.Popen
    log_file: Any
    cancel_at: float | None = None
    term_sent: bool = False


@dataclass
class JobManager:
    """Starts, queues, cancels, resumes and watches training jobs (see the module docstring)."""

    store: Store
    jobs_root: Path | None = None
    threads: int | None = None
    adapters_root: Path | None = None  # where the job registers its adapter (the app's registry folder)
    nice: int = 10
    max_running: int = 1
    cancel_grace_s: float = 120.0
    python: str = sys.executable
    _procs: dict[int, _Proc] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)
    _monitor: threading.Thread | None = field(default=None, init=False, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False, repr=False)

    def __post_init__(self) -> None:
        root = self.jobs_root or settings.current().jobs_dir or DEFAULT_JOBS_DIR
        self.jobs_root = Path(root).expanduser().resolve()
        self.jobs_root.mkdir(parents=True, exist_ok=True)
        self.recover()

    # ---- public API ---------------------------------------------------------------------------------
    def start_job(self, config: JobConfig) -> int:
        """Queue a job (it starts at once when no other job runs); returns its id."""
        self._check_episodes(config)
        self._check_disk()
        from core.store.models import JobStatus, TrainingJob

        with self.store.session() as s:
            row = TrainingJob(name=config.name[:200], kind=config.kind, status=JobStatus.QUEUED.value,
                              config=config.to_dict(), episode_ids=list(config.data.episode_ids),
                              message="queued", metrics={"phase": "queued", "loss_history": []})
            s.add(row)
            s.flush()
            job_id = int(row.id)
        job_dir = self.job_dir(job_id)
        job_dir.mkdir(parents=True, exist_ok=True)
        config.save(job_dir / CONFIG_FILE)
        self._update(job_id, metrics_patch={"job_dir": str(job_dir)})
        log.info("queued training job %d (%s)", job_id, config.name)
        self.poll()
        return job_id

    def cancel(self, job_id: int) -> None:
        """Cancel a queued job at once, or ask a running one to stop after its current micro-batch
        (it saves a checkpoint first, so it can be resumed). A process that does not stop within
        `cancel_grace_s` gets SIGTERM, then SIGKILL."""
        from core.store.models import JobStatus

        row = self._row(job_id)
        if row["status"] == JobStatus.QUEUED.value:
            self._update(job_id, status=JobStatus.CANCELLED.value, message="cancelled before it started",
                         finished=True)
            return
        if row["status"] != JobStatus.RUNNING.value:
            raise JobError(f"job {job_id} is {row['status']}; only queued or running jobs can be cancelled")
        self._update(job_id, cancel_requested=True, message="cancelling...")
        try:
            (self.job_dir(job_id) / CANCEL_FILE).touch()
        except OSError as exc:
            log.warning("cannot write the cancel file of job %d: %s", job_id, exc)
        with self._lock:
            if job_id in self._procs and self._procs[job_id].cancel_at is None:
                self._procs[job_id].cancel_at = time.monotonic()

    def resume(self, job_id: int) -> None:
        """Queue a failed or cancelled job again; it continues from its last checkpoint (data included)."""
        from core.store.models import JobStatus

        row = self._row(job_id)
        if row["status"] not in (JobStatus.FAILED.value, JobStatus.CANCELLED.value):
            raise JobError(f"job {job_id} is {row['status']}; only failed or cancelled jobs can be resumed")
        if not (self.job_dir(job_id) / CONFIG_FILE).is_file():
            raise JobError(f"job {job_id} has no folder {self.job_dir(job_id)} any more; start a new job")
        self._check_disk()
        (self.job_dir(job_id) / CANCEL_FILE).unlink(missing_ok=True)
        self._update(job_id, status=JobStatus.QUEUED.value, cancel_requested=False, message="queued (resume)",
                     clear_finished=True, metrics_patch={"phase": "queued", "error": None})
        self.poll()

    def list_jobs(self, limit: int = 50) -> list[JobProgress]:
        from sqlalchemy import select

        from core.store.models import TrainingJob

        with self.store.session() as s:
            ids = list(s.scalars(select(TrainingJob.id).order_by(TrainingJob.id.desc()).limit(limit)))
        return [self.job_progress(i) for i in ids]

    def job_progress(self, job_id: int) -> JobProgress:
        row = self._row(job_id)
        m = row["metrics"] or {}
        job_dir = self.job_dir(job_id)
        return JobProgress(
            job_id=job_id, name=row["name"], kind=row["kind"], status=row["status"],
            phase=str(m.get("phase", row["status"])), step=int(m.get("step", 0)),
            total_steps=int(m.get("total_steps", 0)), fraction=float(row["progress"] or 0.0),
            loss=m.get("loss"), lr=m.get("lr"), samples_per_s=m.get("samples_per_s"),
            eta_s=m.get("eta_s") if row["status"] == "running" else None, elapsed_s=m.get("elapsed_s"),
            loss_history=[(int(a), float(b)) for a, b in m.get("loss_history", [])],
            message=row["message"], log_tail=log_tail(job_dir), resumable=bool(m.get("resumable", False)),
            cancel_requested=bool(row["cancel_requested"]), adapter=m.get("adapter"),
            eval=dict(m.get("eval", {})), data=dict(m.get("data", {})), episode_ids=list(row["episode_ids"] or []),
            created_at=row["created_at"], started_at=row["started_at"], finished_at=row["finished_at"],
            job_dir=str(job_dir),
        )

    def job_dir(self, job_id: int) -> Path:
        return self.jobs_root / f"job-{int(job_id)}"  # type: ignore[operator]

    def wait(self, job_id: int, timeout: float = 600.0, interval: float = 0.5) -> JobProgress:
        """Poll until the job is no longer queued or running (tests, benchmarks, scripts)."""
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            p = self.job_progress(job_id)
            if not p.active:
                return p
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {p.status} after {timeout:.0f} s ({p.phase})")
            time.sleep(interval)

    # ---- the watcher --------------------------------------------------------------------------------
    def start_monitor(self, interval: float = 2.0) -> None:
        """A daemon thread that calls `poll()` every `interval` seconds."""
        if self._monitor is not None:
            return

        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    self.poll()
                except Exception:  # noqa: BLE001 - keep watching
                    log.exception("training job monitor")

        self._monitor = threading.Thread(target=run, name="training-jobs", daemon=True)
        self._monitor.start()

    def close(self) -> None:
        """Stop watching. Running jobs keep running (they report to the store on their own)."""
        self._stop.set()
        if self._monitor is not None:
            self._monitor.join(timeout=5)
            self._monitor = None
        with self._lock:
            for proc in self._procs.values():
                proc.log_file.close()
            self._procs.clear()

    def poll(self) -> None:
        """Reap finished processes, escalate overdue cancels, start queued jobs while a slot is free."""
        from sqlalchemy import select

        from core.store.models import JobStatus, TrainingJob

        with self._lock:
            for job_id, proc in list(self._procs.items()):
                code = proc.popen.poll()
                if code is None:
                    self._escalate_cancel(job_id, proc)
                    continue
                proc.log_file.close()
                del self._procs[job_id]
                self._reap(job_id, code)
            with self.store.session() as s:
                running = list(s.scalars(select(TrainingJob.id).where(TrainingJob.status == JobStatus.RUNNING.value)))
                queued = list(s.scalars(select(TrainingJob.id).where(TrainingJob.status == JobStatus.QUEUED.value)
                                        .order_by(TrainingJob.id)))
            for job_id in running:  # started by another app instance (or before a restart)
                if job_id not in self._procs:
                    self._check_foreign(job_id)
            slots = self.max_running - len(self._running_ids())
            for job_id in queued[: max(0, slots)]:
                self._launch(job_id)

    def recover(self) -> list[int]:
        """At app start: jobs marked running whose process is gone become failed (resumable when a
        checkpoint exists). Returns their ids."""
        from sqlalchemy import select

        from core.store.models import JobStatus, TrainingJob

        with self.store.session() as s:
            running = list(s.scalars(select(TrainingJob.id).where(TrainingJob.status == JobStatus.RUNNING.value)))
        return [job_id for job_id in running if job_id not in self._procs and self._check_foreign(job_id)]

    # ---- internals ----------------------------------------------------------------------------------
    def _running_ids(self) -> list[int]:
        from sqlalchemy import select

        from core.store.models import JobStatus, TrainingJob

        with self.store.session() as s:
            return list(s.scalars(select(TrainingJob.id).where(TrainingJob.status == JobStatus.RUNNING.value)))

    def _row(self, job_id: int) -> dict[str, Any]:
        from core.store.models import TrainingJob

        with self.store.session() as s:
            row = s.get(TrainingJob, job_id)
            if row is None:
                raise JobNotFound(job_id)
            return {c.name: getattr(row, c.name) for c in TrainingJob.__table__.columns}

    def _update(self, job_id: int, *, status: str | None = None, message: str | None = None,
                cancel_requested: bool | None = None, pid: int | None | bool = False, finished: bool = False,
                started: bool = False, clear_finished: bool = False, metrics_patch: dict[str, Any] | None = None
                ) -> None:
        from core.store.models import TrainingJob

        with self.store.session() as s:
            row = s.get(TrainingJob, job_id)
            if row is None:
                raise JobNotFound(job_id)
            if status is not None:
                row.status = status
            if message is not None:
                row.message = message
            if cancel_requested is not None:
                row.cancel_requested = cancel_requested
            if pid is not False:
                row.pid = pid  # type: ignore[assignment]
            now = datetime.now(UTC)
            if finished:
                row.finished_at = now
            if started:
                row.started_at = now
            if clear_finished:
                row.finished_at = None
            if metrics_patch:
                row.metrics = {**(row.metrics or {}), **metrics_patch}

    def _check_episodes(self, config: JobConfig) -> None:
        if not config.data.episode_ids:
            return
        from sqlalchemy import select

        from core.store.models import Episode

        with self.store.session() as s:
            found = set(s.scalars(select(Episode.id).where(Episode.id.in_(config.data.episode_ids))))
        missing = [i for i in config.data.episode_ids if i not in found]
        if missing:
            raise JobError(f"episodes {missing[:10]} do not exist")

    def _check_disk(self) -> None:
        free = shutil.disk_usage(self.jobs_root).free
        if free < MIN_FREE_BYTES:
            raise JobError(f"only {free / 1e9:.2f} GB free in {self.jobs_root}; a training job needs at least "
                           f"{MIN_FREE_BYTES / 1e9:.0f} GB for data, checkpoints and the adapter")

    def _env(self) -> dict[str, str]:
        threads = str(self.threads or default_threads())
        env = dict(os.environ)
        env.update({
            "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
            "LP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1",
            "MUJOCO_GL": env.get("MUJOCO_GL", "egl"), "PYTHONUNBUFFERED": "1",
        })
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
        return env

    def _launch(self, job_id: int) -> None:
        from core.store.models import JobStatus

        job_dir = self.job_dir(job_id)
        write_job_settings(job_dir, self.store, self.adapters_root)
        cmd = [self.python, "-m", "core.training", "job", "--job-dir", str(job_dir), "--job-id", str(job_id)]
        nice = shutil.which("nice")
        if nice and self.nice:
            cmd = [nice, "-n", str(self.nice), *cmd]
        try:
            log_file = open(job_dir / LOG_FILE, "a", buffering=1)
            log_file.write(f"\n=== {datetime.now(UTC).isoformat()} starting: {' '.join(cmd)}\n")
            popen = subprocess.Popen(cmd, cwd=str(ROOT), env=self._env(), stdout=log_file, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            self._update(job_id, status=JobStatus.FAILED.value, message=f"cannot start the training process: {exc}",
                         finished=True)
            return
        self._procs[job_id] = _Proc(popen, log_file)
        self._update(job_id, status=JobStatus.RUNNING.value, pid=popen.pid, started=True, message="starting",
                     metrics_patch={"host": socket.gethostname(), "phase": "starting"})
        log.info("started training job %d as process %d", job_id, popen.pid)

    def _escalate_cancel(self, job_id: int, proc: _Proc) -> None:
        if proc.cancel_at is None:
            row = self._row(job_id)
            if row["cancel_requested"]:
                proc.cancel_at = time.monotonic()
            return
        late = time.monotonic() - proc.cancel_at
        if late > self.cancel_grace_s and not proc.term_sent:
            log.warning("job %d ignores the cancel request; sending SIGTERM", job_id)
            proc.popen.send_signal(signal.SIGTERM)
            proc.term_sent = True
        elif late > self.cancel_grace_s + 30:
            log.warning("job %d still alive after SIGTERM; killing it", job_id)
            proc.popen.kill()

    def _reap(self, job_id: int, code: int) -> None:
        """The process ended: if it did not record an outcome itself, record a failure."""
        from core.store.models import JobStatus

        row = self._row(job_id)
        if row["status"] != JobStatus.RUNNING.value:
            log.info("training job %d ended: %s", job_id, row["status"])
            return
        self._mark_dead(job_id, row, f"exit code {code}" if code >= 0 else f"killed by signal {-code}")

    def _mark_dead(self, job_id: int, row: dict[str, Any], how: str) -> None:
        from core.store.models import JobStatus
        from core.training.checkpoint import latest_checkpoint

        job_dir = self.job_dir(job_id)
        ckpt = latest_checkpoint(job_dir / RUN_DIR)
        cancelled = bool(row["cancel_requested"])
        status = JobStatus.CANCELLED.value if cancelled else JobStatus.FAILED.value
        resume = " It can be resumed from its last checkpoint." if ckpt else " It has no checkpoint yet."
        tail = log_tail(job_dir, 15)
        msg = (f"the training process ended unexpectedly ({how}).{resume}" if not cancelled
               else f"cancelled ({how}).{resume}")
        if tail and not cancelled:
            msg += f"\n--- log tail ---\n{tail}"
        self._update(job_id, status=status, message=msg, pid=None, finished=True,
                     metrics_patch={"resumable": ckpt is not None, "checkpoint": str(ckpt) if ckpt else None,
                                    "phase": status})
        log.warning("training job %d: %s", job_id, msg.splitlines()[0])

    def _check_foreign(self, job_id: int) -> bool:
        """A running job without a process handle here: mark it failed if its process is gone."""
        row = self._row(job_id)
        m = row["metrics"] or {}
        if m.get("host") not in (None, socket.gethostname()):
            return False  # another machine's job: it reports on its own
        if row["pid"] and _is_job_process(int(row["pid"]), job_id):
            return False
        self._mark_dead(job_id, row, "its process is gone")
        return True


def _is_job_process(pid: int, job_id: int) -> bool:
    """Whether `pid` is alive and is the training process of `job_id` (not a reused pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc: trust the pid
    args = [a.decode("utf-8", "replace") for a in cmdline]
    return "core.training" in args and "--job-id" in args and str(job_id) in args


def write_job_settings(job_dir: Path, store: Store, adapters_root: Path | None) -> None:
    """The app's store and adapters folder for the job process (`read_job_settings`)."""
    import json

    values = {"db_url": store.config.url, "recordings_dir": str(store.recordings_dir),
              "adapters_dir": str(adapters_root) if adapters_root else None}
    tmp = job_dir / (SETTINGS_FILE + ".tmp")
    tmp.write_text(json.dumps(values, indent=2))
    tmp.replace(job_dir / SETTINGS_FILE)


def read_job_settings(job_dir: Path) -> dict[str, Any] | None:
    """What `write_job_settings` wrote, or None for a job folder from before it existed."""
    import json

    path = Path(job_dir) / SETTINGS_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise JobError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict) or not data.get("db_url") or not data.get("recordings_dir"):
        raise JobError(f"{path} does not name the store (db_url, recordings_dir)")
    return data
