"""Exceptions raised by the store."""

from __future__ import annotations


class StoreError(RuntimeError):
    """Base class for store failures."""


class StoreConfigError(StoreError, ValueError):
    """The database URL or the recordings folder cannot be used."""


class EpisodeNotFound(StoreError, LookupError):
    """No episode with the given id."""

    def __init__(self, episode_id: int) -> None:
        super().__init__(f"episode {episode_id} does not exist")
        self.episode_id = episode_id


class EpisodeBusy(StoreError):
    """The episode is being recorded right now and cannot be changed or deleted."""

    def __init__(self, episode_id: int) -> None:
        super().__init__(f"episode {episode_id} is being recorded; stop or discard it first")
        self.episode_id = episode_id
