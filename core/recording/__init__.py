"""Episode recording: lifecycle, frames -> H.264 mp4 per camera, steps -> store, crash recovery,
and LeRobotDataset v3 export/import (`core.recording.lerobot`)."""

from core.recording.config import RecorderConfig, VideoConfig
from core.recording.errors import (
    AlreadyRecording,
    DatasetError,
    DiskFull,
    EStopActive,
    FrameCountMismatch,
    NotRecording,
    RecordingError,
    RecordingRefused,
    RecordingsDirUnwritable,
    RobotUnavailable,
    UnsafePath,
    VideoError,
)
from core.recording.recorder import Recorder, RecorderStatus, SaveResult
from core.recording.recovery import RecoveryReport, recover_interrupted

__all__ = [
    "AlreadyRecording",
    "DatasetError",
    "DiskFull",
    "EStopActive",
    "FrameCountMismatch",
    "NotRecording",
    "Recorder",
    "RecorderConfig",
    "RecorderStatus",
    "RecordingError",
    "RecordingRefused",
    "RecordingsDirUnwritable",
    "RecoveryReport",
    "RobotUnavailable",
    "SaveResult",
    "UnsafePath",
    "VideoConfig",
    "VideoError",
    "recover_interrupted",
]
