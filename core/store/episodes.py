"""Episode queries and edits for the Episodes tab (list, filter, plot data, edit, tag, delete).

Every function takes the `Store` and plain values and returns plain frozen dataclasses or numpy
arrays, so UI code never touches ORM objects. Listing never raises because of a damaged episode:
missing or broken videos show up as `playable=False` / `problem`.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Literal

import numpy as np
from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import selectinload

from core.store.db import Store
from core.store.errors import EpisodeBusy, EpisodeNotFound
from core.store.lookup import InvalidValue, get_or_create_instruction
from core.store.models import (
    Episode,
    EpisodeStatus,
    Instruction,
    Step,
    User,
    Video,
    VideoStatus,
)

log = logging.getLogger(__name__)

SuccessFilter = Literal["any", "success", "failure", "untagged"]
PLAYABLE = (VideoStatus.OK.value, VideoStatus.RECOVERED.value)


@dataclass(frozen=True)
class EpisodeFilter:
    """Filters for `list_episodes`; every field is optional. Dates are inclusive, in UTC."""

    task: str | None = None
    success: SuccessFilter = "any"
    operator: str | None = None
    since: date | datetime | None = None
    until: date | datetime | None = None
    statuses: tuple[str, ...] | None = None  # e.g. ("saved", "recovered"); None = all but `recording`
    text: str | None = None  # substring of the instruction, case-insensitive
    limit: int = 200
    offset: int = 0


@dataclass(frozen=True)
class VideoInfo:
    camera: str
    path: Path  # absolute
    frame_count: int
    status: str
    exists: bool

    @property
    def playable(self) -> bool:
        return self.exists and self.status in PLAYABLE


@dataclass(frozen=True)
class EpisodeSummary:
    id: int
    uid: str
    task: str | None
    instruction: str | None
    operator: str | None
    status: str
    success: bool | None
    started_at: datetime
    duration_s: float
    num_steps: int
    fps: float
    seed: int | None
    robot: str | None
    source: str
    problem: str | None
    videos: tuple[VideoInfo, ...]

    @property
    def cameras(self) -> tuple[str, ...]:
        return tuple(v.camera for v in self.videos)

    @property
    def playable(self) -> bool:
        return bool(self.videos) and all(v.playable for v in self.videos)


@dataclass(frozen=True)
class StepArrays:
    """Per-step series for plotting. Missing values are NaN; `frame_index` is -1 where no frame."""

    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    yaw: np.ndarray
    gripper: np.ndarray
    cmd_x: np.ndarray
    cmd_y: np.ndarray
    cmd_z: np.ndarray
    cmd_gripper: np.ndarray
    frame_index: np.ndarray

    def __len__(self) -> int:
        return int(self.t.shape[0])


def _aware(dt: datetime) -> datetime:
    return dt.astimezone(UTC) if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def _bound(value: date | datetime, end: bool) -> datetime:
    if isinstance(value, datetime):
        return _aware(value)
    return datetime.combine(value, time.max if end else time.min, tzinfo=UTC)


def _summary(store: Store, ep: Episode) -> EpisodeSummary:
    videos = []
    for v in ep.videos:
        path = store.abspath(v.path)
        videos.append(VideoInfo(v.camera, path, v.frame_count, v.status, path.is_file()))
    return EpisodeSummary(
        id=ep.id,
        uid=ep.uid,
        task=ep.task,
        instruction=ep.instruction.text if ep.instruction else None,
        operator=ep.operator.name if ep.operator else None,
        status=ep.status,
        success=ep.success,
        started_at=_aware(ep.started_at),
        duration_s=float(ep.duration_s or 0.0),
        num_steps=int(ep.num_steps or 0),
        fps=float(ep.fps or 0.0),
        seed=ep.seed,
        robot=ep.robot,
        source=ep.source,
        problem=ep.problem,
        videos=tuple(videos),
    )


def _filtered(query: Select, f: EpisodeFilter) -> Select:
    if f.task:
        query = query.where(Episode.task == f.task)
    if f.success == "success":
        query = query.where(Episode.success.is_(True))
    elif f.success == "failure":
        query = query.where(Episode.success.is_(False))
    elif f.success == "untagged":
        query = query.where(Episode.success.is_(None))
    elif f.success != "any":
        raise InvalidValue(f"unknown success filter {f.success!r}")
    if f.operator:
        query = query.where(Episode.operator.has(User.name == f.operator))
    if f.since is not None:
        query = query.where(Episode.started_at >= _bound(f.since, end=False))
    if f.until is not None:
        query = query.where(Episode.started_at <= _bound(f.until, end=True))
    if f.statuses is not None:
        query = query.where(Episode.status.in_(f.statuses))
    else:
        query = query.where(Episode.status != EpisodeStatus.RECORDING.value)
    if f.text:
        query = query.where(Episode.instruction.has(func.lower(Instruction.text).contains(f.text.lower())))
    return query


def list_episodes(store: Store, f: EpisodeFilter | None = None) -> list[EpisodeSummary]:
    """Episodes matching `f`, newest first."""
    f = f or EpisodeFilter()
    query = _filtered(select(Episode).options(selectinload(Episode.videos)), f)
    query = query.order_by(Episode.started_at.desc(), Episode.id.desc()).limit(f.limit).offset(f.offset)
    with store.session() as s:
        return [_summary(store, ep) for ep in s.scalars(query).unique()]


def count_episodes(store: Store, f: EpisodeFilter | None = None) -> int:
    query = _filtered(select(func.count(Episode.id)), f or EpisodeFilter())
    with store.session() as s:
        return int(s.scalar(query) or 0)


def get_episode(store: Store, episode_id: int) -> EpisodeSummary:
    with store.session() as s:
        ep = s.get(Episode, episode_id, options=[selectinload(Episode.videos)])
        if ep is None:
            raise EpisodeNotFound(episode_id)
        return _summary(store, ep)


def distinct_tasks(store: Store) -> list[str]:
    """Task names present in the store (for a filter dropdown)."""
    with store.session() as s:
        return sorted(t for t in s.scalars(select(Episode.task).distinct()) if t)


def operators(store: Store) -> list[str]:
    with store.session() as s:
        return sorted(s.scalars(select(User.name)))


def step_arrays(store: Store, episode_id: int) -> StepArrays:
    """Time series of an episode (t from 0, x/y/z in metres, gripper 1 open .. 0 closed)."""
    cols = (
        Step.t,
        Step.x,
        Step.y,
        Step.z,
        Step.yaw,
        Step.gripper,
        Step.cmd_x,
        Step.cmd_y,
        Step.cmd_z,
        Step.cmd_gripper,
        Step.frame_index,
    )
    with store.session() as s:
        if s.get(Episode, episode_id) is None:
            raise EpisodeNotFound(episode_id)
        rows = s.execute(select(*cols).where(Step.episode_id == episode_id).order_by(Step.idx)).all()
    n = len(rows)
    data = np.full((n, len(cols)), np.nan, dtype=np.float64)
    for i, row in enumerate(rows):
        data[i] = [np.nan if v is None else v for v in row]
    fi = np.where(np.isnan(data[:, -1]), -1, np.nan_to_num(data[:, -1], nan=-1)).astype(np.int64)
    return StepArrays(*(data[:, k].copy() for k in range(len(cols) - 1)), frame_index=fi)


def video_paths(store: Store, episode_id: int) -> dict[str, Path]:
    """Camera name -> absolute mp4 path, only for videos that exist and are playable."""
    ep = get_episode(store, episode_id)
    return {v.camera: v.path for v in ep.videos if v.playable}


def set_instruction(store: Store, episode_id: int, text: str) -> None:
    with store.session() as s:
        ep = s.get(Episode, episode_id)
        if ep is None:
            raise EpisodeNotFound(episode_id)
        ep.instruction = get_or_create_instruction(s, text)


def set_task(store: Store, episode_id: int, task: str | None) -> None:
    with store.session() as s:
        ep = s.get(Episode, episode_id)
        if ep is None:
            raise EpisodeNotFound(episode_id)
        ep.task = (task or "").strip() or None


def _ids(episode_ids: int | Iterable[int]) -> list[int]:
    return [int(episode_ids)] if isinstance(episode_ids, int) else sorted({int(i) for i in episode_ids})


def set_success(store: Store, episode_ids: int | Iterable[int], success: bool | None) -> int:
    """Tag one or many episodes as success (True), failure (False) or untagged (None).

    Returns the number of episodes changed; unknown ids raise `EpisodeNotFound`.
    """
    ids = _ids(episode_ids)
    with store.session() as s:
        found = set(s.scalars(select(Episode.id).where(Episode.id.in_(ids))))
        missing = [i for i in ids if i not in found]
        if missing:
            raise EpisodeNotFound(missing[0])
        s.execute(update(Episode).where(Episode.id.in_(ids)).values(success=success))
    return len(ids)


def _episode_dir(store: Store, uid: str) -> Path | None:
    root = store.recordings_dir.resolve()
    path = (root / uid).resolve()
    if path == root or not path.is_relative_to(root):
        log.error("refusing to delete %s: not inside %s", path, root)
        return None
    return path


def delete_episodes(store: Store, episode_ids: int | Sequence[int], *, force: bool = False) -> int:
    """Delete episodes: database rows (steps, videos, verbalizations cascade) and their folders.

    Episodes still `recording` raise `EpisodeBusy` unless `force` (used by discard and recovery).
    Returns the number of episodes deleted.
    """
    ids = _ids(episode_ids)
    with store.session() as s:
        eps = list(s.scalars(select(Episode).where(Episode.id.in_(ids))))
        found = {e.id for e in eps}
        missing = [i for i in ids if i not in found]
        if missing:
            raise EpisodeNotFound(missing[0])
        if not force:
            busy = [e.id for e in eps if e.status == EpisodeStatus.RECORDING.value]
            if busy:
                raise EpisodeBusy(busy[0])
        uids = [e.uid for e in eps]
        s.execute(delete(Step).where(Step.episode_id.in_(ids)))
        s.execute(delete(Video).where(Video.episode_id.in_(ids)))
        s.execute(delete(Episode).where(Episode.id.in_(ids)))
    for uid in uids:
        folder = _episode_dir(store, uid)
        if folder is not None and folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
    log.info("deleted %d episode(s): %s", len(ids), ids)
    return len(ids)
