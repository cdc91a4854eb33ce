"""Exceptions raised by recording, recovery and dataset export/import."""

from __future__ import annotations


class RecordingError(RuntimeError):
    """Base class for recording failures."""


class RecordingRefused(RecordingError):
    """`Recorder.start` will not start; the message says why and what to do."""


class RobotUnavailable(RecordingRefused):
    """No robot is connected (or the caller signalled that none is ready)."""


class EStopActive(RecordingRefused):
    """The emergency stop is engaged; release it before recording."""


class RecordingsDirUnwritable(RecordingRefused):
    """The recordings folder cannot be created or written."""


class DiskFull(RecordingRefused):
    """Too little free space left in the recordings folder."""


class AlreadyRecording(RecordingRefused):
    """An episode is already being recorded."""


class NotRecording(RecordingError):
    """stop / discard / mark_success called while no episode is being recorded."""


class VideoError(RecordingError):
    """A video could not be written, read or repaired."""


class FrameCountMismatch(RecordingError):
    """A camera video does not have one frame per recorded step."""


class UnsafePath(RecordingError, ValueError):
    """A path or name would leave the folder it must stay in."""


class DatasetError(RecordingError, ValueError):
    """A LeRobot dataset that cannot be exported or imported (message says why)."""
