"""LeRobotDataset v3.0 export and import, in the layout LeRobot 0.6.1's own code reads and writes.

meta/info.json            codebase_version "v3.0", fps, features, path templates, chunk settings, totals
meta/stats.json           per-feature min/max/mean/std/count and quantiles q01..q99
meta/tasks.parquet        task string (index) -> task_index
meta/episodes/chunk-XXX/file-YYY.parquet   one row per episode: length, data/video locations, stats
data/chunk-XXX/file-YYY.parquet            one row per frame, several episodes per file
videos/<key>/chunk-XXX/file-YYY.mp4        several episodes per file, each a [from, to) clip
meta/vlm2vla/episodes.json                 our own per-episode facts (operator, success, seed, ...)

`python -m core.recording.lerobot` is the command line (import, check, export).
"""

from core.recording.lerobot.export import ExportResult, export_lerobot
from core.recording.lerobot.files import FileSettings
from core.recording.lerobot.importer import ImportResult, import_lerobot

__all__ = ["ExportResult", "FileSettings", "ImportResult", "export_lerobot", "import_lerobot"]
