"""What the Train tab calls: one object over jobs, adapters and the running model.

    training = TrainingService(store)                     # at app start (recovers dead jobs)
    job_id = training.start_job(JobConfig("red block", data=DataSpec(episode_ids=(3, 4, 5))))
    training.job_progress(job_id)                         # JobProgress: status, loss_history, eta_s, log_tail...
    training.cancel(job_id); training.resume(job_id); training.list_jobs()
    training.list_adapters()                              # AdapterInfo: name, path, card, metrics
    training.activate_adapter(model_service, "red-block") # switch the app's model; None = base model
    training.close()
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.training.adapters import AdapterInfo, AdapterRegistry
from core.training.config import PRESETS, TrainConfig, preset
from core.training.jobs import JobManager, JobProgress
from core.training.jobspec import JobConfig

if TYPE_CHECKING:
    from core.policy.service import ModelService
    from core.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataPreview:
    """What a selection of episodes will give, before starting a job."""

    episodes: int
    verbalized: int
    missing: list[int]  # episode ids without a verbalization
    subtasks: int


class TrainingService:
    def __init__(self, store: Store, *, jobs_root: str | Path | None = None, adapters_root: str | Path | None = None,
                 threads: int | None = None, monitor: bool = True) -> None:
        self.store = store
        self.adapters = AdapterRegistry(store, adapters_root)
        self.jobs = JobManager(store, Path(jobs_root) if jobs_root else None, threads=threads,
                               adapters_root=self.adapters.root)
        if monitor:
            self.jobs.start_monitor()

    # ---- jobs ---------------------------------------------------------------------------------------
    def start_job(self, config: JobConfig) -> int:
        return self.jobs.start_job(config)

    def cancel(self, job_id: int) -> None:
        self.jobs.cancel(job_id)

    def resume(self, job_id: int) -> None:
        self.jobs.resume(job_id)

    def list_jobs(self, limit: int = 50) -> list[JobProgress]:
        return self.jobs.list_jobs(limit)

    def job_progress(self, job_id: int) -> JobProgress:
        return self.jobs.job_progress(job_id)

    @staticmethod
    def presets() -> dict[str, TrainConfig]:
        return {name: preset(name) for name in PRESETS}

    def preview(self, episode_ids: list[int]) -> DataPreview:
        from core.training.sources import latest_verbalization

        missing, subtasks = [], 0
        for eid in episode_ids:
            v = latest_verbalization(self.store, eid)
            if v is None:
                missing.append(eid)
            else:
                subtasks += len(v.subtasks)
        return DataPreview(len(episode_ids), len(episode_ids) - len(missing), missing, subtasks)

    # ---- adapters -----------------------------------------------------------------------------------
    def list_adapters(self) -> list[AdapterInfo]:
        return self.adapters.list()

    def export_adapter(self, name: str, dest: str | Path) -> Path:
        return self.adapters.export(name, dest)

    def import_adapter(self, src: str | Path, name: str | None = None) -> AdapterInfo:
        return self.adapters.import_(src, name)

    def delete_adapter(self, name: str) -> None:
        self.adapters.remove(name)

    def activate_adapter(self, model_service: ModelService, name: str | None) -> str | None:
        """Switch the app's running model (`core.policy.service.ModelService`) to the registered adapter
        `name` (None: back to the base model), without a reload. Returns the active adapter name (None for
        the base model)."""
        info = self.adapters.get(name) if name else None
        if info is None:
            model_service.deactivate_adapter()
            return None
        if info.action_format != "language":
            log.warning("adapter %s writes actions as tokens (the baseline): the autonomous loop cannot use it; "
                        "it is meant for the forgetting comparison in chat", name)
        return model_service.activate_adapter(info.path, info.name, card=info.card, metrics=info.metrics)

    def register_shipped(self, adapter_dir: Path | None = None, name: str | None = None) -> bool:
        """Register the shipped action adapter (`core.policy.shipped.ADAPTER_DIR`) as `default-sim` (or the
        folder and name `core.policy.shipped.shipped_adapter` gives another robot), so the Train tab lists it
        (activating it is `core.policy.shipped.install_shipped`'s work). A registered copy with other weights
        (the shipped adapter of an earlier version) is replaced. False (with a logged reason) when there is
        none, it was trained on another build of the default model, or the copy failed."""
        from core.model.adapter_files import WEIGHTS, read_card
        from core.model.errors import AdapterError
        from core.policy.shipped import ADAPTER_DIR, ADAPTER_NAME, matches_base

        adapter_dir = Path(adapter_dir) if adapter_dir is not None else ADAPTER_DIR
        name = name or ADAPTER_NAME
        if not (adapter_dir / WEIGHTS).is_file() or not matches_base(adapter_dir):
            return False  # install_shipped says why
        try:
            old = next((a for a in self.list_adapters() if a.name == name), None)
            if old is not None and not _same_file(Path(old.path) / WEIGHTS, adapter_dir / WEIGHTS):
                log.info("replacing the registered %s with the shipped one (new weights)", name)
                self.adapters.remove(name)
                old = None
            if old is None:
                self.adapters.add(adapter_dir, name, base_model="default",
                                  metrics=read_card(adapter_dir).get("metrics", {}))
            return True
        except (AdapterError, OSError, ValueError) as exc:
            log.warning("cannot register the shipped default adapter: %s", exc)
            return False

    def close(self) -> None:
        self.jobs.close()


def _same_file(a: Path, b: Path) -> bool:
    return a.is_file() and a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()
