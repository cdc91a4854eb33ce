"""Crash recovery: episodes left `recording` by a process that died become `recovered`.

For each abandoned episode (its folder lock is free): every camera file is checked frame by frame
(decoding stops at the first damaged frame) and remuxed into a playable faststart mp4; all cameras
are trimmed to the same frame count F; steps keep their data but steps whose frame is beyond F lose
their frame index, so that frames and steps agree again. The episode's `problem` says what was
reconciled. Run `recover_interrupted(store)` once at startup, before recording.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update

from core.recording.finalize import upsert_video
from core.recording.lock import is_abandoned
from core.recording.video import decodable_frames, finalize_mp4, probe
from core.store import Store
from core.store.models import Episode, EpisodeStatus, Step, Video, VideoStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecoveryReport:
    episode_id: int
    steps: int
    frames: int  # per camera, after trimming
    cameras: tuple[str, ...]
    steps_without_frame: int
    note: str


def _cameras(store: Store, ep: Episode, rows: list[Video]) -> dict[str, str]:
    """camera -> relative path, from video rows and from mp4 files found in the folder."""
    out = {v.camera: v.path for v in rows}
    folder = store.recordings_dir / ep.uid
    if folder.is_dir():
        for f in sorted(folder.glob("*.mp4")):
            out.setdefault(f.stem, f"{ep.uid}/{f.name}")
    return out


def recover_episode(store: Store, episode_id: int) -> RecoveryReport:
    """Reconcile one interrupted episode (see module docstring)."""
    with store.session() as s:
        ep = s.get(Episode, episode_id)
        if ep is None:
            raise LookupError(episode_id)
        rows = list(s.scalars(select(Video).where(Video.episode_id == episode_id)))
        cams = _cameras(store, ep, rows)
        n_steps = s.scalar(select(func.count()).where(Step.episode_id == episode_id)) or 0
        max_fi = s.scalar(select(func.max(Step.frame_index)).where(Step.episode_id == episode_id))
        last_t = s.scalar(select(func.max(Step.t)).where(Step.episode_id == episode_id)) or 0.0
        started_at, fps = ep.started_at, ep.fps
    framed_steps = 0 if max_fi is None else int(max_fi) + 1

    decodable: dict[str, int] = {}
    for cam, rel in cams.items():
        path = store.abspath(rel)
        decodable[cam] = decodable_frames(path) if path.is_file() else 0
    good = {c: n for c, n in decodable.items() if n > 0}
    frames = min([framed_steps, *good.values()]) if good else 0

    statuses: dict[str, tuple[str, int]] = {}
    for cam, rel in cams.items():
        path = store.abspath(rel)
        if cam not in good or frames == 0:
            statuses[cam] = (VideoStatus.MISSING.value if not path.is_file() else VideoStatus.CORRUPT.value, 0)
            continue
        try:
            n = finalize_mp4(path, path, max_frames=frames)
            statuses[cam] = (VideoStatus.RECOVERED.value, n)
        except Exception as exc:  # a broken file must not stop recovery of the rest
            log.error("episode %d camera %s: %s", episode_id, cam, exc)
            statuses[cam] = (VideoStatus.CORRUPT.value, 0)

    playable = [c for c, (st, _) in statuses.items() if st == VideoStatus.RECOVERED.value]
    if not playable:
        frames = 0
    unframed_tail = max(0, framed_steps - frames)
    parts = [f"recovered after an interruption: kept {n_steps} steps"]
    if cams:
        parts.append(f"{frames} frames per camera")
    if unframed_tail:
        parts.append(f"the last {unframed_tail} steps have no video frame")
    broken = sorted(c for c, (st, _) in statuses.items() if st != VideoStatus.RECOVERED.value)
    if broken:
        parts.append("unreadable video: " + ", ".join(broken))
    note = "; ".join(parts)

    with store.session() as s:
        s.execute(
            update(Step).where(Step.episode_id == episode_id, Step.frame_index >= frames).values(frame_index=None)
        )
        for cam, (st, n) in statuses.items():
            rel = cams[cam]
            path = store.abspath(rel)
            w = h = None
            if st == VideoStatus.RECOVERED.value:
                info = probe(path)
                w, h = info.width, info.height
            upsert_video(s, episode_id, cam, rel, width=w, height=h, fps=fps, frame_count=n, path=path, status=st)
        s.execute(
            update(Episode)
            .where(Episode.id == episode_id)
            .values(
                status=EpisodeStatus.RECOVERED.value,
                num_steps=n_steps,
                duration_s=float(last_t),
                ended_at=started_at + timedelta(seconds=float(last_t)),
                problem=note,
            )
        )
    folder = store.recordings_dir / _uid(store, episode_id)
    (folder / ".recording.lock").unlink(missing_ok=True)
    log.warning("episode %d: %s", episode_id, note)
    return RecoveryReport(episode_id, int(n_steps), frames, tuple(sorted(cams)), unframed_tail, note)


def _uid(store: Store, episode_id: int) -> str:
    with store.session() as s:
        return s.scalars(select(Episode.uid).where(Episode.id == episode_id)).one()


def recover_interrupted(store: Store) -> list[RecoveryReport]:
    """Recover every episode left `recording` whose folder lock is free (the recorder died)."""
    with store.session() as s:
        candidates = list(
            s.execute(select(Episode.id, Episode.uid).where(Episode.status == EpisodeStatus.RECORDING.value))
        )
    reports = []
    for episode_id, uid in candidates:
        if not is_abandoned(store.recordings_dir / uid):
            log.info("episode %d is still being recorded by a live process; leaving it", episode_id)
            continue
        try:
            reports.append(recover_episode(store, episode_id))
        except Exception as exc:  # still show the episode, with the reason, instead of hiding it
            log.exception("recovering episode %d failed", episode_id)
            with store.session() as s:
                s.execute(
                    update(Episode)
                    .where(Episode.id == episode_id)
                    .values(status=EpisodeStatus.RECOVERED.value, problem=f"recovery failed: {exc}")
                )
    return reports
