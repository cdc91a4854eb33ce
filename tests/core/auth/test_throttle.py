"""Password guessing: per-source and per-account limits that hold under parallel attempts, and unknown
names that cost the same password check as known ones."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from core.auth import AuthService
from core.auth import users as U
from core.auth.service import LoginAttempt
from core.auth.throttle import LoginRefused, LoginThrottle
from tests.core.auth.test_auth import PW, FakeClock, store  # noqa: F401 - the fixture


def test_parallel_guesses_are_capped_and_other_sources_keep_access(store):  # noqa: F811
    U.create_user(store, "ann", "member", PW)
    auth = AuthService(store, refresh_s=0.0)
    try:
        checked = []
        real = U.authenticate
        release = threading.Event()

        def held_authenticate(*a, **kw):  # an attempt being checked stays in flight until released
            checked.append(1)
            release.wait(timeout=30)
            return real(*a, **kw)

        def attempt(i: int) -> tuple[bool, LoginAttempt]:
            ctx = LoginAttempt("10.0.0.66")
            return auth.check_login("ann", PW if i == 19 else f"guess number {i}", ctx), ctx

        U.authenticate = held_authenticate
        try:
            with ThreadPoolExecutor(100) as ex:
                first = [ex.submit(attempt, i) for i in range(19)]
                deadline = time.monotonic() + 30
                while len(checked) < 5 and time.monotonic() < deadline:
                    time.sleep(0.01)
                time.sleep(0.2)  # the other 14 of the first wave have arrived meanwhile
                rest = [ex.submit(attempt, i) for i in range(19, 100)]  # the right password is the 20th
                time.sleep(0.2)
                release.set()
                results = [f.result() for f in first + rest]
        finally:
            U.authenticate = real
        assert len(checked) <= 5, len(checked)  # the account's budget from one source, in flight included
        assert not any(ok for ok, _ in results)  # the right password at position 20 was never checked
        refused = [ctx for ok, ctx in results if ctx.refused is not None]
        assert len(refused) >= 95 and "too many failed sign-ins" in str(refused[0].refused)
        assert auth.check_login("ann", PW, LoginAttempt("10.0.0.7"))  # the real user, elsewhere: fine
        assert not auth.check_login("ann", PW, LoginAttempt("10.0.0.66"))  # the guessing source: still blocked
        auth.audit_log.flush()
        actions = [r.action for r in auth.audit_log.query(500)]
        assert actions.count("login.refused") <= 2  # one entry per block, not one per attempt of the flood
    finally:
        auth.close()


def test_source_budget_spans_accounts_and_backoff_doubles():
    clock = FakeClock()
    t = LoginThrottle(source_limit=6, account_limit=3, account_block_s=10, source_block_s=20, max_wait_s=0.2,
                      clock=clock)
    for name in ("a", "b", "c", "d", "e", "f"):
        t.end(t.begin(name, "x"), False)
    with pytest.raises(LoginRefused, match="from this address"):
        t.begin("new-name", "x")  # the source spent its budget, whatever account it tries
    t.end(t.begin("a", "y"), True)  # another source is not affected
    for _ in range(3):
        t.end(t.begin("z", "y"), False)
    with pytest.raises(LoginRefused) as exc:
        t.begin("z", "y")
    assert exc.value.retry_after_s == pytest.approx(10)
    clock.t += 10.5
    t.end(t.begin("z", "y"), False)  # after the block one more try, then twice as long
    with pytest.raises(LoginRefused) as exc:
        t.begin("z", "y")
    assert exc.value.retry_after_s == pytest.approx(20)
    clock.t += 20.5
    ticket = t.begin("z", "y")
    with pytest.raises(LoginRefused):
        t.begin("z", "y")  # after a block, attempts go one at a time (this one waited 0.2 s for the other)
    t.end(ticket, True)
    t.end(t.begin("z", "y"), False)  # a success cleared the pair
    clock.t += 2000
    t.end(t.begin("new-name", "x"), True)  # failures are forgotten after the window


def test_an_unknown_name_costs_one_password_check(store, monkeypatch):  # noqa: F811
    import core.auth.users as users_mod

    U.create_user(store, "ann", "member", PW)
    U.dummy_hash()
    calls = []
    real = users_mod.verify_password
    monkeypatch.setattr(users_mod, "verify_password", lambda pw, stored: calls.append(stored) or real(pw, stored))
    for name in ("ann", "nobody", "not a valid name!"):
        calls.clear()
        assert U.authenticate(store, name, "wrong password 1") is None
        assert len(calls) == 1 and calls[0] and calls[0].startswith("scrypt$"), name


def test_people_signing_in_at_once_are_served_one_after_the_other():
    t = LoginThrottle(account_limit=3)
    tickets = [t.begin("class", "nat") for _ in range(3)]
    got = []
    waiter = threading.Thread(target=lambda: got.append(t.begin("class", "nat")))
    waiter.start()
    time.sleep(0.2)
    assert not got  # waits for the three in flight
    t.end(tickets[0], True)
    waiter.join(5)
    assert got  # a success released the budget
    for ticket in (*tickets[1:], got[0]):
        t.end(ticket, True)
