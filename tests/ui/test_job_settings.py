"""A training job started by the app uses the app's own recordings folder, database and adapters folder,
also when they were given as command-line flags (`--recordings DIR`) rather than environment variables.

The app runs in a subprocess started with `--recordings OTHER` while its inherited environment still names
another folder ($VLM2VLA_RECORDINGS, as a lab's shell profile might): the flag wins for the app, and the
job it starts must follow the app, not the environment."""

from __future__ import annotations

import json
import time
from contextlib import closing

import httpx
from sqlalchemy import select

from bench.common import app_process
from core.store import StoreConfig, open_store
from core.store.models import TrainingJob
from tests.core.training.test_training_tiny import tiny_model_dir
from tests.ui.test_auth_api import gradio_call


def _record_episode(recordings) -> int:
    """One verbalized, successful scripted episode recorded into `recordings` (as the app would)."""
    from core.language.spec import SPEC_VERSION
    from core.language.synthetic import episode
    from core.language.verbalize import verbalize
    from core.recording import Recorder, RecorderConfig
    from core.recording.synthetic import synthetic_frame
    from core.store.verbalizations import add_verbalization
    from core.types import Observation

    steps = episode("put_in", seed=3)
    store = open_store(StoreConfig(recordings_dir=recordings))
    try:
        rec = Recorder(store, RecorderConfig(flush_interval_s=0.1, min_free_bytes=1))
        eid = rec.start("put the red block in the bowl", operator="ann", robot="sim", cameras=("front",))
        for i, st in enumerate(steps):
            rec.on_tick(Observation(st.t, st.ee_pos, st.ee_yaw, st.gripper, {"front": synthetic_frame(i, 32)},
                                    st.joints, st.scene), st)
        assert rec.stop(success=True).ok
        add_verbalization(store, eid, SPEC_VERSION, verbalize(steps, "put the red block in the bowl").to_dict())
        rec.close()
    finally:
        store.close()
    return eid


def test_a_job_finds_the_videos_of_an_app_started_with_the_recordings_flag(tmp_path):
    other = tmp_path / "Flagged" / "recordings"  # given as --recordings; $VLM2VLA_RECORDINGS names another
    eid = _record_episode(other)
    model = tiny_model_dir(tmp_path / "tiny")
    with app_process("--no-model", "--recordings", str(other), "--model", str(model), folder=tmp_path / "env") as (
            base, _), closing(httpx.Client(base_url=base, timeout=60)) as c:
        kind, out = gradio_call(c, "do_start", ["flagged", [eid], 0, "quick", 3e-3, 1, 3, 4, 8, 2, 1, 1.0,
                                                "front", False, False, False, 0, 0, 4])
        assert kind == "complete", out
        store = open_store(StoreConfig(recordings_dir=other, migrate=False))
        try:
            deadline = time.monotonic() + 300
            while True:
                with store.session() as s:
                    job = s.scalars(select(TrainingJob)).one()
                    job_id, status, message = job.id, job.status, job.message
                if status in ("done", "failed", "cancelled") or time.monotonic() > deadline:
                    break
                time.sleep(1.0)
        finally:
            store.close()
    job_dir = tmp_path / "env" / "jobs" / f"job-{job_id}"
    log = (job_dir / "train.log").read_text()[-3000:] if (job_dir / "train.log").exists() else ""
    assert status == "done", (status, message, log)
    settings = json.loads((job_dir / "settings.json").read_text())
    assert settings["recordings_dir"] == str(other.resolve())
    assert (tmp_path / "env" / "adapters" / "flagged").is_dir()  # registered where the app lists adapters
