"""Exceptions raised by `core.training`. The UI shows their messages as they are: keep them actionable."""

from __future__ import annotations

from core.model.errors import AdapterError  # the adapter folder format's error (`core.model.adapter_files`)


class TrainingError(RuntimeError):
    """Base class for training failures."""


class DataError(TrainingError, ValueError):
    """The selected data cannot be turned into training samples."""


class NoEpisodesError(DataError):
    """No episodes were selected, or none of them yielded a sample."""


class NoVerbalizationError(DataError):
    """Episodes without a verbalization (subtasks, plans, actions) cannot be trained on."""

    def __init__(self, episodes: list[str]) -> None:
        shown = ", ".join(episodes[:10]) + (" ..." if len(episodes) > 10 else "")
        super().__init__(
            f"{len(episodes)} episode(s) have no verbalization: {shown}. Verbalize them in the Episodes tab "
            "(or pass verbalize_missing=True to verbalize them from their recorded steps)."
        )
        self.episodes = episodes


class ModelLoadError(TrainingError):
    """The base model or its processor could not be loaded for training."""


class CheckpointError(TrainingError):
    """A checkpoint could not be written or read (disk full, corrupt or foreign files)."""


class TrainingCancelled(TrainingError):
    """Raised inside the loop when the cancel flag is seen; the trainer turns it into a clean stop."""


class AdapterNotFound(AdapterError, TrainingError, LookupError):
    """No adapter with this name in the registry."""


class JobError(TrainingError):
    """A training job cannot be started, cancelled or resumed in its current state."""


class JobNotFound(JobError, LookupError):
    def __init__(self, job_id: int) -> None:
        super().__init__(f"training job {job_id} does not exist")
        self.job_id = job_id
