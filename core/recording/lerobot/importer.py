"""Import a LeRobotDataset v3.0 folder into the store (episodes, steps, re-encoded H.264 videos).

Every path the dataset names (data files, video files) is resolved inside the dataset folder;
anything that would escape it is refused. Our own exports round-trip completely (state, command,
twist, joints, task, success, operator, seed; an SO-101's joints from `observation.state` back in radians, its pose
from `observation.ee_pose` / `action.ee_pose`). For other datasets: `observation.state` fills x/y/z/
yaw/gripper when its names say so, otherwise it is kept as the joint vector; other features are
listed in the episode's `meta["lerobot"]["unmapped"]`.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import insert

from core.recording.config import VideoConfig
from core.recording.errors import DatasetError, UnsafePath, VideoError
from core.recording.finalize import upsert_video
from core.recording.lerobot import layout as L
from core.recording.paths import check_name, safe_join
from core.recording.video import Mp4Writer, finalize_mp4, iter_frames
from core.store import Store
from core.store.lookup import get_or_create_instruction, get_or_create_user
from core.store.models import Episode, EpisodeStatus, Step, VideoStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportResult:
    episode_ids: tuple[int, ...]
    frames: int
    problems: tuple[str, ...]


def _read_info(root: Path) -> dict[str, Any]:
    try:
        info = json.loads(safe_join(root, L.INFO_PATH).read_text())
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{root} is not a LeRobot dataset (meta/info.json: {exc})") from exc
    version = str(info.get("codebase_version", ""))
    if not version.startswith("v3."):
        raise DatasetError(f"unsupported LeRobot dataset version {version!r}; only v3.x can be imported")
    for key in ("fps", "features", "data_path"):
        if key not in info:
            raise DatasetError(f"meta/info.json lacks {key!r}")
    return info


def _tasks(root: Path) -> dict[int, str]:
    import pandas as pd

    df = pd.read_parquet(safe_join(root, L.TASKS_PATH))
    if "task" in df.columns:
        return {int(i): str(t) for t, i in zip(df["task"], df["task_index"], strict=True)}
    return {int(i): str(t) for t, i in zip(df.index, df["task_index"], strict=True)}


def _episode_table(root: Path) -> list[dict[str, Any]]:
    meta = safe_join(root, "meta/episodes")
    files = sorted(meta.rglob("*.parquet"))
    if not files:
        raise DatasetError("meta/episodes has no parquet file")
    rows: list[dict[str, Any]] = []
    for f in files:
        safe_join(root, f.relative_to(root.resolve()))  # refuses symlinks that leave the folder
        rows.extend(pq.read_table(f).to_pylist())
    return sorted(rows, key=lambda r: int(r["episode_index"]))


def _template(info: dict[str, Any], key: str, **kw: Any) -> str:
    try:
        return str(info[key]).format(**kw)
    except (KeyError, IndexError, ValueError) as exc:
        raise DatasetError(f"bad {key} template {info.get(key)!r}: {exc}") from exc


def _pose_from(names: list[str] | None, vec: list[float]) -> dict[str, float | None] | None:
    if not names:
        return None
    idx = {n: i for i, n in enumerate(names)}
    if not {"x", "y", "z"} <= set(idx):
        return None
    return {k: (float(vec[idx[k]]) if k in idx else None) for k in ("x", "y", "z", "yaw", "gripper")}


def _num(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def import_lerobot(
    store: Store,
    src: Path,
    *,
    operator: str | None = None,
    video: VideoConfig | None = None,
) -> ImportResult:
    """Import every episode of the dataset at `src`; returns the new episode ids."""
    root = Path(src).resolve()
    info = _read_info(root)
    fps = float(info["fps"])
    features: dict[str, Any] = info["features"]
    video_keys = [k for k, f in features.items() if f.get("dtype") == "video"]
    for key in video_keys:
        check_name(key, "video key")
        if not key.startswith(L.IMAGE_PREFIX):
            raise DatasetError(f"video key {key!r} does not start with {L.IMAGE_PREFIX!r}")
        check_name(key.removeprefix(L.IMAGE_PREFIX), "camera name")
    tasks = _tasks(root)
    episodes = _episode_table(root)
    known = {"observation.state", "action", "action.twist", "observation.joints", "observation.ee_pose",
             "action.ee_pose", *L.DEFAULT_FEATURES, *video_keys}
    unmapped = sorted(k for k in features if k not in known)
    state_names = features.get("observation.state", {}).get("names")
    action_names = features.get("action", {}).get("names")
    to_rad = None
    if "observation.ee_pose" in features:  # an arm's export (the SO-101): joints in the state, pose beside it
        from core.robot.registry import joints_reader

        to_rad = joints_reader(state_names)
        state_names = ["ee:" + n for n in features["observation.ee_pose"].get("names") or []]
        action_names = ["ee:" + n for n in (features.get("action.ee_pose", {}).get("names") or [])]
    if isinstance(state_names, dict):  # older datasets nest names: {"motors": [...]}
        state_names = next(iter(state_names.values()), None)
    if isinstance(action_names, dict):
        action_names = next(iter(action_names.values()), None)

    data_cache: dict[Path, dict[int, list[dict[str, Any]]]] = {}
    ids: list[int] = []
    problems: list[str] = []
    total = 0
    for ep in episodes:
        ei = int(ep["episode_index"])
        dpath = safe_join(
            root,
            _template(
                info, "data_path", chunk_index=int(ep["data/chunk_index"]), file_index=int(ep["data/file_index"])
            ),
        )
        if dpath not in data_cache:
            if not dpath.is_file():
                raise DatasetError(f"data file {dpath.relative_to(root)} is missing")
            by_ep: dict[int, list[dict[str, Any]]] = {}
            for r in pq.read_table(dpath).to_pylist():
                if to_rad is not None and r.get("observation.state"):  # LeRobot's units -> the studio's radians
                    r["observation.state"] = to_rad(r["observation.state"])
                by_ep.setdefault(int(r["episode_index"]), []).append(r)
            data_cache[dpath] = by_ep
        frames = sorted(data_cache[dpath].get(ei, []), key=lambda r: int(r["frame_index"]))
        if not frames:
            problems.append(f"episode {ei}: no data rows")
            continue
        eid, p = _import_episode(
            store, root, info, ep, frames, tasks, video_keys, fps, state_names, action_names, unmapped, operator, video
        )
        ids.append(eid)
        problems.extend(p)
        total += len(frames)
    log.info("imported %d episodes (%d frames) from %s", len(ids), total, root)
    return ImportResult(tuple(ids), total, tuple(problems))


def _import_episode(
    store: Store,
    root: Path,
    info: dict[str, Any],
    ep: dict[str, Any],
    frames: list[dict[str, Any]],
    tasks: dict[int, str],
    video_keys: list[str],
    fps: float,
    state_names: list[str] | None,
    action_names: list[str] | None,
    unmapped: list[str],
    operator: str | None,
    video: VideoConfig | None,
) -> tuple[int, list[str]]:
    ei = int(ep["episode_index"])
    extra = {k.removeprefix(L.EXTRA_PREFIX): v for k, v in ep.items() if k.startswith(L.EXTRA_PREFIX)}
    task_text = tasks.get(int(frames[0]["task_index"])) or (ep.get("tasks") or ["(no instruction)"])[0]
    uid = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]
    folder = store.recordings_dir / uid
    folder.mkdir(parents=True)
    problems: list[str] = []
    n = len(frames)
    try:
        with store.session() as s:
            row = Episode(
                uid=uid,
                task=extra.get("task"),
                seed=extra.get("seed"),
                robot=extra.get("robot") or info.get("robot_type"),
                source="imported",
                status=EpisodeStatus.IMPORTED.value,
                success=extra.get("success"),
                fps=fps,
                num_steps=n,
                duration_s=float(frames[-1]["timestamp"]) - float(frames[0]["timestamp"]),
                meta={"lerobot": {"root": str(root), "episode_index": ei, "unmapped": unmapped}},
            )
            row.instruction = get_or_create_instruction(s, task_text)
            op = operator or extra.get("operator")
            if op:
                row.operator = get_or_create_user(s, op)
            s.add(row)
            s.flush()
            eid = row.id
            s.execute(
                insert(Step),
                [_step(eid, i, r, fps, state_names, action_names, frames[0]) for i, r in enumerate(frames)],
            )
        for key in video_keys:
            cam = key.removeprefix(L.IMAGE_PREFIX)
            got, why = _import_video(root, info, ep, key, folder / f"{cam}.mp4", fps, n, video or VideoConfig())
            status = VideoStatus.OK.value if why is None else VideoStatus.CORRUPT.value
            if why:
                problems.append(f"episode {ei} camera {cam!r}: {why}")
            with store.session() as s:
                w = h = None
                if got:
                    shape = info["features"][key].get("shape") or [0, 0, 3]
                    h, w = int(shape[0]), int(shape[1])
                upsert_video(
                    s,
                    eid,
                    cam,
                    f"{uid}/{cam}.mp4",
                    width=w,
                    height=h,
                    fps=fps,
                    frame_count=got,
                    path=folder / f"{cam}.mp4",
                    status=status,
                )
        if problems:
            with store.session() as s:
                e = s.get(Episode, eid)
                assert e is not None
                e.status = EpisodeStatus.FLAGGED.value
                e.problem = "; ".join(problems)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return eid, problems


def _step(
    eid: int,
    i: int,
    r: dict[str, Any],
    fps: float,
    state_names: list[str] | None,
    action_names: list[str] | None,
    first: dict[str, Any],
) -> dict[str, Any]:
    state = list(r.get("observation.state") or [])
    action = list(r.get("action") or [])
    twist = r.get("action.twist")
    joints = r.get("observation.joints")
    if state_names and state_names[0].startswith("ee:"):  # joints in the state, the pose in *.ee_pose
        joints, state = state, list(r.get("observation.ee_pose") or [])
        action = list(r.get("action.ee_pose") or [])
        state_names = [n.removeprefix("ee:") for n in state_names]
        action_names = [n.removeprefix("ee:") for n in action_names or []]
    pose = _pose_from(state_names, state)
    cmd = _pose_from(action_names, action)
    if joints is None and pose is None and state:
        joints = state
    row: dict[str, Any] = {
        "episode_id": eid,
        "idx": i,
        "t": float(r["timestamp"]) - float(first["timestamp"]),
        "frame_index": int(r["frame_index"]) - int(first["frame_index"]),
        "joints": [float(j) for j in joints] if joints is not None else None,
        "twist": [float(v) for v in twist[:6]] if twist is not None else None,
        "twist_gripper": None,
        "scene": None,
    }
    if twist is not None and len(twist) > 6 and float(twist[6]) != L.TWIST_GRIPPER_NONE:
        row["twist_gripper"] = _num(twist[6])
    for k in ("x", "y", "z", "yaw", "gripper"):
        row[k] = _num(pose[k]) if pose else None
        row[f"cmd_{k}"] = _num(cmd[k]) if cmd else None
    return row


def _import_video(
    root: Path,
    info: dict[str, Any],
    ep: dict[str, Any],
    key: str,
    out: Path,
    fps: float,
    n: int,
    config: VideoConfig,
) -> tuple[int, str | None]:
    """Re-encode this episode's segment of the dataset video to H.264; returns (frames, problem)."""
    try:
        rel = _template(
            info,
            "video_path",
            video_key=key,
            chunk_index=int(ep[f"videos/{key}/chunk_index"]),
            file_index=int(ep[f"videos/{key}/file_index"]),
        )
        src = safe_join(root, rel)
    except (KeyError, TypeError) as exc:
        return 0, f"no video location in the episodes table ({exc})"
    except UnsafePath as exc:
        return 0, str(exc)
    if not src.is_file():
        return 0, f"video file {rel} is missing"
    start = float(ep.get(f"videos/{key}/from_timestamp") or 0.0)
    end = ep.get(f"videos/{key}/to_timestamp")
    writer: Mp4Writer | None = None
    try:
        for _, rgb in iter_frames(src, start, float(end) if end is not None else None):
            if writer is None:
                writer = Mp4Writer(out, fps, rgb.shape[1], rgb.shape[0], config)
            writer.write(rgb)
            if writer.frames >= n:
                break
        if writer is None:
            return 0, "no frames in the video segment"
        got = writer.close()
        finalize_mp4(out, out)
    except VideoError as exc:
        return 0, str(exc)
    if got != n:
        return got, f"video has {got} frames for {n} data rows"
    return got, None
