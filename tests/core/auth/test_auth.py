"""core.auth without a server: password hashing, accounts, roles, the control lock, the audit log, the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from core.auth import AccessDenied, Action, AuthService, ControlRequired, InvalidAccount, NotSignedIn, Role
from core.auth import users as U
from core.auth.audit import AuditLog
from core.auth.lock import ControlLock
from core.auth.passwords import hash_password, needs_rehash, verify_password
from core.store import StoreConfig, open_store
from core.store.lookup import get_or_create_user
from core.store.models import User

ROOT = Path(__file__).resolve().parents[3]
PW = "correct horse battery"


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def store(tmp_path):
    s = open_store(StoreConfig(recordings_dir=tmp_path / "rec"))
    yield s
    s.close()


@pytest.fixture
def auth(store):
    svc = AuthService(store, refresh_s=0.0)
    yield svc
    svc.close()


# ---- passwords ------------------------------------------------------------------------------------
def test_password_hash_is_salted_scrypt_and_verifies():
    a, b = hash_password(PW), hash_password(PW)
    assert a != b and a.startswith("scrypt$") and PW not in a
    assert verify_password(PW, a) and verify_password(PW, b)
    assert not verify_password(PW + "x", a)
    assert not verify_password(PW, None) and not verify_password(PW, "plain-text") and not verify_password(PW, "")
    assert not needs_rehash(a) and needs_rehash("scrypt$1024$8$1$x$y")


# ---- accounts -------------------------------------------------------------------------------------
def test_accounts_create_authenticate_and_name_only_rows(store):
    with store.session() as s:  # an operator name typed at recording time: not an account
        get_or_create_user(s, "alice")
    assert U.count_accounts(store) == 0
    acc = U.create_user(store, "alice", "admin", PW)
    assert acc.role == Role.ADMIN and U.count_accounts(store) == 1
    with store.session() as s:  # the same row became the account (episodes stay credited)
        assert len(s.scalars(select(User).where(User.name == "alice")).all()) == 1
    assert U.authenticate(store, "alice", PW).last_login_at is not None
    assert U.authenticate(store, "alice", "wrong password") is None
    assert U.authenticate(store, "nobody", PW) is None
    with pytest.raises(U.UserExists):
        U.create_user(store, "alice", "member", PW)
    for bad_name in ("", " ", "a b", "../x", "x" * 65):
        with pytest.raises(InvalidAccount):
            U.create_user(store, bad_name, "member", PW)
    for bad_pw in ("short", " padded password ", "bobbobbobbob"):
        with pytest.raises(InvalidAccount):
            U.create_user(store, "bobbobbobbob", "member", bad_pw)
    with pytest.raises(InvalidAccount):
        U.create_user(store, "bob", "superuser", PW)
    assert Role.parse("operator") == Role.MEMBER and Role.parse("Lab-Member") == Role.MEMBER


def test_last_admin_is_protected_and_disabled_accounts_cannot_sign_in(store):
    U.create_user(store, "alice", "admin", PW)
    U.create_user(store, "bob", "member", PW)
    for fn in (lambda: U.set_role(store, "alice", "member"), lambda: U.set_disabled(store, "alice", True),
               lambda: U.remove_login(store, "alice")):
        with pytest.raises(InvalidAccount, match="last"):
            fn()
    U.set_disabled(store, "bob", True)
    assert U.authenticate(store, "bob", PW) is None
    assert U.count_accounts(store) == 2  # a disabled account still closes the lab
    U.set_role(store, "bob", "admin")
    with pytest.raises(InvalidAccount):  # a disabled admin does not count
        U.set_role(store, "alice", "visitor")
    U.set_disabled(store, "bob", False)
    U.set_role(store, "alice", "visitor")
    U.remove_login(store, "alice")
    assert [a.name for a in U.list_accounts(store)] == ["bob"]


# ---- service: roles -------------------------------------------------------------------------------
def test_open_lab_allows_everything_until_an_account_exists(auth, store):
    assert auth.open_lab
    for action in Action:
        assert auth.authorize(None, action).open_lab
    U.create_user(store, "vic", "visitor", PW)
    auth.refresh()
    assert not auth.open_lab
    with pytest.raises(NotSignedIn):
        auth.authorize(None, Action.WATCH)
    with pytest.raises(NotSignedIn):
        auth.authorize("ghost", Action.WATCH)


def test_visitor_watches_and_asks_but_may_not_record_train_delete_export_or_change_settings(auth, store):
    U.create_user(store, "vic", "visitor", PW)
    for action in (Action.WATCH, Action.ASK, Action.ESTOP):
        assert auth.authorize("vic", action).name == "vic"
    for action in (Action.RECORD, Action.TRAIN, Action.DELETE, Action.EXPORT, Action.SETTINGS, Action.ADAPTER,
                   Action.EDIT, Action.CONTROL, Action.COMMAND, Action.USERS):
        with pytest.raises(AccessDenied):
            auth.authorize("vic", action)
    assert auth.control_state().free  # refusals never take the lock


def test_member_gets_control_automatically_when_free_and_is_refused_when_held(auth, store):
    U.create_user(store, "ann", "member", PW)
    U.create_user(store, "ben", "member", PW)
    assert auth.authorize("ann", Action.RECORD).name == "ann"
    assert auth.control_state().holder == "ann"
    assert auth.authorize("ben", Action.TRAIN).name == "ben"  # no lock needed
    with pytest.raises(ControlRequired, match="ann has control"):
        auth.authorize("ben", Action.RECORD)
    with pytest.raises(AccessDenied):
        auth.authorize("ben", Action.USERS)


def test_floor_lets_visitors_command(auth, store):
    U.create_user(store, "ann", "member", PW)
    U.create_user(store, "vic", "visitor", PW)
    with pytest.raises(AccessDenied, match="floor"):
        auth.authorize("vic", Action.COMMAND)
    auth.take_control("ann")
    with pytest.raises(AccessDenied):
        auth.set_floor("vic", True)
    auth.set_floor("ann", True)
    assert auth.authorize("vic", Action.COMMAND).name == "vic"
    assert auth.control_state().holder == "ann"  # the floor does not move the lock
    auth.release_control("ann")
    with pytest.raises(AccessDenied):
        auth.authorize("vic", Action.COMMAND)  # the floor closed with the release


def test_login_check_audits_and_locks_out_after_repeated_failures(auth, store):
    U.create_user(store, "ann", "member", PW)
    assert auth.check_login("ann", PW)
    for _ in range(5):
        assert not auth.check_login("ann", "nope nope nope")
    assert not auth.check_login("ann", PW)  # locked out for a while
    auth.audit_log.flush()
    actions = [r.action for r in auth.audit_log.query(20)]
    assert actions.count("login") == 1 and actions.count("login.failed") == 5 and "login.refused" in actions


# ---- the lock -------------------------------------------------------------------------------------
def test_lock_request_hand_over_takeover_and_expiry():
    clock, events = FakeClock(), []
    lock = ControlLock(ttl_s=8, takeover_after_s=15, clock=clock, on_event=events.append)
    assert lock.acquire("ann") and not lock.acquire("ben")
    st = lock.request("ben")
    assert st.holder == "ann" and [r.user for r in st.requests] == ["ben"]
    clock.t += 5
    lock.touch("ann")
    with pytest.raises(ControlRequired, match="take over in"):
        lock.takeover("ben")
    assert lock.hand_over("ann") == "ben" and lock.holder == "ben" and not lock.state().requests
    lock.request("ann")
    clock.t += 7.9
    lock.touch("ben")  # still alive
    clock.t += 7.2
    lock.takeover("ann")  # request unanswered for 15.1 s
    assert lock.holder == "ann"
    lock.set_floor("ann", True)
    clock.t += 8.5  # the holder's page went silent
    assert lock.holder is None and not lock.state().floor_open
    assert lock.acquire("cid")
    lock.takeover("ann", force=True)
    assert lock.holder == "ann"
    assert not lock.release("cid") and lock.release("ann")
    assert [e.kind for e in events] == ["take", "request", "hand_over", "request", "takeover", "floor_open",
                                        "expire", "floor_close", "take", "takeover", "release"]


def test_admin_takes_over_at_once_and_lock_events_are_audited(auth, store):
    U.create_user(store, "ann", "member", PW)
    U.create_user(store, "root", "admin", PW)
    U.create_user(store, "vic", "visitor", PW)
    auth.take_control("ann")
    with pytest.raises(AccessDenied):
        auth.request_control("vic")
    auth.takeover("root")
    assert auth.control_state().holder == "root"
    auth.release_control("root")
    auth.audit_log.flush()
    rows = [(r.action, r.user_name, r.target) for r in reversed(auth.audit_log.query(10, action="control."))]
    assert rows == [("control.take", "ann", None), ("control.takeover", "root", "from ann"),
                    ("control.release", "root", None)]


def test_reaper_expires_a_silent_holder_and_notices_the_first_account(store):
    lock = ControlLock(ttl_s=0.3)
    svc = AuthService(store, lock=lock, refresh_s=0.0)
    modes: list[bool] = []
    lost: list[str] = []
    svc.on_mode_change(modes.append)
    svc.on_lock_event(lambda ev: lost.append(ev.kind))
    svc.start(period_s=0.05)
    try:
        U.create_user(store, "ann", "member", PW)
        svc.take_control("ann")
        import time

        deadline = time.monotonic() + 3
        while (lock.holder or not modes or "expire" not in lost) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert lock.holder is None and "expire" in lost and modes == [False]
    finally:
        svc.close()


# ---- audit ------------------------------------------------------------------------------------------
def test_audit_rows_survive_and_filter(store):
    log = AuditLog(store)
    log.record("episode.delete", "ann", "member", target="episodes 3, 4", ids=[3, 4])
    log.record("estop", None, None, reason="button")
    assert log.flush(5)
    rows = log.query(10)
    assert [r.action for r in rows] == ["estop", "episode.delete"]
    assert rows[1].detail == {"ids": [3, 4]} and rows[1].user_name == "ann"
    assert [r.action for r in log.query(10, user="ann")] == ["episode.delete"]
    assert "(open lab) estop" in rows[0].line()
    log.close()


# ---- CLI --------------------------------------------------------------------------------------------
def test_cli_creates_the_first_admin_from_stdin_or_env_never_a_default(tmp_path):
    rec = tmp_path / "rec"
    cmd = [sys.executable, "-m", "core.auth", "--recordings", str(rec)]
    env = {k: v for k, v in __import__("os").environ.items() if k != "VLM2VLA_ADMIN_PASSWORD"}
    r = subprocess.run([*cmd, "create-user", "alice", "--role", "admin"], input=PW + "\n", capture_output=True,
                       text=True, cwd=ROOT, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "login is now required" in r.stdout
    r = subprocess.run([*cmd, "create-user", "bob"], input="", capture_output=True, text=True, cwd=ROOT, env=env,
                       timeout=60)
    assert r.returncode == 1 and "at least" in r.stderr  # no password given: refused, nothing created
    r = subprocess.run([*cmd, "create-user", "bob", "--role", "visitor"], capture_output=True, text=True, cwd=ROOT,
                       env={**env, "VLM2VLA_ADMIN_PASSWORD": "from the environment"}, timeout=60)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([*cmd, "list"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert "alice" in r.stdout and "admin" in r.stdout and "bob" in r.stdout and "visitor" in r.stdout
    s = open_store(StoreConfig(recordings_dir=rec))
    try:
        assert U.authenticate(s, "bob", "from the environment") is not None
        assert U.authenticate(s, "alice", PW) is not None
    finally:
        s.close()


def test_app_refuses_to_serve_the_network_without_accounts(tmp_path):
    env = {**__import__("os").environ, "VLM2VLA_RECORDINGS": str(tmp_path / "rec"),
           "VLM2VLA_ADAPTERS_DIR": str(tmp_path / "ad"), "VLM2VLA_JOBS_DIR": str(tmp_path / "jobs")}
    r = subprocess.run([sys.executable, "app.py", "--host", "0.0.0.0", "--port", "9", "--no-spacemouse", "--no-model"],
                       capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert r.returncode != 0 and "refusing to serve 0.0.0.0 without user accounts" in r.stderr
    assert "create-user" in r.stderr and "--open-lab" in r.stderr


def test_control_changing_hands_stops_the_run_and_zeroes_held_input(store, monkeypatch):
    from types import SimpleNamespace

    from core.auth.wiring import attach_auth

    calls: list[str] = []
    app = SimpleNamespace(store=store, browser_input=SimpleNamespace(close=lambda: calls.append("zero input")),
                          assistant=SimpleNamespace(stop=lambda reason: calls.append(f"stop: {reason}") or True))
    monkeypatch.setenv("VLM2VLA_ADMIN_USER", "root")
    monkeypatch.setenv("VLM2VLA_ADMIN_PASSWORD", PW)  # the first admin from the environment
    auth = attach_auth(app)  # type: ignore[arg-type]
    try:
        assert not auth.open_lab and U.get_account(store, "root").role == Role.ADMIN
        U.create_user(store, "ann", "member", PW)
        auth.take_control("ann")
        assert calls == []
        auth.takeover("root")
        assert calls == ["zero input", "stop: control takeover (ann)"]
    finally:
        auth.close()
