"""Exceptions of `core.review`. Messages are shown to the user as they are: keep them actionable."""

from __future__ import annotations


class ReviewError(ValueError):
    """A request from the Episodes tab that cannot be carried out (bad input, stale or broken data)."""


class StaleVerbalization(ReviewError):
    """The verbalization changed since it was shown (someone else saved a correction)."""


class ReplayBusy(ReviewError):
    """A replay is already running; one at a time keeps the shared CPUs free for the control loop."""
