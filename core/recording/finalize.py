"""Shared by a clean stop and by crash recovery: make videos playable and write their rows."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.store.models import Video


def upsert_video(
    session: Session,
    episode_id: int,
    camera: str,
    rel_path: str,
    *,
    width: int | None = None,
    height: int | None = None,
    fps: float | None = None,
    frame_count: int | None = None,
    path: Path | None = None,
    status: str | None = None,
) -> Video:
    row = session.scalar(select(Video).where(Video.episode_id == episode_id, Video.camera == camera))
    if row is None:
        row = Video(episode_id=episode_id, camera=camera, path=rel_path)
        session.add(row)
    row.path = rel_path
    if width is not None:
        row.width = width
    if height is not None:
        row.height = height
    if fps is not None:
        row.fps = fps
    if frame_count is not None:
        row.frame_count = frame_count
    if path is not None:
        row.size_bytes = path.stat().st_size if path.exists() else 0
    if status is not None:
        row.status = status
    return row
