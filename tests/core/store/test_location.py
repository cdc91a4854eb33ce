"""The default SQLite database lives beside the recordings folder, never inside it (that folder is served
to the page): a database found at the old place is moved out safely, and free text reaches the store
without control or bidi formatting characters."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from core.store import StoreConfig, StoreConfigError, open_store
from core.store.lookup import get_or_create_instruction, get_or_create_user
from core.store.models import AuditEntry, Episode, Instruction, TrainingJob, User
from core.store.text import strip_controls

ROOT = Path(__file__).resolve().parents[3]


def _old_style_store(rec: Path, n_users: int = 3) -> Path:
    """A database where earlier versions kept it, with rows still in its WAL (not checkpointed)."""
    rec.mkdir(parents=True)
    new = open_store(StoreConfig(recordings_dir=rec))  # create the schema at the new place...
    new.close()
    db = rec.parent / f"{rec.name}-db" / "studio.db"
    old = rec / "studio.db"
    db.rename(old)  # ...and put it back where old versions had it
    for side in ("-wal", "-shm"):
        Path(f"{db}{side}").unlink(missing_ok=True)
    writer = (  # an old app killed with its rows still in the WAL (never checkpointed)
        "import os, sqlite3, sys\n"
        "con = sqlite3.connect(sys.argv[1])\n"
        "con.execute('PRAGMA journal_mode=WAL'); con.execute('PRAGMA wal_autocheckpoint=0')\n"
        f"for i in range({n_users}):\n"
        "    con.execute(\"INSERT INTO users (name, role, disabled, created_at) VALUES (?, 'member', 0, '2026-01-01')\","
        " (f'user{i}',))\n"
        "con.commit(); os._exit(0)\n")
    subprocess.run([sys.executable, "-c", writer, str(old)], check=True, timeout=60)
    assert Path(f"{old}-wal").stat().st_size > 0
    return old


def test_an_old_database_moves_out_of_the_recordings_folder_with_its_wal(tmp_path):
    rec = tmp_path / "Recordings"
    old = _old_style_store(rec)
    store = open_store(StoreConfig(recordings_dir=rec))
    try:
        with store.session() as s:
            names = sorted(s.scalars(select(User.name)))
        assert names == ["user0", "user1", "user2"]  # the rows that were only in the WAL came along
        assert store.engine.url.database == str(tmp_path / "Recordings-db" / "studio.db")
    finally:
        store.close()
    assert not old.exists() and not Path(f"{old}-wal").exists() and not Path(f"{old}-shm").exists()
    backups = list((tmp_path / "Recordings-db").glob("moved-*/studio.db"))
    assert len(backups) == 1  # the old file is kept as a backup, outside the served folder
    with sqlite3.connect(f"file:{backups[0]}?mode=ro", uri=True) as con:
        assert con.execute("SELECT count(*) FROM users").fetchone()[0] == 3
    folder = tmp_path / "Recordings-db"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "studio.db").stat().st_mode) == 0o600


def test_a_database_in_use_elsewhere_is_not_moved(tmp_path):
    rec = tmp_path / "rec"
    old = _old_style_store(rec)
    other = sqlite3.connect(old)  # another program (an older app) has it open
    other.execute("SELECT count(*) FROM users").fetchone()
    try:
        with pytest.raises(StoreConfigError, match="open in another program"):
            open_store(StoreConfig(recordings_dir=rec))
    finally:
        other.close()
    assert old.exists() and not (tmp_path / "rec-db" / "studio.db").exists()
    open_store(StoreConfig(recordings_dir=rec)).close()  # once it is closed, the move happens
    assert not old.exists()


def test_two_databases_are_a_clear_error(tmp_path):
    rec = tmp_path / "rec"
    old = _old_style_store(rec)
    open_store(StoreConfig(recordings_dir=tmp_path / "elsewhere")).close()
    (tmp_path / "rec-db").mkdir(exist_ok=True)
    (tmp_path / "elsewhere-db" / "studio.db").rename(tmp_path / "rec-db" / "studio.db")
    with pytest.raises(StoreConfigError, match="two databases"):
        open_store(StoreConfig(recordings_dir=rec))
    assert old.exists()  # nothing was touched


def test_the_account_tool_finds_the_moved_database(tmp_path):
    rec = tmp_path / "rec"
    _old_style_store(rec)
    env = {"VLM2VLA_RECORDINGS": str(rec), "VLM2VLA_ADMIN_PASSWORD": "admin-password-1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "core.auth", "create-user", "boss", "--role", "admin"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    out = subprocess.run([sys.executable, "-m", "core.auth", "--recordings", str(rec), "list"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert "boss" in out.stdout and "user0" not in out.stdout  # user0 is a name only, not an account
    assert not (rec / "studio.db").exists() and (tmp_path / "rec-db" / "studio.db").exists()


# ---- free text -----------------------------------------------------------------------------------
NASTY = "put the\x00 red\x1b[31m block\u202e lwob eht ni\u2066 x\u2069\r\nnow\x7f\x9b"


def test_strip_controls():
    assert strip_controls(NASTY, multiline=False) == "put the red[31m block lwob eht ni x now"
    assert strip_controls(NASTY) == "put the red[31m block lwob eht ni x\nnow"
    assert strip_controls("tab\there, zwj 👩\u200d🔬") == "tab\there, zwj 👩\u200d🔬"


def test_free_text_is_stored_without_control_characters(tmp_path):
    store = open_store(StoreConfig(recordings_dir=tmp_path / "rec"))
    try:
        with store.session() as s:
            ins = get_or_create_instruction(s, NASTY)
            user = get_or_create_user(s, "ann\u202eeve")
            ep = Episode(uid="ep1", status="saved", problem="line one\x1b[2J\nline two", meta={"note\x00": ["a\u202eb"]},
                         instruction=ins, operator=user)
            s.add(ep)
            s.add(TrainingJob(name="job\x1b]0;title\x07", kind="lora", status="queued", config={}, episode_ids=[],
                              message="m", metrics={}))
        with store.session() as s:
            assert s.scalar(select(Episode.problem)) == "line one[2J\nline two"
            assert s.scalar(select(Episode.meta)) == {"note": ["ab"]}
            assert s.scalar(select(Instruction.text)) == "put the red[31m block lwob eht ni x now"
            assert s.scalar(select(User.name)) == "anneve"
            assert s.scalar(select(TrainingJob.name)) == "job]0;title"
    finally:
        store.close()


def test_audit_entries_are_stored_without_control_characters(tmp_path):
    from core.auth.audit import AuditLog

    store = open_store(StoreConfig(recordings_dir=tmp_path / "rec"))
    try:
        audit = AuditLog(store, background=False)
        audit.record("login.failed", "x\x1b[2Jroot\u202e", target="t\x00", detail="a\nb\x07")
        with store.session() as s:
            row = s.scalars(select(AuditEntry)).one()
        assert (row.user_name, row.target, row.detail) == ("x[2Jroot", "t", {"detail": "a\nb"})
    finally:
        store.close()
