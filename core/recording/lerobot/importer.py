"""Import a LeRobotDataset v3.x folder into the store (episodes, steps, re-encoded H.264 videos).

`features.plan_import` first decides how every feature maps onto the store and refuses, before
anything is written, a dataset whose episodes would lose their actions or cannot be read (the error
lists everything missing). Every path the dataset names is resolved inside the dataset folder;
anything that would escape it is refused. Each episode's clip is reached by seeking in the shared
video file (only the keyframe interval before the clip is decoded, not the episodes before it);
image features are read from the data files. Our own exports round-trip completely (state, command,
twist, joints, task, success, operator, seed).
"""

from __future__ import annotations

import io
import json
import logging
import math
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import insert

from core.recording.config import VideoConfig
from core.recording.errors import DatasetError, UnsafePath, VideoError
from core.recording.finalize import upsert_video
from core.recording.lerobot import layout as L
from core.recording.lerobot.features import OUR_VECTORS, Camera, ImportPlan, VectorMap, plan_import
from core.recording.paths import safe_join
from core.recording.video import DecodeCount, Mp4Writer, finalize_mp4, iter_frames
from core.store import Store
from core.store.lookup import get_or_create_instruction, get_or_create_user
from core.store.models import Episode, EpisodeStatus, Step, VideoStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportResult:
    episode_ids: tuple[int, ...]
    frames: int
    problems: tuple[str, ...]
    notes: tuple[str, ...] = ()
    decoded_frames: int = 0  # video frames decoded (clips reached by seeking: about `frames` per camera)
    trainable: bool = True  # every imported step has an end-effector pose


def read_info(root: Path) -> dict[str, Any]:
    try:
        info = json.loads(safe_join(root, L.INFO_PATH).read_text())
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{root} is not a LeRobot dataset (meta/info.json: {exc})") from exc
    if not isinstance(info, dict):
        raise DatasetError("meta/info.json is not an object")
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
    meta = safe_join(root, L.EPISODES_DIR)
    files = sorted(meta.rglob("*.parquet"))
    if not files:
        raise DatasetError("meta/episodes has no parquet file")
    rows: list[dict[str, Any]] = []
    for f in files:
        safe_join(root, f.relative_to(root.resolve()))  # refuses symlinks that leave the folder
        schema = pq.read_schema(f)
        rows.extend(pq.read_table(f, columns=[c for c in schema.names if not c.startswith("stats/")]).to_pylist())
    return sorted(rows, key=lambda r: int(r["episode_index"]))


def _sidecar(root: Path, episodes: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Our own per-episode facts, for the episodes they still describe (same length and first frame)."""
    out: dict[int, dict[str, Any]] = {}
    for ep in episodes:  # exports made before the sidecar kept them as columns
        legacy = {k.removeprefix(L.LEGACY_EXTRA_PREFIX): v for k, v in ep.items() if k.startswith(L.LEGACY_EXTRA_PREFIX)}
        if legacy:
            out[int(ep["episode_index"])] = legacy
    try:
        data = json.loads(safe_join(root, L.SIDECAR_PATH).read_text())
    except FileNotFoundError:
        return out
    except (OSError, ValueError, UnsafePath) as exc:
        log.warning("%s: ignoring %s (%s)", root, L.SIDECAR_PATH, exc)
        return out
    by_index = {int(ep["episode_index"]): ep for ep in episodes}
    for extra in data.get("episodes", []) if isinstance(data, dict) else []:
        try:
            ep = by_index.get(int(extra["episode_index"]))
            if ep and int(ep["length"]) == int(extra["length"]) and int(ep["dataset_from_index"]) == int(
                extra["dataset_from_index"]
            ):
                out[int(extra["episode_index"])] = extra
        except (KeyError, TypeError, ValueError):
            continue
    return out


def _template(info: dict[str, Any], key: str, **kw: Any) -> str:
    try:
        return str(info[key]).format(**kw)
    except (KeyError, IndexError, ValueError) as exc:
        raise DatasetError(f"bad {key} template {info.get(key)!r}: {exc}") from exc


def _num(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


class _DataFiles:
    """Reads one data file at a time (episodes come in order) and hands out an episode's rows."""

    def __init__(self, root: Path, info: dict[str, Any], plan: ImportPlan) -> None:
        self.root = root
        self.info = info
        wanted = {*OUR_VECTORS, *L.DEFAULT_FEATURES, *(c.key for c in plan.cameras if c.kind == "image")}
        self.wanted = wanted
        self._path: Path | None = None
        self._table: pa.Table | None = None

    def rows(self, ep: dict[str, Any]) -> list[dict[str, Any]]:
        rel = _template(self.info, "data_path", chunk_index=int(ep["data/chunk_index"]),
                        file_index=int(ep["data/file_index"]))
        path = safe_join(self.root, rel)
        if path != self._path:
            if not path.is_file():
                raise DatasetError(f"data file {rel} is missing")
            cols = [c for c in pq.read_schema(path).names if c in self.wanted]
            self._table, self._path = pq.read_table(path, columns=cols), path
        assert self._table is not None
        t = self._table.filter(pc.equal(self._table["episode_index"], int(ep["episode_index"])))
        return sorted(t.to_pylist(), key=lambda r: int(r["frame_index"]))


def import_lerobot(
    store: Store,
    src: Path,
    *,
    operator: str | None = None,
    video: VideoConfig | None = None,
    joint_space: bool = False,
    episodes: Sequence[int] | None = None,
) -> ImportResult:
    """Import the dataset at `src` (every episode, or the `episodes` indices); returns the new ids.

    Raises DatasetError (nothing written) when the dataset cannot be imported without losing its
    actions; `joint_space=True` keeps a joint-space dataset of an unknown robot as joint-space episodes.
    """
    root = Path(src).resolve()
    info = read_info(root)
    plan = plan_import(info, joint_space=joint_space)
    tasks = _tasks(root)
    table = _episode_table(root)
    if episodes is not None:
        wanted = {int(i) for i in episodes}
        unknown = wanted - {int(ep["episode_index"]) for ep in table}
        if unknown:
            raise DatasetError(f"the dataset has no episode {sorted(unknown)}")
        table = [ep for ep in table if int(ep["episode_index"]) in wanted]
    extras = _sidecar(root, table)
    data = _DataFiles(root, info, plan)
    count = DecodeCount()
    ids: list[int] = []
    problems: list[str] = []
    total = 0
    for ep in table:
        ei = int(ep["episode_index"])
        frames = data.rows(ep)
        if not frames:
            problems.append(f"episode {ei}: no data rows")
            continue
        eid, p = _import_episode(store, root, info, plan, ep, frames, tasks, extras.get(ei, {}), operator,
                                 video or VideoConfig(), count)
        ids.append(eid)
        problems.extend(p)
        total += len(frames)
    log.info("imported %d episodes (%d frames) from %s", len(ids), total, root)
    return ImportResult(tuple(ids), total, tuple(problems), plan.notes, count.frames, plan.trainable)


def _import_episode(
    store: Store,
    root: Path,
    info: dict[str, Any],
    plan: ImportPlan,
    ep: dict[str, Any],
    frames: list[dict[str, Any]],
    tasks: dict[int, str],
    extra: dict[str, Any],
    operator: str | None,
    config: VideoConfig,
    count: DecodeCount,
) -> tuple[int, list[str]]:
    ei = int(ep["episode_index"])
    task_text = tasks.get(int(frames[0]["task_index"])) or (ep.get("tasks") or ["(no instruction)"])[0]
    uid = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]
    folder = store.recordings_dir / uid
    folder.mkdir(parents=True)
    problems: list[str] = []
    n = len(frames)
    meta = {"lerobot": {"root": str(root), "episode_index": ei, "unmapped": list(plan.unmapped),
                        "notes": list(plan.notes), "trainable": plan.trainable}}
    try:
        with store.session() as s:
            row = Episode(
                uid=uid,
                task=extra.get("task"),
                seed=extra.get("seed"),
                robot=extra.get("robot") or plan.robot_type,
                source="imported",
                status=EpisodeStatus.IMPORTED.value,
                success=extra.get("success"),
                fps=plan.fps,
                num_steps=n,
                duration_s=float(frames[-1]["timestamp"]) - float(frames[0]["timestamp"]),
                meta=meta,
            )
            row.instruction = get_or_create_instruction(s, task_text)
            op = operator or extra.get("operator")
            if op:
                row.operator = get_or_create_user(s, op)
            s.add(row)
            s.flush()
            eid = row.id
            s.execute(insert(Step), [_step(eid, i, r, plan, frames[0]) for i, r in enumerate(frames)])
        for cam in plan.cameras:
            out = folder / f"{cam.name}.mp4"
            if cam.kind == "image":
                got, why = _import_images(root, frames, cam, out, plan.fps, config)
            else:
                got, why = _import_video(root, info, ep, cam, out, plan.fps, n, config, count)
            if why:
                problems.append(f"episode {ei} camera {cam.name!r}: {why}")
            with store.session() as s:
                upsert_video(
                    s, eid, cam.name, f"{uid}/{cam.name}.mp4", width=cam.width if got else None,
                    height=cam.height if got else None, fps=plan.fps, frame_count=got, path=out,
                    status=VideoStatus.OK.value if why is None else VideoStatus.CORRUPT.value,
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


def _floats(v: Any) -> list[float] | None:
    return None if v is None else [float(x) for x in v]


def _pose(vmap: VectorMap, r: dict[str, Any], vec: Any) -> dict[str, float | None] | None:
    src = r.get(vmap.pose_key) if vmap.pose_key else vec
    return vmap.pose_of(src) if src is not None else None


def _step(eid: int, i: int, r: dict[str, Any], plan: ImportPlan, first: dict[str, Any]) -> dict[str, Any]:
    state = r.get("observation.state")
    action = r.get("action")
    twist = r.get("action.twist")
    pose = _pose(plan.state, r, state)
    cmd = _pose(plan.action, r, action) if plan.action is not None else None
    joints = r.get("observation.joints")
    if joints is None and plan.state.keep_joints and state is not None:
        joints = plan.state.joints_of(state)
    cmd_joints = r.get("action.joints")
    if cmd_joints is None and plan.action is not None and plan.action.keep_joints and action is not None:
        cmd_joints = plan.action.joints_of(action)
    row: dict[str, Any] = {
        "episode_id": eid,
        "idx": i,
        "t": float(r["timestamp"]) - float(first["timestamp"]),
        "frame_index": int(r["frame_index"]) - int(first["frame_index"]),
        "joints": _floats(joints),
        "cmd_joints": _floats(cmd_joints),
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


def _write_frames(frames: Any, out: Path, fps: float, n: int, config: VideoConfig) -> tuple[int, str | None]:
    writer: Mp4Writer | None = None
    try:
        for rgb in frames:
            if writer is None:
                writer = Mp4Writer(out, fps, rgb.shape[1], rgb.shape[0], config)
            writer.write(rgb)
            if writer.frames >= n:
                break
        if writer is None:
            return 0, "no frames"
        got = writer.close()
        finalize_mp4(out, out)
    except VideoError as exc:
        return 0, str(exc)
    return got, None if got == n else f"{got} frames for {n} data rows"


def _import_video(
    root: Path,
    info: dict[str, Any],
    ep: dict[str, Any],
    cam: Camera,
    out: Path,
    fps: float,
    n: int,
    config: VideoConfig,
    count: DecodeCount,
) -> tuple[int, str | None]:
    """Re-encode this episode's clip of the dataset video to H.264; returns (frames, problem)."""
    key = cam.key
    try:
        rel = _template(info, "video_path", video_key=key, chunk_index=int(ep[f"videos/{key}/chunk_index"]),
                        file_index=int(ep[f"videos/{key}/file_index"]))
        src = safe_join(root, rel)
    except (KeyError, TypeError) as exc:
        return 0, f"no video location in the episodes table ({exc})"
    except (UnsafePath, DatasetError) as exc:
        return 0, str(exc)
    if not src.is_file():
        return 0, f"video file {rel} is missing"
    start = float(ep.get(f"videos/{key}/from_timestamp") or 0.0)
    end = ep.get(f"videos/{key}/to_timestamp")
    try:
        clip = (rgb for _, rgb in iter_frames(src, start, float(end) if end is not None else None, count=count))
        return _write_frames(clip, out, fps, n, config)
    except VideoError as exc:
        return 0, str(exc)


def _image(root: Path, value: Any) -> np.ndarray:
    from PIL import Image

    if isinstance(value, dict) and value.get("bytes"):
        img = Image.open(io.BytesIO(value["bytes"]))
    elif isinstance(value, dict) and value.get("path"):
        img = Image.open(safe_join(root, value["path"]))
    else:
        raise VideoError(f"an image cell holds neither bytes nor a path ({type(value).__name__})")
    return np.asarray(img.convert("RGB"))


def _import_images(
    root: Path, frames: list[dict[str, Any]], cam: Camera, out: Path, fps: float, config: VideoConfig
) -> tuple[int, str | None]:
    """Encode an image feature's frames (PNG bytes in the data files) as the camera's H.264 video."""
    try:
        return _write_frames((_image(root, r.get(cam.key)) for r in frames), out, fps, len(frames), config)
    except (OSError, ValueError, UnsafePath, VideoError) as exc:
        return 0, f"cannot read its images: {exc}"
