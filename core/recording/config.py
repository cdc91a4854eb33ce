"""Recorder settings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VideoConfig:
    """H.264 settings. `keyframe_interval` frames per fragment: a crash loses at most one fragment."""

    codec: str = "libx264"
    preset: str = "veryfast"
    crf: int = 23
    keyframe_interval: int = 15
    threads: int = 1


@dataclass(frozen=True)
class RecorderConfig:
    """How episodes are written.

    - `flush_interval_s`: steps are committed to the store at least this often (a crash loses less).
    - `min_free_bytes`: `start` refuses when the recordings folder has less free space.
    - `backlog_warn_s`: log a warning when the frame queue holds more than this many seconds.
    """

    fps: float = 30.0
    flush_interval_s: float = 0.25
    min_free_bytes: int = 512 * 1024 * 1024
    backlog_warn_s: float = 2.0
    video: VideoConfig = VideoConfig()
