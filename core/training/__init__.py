"""Fine-tuning: samples from episodes, the LoRA loop, background jobs, adapters and evaluation.

Entry points: `TrainingService` (what the app's Train tab calls), `train` (the loop), `build_dataset`
(samples), `python -m core.training` (the command line; also under `accelerate launch`). See
docs/training.md. The adapter folder format and switching adapters on a loaded model are `core.model`'s
(`adapter_files`, `adapters`); this package keeps the registry, the data and the jobs.
"""

from core.training.adapters import AdapterInfo, AdapterRegistry
from core.training.config import PRESETS, TrainConfig, preset
from core.training.data import DataConfig, DatasetSplit, TrainSample, build_dataset, export_jsonl, load_jsonl
from core.training.errors import (
    AdapterError,
    AdapterNotFound,
    CheckpointError,
    DataError,
    JobError,
    JobNotFound,
    ModelLoadError,
    NoEpisodesError,
    NoVerbalizationError,
    TrainingError,
)
from core.training.jobs import JobManager, JobProgress
from core.training.jobspec import DataSpec, EvalSpec, JobConfig
from core.training.service import DataPreview, TrainingService
from core.training.trainer import Hooks, Progress, TrainResult, train

__all__ = [
    "PRESETS",
    "AdapterError",
    "AdapterInfo",
    "AdapterNotFound",
    "AdapterRegistry",
    "CheckpointError",
    "DataConfig",
    "DataError",
    "DataPreview",
    "DataSpec",
    "DatasetSplit",
    "EvalSpec",
    "Hooks",
    "JobConfig",
    "JobError",
    "JobManager",
    "JobNotFound",
    "JobProgress",
    "ModelLoadError",
    "NoEpisodesError",
    "NoVerbalizationError",
    "Progress",
    "TrainConfig",
    "TrainResult",
    "TrainSample",
    "TrainingError",
    "TrainingService",
    "build_dataset",
    "export_jsonl",
    "load_jsonl",
    "preset",
    "train",
]
