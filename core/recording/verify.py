"""On-demand consistency check of a stored episode (for a "verify" action and for tests)."""

from __future__ import annotations

from sqlalchemy import func, select

from core.recording.errors import VideoError
from core.recording.video import count_packets
from core.store import Store
from core.store.errors import EpisodeNotFound
from core.store.models import Episode, Step, Video, VideoStatus


def verify_episode(store: Store, episode_id: int) -> list[str]:
    """Problems found (empty list = consistent): step indices without holes, every playable video
    present, readable, and holding exactly one frame per step that has a frame index."""
    problems: list[str] = []
    with store.session() as s:
        if s.get(Episode, episode_id) is None:
            raise EpisodeNotFound(episode_id)
        n = s.scalar(select(func.count()).where(Step.episode_id == episode_id)) or 0
        max_idx = s.scalar(select(func.max(Step.idx)).where(Step.episode_id == episode_id))
        framed = s.scalar(select(func.count()).where(Step.episode_id == episode_id, Step.frame_index.is_not(None)))
        max_fi = s.scalar(select(func.max(Step.frame_index)).where(Step.episode_id == episode_id))
        videos = [
            (v.camera, v.path, v.status, v.frame_count)
            for v in s.scalars(select(Video).where(Video.episode_id == episode_id))
        ]
    if n and max_idx != n - 1:
        problems.append(f"step indices have holes ({n} steps, last index {max_idx})")
    if framed and max_fi != framed - 1:
        problems.append(f"frame indices have holes ({framed} framed steps, last frame index {max_fi})")
    for camera, rel, status, frame_count in videos:
        if status not in (VideoStatus.OK.value, VideoStatus.RECOVERED.value):
            problems.append(f"camera {camera!r} video is {status}")
            continue
        path = store.abspath(rel)
        if not path.is_file():
            problems.append(f"camera {camera!r} video file is missing")
            continue
        try:
            frames = count_packets(path)
        except VideoError as exc:
            problems.append(f"camera {camera!r}: {exc}")
            continue
        if frames != framed or frames != frame_count:
            problems.append(
                f"camera {camera!r} has {frames} frames (stored count {frame_count}) for {framed} framed steps"
            )
    return problems
