"""H.264 mp4 files through PyAV: crash-tolerant writing, finalizing, counting and reading frames.

While recording, each camera is written as a *fragmented* mp4 (`empty_moov`, one fragment per
keyframe interval, packets flushed to the OS as they are muxed). A process killed mid-episode
leaves a file whose complete fragments still demux and decode; at most the last fragment is lost.
On a clean stop (or during crash recovery) the file is remuxed, without re-encoding, into a regular
mp4 with the index in front (`faststart`) so browsers can start playing before the whole file loads.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from core.recording.config import VideoConfig
from core.recording.errors import VideoError

log = logging.getLogger(__name__)

FRAGMENTED_MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof"


def _rate(fps: float) -> Fraction:
    return Fraction(fps).limit_denominator(1001)


class Mp4Writer:
    """Encodes RGB frames (HxWx3 uint8, all the same size) into a fragmented H.264 mp4.

    Frame i gets presentation time i / fps, so frame index and time map one to one.
    """

    def __init__(self, path: Path, fps: float, width: int, height: int, config: VideoConfig) -> None:
        if width % 2 or height % 2:
            raise VideoError(f"frame size {width}x{height} must be even for yuv420p")
        self.path = path
        self.width = width
        self.height = height
        self.frames = 0
        self._rate = _rate(fps)
        opts = {"movflags": FRAGMENTED_MOVFLAGS, "flush_packets": "1"}
        try:
            self._container = av.open(str(path), mode="w", format="mp4", options=opts)
            gop = max(1, config.keyframe_interval)
            stream = self._container.add_stream(config.codec, rate=self._rate)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.codec_context.time_base = 1 / self._rate
            stream.codec_context.gop_size = gop
            stream.codec_context.thread_count = max(1, config.threads)
            stream.options = {
                "preset": config.preset,
                "crf": str(config.crf),
                "tune": "zerolatency",  # no lookahead / B-frames: each frame is written at once
                "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0",
            }
        except (av.FFmpegError, ValueError) as exc:
            raise VideoError(f"cannot open {path} for writing: {exc}") from exc
        self._stream = stream

    def write(self, rgb: np.ndarray) -> None:
        if rgb.shape != (self.height, self.width, 3) or rgb.dtype != np.uint8:
            raise VideoError(
                f"{self.path.name}: frame {self.frames} has shape {rgb.shape} {rgb.dtype}, "
                f"expected ({self.height}, {self.width}, 3) uint8"
            )
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = self.frames
        frame.time_base = 1 / self._rate
        try:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        except av.FFmpegError as exc:
            raise VideoError(f"{self.path.name}: encoding frame {self.frames} failed: {exc}") from exc
        self.frames += 1

    def close(self) -> int:
        """Flush the encoder and close the file; returns the number of frames written."""
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
        finally:
            self._container.close()
        return self.frames


@dataclass(frozen=True)
class VideoProbe:
    frames: int
    width: int
    height: int
    fps: float
    codec: str
    duration_s: float


def _video_stream(container: av.container.InputContainer, path: Path) -> av.VideoStream:
    if not container.streams.video:
        raise VideoError(f"{path} has no video stream")
    return container.streams.video[0]


def count_packets(path: Path) -> int:
    """Number of video frames in a file, counted from its packets (no decoding)."""
    try:
        with av.open(str(path)) as c:
            stream = _video_stream(c, path)
            return sum(1 for p in c.demux(stream) if p.size > 0)
    except (av.FFmpegError, OSError) as exc:
        raise VideoError(f"cannot read {path}: {exc}") from exc


def probe(path: Path) -> VideoProbe:
    try:
        with av.open(str(path)) as c:
            s = _video_stream(c, path)
            fps = float(s.average_rate or s.base_rate or 0)
            frames = sum(1 for p in c.demux(s) if p.size > 0)
            return VideoProbe(frames, s.width, s.height, fps, s.codec_context.name, frames / fps if fps else 0.0)
    except (av.FFmpegError, OSError) as exc:
        raise VideoError(f"cannot read {path}: {exc}") from exc


def decodable_frames(path: Path) -> int:
    """How many frames decode, from the start, before the first error (for half-written files)."""
    n = 0
    try:
        with av.open(str(path)) as c:
            stream = _video_stream(c, path)
            for packet in c.demux(stream):
                for _ in packet.decode():
                    n += 1
    except (av.FFmpegError, OSError, VideoError) as exc:
        log.warning("%s: decoding stopped after %d frames: %s", path, n, exc)
    return n


def finalize_mp4(src: Path, dst: Path, max_frames: int | None = None) -> int:
    """Remux `src` into a faststart mp4 at `dst` (may equal `src`), keeping at most `max_frames`.

    No re-encoding. Writes to a temporary file and renames it into place atomically. Returns the
    number of frames in the result.
    """
    tmp = dst.with_name(dst.name + ".tmp")
    n = 0
    try:
        with av.open(str(src)) as inp:
            s_in = _video_stream(inp, src)
            with av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"}) as out:
                s_out = out.add_stream_from_template(s_in)
                for packet in inp.demux(s_in):
                    if packet.dts is None or packet.size == 0:
                        continue
                    if max_frames is not None and n >= max_frames:
                        break
                    packet.stream = s_out
                    out.mux(packet)
                    n += 1
        os.replace(tmp, dst)
    except (av.FFmpegError, OSError) as exc:
        tmp.unlink(missing_ok=True)
        raise VideoError(f"cannot finalize {src}: {exc}") from exc
    return n


@dataclass
class DecodeCount:
    """How many frames a decode produced (skipped ones included): what seeking saves is visible here."""

    frames: int = 0


def _decode(path: Path, seek_s: float | None, count: DecodeCount | None) -> Iterator[tuple[float, av.VideoFrame]]:
    with av.open(str(path)) as c:
        stream = _video_stream(c, path)
        if seek_s is not None and stream.time_base:
            # the keyframe at or before `seek_s` (offsets are in the stream's time base)
            c.seek(int(math.floor(seek_s / stream.time_base)), stream=stream, backward=True, any_frame=False)
        for frame in c.decode(stream):
            if count is not None:
                count.frames += 1
            yield (float(frame.time) if frame.time is not None else 0.0), frame


def iter_frames(
    path: Path, start_s: float = 0.0, end_s: float | None = None, *, count: DecodeCount | None = None
) -> Iterator[tuple[float, np.ndarray]]:
    """Decoded RGB frames with their time in seconds, for `start_s <= t < end_s` (small tolerance).

    A clip that starts later than the file's start is reached by seeking to the keyframe before it,
    so only that keyframe interval is decoded and skipped, not everything before the clip. When the
    seek lands past `start_s` (a file without a usable index), the file is decoded from its start.
    """
    tol = 1e-4
    seek = start_s + tol if start_s > tol else None  # the keyframe at or before the clip's first frame
    try:
        while True:
            first = True
            restart = False
            frames = _decode(path, seek, count)
            try:
                for t, frame in frames:
                    if first and seek is not None and t > start_s + tol:
                        log.debug("%s: seek to %.3f s landed at %.3f s; decoding from the start", path, start_s, t)
                        restart = True
                        break
                    first = False
                    if t < start_s - tol:
                        continue
                    if end_s is not None and t >= end_s - tol:
                        return
                    yield t, frame.to_ndarray(format="rgb24")
            finally:
                frames.close()
            if not restart:
                return
            seek = None
    except av.FFmpegError as exc:
        raise VideoError(f"cannot decode {path}: {exc}") from exc
