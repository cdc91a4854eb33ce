"""LeRobotDataset v3.0 export and import (the on-disk layout LeRobot's own code reads and writes).

meta/info.json            codebase_version "v3.0", fps, features, path templates, totals
meta/stats.json           per-feature min/max/mean/std/count and quantiles
meta/tasks.parquet        task string (index) -> task_index
meta/episodes/chunk-000/file-000.parquet   one row per episode: length, data/video locations
data/chunk-000/file-000.parquet            one row per frame
videos/<key>/chunk-000/file-XXX.mp4        here: one H.264 file per episode and camera
"""

from core.recording.lerobot.export import ExportResult, export_lerobot
from core.recording.lerobot.importer import ImportResult, import_lerobot

__all__ = ["ExportResult", "ImportResult", "export_lerobot", "import_lerobot"]
