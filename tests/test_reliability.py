"""Failures a lab meets, each with its recovery: kill -9 during an autonomous run and a recording, input
device loss, a crashing model worker, a busy database. (Training killed with -9: tests/core/training/test_jobs.py;
uploads: tests/ui/test_auth_api.py.)"""

from __future__ import annotations

import json
import logging
import signal
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from bench.common import app_process as common_app_process
from core.assistant import Assistant, format_run
from core.auth.audit import AuditLog
from core.control.loop import ControlLoop, LoopConfig
from core.control.policy import PolicyBase
from core.conversation import Conversation
from core.recording import Recorder, RecorderConfig
from core.recording.synthetic import synthetic_tick
from core.robot.sim import SimConfig, SimRobot
from core.store import StoreConfig, open_store
from core.store import episodes as E
from core.store.models import AuditEntry, Instruction
from core.store.models import Step as StepRow
from core.store.retry import write_with_retry
from core.teleop.browser import BrowserTeleop


# ---- kill -9 during an autonomous run and a recording -------------------------------------------
@contextmanager
def app_process(tmp: Path, model_dir: Path):
    """The app with `model_dir` as its model, folders under `tmp`; yields (base URL, process)."""
    with common_app_process("--model", str(model_dir), folder=tmp) as (base, proc):
        yield base, proc


def call(base: str, handler: str, data: list) -> tuple[str, object]:
    with httpx.Client(base_url=base, timeout=60) as c:
        event_id = c.post(f"/gradio_api/call/{handler}", json={"data": data}).json()["event_id"]
        kind = ""
        with c.stream("GET", f"/gradio_api/call/{handler}/{event_id}") as s:
            for line in s.iter_lines():
                if line.startswith("event:"):
                    kind = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and kind in ("complete", "error"):
                    return kind, json.loads(line.split(":", 1)[1])
    return kind, None


def status(base: str) -> dict:
    return httpx.get(base + "/api/status", timeout=5).json()


def wait_for(pred, timeout: float, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(every)
    return None


def test_kill_dash_nine_during_autonomous_run_and_recording_restarts_idle(tmp_path):
    from tests.model_fixtures import tiny_gemma3

    model_dir = tiny_gemma3(tmp_path / "tiny")
    with app_process(tmp_path, model_dir) as (base, proc):
        assert wait_for(lambda: "loaded in" in str(call(base, "refresh", [])[1]), 60, every=0.5), "model not loaded"
        kind, out = call(base, "do_record", ["put the red block in the bowl", "ana"])
        assert kind == "complete", out
        time.sleep(1.0)  # the recorder flushes steps at least every second: some are on disk
        kind, out = call(base, "run_3", ["put the red block in the bowl"])  # "Do it"
        assert kind == "complete", out
        # a random tiny model may finish its run within a second: kill as soon as it is seen driving
        st = wait_for(lambda: (s := status(base))["mode"] == "autonomous" and s, 10, every=0.02)
        proc.send_signal(signal.SIGKILL)  # no chance to clean up
        assert st and st["recording"] == "recording", st
        proc.wait(10)

    with app_process(tmp_path, model_dir) as (base, _):
        time.sleep(1.0)
        first = status(base)
        time.sleep(2.0)
        later = status(base)
        assert first["mode"] == later["mode"] == "idle"  # nothing drives after a restart
        assert later["ticks"] > first["ticks"]
        assert np.allclose(later["ee_pos"], first["ee_pos"], atol=1e-3)  # holds still
        assert later["recording"] == "idle"
        assert call(base, "refresh", [])[1][0] == []  # no conversation, no run restored
    store = open_store(StoreConfig(recordings_dir=tmp_path / "recordings", migrate=False))
    try:
        [ep] = E.list_episodes(store)
        assert ep.status == "recovered" and ep.num_steps > 0
    finally:
        store.close()


# ---- input device loss ---------------------------------------------------------------------------
def test_input_loss_holds_the_robot_within_250ms_through_the_control_loop():
    browser = BrowserTeleop()
    loop = ControlLoop(lambda: SimRobot(SimConfig(render=False)), LoopConfig(hz=30))
    loop.add_source(browser)
    ticks: list[tuple[float, bool, tuple[float, float, float]]] = []
    loop.add_listener(lambda obs, step: ticks.append((time.monotonic(), not step.twist.is_zero(), step.command.pos)))
    loop.start(seed=0)
    try:
        seq = 1
        end = time.monotonic() + 1.0
        while time.monotonic() < end:  # the page sends forward motion at 20 Hz ...
            browser.submit({"source": "pad", "axes": [1, 0, 0, 0, 0, 0], "gripper": None, "buttons": [], "seq": seq})
            seq += 1
            time.sleep(0.05)
        last_input = time.monotonic()  # ... then the device (or the page, or the network) goes away
        time.sleep(0.8)
    finally:
        loop.close()
    moving_after = [t - last_input for t, moving, _ in ticks if moving and t > last_input]
    assert any(moving for t, moving, _ in ticks if t < last_input), "the robot never moved"
    assert max(moving_after, default=0.0) <= 0.25 + 1 / 30 + 0.02, moving_after  # zeroed within 250 ms (+1 tick)
    held = [pos for t, _, pos in ticks if t > last_input + 0.3]
    assert held and all(np.allclose(p, held[0], atol=1e-9) for p in held)  # the target stays put


# ---- a crashing model worker -----------------------------------------------------------------------
class CrashingPolicy(PolicyBase):
    name = "crashing"

    def subtasks(self, image, instruction, on_text=None):
        return "1. grasp the red block"

    def plan(self, image, instruction, subtask, on_text=None, state=None):
        raise RuntimeError("model worker crashed: CUDA error: device-side assert triggered")

    def actions(self, image, instruction, subtask, plan, on_text=None):  # pragma: no cover - never reached
        return "[[0.0, 0.0, 0.0, 1]]"

    def is_done(self, image, subtask):  # pragma: no cover
        return None


class FlakyModel:
    """A ModelService stand-in: its policy crashes mid-run; answering questions still works."""

    def __init__(self) -> None:
        self.loaded = object()
        self.last_layout = None  # no scene reader

    def policy(self):
        return CrashingPolicy()

    def stream(self, image, question, history):
        yield "a red block"

    def answer_route(self):
        return False, "the base model (no action adapter active)"


def test_model_worker_crash_keeps_the_app_up_and_says_so():
    loop = ControlLoop(lambda: SimRobot(SimConfig(image_size=32)), LoopConfig(hz=30))
    loop.start(seed=0)
    try:
        conv = Conversation()
        assistant = Assistant(loop, FlakyModel(), conv)  # type: ignore[arg-type]
        run = assistant.command("put the red block in the bowl")
        assert run.wait(10) and run.result == "error"
        text = wait_for(lambda: conv.messages()[-1]["content"] if "❌" in conv.messages()[-1]["content"] else None, 5)
        assert text and "model worker crashed" in text  # the conversation says what happened
        assert "model worker crashed" in format_run(list(run.events))
        ticks = loop.status().ticks
        time.sleep(0.3)
        st = loop.status()
        assert st.running and st.ticks > ticks and st.mode == "idle" and not st.error  # the loop goes on, idle
        assistant.ask("what is on the table?").join(5)  # and the app still answers
        assert conv.messages()[-1]["content"] == "a red block"
    finally:
        loop.close()


# ---- a busy database --------------------------------------------------------------------------------
@contextmanager
def competing_writer(db: Path, hold_s: float):
    """Another process-like connection takes SQLite's write lock and keeps it for `hold_s` seconds."""
    conn = sqlite3.connect(db, timeout=5, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO instructions (text, created_at) VALUES ('competitor', '2026-01-01')")
    released = threading.Event()

    def release() -> None:
        time.sleep(hold_s)
        conn.execute("COMMIT")
        released.set()

    th = threading.Thread(target=release, daemon=True)
    th.start()
    try:
        yield released
    finally:
        th.join(hold_s + 5)
        conn.close()


@pytest.fixture
def busy_store(tmp_path):
    s = open_store(StoreConfig(recordings_dir=tmp_path / "rec", busy_timeout_ms=100))
    yield s
    s.close()


def _db(store) -> Path:
    return Path(store.engine.url.database)


def test_a_write_meeting_a_held_lock_is_retried_not_lost(busy_store, caplog):
    with competing_writer(_db(busy_store), 0.6):
        with pytest.raises(OperationalError, match="locked"):  # without retrying: lost
            with busy_store.session() as s:
                s.add(Instruction(text="first try"))
        caplog.set_level(logging.WARNING, logger="core.store.retry")
        t0 = time.monotonic()
        write_with_retry(busy_store, lambda s: s.add(Instruction(text="kept")), what="test write")
        waited = time.monotonic() - t0
    assert waited >= 0.4 and any("database busy" in r.message for r in caplog.records)
    with busy_store.session() as s:
        texts = set(s.scalars(select(Instruction.text)))
    assert {"kept", "competitor"} <= texts and "first try" not in texts


def test_audit_entries_wait_out_a_long_lock(busy_store):
    log = AuditLog(busy_store, retry_pause_s=0.1)
    try:
        with competing_writer(_db(busy_store), 2.0):  # longer than all quick retries together
            for i in range(5):
                log.record("estop", "ann", "member", target=f"press {i}")
            time.sleep(0.3)
            assert log.pending == 5
        assert log.flush(10)
        with busy_store.session() as s:
            assert s.scalar(select(func.count()).select_from(AuditEntry)) == 5
    finally:
        log.close()


def test_recorded_steps_survive_a_competing_writer(busy_store):
    rec = Recorder(busy_store, RecorderConfig(flush_interval_s=0.1, min_free_bytes=1))
    eid = rec.start("wave around", operator="ana", seed=1, robot="sim", cameras=("front",))
    n = 90
    with competing_writer(_db(busy_store), 1.0) as released:
        for i in range(n):
            rec.on_tick(*synthetic_tick(i, cameras=("front",), size=32))
            time.sleep(1 / 60)
        assert released.wait(5)
    assert rec.stop(success=True).ok
    with busy_store.session() as s:
        assert s.scalar(select(func.count()).select_from(StepRow).where(StepRow.episode_id == eid)) == n
    assert E.get_episode(busy_store, eid).num_steps == n
