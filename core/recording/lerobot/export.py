"""Export episodes from the store as a LeRobotDataset v3.0 folder."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.recording.errors import DatasetError
from core.recording.lerobot import layout as L
from core.recording.paths import check_name, safe_join
from core.recording.video import iter_frames, probe
from core.store import Store
from core.store.models import Episode, EpisodeStatus, Step, VideoStatus

if TYPE_CHECKING:
    from core.robot.registry import RobotSpec

log = logging.getLogger(__name__)

EXPORTABLE = (EpisodeStatus.SAVED.value, EpisodeStatus.RECOVERED.value, EpisodeStatus.IMPORTED.value)
STATS_FRAMES_PER_EPISODE = 24


@dataclass(frozen=True)
class ExportResult:
    root: Path
    episodes: int
    frames: int
    episode_ids: tuple[int, ...]
    skipped: tuple[tuple[int, str], ...] = field(default_factory=tuple)


@dataclass
class _Ep:
    id: int
    task: str
    steps: list[Step]
    videos: dict[str, Path]  # camera -> absolute path
    extras: dict[str, Any]


def _load(store: Store, episode_ids: Sequence[int]) -> tuple[list[_Ep], list[tuple[int, str]]]:
    eps, skipped = [], []
    with store.session() as s:
        rows = {
            e.id: e
            for e in s.scalars(
                select(Episode).where(Episode.id.in_(list(episode_ids))).options(selectinload(Episode.videos))
            )
        }
        for eid in episode_ids:
            e = rows.get(eid)
            if e is None:
                skipped.append((eid, "does not exist"))
                continue
            if e.status not in EXPORTABLE:
                skipped.append((eid, f"status is {e.status!r}"))
                continue
            steps = list(
                s.scalars(select(Step).where(Step.episode_id == eid, Step.frame_index.is_not(None)).order_by(Step.idx))
            )
            if not e.videos:
                steps = list(s.scalars(select(Step).where(Step.episode_id == eid).order_by(Step.idx)))
            if not steps:
                skipped.append((eid, "has no steps with frames"))
                continue
            if e.videos and [st.frame_index for st in steps] != list(range(len(steps))):
                skipped.append((eid, "frame indices are not 0..n-1"))
                continue
            videos, why = {}, None
            for v in e.videos:
                path = store.abspath(v.path)
                if v.status not in (VideoStatus.OK.value, VideoStatus.RECOVERED.value) or not path.is_file():
                    why = f"video {v.camera!r} is {v.status} / missing"
                elif v.frame_count != len(steps):
                    why = f"video {v.camera!r} has {v.frame_count} frames for {len(steps)} steps"
                videos[v.camera] = path
            if why:
                skipped.append((eid, why))
                continue
            extras = {
                "uid": e.uid,
                "task": e.task,
                "success": e.success,
                "operator": e.operator.name if e.operator else None,
                "seed": e.seed,
                "robot": e.robot,
                "started_at": e.started_at.isoformat() if e.started_at else None,
                "fps": e.fps,
            }
            task = e.instruction.text if e.instruction else (e.task or "")
            eps.append(_Ep(eid, task, steps, videos, extras))
    return eps, skipped


def _vec(values: list[list[float]], width: int) -> pa.Array:
    flat = np.asarray(values, dtype=np.float32).reshape(-1)
    return pa.FixedSizeListArray.from_arrays(pa.array(flat, type=pa.float32()), width)


def _rows(ep: _Ep, joints_width: int | None, arm: RobotSpec | None = None) -> dict[str, list]:
    """The data columns of one episode. `arm`: a robot whose joints LeRobot knows by name (the SO-101):
    its joints are the state and the action (the next step's joints: where the servos were sent; the last
    step repeats its own), the end-effector pose goes to observation.ee_pose / action.ee_pose."""
    state, action, twist, joints = [], [], [], []
    for st in ep.steps:
        state.append([L.finite(st.x), L.finite(st.y), L.finite(st.z), L.finite(st.yaw), L.finite(st.gripper)])
        action.append(
            [L.finite(st.cmd_x), L.finite(st.cmd_y), L.finite(st.cmd_z), L.finite(st.cmd_yaw), L.finite(st.cmd_gripper)]
        )
        tw = list(st.twist or [0.0] * 6)[:6]
        twist.append([*tw, L.finite(st.twist_gripper, L.TWIST_GRIPPER_NONE)])
        if joints_width:
            joints.append(list(st.joints or []))
    if arm is not None and arm.joints_out is not None:
        q = [arm.joints_out(list(j)) for j in joints]
        return {"observation.state": q, "action": q[1:] + q[-1:], "observation.ee_pose": state,
                "action.ee_pose": action, "action.twist": twist}
    out = {"observation.state": state, "action": action, "action.twist": twist}
    if joints_width:
        out["observation.joints"] = joints
    return out


def _arm(eps: list[_Ep], joints_width: int | None) -> RobotSpec | None:
    """The robot whose joint names the export uses (all episodes from one such robot), else None."""
    from core.robot import registry

    specs = {e.extras.get("robot") for e in eps}
    if len(specs) != 1:
        named = [s for s in specs if s in registry.ROBOTS and registry.ROBOTS[s].joint_features]
        if named:
            raise DatasetError(f"episodes come from different robots {sorted(map(str, specs))}; export them separately")
        return None
    name = specs.pop()
    spec = registry.ROBOTS.get(name or "")
    if spec is None or spec.joint_features is None:
        return None
    if joints_width != len(spec.joint_features):
        raise DatasetError(f"{name} episodes must carry {len(spec.joint_features)} joint values per step")
    return spec


def _image_stats(path: Path, n_frames: int) -> tuple[np.ndarray, int]:
    step = max(1, n_frames // STATS_FRAMES_PER_EPISODE)
    frames = [f for i, (_, f) in enumerate(iter_frames(path)) if i % step == 0]
    return np.stack(frames), len(frames)


def _image_feature_stats(samples: list[np.ndarray]) -> dict[str, list]:
    x = np.concatenate(samples).astype(np.float64).transpose(0, 3, 1, 2) / 255.0  # N,C,H,W in [0, 1]
    st = L.array_stats(x, axis=(0, 2, 3), keepdims=True)
    return {k: (np.asarray(v)[0].tolist() if k != "count" else v) for k, v in st.items()}


def export_lerobot(
    store: Store,
    episode_ids: Sequence[int],
    dest: Path,
    *,
    robot_type: str | None = None,
    skip_invalid: bool = False,
) -> ExportResult:
    """Write `episode_ids` (in that order) as a LeRobotDataset v3.0 folder at `dest`.

    `robot_type` (info.json) defaults to the episodes' robot's LeRobot type ("so101_follower" for the
    SO-101, "vlm2vla_sim" for the built-in arm). Episodes of an SO-101 have its joints as observation.state
    and action under LeRobot's names (`shoulder_pan.pos`, ..., degrees; `gripper.pos`, 0..100) plus the
    end-effector pose; see `_rows`.

    `dest` must not exist yet (use `paths.resolve_export_dir(base, name)` to build it from a
    user-typed name). Episodes that cannot be exported (still recording, missing or mismatched
    video) raise `DatasetError` unless `skip_invalid`, in which case they are listed in `skipped`.
    """
    dest = Path(dest)
    if dest.exists():
        raise DatasetError(f"{dest} already exists; choose a new dataset name")
    eps, skipped = _load(store, list(dict.fromkeys(int(i) for i in episode_ids)))
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
    jw = {len(st.joints) if st.joints else 0 for ep in eps for st in ep.steps}
    joints_width = jw.pop() if len(jw) == 1 and 0 not in jw else None
    arm = _arm(eps, joints_width)
    if robot_type is None:
        from core.robot import registry

        robot_type = arm.lerobot_type if arm is not None else registry.ROBOTS["sim"].lerobot_type

    video_info: dict[str, Any] = {}
    for cam in cams:
        p = probe(eps[0].videos[cam])
        video_info[cam] = p
        for ep in eps[1:]:
            q = probe(ep.videos[cam])
            if (q.width, q.height) != (p.width, p.height):
                raise DatasetError(f"episode {ep.id} camera {cam!r} is {q.width}x{q.height}, not {p.width}x{p.height}")

    features: dict[str, Any] = {
        "observation.state": {"dtype": "float32", "shape": [5], "names": L.STATE_NAMES},
        "action": {"dtype": "float32", "shape": [5], "names": L.ACTION_NAMES},
        "action.twist": {"dtype": "float32", "shape": [7], "names": L.TWIST_NAMES},
    }
    if arm is not None:
        names = list(arm.joint_features or ())
        features["observation.state"] = {"dtype": "float32", "shape": [len(names)], "names": names}
        features["action"] = {"dtype": "float32", "shape": [len(names)], "names": names}
        features["observation.ee_pose"] = {"dtype": "float32", "shape": [5], "names": L.STATE_NAMES}
        features["action.ee_pose"] = {"dtype": "float32", "shape": [5], "names": L.ACTION_NAMES}
    elif joints_width:
        names = [f"joint_{i}" for i in range(joints_width)]
        features["observation.joints"] = {"dtype": "float32", "shape": [joints_width], "names": names}
    for cam in cams:
        p = video_info[cam]
        features[L.IMAGE_PREFIX + cam] = {
            "dtype": "video",
            "shape": [p.height, p.width, 3],
            "names": ["height", "width", "channels"],
            "info": {
                "video.height": p.height,
                "video.width": p.width,
                "video.codec": p.codec,
                "video.pix_fmt": "yuv420p",
                "video.is_depth_map": False,
                "video.fps": fps,
                "video.channels": 3,
                "has_audio": False,
            },
        }
    features.update(L.DEFAULT_FEATURES)

    tmp = dest.with_name(dest.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        total = _write(tmp, eps, cams, features, fps, joints_width, robot_type, arm)
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("exported %d episodes (%d frames) to %s", len(eps), total, dest)
    return ExportResult(dest, len(eps), total, tuple(e.id for e in eps), tuple(skipped))


def _write(
    root: Path,
    eps: list[_Ep],
    cams: list[str],
    features: dict[str, Any],
    fps: int,
    joints_width: int | None,
    robot_type: str,
    arm: RobotSpec | None = None,
) -> int:
    import pandas as pd  # LeRobot reads tasks.parquet with pandas (task strings are the index)

    tasks: dict[str, int] = {}
    for ep in eps:
        tasks.setdefault(ep.task, len(tasks))
    tasks_path = safe_join(root, L.TASKS_PATH)
    tasks_path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"task_index": list(tasks.values())}, index=list(tasks)).to_parquet(tasks_path)

    if arm is not None:
        vec_cols = ["observation.state", "action", "observation.ee_pose", "action.ee_pose", "action.twist"]
    else:
        vec_cols = ["observation.state", "action", "action.twist"] + (["observation.joints"] if joints_width else [])
    data: dict[str, list] = {c: [] for c in vec_cols}
    scal: dict[str, list] = {"timestamp": [], "frame_index": [], "episode_index": [], "index": [], "task_index": []}
    ep_rows: list[dict[str, Any]] = []
    img_samples: dict[str, list[np.ndarray]] = {c: [] for c in cams}
    start = 0
    for ei, ep in enumerate(eps):
        n = len(ep.steps)
        vecs = _rows(ep, joints_width, arm)
        for c in vec_cols:
            data[c].extend(vecs[c])
        scal["timestamp"].extend(i / fps for i in range(n))
        scal["frame_index"].extend(range(n))
        scal["episode_index"].extend([ei] * n)
        scal["index"].extend(range(start, start + n))
        scal["task_index"].extend([tasks[ep.task]] * n)
        row: dict[str, Any] = {
            "episode_index": ei,
            "tasks": [ep.task],
            "length": n,
            "data/chunk_index": 0,
            "data/file_index": 0,
            "dataset_from_index": start,
            "dataset_to_index": start + n,
        }
        ci, fi = L.chunk_file(ei)
        for cam in cams:
            key = L.IMAGE_PREFIX + cam
            out = safe_join(root, L.VIDEO_PATH.format(video_key=key, chunk_index=ci, file_index=fi))
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ep.videos[cam], out)
            row[f"videos/{key}/chunk_index"] = ci
            row[f"videos/{key}/file_index"] = fi
            row[f"videos/{key}/from_timestamp"] = 0.0
            row[f"videos/{key}/to_timestamp"] = n / fps
            frames, _ = _image_stats(out, n)
            img_samples[cam].append(frames)
            for k, v in _image_feature_stats([frames]).items():
                row[f"stats/{key}/{k}"] = v
        for c in vec_cols:
            for k, v in L.array_stats(np.asarray(vecs[c], dtype=np.float64)).items():
                row[f"stats/{c}/{k}"] = v
        row["meta/episodes/chunk_index"] = 0
        row["meta/episodes/file_index"] = 0
        for k, v in ep.extras.items():
            row[L.EXTRA_PREFIX + k] = v
        ep_rows.append(row)
        start += n

    cols: dict[str, pa.Array] = {}
    for c in vec_cols:
        cols[c] = _vec(data[c], features[c]["shape"][0])
    cols["timestamp"] = pa.array(scal["timestamp"], type=pa.float32())
    for c in ("frame_index", "episode_index", "index", "task_index"):
        cols[c] = pa.array(scal[c], type=pa.int64())
    path = safe_join(root, L.DATA_PATH.format(chunk_index=0, file_index=0))
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(cols), path, compression="snappy")

    ep_path = safe_join(root, L.EPISODES_PATH.format(chunk_index=0, file_index=0))
    ep_path.parent.mkdir(parents=True, exist_ok=True)
    keys = list(dict.fromkeys(k for r in ep_rows for k in r))
    pq.write_table(pa.table({k: [r.get(k) for r in ep_rows] for k in keys}), ep_path, compression="snappy")

    stats: dict[str, Any] = {}
    for c in vec_cols:
        stats[c] = L.array_stats(np.asarray(data[c], dtype=np.float64))
    for cam in cams:
        stats[L.IMAGE_PREFIX + cam] = _image_feature_stats(img_samples[cam])
    for c in ("timestamp", "frame_index", "episode_index", "index", "task_index"):
        stats[c] = L.array_stats(np.asarray(scal[c], dtype=np.float64).reshape(-1, 1))
    L.write_json(safe_join(root, L.STATS_PATH), stats)

    info = {
        "codebase_version": L.CODEBASE_VERSION,
        "robot_type": robot_type,
        "total_episodes": len(eps),
        "total_frames": start,
        "total_tasks": len(tasks),
        "chunks_size": L.CHUNKS_SIZE,
        "data_files_size_in_mb": L.DATA_FILES_SIZE_MB,
        "video_files_size_in_mb": L.VIDEO_FILES_SIZE_MB,
        "fps": fps,
        "splits": {"train": f"0:{len(eps)}"},
        "data_path": L.DATA_PATH,
        "video_path": L.VIDEO_PATH if cams else None,
        "features": features,
    }
    L.write_json(safe_join(root, L.INFO_PATH), info)
    return start
