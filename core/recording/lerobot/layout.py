"""Constants and small helpers of the LeRobot v3.0 layout, as LeRobot 0.6.1 writes it.

Names and rules follow `lerobot.datasets.utils` / `dataset_writer` / `dataset_metadata` /
`compute_stats` of LeRobot 0.6.1 (Apache-2.0): path templates, chunk settings, the order of the
per-episode stats (`min, max, mean, std, count, q01, q10, q50, q90, q99`) and how a chunk/file index
moves on when a file is full.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

CODEBASE_VERSION = "v3.0"
CHUNKS_SIZE = 1000  # files per chunk folder
DATA_FILES_SIZE_MB = 100
VIDEO_FILES_SIZE_MB = 200
INFO_PATH = "meta/info.json"
STATS_PATH = "meta/stats.json"
TASKS_PATH = "meta/tasks.parquet"
EPISODES_DIR = "meta/episodes"
EPISODES_PATH = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
IMAGE_PREFIX = "observation.images."
# Our own per-episode facts (operator, success, seed, ...). They live beside LeRobot's metadata, not in
# the episodes table: LeRobot appends episodes with exactly its own columns, and a table whose files
# disagree on columns no longer loads.
SIDECAR_PATH = "meta/vlm2vla/episodes.json"
LEGACY_EXTRA_PREFIX = "vlm2vla/"  # exports before the sidecar kept these as episodes-table columns

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
STAT_KEYS = ("min", "max", "mean", "std", "count", *(f"q{int(q * 100):02d}" for q in QUANTILES))


def next_chunk_file(chunk_index: int, file_index: int, chunks_size: int) -> tuple[int, int]:
    """The file after (chunk, file): LeRobot's `update_chunk_file_indices`."""
    if file_index == chunks_size - 1:
        return chunk_index + 1, 0
    return chunk_index, file_index + 1


def size_mb(path: Path) -> float:
    return path.stat().st_size / (1024**2)


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=4, ensure_ascii=False))


def _stats(v: np.ndarray, count: int) -> dict[str, np.ndarray]:
    """Per-column stats of a 2-D array (rows are samples), in LeRobot's key order."""
    out: dict[str, np.ndarray] = {
        "min": v.min(axis=0),
        "max": v.max(axis=0),
        "mean": v.mean(axis=0),
        "std": v.std(axis=0),
        "count": np.array([count]),
    }
    for q in QUANTILES:
        out[f"q{int(q * 100):02d}"] = np.quantile(v, q, axis=0)
    return out


def vector_stats(values: Any) -> dict[str, list]:
    """Stats of a per-frame feature: (N, D) vectors give D values per stat, (N,) scalars give one.

    The shapes are those of LeRobot's `compute_episode_stats` (a scalar feature keeps a (1,) shape).
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        v = v.reshape(-1, 1)
    return {k: a.tolist() for k, a in _stats(v, v.shape[0]).items()}


def image_stats(frames: np.ndarray) -> dict[str, list]:
    """Per-channel stats of sampled RGB frames (N, H, W, 3) uint8, scaled to [0, 1], shaped (3, 1, 1)."""
    x = np.asarray(frames, dtype=np.float64).reshape(-1, frames.shape[-1]) / 255.0
    st = _stats(x, int(frames.shape[0]))
    return {k: (a.tolist() if k == "count" else a.reshape(-1, 1, 1).tolist()) for k, a in st.items()}


def merge_stats(parts: list[dict[str, list]]) -> dict[str, list]:
    """Dataset stats from per-episode stats, as LeRobot's `aggregate_feature_stats` combines them
    (count-weighted mean, pooled variance, min of mins, max of maxes, count-weighted quantiles)."""
    if not parts:
        raise ValueError("no stats to merge")
    arr = {k: np.stack([np.asarray(p[k], dtype=np.float64) for p in parts]) for k in STAT_KEYS if k != "count"}
    counts = np.stack([np.asarray(p["count"], dtype=np.float64) for p in parts])
    total = counts.sum(axis=0)
    w = counts
    while w.ndim < arr["mean"].ndim:
        w = np.expand_dims(w, -1)
    mean = (arr["mean"] * w).sum(axis=0) / total
    var = ((arr["std"] ** 2 + (arr["mean"] - mean) ** 2) * w).sum(axis=0) / total
    out: dict[str, Any] = {
        "min": arr["min"].min(axis=0),
        "max": arr["max"].max(axis=0),
        "mean": mean,
        "std": np.sqrt(var),
        "count": total.astype(np.int64),
    }
    for k in STAT_KEYS:
        if k.startswith("q"):
            out[k] = (arr[k] * w).sum(axis=0) / total
    return {k: np.asarray(out[k]).tolist() for k in STAT_KEYS}


def finite(x: float | None, default: float = math.nan) -> float:
    return default if x is None else float(x)
