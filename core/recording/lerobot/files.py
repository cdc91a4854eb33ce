"""Chunked data, video and episode-metadata files, filled the way LeRobot 0.6.1's writer fills them.

Episodes are appended one after another to the current file; when the file would reach its size
limit (`data_files_size_in_mb`, `video_files_size_in_mb`) the next episode starts the next file, and
after `chunks_size` files the next chunk folder (`DatasetWriter._save_episode_data`,
`_save_episode_video`, `LeRobotDatasetMetadata._save_episode_metadata`). Videos are concatenated by
remuxing the episodes' H.264 packets (no re-encoding); an episode's clip in the shared file is
`[from_timestamp, to_timestamp)`, frame i at `from_timestamp + i / fps`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pyarrow as pa
import pyarrow.parquet as pq

from core.recording.errors import DatasetError
from core.recording.lerobot import layout as L
from core.recording.paths import safe_join


@dataclass(frozen=True)
class FileSettings:
    chunks_size: int = L.CHUNKS_SIZE
    data_files_size_in_mb: float = L.DATA_FILES_SIZE_MB
    video_files_size_in_mb: float = L.VIDEO_FILES_SIZE_MB

    def __post_init__(self) -> None:
        for name in ("chunks_size", "data_files_size_in_mb", "video_files_size_in_mb"):
            if not getattr(self, name) > 0:
                raise DatasetError(f"{name} must be positive, got {getattr(self, name)!r}")


class TableFiles:
    """Parquet tables appended episode by episode (one row group each) to chunk/file parquet files.

    A new file starts when the current file's size on disk plus this episode's estimated size (the
    file's average bytes per row times the episode's rows) reaches the limit, as LeRobot's writer does.
    """

    def __init__(self, root: Path, template: str, limit_mb: float, chunks_size: int) -> None:
        self.root = root
        self.template = template
        self.limit_mb = limit_mb
        self.chunks_size = chunks_size
        self.chunk = self.file = 0
        self._writer: pq.ParquetWriter | None = None
        self._path: Path | None = None
        self._rows = 0
        self.paths: list[Path] = []

    def target(self, num_rows: int) -> tuple[int, int]:
        """The (chunk, file) the next `num_rows` rows go to (closes a full file)."""
        if self._writer is not None and self._path is not None:
            size = L.size_mb(self._path)
            per_row = size / self._rows if self._rows else 0.0
            if size + per_row * num_rows >= self.limit_mb:
                self.close()
                self.chunk, self.file = L.next_chunk_file(self.chunk, self.file, self.chunks_size)
        return self.chunk, self.file

    def add(self, table: pa.Table) -> tuple[int, int]:
        """Append one episode's rows; returns the (chunk, file) they went to."""
        self.target(table.num_rows)
        if self._writer is None:
            self._path = safe_join(self.root, self.template.format(chunk_index=self.chunk, file_index=self.file))
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self._path, table.schema, compression="snappy", use_dictionary=True)
            self._rows = 0
            self.paths.append(self._path)
        elif table.schema != self._writer.schema:
            table = table.cast(self._writer.schema)
        self._writer.write_table(table)
        self._rows += table.num_rows
        return self.chunk, self.file

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _signature(stream: av.VideoStream) -> tuple[Any, ...]:
    cc = stream.codec_context
    return (cc.name, stream.width, stream.height, cc.pix_fmt, bytes(cc.extradata or b""))


class _ConcatMp4:
    """One output mp4 that episodes' packets are appended to, each shifted to start where the last ended."""

    def __init__(self, path: Path, template: av.VideoStream) -> None:
        self.path = path
        self.signature = _signature(template)
        self.container = av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"})
        self.stream = self.container.add_stream_from_template(template)
        self.seconds = Fraction(0)
        self.megabytes = 0.0

    def append(self, inp: av.container.InputContainer, src: Path, fps: Fraction, n: int) -> None:
        s_in = inp.streams.video[0]
        shift = self.seconds / Fraction(s_in.time_base)
        if shift.denominator != 1:
            raise DatasetError(f"{src}: time base {s_in.time_base} cannot place frames at multiples of 1/{fps}")
        shift_ticks = int(shift)
        count = 0
        for packet in inp.demux(s_in):
            if packet.dts is None or packet.size == 0:
                continue
            packet.pts = None if packet.pts is None else packet.pts + shift_ticks
            packet.dts = packet.dts + shift_ticks
            packet.stream = self.stream
            self.container.mux(packet)
            count += 1
        if count != n:
            raise DatasetError(f"{src} has {count} video frames for {n} steps")
        self.seconds += n / fps
        self.megabytes += L.size_mb(src)

    def close(self) -> None:
        self.container.close()


class VideoFiles:
    """One camera's episode videos concatenated into `videos/<key>/chunk-XXX/file-YYY.mp4`.

    A new file starts when the current one plus this episode would reach the size limit, or when the
    episode's stream cannot share the file (other codec, size or encoder parameters).
    """

    def __init__(self, root: Path, key: str, settings: FileSettings) -> None:
        self.root = root
        self.key = key
        self.settings = settings
        self.chunk = self.file = 0
        self._out: _ConcatMp4 | None = None
        self.files = 0

    def add(self, src: Path, fps: float, n: int) -> dict[str, Any]:
        """Append `src` (n frames at fps); returns the episode's `videos/<key>/...` columns."""
        rate = Fraction(fps).limit_denominator(1001)
        try:
            with av.open(str(src)) as inp:
                if not inp.streams.video:
                    raise DatasetError(f"{src} has no video stream")
                s_in = inp.streams.video[0]
                if self._out is not None and (
                    self._out.megabytes + L.size_mb(src) >= self.settings.video_files_size_in_mb
                    or _signature(s_in) != self._out.signature
                ):
                    self._out.close()
                    self._out = None
                    self.chunk, self.file = L.next_chunk_file(self.chunk, self.file, self.settings.chunks_size)
                if self._out is None:
                    rel = L.VIDEO_PATH.format(video_key=self.key, chunk_index=self.chunk, file_index=self.file)
                    path = safe_join(self.root, rel)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    self._out = _ConcatMp4(path, s_in)
                    self.files += 1
                start = self._out.seconds
                self._out.append(inp, src, rate, n)
        except (av.FFmpegError, OSError) as exc:
            raise DatasetError(f"cannot copy {src} into the dataset video: {exc}") from exc
        return {
            f"videos/{self.key}/chunk_index": self.chunk,
            f"videos/{self.key}/file_index": self.file,
            f"videos/{self.key}/from_timestamp": float(start),
            f"videos/{self.key}/to_timestamp": float(self._out.seconds),
        }

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
