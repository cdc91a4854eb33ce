"""Recorder lifecycle, refusals, frame/step checks and in-process recovery (no robot needed)."""

from __future__ import annotations

import time
from pathlib import Path

import av
import numpy as np
import pytest
from sqlalchemy import func, select

from core.recording import (
    AlreadyRecording,
    DiskFull,
    EStopActive,
    NotRecording,
    Recorder,
    RecorderConfig,
    RecordingRefused,
    RecordingsDirUnwritable,
    RobotUnavailable,
    recover_interrupted,
)
from core.recording import video as V
from core.recording.config import VideoConfig
from core.recording.lock import EpisodeLock
from core.recording.synthetic import frame_bar_row, synthetic_frame, synthetic_tick
from core.recording.verify import verify_episode
from core.store import StoreConfig, open_store
from core.store import episodes as E
from core.store.models import Episode, Step

FAST = RecorderConfig(flush_interval_s=0.1, min_free_bytes=1)


@pytest.fixture
def store(tmp_path):
    s = open_store(StoreConfig(recordings_dir=tmp_path / "rec"))
    yield s
    s.close()


def _record(rec: Recorder, n: int, cameras=("front", "wrist"), sleep: float = 0.0) -> None:
    for i in range(n):
        rec.on_tick(*synthetic_tick(i, cameras=cameras, size=64))
        if sleep:
            time.sleep(sleep)


def _moov_before_mdat(path: Path) -> bool:
    data = path.read_bytes()
    return 0 <= data.find(b"moov") < data.find(b"mdat")


def test_record_stop_save(store):
    rec = Recorder(store, FAST)
    assert rec.status.state == "idle"
    eid = rec.start("pick up the red block", operator="ana", seed=5, task="pick", robot="sim")
    assert rec.status.state == "recording"
    _record(rec, 40)
    st = rec.status
    assert (st.episode_id, st.steps, st.frames_submitted) == (eid, 40, 40)
    result = rec.stop(success=True)
    assert result.ok and result.status == "saved"
    assert result.frames == {"front": 40, "wrist": 40}
    assert result.num_steps == 40
    assert result.duration_s == pytest.approx(39 / 30)
    assert rec.status.state == "idle" and rec.status.last_saved_id == eid

    ep = E.get_episode(store, eid)
    assert (ep.status, ep.success, ep.operator, ep.seed, ep.task, ep.num_steps) == ("saved", True, "ana", 5, "pick", 40)
    paths = E.video_paths(store, eid)
    assert set(paths) == {"front", "wrist"}
    for path in paths.values():
        assert _moov_before_mdat(path), "finished videos must be faststart"
        with av.open(str(path)) as c:
            s = c.streams.video[0]
            assert (s.codec_context.name, s.pix_fmt, s.width) == ("h264", "yuv420p", 64)
            frames = [f.to_ndarray(format="rgb24") for f in c.decode(s)]
        assert len(frames) == 40
        # frame index <-> step mapping: decoded frame k is the image of step k
        for k in (0, 17, 39):
            assert frame_bar_row(frames[k]) == frame_bar_row(synthetic_frame(k, 64))
    arr = E.step_arrays(store, eid)
    assert list(arr.frame_index) == list(range(40))
    assert verify_episode(store, eid) == []
    paths["wrist"].write_bytes(b"broken")
    assert "wrist" in verify_episode(store, eid)[0]
    assert not (store.recordings_dir / ep.uid / ".recording.lock").exists()
    with store.session() as s:
        row = s.scalar(select(Step).where(Step.episode_id == eid, Step.idx == 10))
        assert row.joints == [pytest.approx(1.0), pytest.approx(-0.2)]
        assert row.twist[0] == 0.5 and row.twist_gripper is not None
        assert row.cmd_gripper == 1.0


def test_ticks_without_images_and_idle_ticks(store):
    rec = Recorder(store, FAST)
    rec.on_tick(*synthetic_tick(0))  # not recording: ignored
    eid = rec.start("push the red block to the left")
    obs, step = synthetic_tick(0)
    rec.on_tick(None, step)
    _record(rec, 5)
    result = rec.stop()
    assert result.ok, result.problems
    assert E.step_arrays(store, eid).frame_index.tolist() == [-1, 0, 1, 2, 3, 4]
    assert result.frames == {"front": 5, "wrist": 5}


def test_time_keeps_increasing_when_the_robot_clock_restarts(store):
    rec = Recorder(store, FAST)
    eid = rec.start("pick up the red block")
    for i in (0, 1, 2, 0, 1):  # a scene reset mid-episode restarts the simulator clock
        rec.on_tick(*synthetic_tick(i, size=64))
    rec.stop()
    t = E.step_arrays(store, eid).t
    assert (t[1:] > t[:-1]).all()
    assert t[3] == pytest.approx(t[2] + 1 / 30)


def test_discard_removes_rows_and_files(store):
    rec = Recorder(store, FAST)
    rec.start("pick up the red block")
    _record(rec, 20)
    time.sleep(0.25)  # let a flush happen so there are rows to remove
    rec.discard()
    assert rec.status.state == "idle"
    assert E.list_episodes(store, E.EpisodeFilter(statuses=("recording", "saved", "flagged"))) == []
    assert [p for p in store.recordings_dir.iterdir() if p.is_dir()] == []
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Step)) == 0


def test_mark_success_during_and_after(store):
    rec = Recorder(store, FAST)
    with pytest.raises(NotRecording):
        rec.mark_success(True)
    eid = rec.start("pick up the red block")
    _record(rec, 3)
    assert rec.mark_success(False) == eid
    assert rec.status.success is False
    rec.stop()
    assert E.get_episode(store, eid).success is False
    rec.mark_success(True)  # after stop: the last saved episode
    assert E.get_episode(store, eid).success is True
    with pytest.raises(NotRecording):
        rec.stop()
    with pytest.raises(NotRecording):
        rec.discard()


def test_refusals(store, tmp_path):
    rec = Recorder(store, FAST)
    with pytest.raises(EStopActive, match="emergency stop"):
        rec.start("pick up the red block", estopped=True)
    with pytest.raises(RobotUnavailable, match="No robot"):
        rec.start("pick up the red block", robot_ready=False)
    with pytest.raises(RecordingRefused, match="instruction"):
        rec.start("   ")
    with pytest.raises(RecordingRefused, match="camera name"):
        rec.start("pick", cameras=("../etc",))
    full = Recorder(store, RecorderConfig(min_free_bytes=10**18))
    with pytest.raises(DiskFull, match="free"):
        full.start("pick up the red block")
    assert rec.status.state == "idle"
    assert E.list_episodes(store, E.EpisodeFilter(statuses=("recording",))) == []

    rec.start("pick up the red block")
    with pytest.raises(AlreadyRecording):
        rec.start("pick up the red block")
    rec.discard()


def test_unwritable_recordings_dir(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    s = open_store(StoreConfig(recordings_dir=tmp_path / "ok", db_url=f"sqlite:///{tmp_path / 'db.sqlite'}"))
    s.recordings_dir = blocker / "rec"  # e.g. the disk went away or became a file
    with pytest.raises(RecordingsDirUnwritable, match="recordings folder"):
        Recorder(s, FAST).start("pick up the red block")
    s.close()


def test_unwritable_dir_permissions(tmp_path, monkeypatch):
    rdir = tmp_path / "rec"
    s = open_store(StoreConfig(recordings_dir=rdir))
    real_open = open

    def deny(path, *a, **k):  # a read-only mount, also when the tests run as root
        if ".write-test-" in str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *a, **k)

    monkeypatch.setattr("builtins.open", deny)
    with pytest.raises(RecordingsDirUnwritable, match="not writable"):
        Recorder(s, FAST).start("pick up the red block")
    s.close()


def test_on_tick_never_blocks_and_drops_nothing(store, monkeypatch):
    real_write = V.Mp4Writer.write

    def slow_write(self, rgb):
        time.sleep(0.02)  # an encoder much slower than the control rate
        real_write(self, rgb)

    monkeypatch.setattr(V.Mp4Writer, "write", slow_write)
    rec = Recorder(store, FAST)
    rec.start("pick up the red block")
    worst = 0.0
    for i in range(30):
        obs, step = synthetic_tick(i, size=64)
        t0 = time.perf_counter()
        rec.on_tick(obs, step)
        worst = max(worst, time.perf_counter() - t0)
    st = rec.status
    assert st.frames_pending > 0 and st.max_backlog > 5  # backed up, and measured
    assert worst < 0.01
    result = rec.stop()
    assert result.ok and result.frames == {"front": 30, "wrist": 30}


def test_steps_reach_the_store_while_recording(store):
    rec = Recorder(store, RecorderConfig(flush_interval_s=0.2, min_free_bytes=1))
    eid = rec.start("pick up the red block")
    _record(rec, 10)
    deadline = time.monotonic() + 0.5
    n = 0
    while time.monotonic() < deadline and n < 10:
        with store.session() as s:
            n = s.scalar(select(func.count()).where(Step.episode_id == eid))
        time.sleep(0.02)
    assert n == 10, "steps must be committed within the flush interval"
    rec.stop()


def test_missing_camera_frames_flag_the_episode(store):
    rec = Recorder(store, FAST)
    eid = rec.start("pick up the red block", cameras=("front", "wrist", "side"))
    for i in range(10):
        obs, step = synthetic_tick(i, size=64, cameras=("front", "wrist") if i != 4 else ("front",))
        rec.on_tick(obs, step)
    result = rec.stop()
    assert result.status == "flagged" and not result.ok
    text = " ".join(result.problems)
    assert "'side'" in text and "'wrist'" in text
    ep = E.get_episode(store, eid)
    assert ep.status == "flagged" and "wrist" in ep.problem
    assert E.list_episodes(store)[0].id == eid  # still listed, with its problem


def test_empty_episode_is_flagged(store):
    rec = Recorder(store, FAST)
    rec.start("pick up the red block")
    result = rec.stop()
    assert result.status == "flagged" and "no steps" in result.problems[0]


def _interrupted_episode(store, n: int, tmp: Path) -> tuple[int, Path]:
    """Simulate a crash in-process: write steps and fragmented videos, never finish."""
    rec = Recorder(store, FAST)
    eid = rec.start("pick up the red block")
    _record(rec, n)
    cur = rec._cur
    cur.encoder.finish()  # closes the fragmented files (as far as a crash would have flushed)
    cur.writer.close()
    rec._register_videos(cur)
    cur.lock.release(remove=False)  # the process "died"
    return eid, store.recordings_dir / cur.uid


def test_recovery_trims_and_reconciles(store, tmp_path):
    eid, folder = _interrupted_episode(store, 50, tmp_path)
    # damage one camera: cut its file in the middle of a fragment
    wrist = folder / "wrist.mp4"
    data = wrist.read_bytes()
    wrist.write_bytes(data[: int(len(data) * 0.6)])
    reports = recover_interrupted(store)
    assert [r.episode_id for r in reports] == [eid]
    r = reports[0]
    assert 0 < r.frames < 50 and r.steps == 50 and r.steps_without_frame == 50 - r.frames
    ep = E.get_episode(store, eid)
    assert ep.status == "recovered" and "recovered" in ep.problem
    assert ep.playable
    for v in ep.videos:
        assert V.count_packets(v.path) == r.frames == v.frame_count
        assert V.decodable_frames(v.path) == r.frames
        assert _moov_before_mdat(v.path)
    arr = E.step_arrays(store, eid)
    assert (arr.frame_index >= 0).sum() == r.frames
    assert verify_episode(store, eid) == []
    assert recover_interrupted(store) == []  # nothing left to do


def test_recovery_skips_live_recordings_and_handles_missing_files(store, tmp_path):
    rec = Recorder(store, FAST)
    live = rec.start("pick up the red block")
    _record(rec, 5)
    assert recover_interrupted(store) == []  # its lock is held
    rec.stop()
    eid, folder = _interrupted_episode(store, 20, tmp_path)
    for f in folder.glob("*.mp4"):
        f.write_bytes(b"\x00garbage")
    [r] = recover_interrupted(store)
    assert r.frames == 0
    ep = E.get_episode(store, eid)
    assert ep.status == "recovered" and not ep.playable and "unreadable video" in ep.problem
    assert len(E.step_arrays(store, eid)) == 20  # steps are kept
    assert {e.id for e in E.list_episodes(store)} == {live, eid}


def test_lock_is_exclusive(tmp_path):
    a, b = EpisodeLock(tmp_path), EpisodeLock(tmp_path)
    assert a.acquire()
    assert not b.acquire()
    a.release()
    assert b.acquire()
    b.release()


def test_video_writer_rejects_bad_frames(tmp_path):
    w = V.Mp4Writer(tmp_path / "a.mp4", 30, 64, 64, VideoConfig())
    w.write(synthetic_frame(0, 64))
    with pytest.raises(V.VideoError):
        w.write(np.zeros((32, 32, 3), np.uint8))
    assert w.close() == 1
    with pytest.raises(V.VideoError):
        V.Mp4Writer(tmp_path / "b.mp4", 30, 63, 64, VideoConfig())
    with pytest.raises(V.VideoError):
        V.count_packets(tmp_path / "missing.mp4")


def test_episode_row_counts(store):
    rec = Recorder(store, FAST)
    eid = rec.start("pick up the red block")
    _record(rec, 7)
    rec.stop()
    with store.session() as s:
        assert s.get(Episode, eid).num_steps == 7
