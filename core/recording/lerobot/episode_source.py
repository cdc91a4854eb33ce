"""What the exporter reads of one stored episode: its steps, videos, facts and verbalization.

The verbalization is the newest stored version that reads back (corrections included), else one
computed from the recorded steps, else none (an episode without end-effector poses, e.g. an imported
joint-space episode of an unknown robot).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.language.verbalize import Verbalization, verbalize
from core.recording.step_writer import scene_from_json
from core.store import Store
from core.store.models import Episode, EpisodeStatus, Step, VideoStatus
from core.store.models import Verbalization as VerbalizationRow
from core.types import Command, Twist
from core.types import Step as TickStep

log = logging.getLogger(__name__)

EXPORTABLE = (EpisodeStatus.SAVED.value, EpisodeStatus.RECOVERED.value, EpisodeStatus.IMPORTED.value)


@dataclass
class SourceEpisode:
    id: int
    task: str
    steps: list[Step]  # the exported frames, in order
    positions: list[int]  # position of each exported step among all recorded steps
    videos: dict[str, Path]  # camera -> absolute path
    extras: dict[str, Any]
    verbalization: Verbalization | None
    language_note: str | None = None


def _tick(r: Step) -> TickStep:
    pos = (float(r.x), float(r.y), float(r.z))  # type: ignore[arg-type]
    grip = r.gripper if r.gripper is not None else 1.0
    cmd = (
        r.cmd_x if r.cmd_x is not None else pos[0],
        r.cmd_y if r.cmd_y is not None else pos[1],
        r.cmd_z if r.cmd_z is not None else pos[2],
    )
    tw = (list(r.twist or []) + [0.0] * 6)[:6]
    return TickStep(
        r.t, pos, r.yaw or 0.0, grip, Twist(*tw, gripper=r.twist_gripper),
        Command(cmd, r.cmd_yaw or 0.0, r.cmd_gripper if r.cmd_gripper is not None else grip),
        tuple(r.joints) if r.joints else None, scene_from_json(r.scene),
    )


def _verbalization(s: Session, e: Episode, steps: list[Step]) -> tuple[Verbalization | None, str | None]:
    rows = s.scalars(
        select(VerbalizationRow).where(VerbalizationRow.episode_id == e.id).order_by(VerbalizationRow.version.desc())
    )
    for row in rows:
        try:
            return Verbalization.from_dict(row.payload), None
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            log.warning("episode %s verbalization v%s is malformed: %s", e.id, row.version, exc)
    if any(st.x is None or st.y is None or st.z is None for st in steps):
        return None, "no end-effector pose, so no verbalization"
    try:
        return verbalize([_tick(st) for st in steps], e.instruction.text if e.instruction else None), None
    except (ValueError, KeyError, TypeError) as exc:
        return None, f"cannot verbalize: {exc}"


def load_episodes(
    store: Store, episode_ids: Sequence[int], language: bool = True
) -> tuple[list[SourceEpisode], list[tuple[int, str]]]:
    """The exportable episodes among `episode_ids` (in that order) and (id, why) for the others."""
    eps: list[SourceEpisode] = []
    skipped: list[tuple[int, str]] = []
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
            all_steps = list(s.scalars(select(Step).where(Step.episode_id == eid).order_by(Step.idx)))
            chosen = [(k, st) for k, st in enumerate(all_steps) if st.frame_index is not None or not e.videos]
            steps = [st for _, st in chosen]
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
            verbal, note = _verbalization(s, e, all_steps) if language else (None, None)
            task = e.instruction.text if e.instruction else (e.task or "")
            eps.append(SourceEpisode(eid, task, steps, [k for k, _ in chosen], videos, extras, verbal, note))
    return eps, skipped
