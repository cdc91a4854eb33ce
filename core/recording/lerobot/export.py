"""Export episodes from the store as a LeRobotDataset v3.0 folder, laid out as LeRobot 0.6.1 lays it out.

- `data/chunk-XXX/file-YYY.parquet`: the frames of consecutive episodes, one row group per episode,
  a new file when `data_files_size_in_mb` would be reached, a new chunk folder after `chunks_size` files;
- `videos/<key>/chunk-XXX/file-YYY.mp4`: each camera's episodes concatenated (H.264 remuxed, not
  re-encoded) until `video_files_size_in_mb`; each episode's clip is `[from_timestamp, to_timestamp)`;
- `meta/episodes/...parquet`: one row per episode with exactly LeRobot's columns, including the
  per-episode stats of every feature (`stats/<feature>/{min,max,mean,std,count,q01,q10,q50,q90,q99}`,
  the five index/time features too), so `LeRobotDataset.resume` can append episodes;
- `language_persistent` / `language_events` columns with the verbalization (`language.py`);
- `meta/vlm2vla/episodes.json`: our own facts per episode (operator, success, seed, ...).
Episodes of a robot whose joints LeRobot knows by name (the SO-101) have those joints as the state and the
action (`arm.py`).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from core.recording.errors import DatasetError
from core.recording.lerobot import arm as A
from core.recording.lerobot import language as LANG
from core.recording.lerobot import layout as L
from core.recording.lerobot.episode_source import SourceEpisode, load_episodes
from core.recording.lerobot.files import FileSettings, TableFiles, VideoFiles
from core.recording.paths import check_name, safe_join
from core.recording.video import iter_frames, probe
from core.store import Store

if TYPE_CHECKING:
    from core.robot.registry import RobotSpec

log = logging.getLogger(__name__)

STATS_FRAMES_PER_EPISODE = 24
DEFAULT_ROBOT_TYPE = "vlm2vla_sim"


@dataclass(frozen=True)
class ExportResult:
    root: Path
    episodes: int
    frames: int
    episode_ids: tuple[int, ...]
    skipped: tuple[tuple[int, str], ...] = field(default_factory=tuple)
    data_files: int = 0
    video_files: int = 0
    language_episodes: int = 0  # episodes whose verbalization is in the language columns
    notes: tuple[str, ...] = ()


def _vec(values: list[list[float]], width: int) -> pa.Array:
    flat = np.asarray(values, dtype=np.float32).reshape(-1)
    return pa.FixedSizeListArray.from_arrays(pa.array(flat, type=pa.float32()), width)


def _vectors(ep: SourceEpisode, widths: dict[str, int], arm: RobotSpec | None) -> dict[str, list[list[float]]]:
    out: dict[str, list[list[float]]] = {k: [] for k in widths}
    pose, cmd = ("observation.state", "action") if arm is None else (A.EE_STATE, A.EE_ACTION)
    if arm is not None:
        out["observation.state"], out["action"] = A.joint_vectors(arm, ep.steps)
    for st in ep.steps:
        out[pose].append([L.finite(st.x), L.finite(st.y), L.finite(st.z), L.finite(st.yaw), L.finite(st.gripper)])
        out[cmd].append([L.finite(st.cmd_x), L.finite(st.cmd_y), L.finite(st.cmd_z), L.finite(st.cmd_yaw),
                         L.finite(st.cmd_gripper)])
        tw = list(st.twist or [0.0] * 6)[:6]
        out["action.twist"].append([*tw, L.finite(st.twist_gripper, L.TWIST_GRIPPER_NONE)])
        if "observation.joints" in widths:
            out["observation.joints"].append(list(st.joints or []))
        if "action.joints" in widths:
            out["action.joints"].append(list(st.cmd_joints or []))
    return out


def _common_width(eps: list[SourceEpisode], attr: str) -> int | None:
    widths = {len(getattr(st, attr)) if getattr(st, attr) else 0 for ep in eps for st in ep.steps}
    return widths.pop() if len(widths) == 1 and 0 not in widths else None


def _sample_frames(path: Path, n_frames: int) -> np.ndarray:
    step = max(1, n_frames // STATS_FRAMES_PER_EPISODE)
    return np.stack([f for i, (_, f) in enumerate(iter_frames(path)) if i % step == 0])


def _features(eps: list[SourceEpisode], cams: list[str], fps: int, language: bool,
              arm: RobotSpec | None) -> dict[str, Any]:
    features: dict[str, Any] = {
        "observation.state": {"dtype": "float32", "shape": [5], "names": L.STATE_NAMES},
        "action": {"dtype": "float32", "shape": [5], "names": L.ACTION_NAMES},
        "action.twist": {"dtype": "float32", "shape": [7], "names": L.TWIST_NAMES},
    }
    if arm is not None:  # its joints under LeRobot's names are the state and the action, the pose beside them
        names = list(arm.joint_features or ())
        features = {
            "observation.state": {"dtype": "float32", "shape": [len(names)], "names": names},
            "action": {"dtype": "float32", "shape": [len(names)], "names": names},
            A.EE_STATE: {"dtype": "float32", "shape": [5], "names": L.STATE_NAMES},
            A.EE_ACTION: {"dtype": "float32", "shape": [5], "names": L.ACTION_NAMES},
            "action.twist": features["action.twist"],
        }
    for key, attr in (("observation.joints", "joints"), ("action.joints", "cmd_joints")):
        w = _common_width(eps, attr)
        if w and arm is None:
            features[key] = {"dtype": "float32", "shape": [w], "names": [f"joint_{i}" for i in range(w)]}
    for cam in cams:
        p = probe(eps[0].videos[cam])
        for ep in eps[1:]:
            q = probe(ep.videos[cam])
            if (q.width, q.height) != (p.width, p.height):
                raise DatasetError(f"episode {ep.id} camera {cam!r} is {q.width}x{q.height}, not {p.width}x{p.height}")
        features[L.IMAGE_PREFIX + cam] = {
            "dtype": "video",
            "shape": [p.height, p.width, 3],
            "names": ["height", "width", "channels"],
            "info": {
                "video.height": p.height,
                "video.width": p.width,
                "video.codec": p.codec,
                "video.pix_fmt": "yuv420p",
                "video.fps": fps,
                "video.channels": 3,
                "has_audio": False,
                "is_depth_map": False,
            },
        }
    features.update({k: dict(v) for k, v in L.DEFAULT_FEATURES.items()})
    if language:
        features.update(LANG.feature_info())
    return features


def export_lerobot(
    store: Store,
    episode_ids: Sequence[int],
    dest: Path,
    *,
    robot_type: str | None = None,
    skip_invalid: bool = False,
    settings: FileSettings | None = None,
    language: bool = True,
) -> ExportResult:
    """Write `episode_ids` (in that order) as a LeRobotDataset v3.0 folder at `dest`.

    `dest` must not exist yet (use `paths.resolve_export_dir(base, name)` to build it from a
    user-typed name). Episodes that cannot be exported (still recording, missing or mismatched
    video) raise `DatasetError` unless `skip_invalid`, in which case they are listed in `skipped`.
    `settings` sets chunks_size / data_files_size_in_mb / video_files_size_in_mb (LeRobot's defaults
    otherwise); `language=False` leaves out the language columns. `robot_type` defaults to the
    episodes' robot when they share one (e.g. imported so100_follower episodes), else "vlm2vla_sim".
    """
    dest = Path(dest)
    settings = settings or FileSettings()
    if dest.exists():
        raise DatasetError(f"{dest} already exists; choose a new dataset name")
    eps, skipped = load_episodes(store, list(dict.fromkeys(int(i) for i in episode_ids)), language)
    if skipped and not skip_invalid:
        raise DatasetError("cannot export: " + "; ".join(f"episode {i} {why}" for i, why in skipped))
    if not eps:
        raise DatasetError("no episode to export")
    cams = sorted(eps[0].videos)
    for cam in cams:
        check_name(cam, "camera name")
    for ep in eps:
        if sorted(ep.videos) != cams:
            raise DatasetError(f"episode {ep.id} has cameras {sorted(ep.videos)}, expected {cams} like the first")
    fps_set = {round(float(ep.extras["fps"] or 30.0)) for ep in eps}
    if len(fps_set) != 1:
        raise DatasetError(f"episodes have different rates {sorted(fps_set)}; export them separately")
    fps = fps_set.pop()
    robots = [ep.extras["robot"] for ep in eps]
    arm = A.export_arm(robots, {len(st.joints) if st.joints else 0 for ep in eps for st in ep.steps})
    if robot_type is None:
        robot_type = _robot_type(set(robots))
    features = _features(eps, cams, fps, language, arm)

    tmp = dest.with_name(dest.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        res = _Writer(tmp, features, fps, settings, arm).write(eps, cams, robot_type)
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("exported %d episodes (%d frames) to %s", len(eps), res["frames"], dest)
    return ExportResult(
        dest, len(eps), res["frames"], tuple(e.id for e in eps), tuple(skipped), res["data_files"],
        res["video_files"], res["language_episodes"], tuple(res["notes"]),
    )


def _robot_type(robots: set[str | None]) -> str:
    """The episodes' shared robot as LeRobot names it (a robot of the registry by its `lerobot_type`, an
    imported one by its own type, e.g. so100_follower); mixed or unknown: the built-in arm's type."""
    from core.robot import registry

    if len(robots) != 1 or None in robots:
        return DEFAULT_ROBOT_TYPE
    name = str(robots.pop())
    return registry.ROBOTS[name].lerobot_type if name in registry.ROBOTS else name


class _Writer:
    def __init__(self, root: Path, features: dict[str, Any], fps: int, settings: FileSettings,
                 arm: RobotSpec | None = None) -> None:
        self.root = root
        self.arm = arm
        self.features = features
        self.fps = fps
        self.settings = settings
        self.language = LANG.LANGUAGE_PERSISTENT in features

    def write(self, eps: list[SourceEpisode], cams: list[str], robot_type: str) -> dict[str, Any]:
        import pandas as pd  # LeRobot reads tasks.parquet with pandas (task strings are the index)

        root, features, s = self.root, self.features, self.settings
        tasks: dict[str, int] = {}
        for ep in eps:
            tasks.setdefault(ep.task, len(tasks))
        tasks_path = safe_join(root, L.TASKS_PATH)
        tasks_path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"task_index": list(tasks.values())}, index=pd.Index(list(tasks), name="task")).to_parquet(
            tasks_path
        )
        data = TableFiles(root, L.DATA_PATH, s.data_files_size_in_mb, s.chunks_size)
        meta = TableFiles(root, L.EPISODES_PATH, s.data_files_size_in_mb, s.chunks_size)
        videos = {cam: VideoFiles(root, L.IMAGE_PREFIX + cam, s) for cam in cams}
        all_stats: list[dict[str, dict[str, list]]] = []
        sidecar: list[dict[str, Any]] = []
        notes: list[str] = []
        start = n_language = 0
        try:
            for ei, ep in enumerate(eps):
                n = len(ep.steps)
                table, ep_stats, rows = self._episode_table(ep, ei, start, tasks[ep.task])
                n_language += bool(rows)
                if self.language and not rows:
                    notes.append(f"episode {ep.id}: no language rows ({ep.language_note or 'no verbalization'})")
                chunk, file = data.add(table)
                row: dict[str, Any] = {
                    "episode_index": ei,
                    "tasks": [ep.task],
                    "length": n,
                    "data/chunk_index": chunk,
                    "data/file_index": file,
                    "dataset_from_index": start,
                    "dataset_to_index": start + n,
                }
                for cam in cams:
                    row.update(videos[cam].add(ep.videos[cam], self.fps, n))
                    ep_stats[L.IMAGE_PREFIX + cam] = L.image_stats(_sample_frames(ep.videos[cam], n))
                for key in features:  # LeRobot's order: features order, language columns have none
                    for k, v in ep_stats.get(key, {}).items():
                        row[f"stats/{key}/{k}"] = v
                row["meta/episodes/chunk_index"], row["meta/episodes/file_index"] = meta.target(1)
                meta.add(pa.Table.from_pylist([row]))
                all_stats.append(ep_stats)
                sidecar.append({"episode_index": ei, "length": n, "dataset_from_index": start, **ep.extras})
                start += n
        finally:
            data.close()
            meta.close()
            for v in videos.values():
                v.close()
        stats = {k: L.merge_stats([st[k] for st in all_stats]) for k in all_stats[0]}
        L.write_json(safe_join(root, L.STATS_PATH), stats)
        L.write_json(safe_join(root, L.SIDECAR_PATH), {"episodes": sidecar})
        info = {
            "codebase_version": L.CODEBASE_VERSION,
            "fps": self.fps,
            "features": features,
            "total_episodes": len(eps),
            "total_frames": start,
            "total_tasks": len(tasks),
            "chunks_size": s.chunks_size,
            "data_files_size_in_mb": s.data_files_size_in_mb,
            "video_files_size_in_mb": s.video_files_size_in_mb,
            "data_path": L.DATA_PATH,
            "video_path": L.VIDEO_PATH if cams else None,
            "robot_type": robot_type,
            "splits": {"train": f"0:{len(eps)}"},
        }
        L.write_json(safe_join(root, L.INFO_PATH), info)
        return {
            "frames": start,
            "data_files": len(data.paths),
            "video_files": sum(v.files for v in videos.values()),
            "language_episodes": n_language,
            "notes": notes,
        }

    def _episode_table(
        self, ep: SourceEpisode, ei: int, start: int, task_index: int
    ) -> tuple[pa.Table, dict[str, dict[str, list]], list[dict[str, Any]]]:
        n = len(ep.steps)
        widths = {
            k: f["shape"][0] for k, f in self.features.items() if f["dtype"] == "float32" and k not in L.DEFAULT_FEATURES
        }
        vecs = _vectors(ep, widths, self.arm)
        scal = {
            "timestamp": np.arange(n, dtype=np.float64) / self.fps,
            "frame_index": np.arange(n),
            "episode_index": np.full(n, ei),
            "index": np.arange(start, start + n),
            "task_index": np.full(n, task_index),
        }
        cols: dict[str, pa.Array] = {}
        stats: dict[str, dict[str, list]] = {}
        for key in self.features:
            if key in vecs:
                cols[key] = _vec(vecs[key], widths[key])
                stats[key] = L.vector_stats(np.asarray(vecs[key], dtype=np.float32))
            elif key in scal:
                arr = scal[key].astype(np.float32 if key == "timestamp" else np.int64)
                cols[key] = pa.array(arr)
                stats[key] = L.vector_stats(arr)
        rows: list[dict[str, Any]] = []
        if self.language:
            if ep.verbalization is not None:
                rows = LANG.persistent_rows(ep.verbalization, ep.positions, self.fps)
            cols.update(LANG.columns(rows, n))
        return pa.table(cols), stats, rows
