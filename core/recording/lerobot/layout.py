"""Constants and small helpers of the LeRobot v3.0 layout."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

CODEBASE_VERSION = "v3.0"
CHUNKS_SIZE = 1000
DATA_FILES_SIZE_MB = 100
VIDEO_FILES_SIZE_MB = 200
INFO_PATH = "meta/info.json"
STATS_PATH = "meta/stats.json"
TASKS_PATH = "meta/tasks.parquet"
EPISODES_PATH = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
IMAGE_PREFIX = "observation.images."
EXTRA_PREFIX = "vlm2vla/"  # our own per-episode columns in the episodes table

STATE_NAMES = ["x", "y", "z", "yaw", "gripper"]
ACTION_NAMES = ["x", "y", "z", "yaw", "gripper"]
TWIST_NAMES = ["dx", "dy", "dz", "droll", "dpitch", "dyaw", "gripper"]
TWIST_GRIPPER_NONE = -1.0  # "leave the gripper as it is"

DEFAULT_FEATURES: dict[str, dict[str, Any]] = {
    "timestamp": {"dtype": "float32", "shape": [1], "names": None},
    "frame_index": {"dtype": "int64", "shape": [1], "names": None},
    "episode_index": {"dtype": "int64", "shape": [1], "names": None},
    "index": {"dtype": "int64", "shape": [1], "names": None},
    "task_index": {"dtype": "int64", "shape": [1], "names": None},
}

QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)


def chunk_file(i: int) -> tuple[int, int]:
    return i // CHUNKS_SIZE, i % CHUNKS_SIZE


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=4, ensure_ascii=False))


def array_stats(values: np.ndarray, axis: int | tuple[int, ...] = 0, keepdims: bool = False) -> dict[str, list]:
    """min/max/mean/std/count and quantiles q01..q99 as LeRobot's stats.json stores them."""
    v = np.asarray(values, dtype=np.float64)
    out = {
        "min": np.min(v, axis=axis, keepdims=keepdims),
        "max": np.max(v, axis=axis, keepdims=keepdims),
        "mean": np.mean(v, axis=axis, keepdims=keepdims),
        "std": np.std(v, axis=axis, keepdims=keepdims),
    }
    for q in QUANTILES:
        out[f"q{round(q * 100):02d}"] = np.quantile(v, q, axis=axis, keepdims=keepdims)
    res = {k: np.asarray(a).tolist() for k, a in out.items()}
    res["count"] = [int(v.shape[0])]
    return res


def finite(x: float | None, default: float = math.nan) -> float:
    return default if x is None else float(x)
