"""kill -9 in the middle of an episode: at most the last second is lost, the episode comes back as
"recovered" with playable videos, and the database is consistent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import av
from sqlalchemy import func, select, text

from core.recording import recover_interrupted
from core.recording import video as V
from core.store import StoreConfig, open_store
from core.store import episodes as E
from core.store.models import Step

ROOT = Path(__file__).resolve().parents[3]
FPS = 30

CHILD = textwrap.dedent(
    """
    import sys, time
    from core.recording import Recorder, RecorderConfig
    from core.recording.synthetic import synthetic_tick
    from core.store import StoreConfig, open_store

    store = open_store(StoreConfig(recordings_dir=sys.argv[1]))
    rec = Recorder(store, RecorderConfig(min_free_bytes=1))
    rec.start("put the red block in the bowl", operator="ana", seed=1, task="put_in")
    period, t_next, i = 1 / 30, time.monotonic(), 0
    while True:
        rec.on_tick(*synthetic_tick(i))
        i += 1
        print(i, flush=True)
        t_next += period
        time.sleep(max(0.0, t_next - time.monotonic()))
    """
)


def test_kill_dash_nine_mid_episode(tmp_path):
    rdir = tmp_path / "rec"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(rdir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    ticks = 0
    deadline = time.monotonic() + 60
    try:
        while ticks < 3 * FPS + 7:  # ~3 s, deliberately not on a keyframe boundary
            line = proc.stdout.readline()
            assert line, f"recorder process ended early: {proc.stderr.read()}"
            ticks = int(line)
            assert time.monotonic() < deadline
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL

    store = open_store(StoreConfig(recordings_dir=rdir))
    with store.engine.connect() as c:
        assert c.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    [ep0] = E.list_episodes(store, E.EpisodeFilter(statuses=("recording",)))
    for cam in ("front", "wrist"):  # the half-written fragmented files decode as they are
        raw = rdir / ep0.uid / f"{cam}.mp4"
        assert V.decodable_frames(raw) >= ticks - FPS

    [report] = recover_interrupted(store)
    assert report.episode_id == ep0.id
    ep = E.get_episode(store, ep0.id)
    assert ep.status == "recovered" and ep.instruction == "put the red block in the bowl"
    assert ep.num_steps >= ticks - FPS, f"lost more than 1 s of steps: kept {ep.num_steps} of >= {ticks}"
    assert report.frames >= ticks - FPS, f"lost more than 1 s of video: {report.frames} of >= {ticks}"
    assert ep.playable and set(ep.cameras) == {"front", "wrist"}
    for v in ep.videos:
        with av.open(str(v.path)) as c:
            decoded = sum(1 for _ in c.decode(c.streams.video[0]))
        assert decoded == v.frame_count == report.frames
    with store.session() as s:
        framed = s.scalar(select(func.count()).where(Step.episode_id == ep.id, Step.frame_index.is_not(None)))
        idx = list(s.scalars(select(Step.idx).where(Step.episode_id == ep.id).order_by(Step.idx)))
    assert framed == report.frames
    assert idx == list(range(len(idx)))  # no holes: batches commit whole or not at all
    arr = E.step_arrays(store, ep.id)
    assert arr.t[0] == 0.0 and (arr.t[1:] > arr.t[:-1]).all()
    store.close()
