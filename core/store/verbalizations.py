"""Versioned verbalizations of an episode (the language rendering the model trains on).

Each save adds a new version (1, 2, ...); older versions stay for comparison and provenance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.store.db import Store
from core.store.errors import EpisodeNotFound, StoreError
from core.store.models import Episode, Verbalization


@dataclass(frozen=True)
class StoredVerbalization:
    episode_id: int
    version: int
    spec_version: str
    payload: dict[str, Any]
    created_at: datetime


def _out(row: Verbalization) -> StoredVerbalization:
    return StoredVerbalization(row.episode_id, row.version, row.spec_version, dict(row.payload), row.created_at)


def add_verbalization(store: Store, episode_id: int, spec_version: str, payload: dict[str, Any]) -> int:
    """Store a new version for the episode and return its version number."""
    for _ in range(3):  # two writers racing for the same version number: retry
        try:
            with store.session() as s:
                if s.get(Episode, episode_id) is None:
                    raise EpisodeNotFound(episode_id)
                current = s.scalar(
                    select(func.max(Verbalization.version)).where(Verbalization.episode_id == episode_id)
                )
                version = (current or 0) + 1
                s.add(Verbalization(episode_id=episode_id, version=version, spec_version=spec_version, payload=payload))
            return version
        except IntegrityError:
            continue
    raise StoreError(f"could not store a verbalization for episode {episode_id} (concurrent writers)")


def latest_verbalization(store: Store, episode_id: int) -> StoredVerbalization | None:
    with store.session() as s:
        row = s.scalars(
            select(Verbalization)
            .where(Verbalization.episode_id == episode_id)
            .order_by(Verbalization.version.desc())
            .limit(1)
        ).first()
        return None if row is None else _out(row)


def verbalization_history(store: Store, episode_id: int) -> list[StoredVerbalization]:
    with store.session() as s:
        rows = s.scalars(
            select(Verbalization).where(Verbalization.episode_id == episode_id).order_by(Verbalization.version)
        )
        return [_out(r) for r in rows]
