"""Episode lifecycle: start, per-tick capture, stop & save, discard, success tags.

Threads: the control loop calls `on_tick` once per tick; it only appends to in-memory queues and
never blocks on disk or the database. A frame-encoder thread writes one H.264 mp4 per camera and a
step-writer thread commits steps every `flush_interval_s`. `start`/`stop`/`discard` are called from
UI handlers (buttons, keyboard shortcuts, the SpaceMouse button) and may take a moment.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
from sqlalchemy import func, select, update

from core.recording.config import RecorderConfig
from core.recording.encoder import FrameEncoder
from core.recording.errors import (
    AlreadyRecording,
    NotRecording,
    RecordingError,
    RecordingRefused,
    UnsafePath,
    VideoError,
)
from core.recording.finalize import upsert_video
from core.recording.lock import EpisodeLock
from core.recording.paths import check_name
from core.recording.preflight import check_folder, check_robot
from core.recording.step_writer import StepWriter
from core.recording.video import finalize_mp4
from core.store import Store
from core.store.episodes import delete_episodes, set_success
from core.store.lookup import InvalidValue, get_or_create_instruction, get_or_create_user
from core.store.models import Episode, EpisodeStatus, VideoStatus
from core.store.models import Step as StepRow
from core.types import Observation, Step

log = logging.getLogger(__name__)

State = Literal["idle", "recording", "saving"]


@dataclass(frozen=True)
class RecorderStatus:
    """A snapshot for the UI (cheap to build; poll it)."""

    state: State
    episode_id: int | None = None
    instruction: str | None = None
    steps: int = 0
    steps_written: int = 0
    frames_submitted: int = 0
    frames_encoded: int = 0
    frames_pending: int = 0
    max_backlog: int = 0
    elapsed_s: float = 0.0
    success: bool | None = None
    last_saved_id: int | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class SaveResult:
    episode_id: int
    status: str  # "saved" or "flagged"
    num_steps: int
    duration_s: float
    frames: dict[str, int] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _Session:
    episode_id: int
    uid: str
    instruction: str
    lock: EpisodeLock
    encoder: FrameEncoder
    writer: StepWriter
    cameras: tuple[str, ...] | None
    t_wall: float
    t0: float | None = None
    last_raw: float = 0.0
    steps: int = 0
    frames: int = 0
    success: bool | None = None


class Recorder:
    """Records episodes into `store` (rows) and `store.recordings_dir/<uid>/` (one mp4 per camera)."""

    def __init__(self, store: Store, config: RecorderConfig | None = None) -> None:
        self.store = store
        self.config = config or RecorderConfig()
        self._state: State = "idle"
        self._cur: _Session | None = None
        self._tick_lock = threading.Lock()
        self._life_lock = threading.Lock()
        self._last_saved: int | None = None
        self._last_error: str | None = None

    # ---- lifecycle ------------------------------------------------------------------------
    def start(
        self,
        instruction: str,
        operator: str | None = None,
        seed: int | None = None,
        task: str | None = None,
        *,
        robot_ready: bool = True,
        estopped: bool = False,
        robot: str | None = None,
        cameras: tuple[str, ...] | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> int:
        """Start an episode and return its id.

        The caller signals the robot state: `robot_ready=False` (no robot) or `estopped=True` refuse
        with `RobotUnavailable` / `EStopActive`. An unwritable recordings folder or too little free
        space refuse with `RecordingsDirUnwritable` / `DiskFull`. `cameras`, when given, are the
        cameras every tick must carry (checked on save).
        """
        with self._life_lock:
            if self._state != "idle":
                raise AlreadyRecording("An episode is already being recorded: stop or discard it first.")
            check_robot(robot_ready, estopped)
            if not (instruction or "").strip():
                raise RecordingRefused("Enter the task instruction before recording.")
            for cam in cameras or ():
                try:
                    check_name(cam, "camera name")
                except UnsafePath as exc:
                    raise RecordingRefused(str(exc)) from exc
            check_folder(self.store.recordings_dir, self.config.min_free_bytes)
            uid = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]
            folder = self.store.recordings_dir / uid
            folder.mkdir()
            lock = EpisodeLock(folder)
            lock.acquire()
            try:
                with self.store.session() as s:
                    ep = Episode(
                        uid=uid,
                        task=(task or "").strip() or None,
                        seed=seed,
                        robot=robot,
                        fps=self.config.fps,
                        status=EpisodeStatus.RECORDING.value,
                        meta=dict(meta or {}, cameras=list(cameras) if cameras else None),
                    )
                    ep.instruction = get_or_create_instruction(s, instruction)
                    if operator:
                        ep.operator = get_or_create_user(s, operator)
                    s.add(ep)
                    s.flush()
                    episode_id = ep.id
                    instruction_text = ep.instruction.text
            except Exception as exc:
                lock.release()
                shutil.rmtree(folder, ignore_errors=True)
                if isinstance(exc, InvalidValue):
                    raise RecordingRefused(str(exc)) from exc
                raise
            encoder = FrameEncoder(
                folder,
                self.config.fps,
                self.config.video,
                backlog_warn=int(self.config.backlog_warn_s * self.config.fps),
            )
            writer = StepWriter(self.store, episode_id, self.config.flush_interval_s)
            cur = _Session(episode_id, uid, instruction_text, lock, encoder, writer, cameras, time.monotonic())
            writer.on_flush = lambda: self._register_videos(cur)
            with self._tick_lock:
                self._cur = cur
                self._state = "recording"
            self._last_error = None
            log.info("recording episode %d (%s): %r", episode_id, uid, instruction_text)
            return episode_id

    def on_tick(self, obs: Observation | None, step: Step) -> None:
        """Capture one control tick. Never blocks; a no-op unless recording.

        `obs.images` (camera -> HxWx3 uint8) become the next frame of each camera's video; the step
        is stored with that frame index (or none when the tick carries no images).
        """
        if self._state != "recording":
            return
        with self._tick_lock:
            cur = self._cur
            if self._state != "recording" or cur is None:
                return
            raw = float(step.t)
            if cur.t0 is None:
                cur.t0 = cur.last_raw = raw
            elif raw <= cur.last_raw:  # the robot's clock restarted (scene reset): keep time increasing
                cur.t0 -= cur.last_raw - raw + 1.0 / self.config.fps
            cur.last_raw = raw
            frame_index: int | None = None
            if obs is not None and obs.images:
                frame_index = cur.frames
                cur.frames += 1
                cur.encoder.submit(
                    frame_index, {k: np.array(v, dtype=np.uint8, copy=True) for k, v in obs.images.items()}
                )
            cur.writer.add(cur.steps, raw - cur.t0, frame_index, step)
            cur.steps += 1

    def stop(self, success: bool | None = None) -> SaveResult:
        """Finish the episode: encode what is queued, write the last steps, make the videos
        playable and check that every camera has exactly one frame per step that carried images.

        A failed check does not lose data: the episode is saved with status `flagged` and the
        reason in `problem` (and in `SaveResult.problems`).
        """
        with self._life_lock:
            cur = self._begin_end()
            if success is not None:
                cur.success = success
            try:
                result = self._save(cur)
            except Exception as exc:
                self._last_error = f"saving episode {cur.episode_id} failed: {exc}"
                log.exception(self._last_error)
                raise RecordingError(self._last_error) from exc
            finally:
                cur.lock.release()
                with self._tick_lock:
                    self._cur = None
                    self._state = "idle"
            self._last_saved = cur.episode_id
            return result

    def discard(self) -> None:
        """Throw the current episode away: files and rows."""
        with self._life_lock:
            cur = self._begin_end()
            try:
                cur.encoder.cancel()
                try:
                    cur.writer.close()
                except RuntimeError as exc:
                    log.warning("discarding: %s", exc)
                delete_episodes(self.store, cur.episode_id, force=True)
            finally:
                cur.lock.release(remove=False)
                with self._tick_lock:
                    self._cur = None
                    self._state = "idle"
            log.info("discarded episode %d", cur.episode_id)

    def mark_success(self, success: bool | None, episode_id: int | None = None) -> int:
        """Tag success. While recording: the current episode (applied on save). Otherwise: the
        given episode, or the one saved last. Returns the episode id tagged."""
        with self._tick_lock:
            cur = self._cur
            if episode_id is None and cur is not None:
                cur.success = success
                return cur.episode_id
        target = episode_id if episode_id is not None else self._last_saved
        if target is None:
            raise NotRecording("No episode to tag: record one first.")
        set_success(self.store, target, success)
        return target

    @property
    def status(self) -> RecorderStatus:
        cur = self._cur
        if cur is None:
            return RecorderStatus(state=self._state, last_saved_id=self._last_saved, last_error=self._last_error)
        return RecorderStatus(
            state=self._state,
            episode_id=cur.episode_id,
            instruction=cur.instruction,
            steps=cur.steps,
            steps_written=cur.writer.written,
            frames_submitted=cur.frames,
            frames_encoded=cur.encoder.encoded,
            frames_pending=cur.encoder.pending,
            max_backlog=cur.encoder.max_backlog,
            elapsed_s=time.monotonic() - cur.t_wall,
            success=cur.success,
            last_saved_id=self._last_saved,
            last_error=cur.writer.last_error or self._last_error,
        )

    @property
    def recording(self) -> bool:
        return self._state == "recording"

    def close(self) -> None:
        """Save a running episode (e.g. on app shutdown)."""
        if self._state == "recording":
            self.stop()

    # ---- internals ------------------------------------------------------------------------
    def _begin_end(self) -> _Session:
        with self._tick_lock:
            if self._state != "recording" or self._cur is None:
                raise NotRecording("No episode is being recorded.")
            self._state = "saving"
            return self._cur

    def _register_videos(self, cur: _Session) -> None:
        opened = cur.encoder.take_opened()
        if not opened:
            return
        with self.store.session() as s:
            for v in opened:
                upsert_video(
                    s,
                    cur.episode_id,
                    v.camera,
                    f"{cur.uid}/{v.path.name}",
                    width=v.width,
                    height=v.height,
                    fps=self.config.fps,
                    status=VideoStatus.WRITING.value,
                )

    def _save(self, cur: _Session) -> SaveResult:
        problems: list[str] = []
        written = cur.encoder.finish()
        failures = cur.encoder.failures
        cur.writer.close()
        self._register_videos(cur)
        folder = self.store.recordings_dir / cur.uid
        frames: dict[str, int] = {}
        statuses: dict[str, str] = {}
        for camera in sorted(written):
            path = folder / f"{camera}.mp4"
            try:
                frames[camera] = finalize_mp4(path, path)
                statuses[camera] = VideoStatus.OK.value
            except VideoError as exc:
                frames[camera] = 0
                statuses[camera] = VideoStatus.CORRUPT.value
                problems.append(str(exc))
        for camera, why in sorted(failures.items()):
            problems.append(f"camera {camera!r} failed: {why}")
            statuses[camera] = VideoStatus.CORRUPT.value
        expected = set(cur.cameras or ())
        for camera in sorted(expected - set(frames)):
            problems.append(f"camera {camera!r} delivered no frames")
        with self.store.session() as s:
            n_steps = s.scalar(select(func.count()).where(StepRow.episode_id == cur.episode_id)) or 0
            n_framed = (
                s.scalar(
                    select(func.count()).where(StepRow.episode_id == cur.episode_id, StepRow.frame_index.is_not(None))
                )
                or 0
            )
            duration = s.scalar(select(func.max(StepRow.t)).where(StepRow.episode_id == cur.episode_id)) or 0.0
            if n_steps != cur.steps:
                problems.append(f"{cur.steps} steps were recorded but {n_steps} are stored")
            if n_steps == 0:
                problems.append("no steps were recorded")
            for camera, n in sorted(frames.items()):
                if n != n_framed:
                    problems.append(f"camera {camera!r} has {n} frames for {n_framed} steps with images")
            for camera, st in statuses.items():
                path = folder / f"{camera}.mp4"
                upsert_video(
                    s,
                    cur.episode_id,
                    camera,
                    f"{cur.uid}/{camera}.mp4",
                    frame_count=frames.get(camera, 0),
                    path=path,
                    status=st,
                    fps=self.config.fps,
                )
            status = EpisodeStatus.FLAGGED.value if problems else EpisodeStatus.SAVED.value
            s.execute(
                update(Episode)
                .where(Episode.id == cur.episode_id)
                .values(
                    status=status,
                    success=cur.success,
                    num_steps=n_steps,
                    duration_s=float(duration),
                    ended_at=datetime.now(UTC),
                    problem="; ".join(problems) or None,
                )
            )
        if problems:
            log.warning("episode %d saved with problems: %s", cur.episode_id, "; ".join(problems))
        else:
            log.info("episode %d saved: %d steps, frames %s", cur.episode_id, n_steps, frames)
        return SaveResult(cur.episode_id, status, int(n_steps), float(duration), frames, tuple(problems))
