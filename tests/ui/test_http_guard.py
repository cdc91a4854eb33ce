"""The request guard's rules without a server: which files Gradio may serve, which requests count as
cross-site, and the session cookies it sets (also behind https)."""

from __future__ import annotations

import os

from ui.file_guard import FilePolicy
from ui.http_auth import origin_refusal
from ui.http_guard import GuardSettings, RequestGuard
from ui.sessions import SessionRegistry


def test_file_policy(tmp_path):
    rec, cache, db_dir = tmp_path / "Rec", tmp_path / "cache", tmp_path / "Rec-db"
    for d in (rec / "ep1", cache / "abc", db_dir, rec / ".hidden"):
        d.mkdir(parents=True)
    db = db_dir / "studio.db"
    db.write_bytes(b"SQLite format 3\0")
    (rec / "ep1" / "front.mp4").write_bytes(b"v")
    (rec / "ep1" / "notes.txt").write_text("t")
    (rec / ".hidden" / "x.mp4").write_bytes(b"v")
    (cache / "abc" / "frame.webp").write_bytes(b"i")
    (rec / "link.mp4").symlink_to(db)
    (rec / "up.mp4").symlink_to(rec / "ep1" / "front.mp4")  # a link that stays inside is fine
    (rec / "dir.mp4").mkdir()
    os.link(db, rec / "hard.mp4")
    policy = FilePolicy.of([rec, cache], protected=lambda: [str(db)])
    assert policy.refusal(str(rec / "ep1" / "front.mp4")) is None
    assert policy.refusal(str(rec / "up.mp4")) is None
    assert policy.refusal(str(cache / "abc" / "frame.webp")) is None
    refused = {
        str(rec / "ep1" / "notes.txt"): "videos and images",
        str(rec / ".hidden" / "x.mp4"): "hidden",
        str(rec / "link.mp4"): "only the episodes",
        str(rec / "hard.mp4"): "database",
        str(rec / "dir.mp4"): "regular file",
        str(rec / "ep1" / "missing.mp4"): "no such file",
        str(db): "only the episodes",
        f"{rec}/../Rec-db/studio.db": "only the episodes",
        "/proc/self/fd/3": "system files",
        "/proc/self/root" + str(rec / "ep1" / "front.mp4"): "system files",
        "/dev/stdin": "system files",
        "/sys/kernel/hostname": "system files",
        "https://example.com/x.mp4": "remote",
        "": "no file",
        str(rec).lower() + "/ep1/front.mp4": "only the episodes",
    }
    for path, why in refused.items():
        got = policy.refusal(path)
        assert got is not None and why in got, (path, got)


def test_origin_refusal():
    host = {"host": "lab.example:7860"}
    assert origin_refusal(host) is None  # curl, scripts: no Origin
    assert origin_refusal({**host, "origin": "http://lab.example:7860"}) is None
    assert origin_refusal({**host, "origin": "https://proxy.example"}, frozenset({"proxy.example"})) is None
    for bad in ({"origin": "http://evil.example"}, {"origin": "null"}, {"origin": "http://lab.example:7861"},
                {"sec-fetch-site": "cross-site"}):
        assert origin_refusal({**host, **bad}), bad


class _Http:
    cookie_names = ("access-token-x", "access-token-unsecure-x")

    def __init__(self) -> None:
        self.sessions = SessionRegistry(max_age_s=3600, idle_s=600)
        self.tokens: list[str] = []

    def issued(self, token: str) -> str:
        self.tokens.append(token)
        return "ann"


GRADIO_COOKIES = [
    (b"set-cookie", b"access-token-x=TOKEN; HttpOnly; Path=/; SameSite=none; Secure"),
    (b"set-cookie", b"access-token-unsecure-x=TOKEN; HttpOnly; Path=/; SameSite=lax"),
    (b"set-cookie", b"other=1; Path=/"),
    (b"content-type", b"application/json"),
]


def test_login_cookies_get_an_expiry_and_samesite_lax():
    http = _Http()
    guard = RequestGuard(None, http=http, files=FilePolicy.of([]), settings=GuardSettings())  # type: ignore[arg-type]
    out = [(k, v.decode()) for k, v in guard._session_cookies(GRADIO_COOKIES)]
    cookies = [v for k, v in out if k == b"set-cookie"]
    assert cookies[0] == "access-token-x=TOKEN; HttpOnly; Path=/; Max-Age=3600; SameSite=Lax; Secure"
    assert cookies[1] == "access-token-unsecure-x=TOKEN; HttpOnly; Path=/; Max-Age=3600; SameSite=Lax"
    assert cookies[2] == "other=1; Path=/" and (b"content-type", "application/json") in out
    assert http.tokens == ["TOKEN", "TOKEN"]


def test_behind_https_only_the_secure_cookie_is_set():
    http = _Http()
    guard = RequestGuard(None, http=http, files=FilePolicy.of([]),  # type: ignore[arg-type]
                         settings=GuardSettings(secure_cookies=True))
    cookies = [v.decode() for k, v in guard._session_cookies(GRADIO_COOKIES) if k == b"set-cookie"]
    assert cookies == ["access-token-x=TOKEN; HttpOnly; Path=/; Max-Age=3600; SameSite=Lax; Secure", "other=1; Path=/"]


def test_sessions_expire(monkeypatch):
    now = [100.0]
    reg = SessionRegistry(max_age_s=100, idle_s=10, clock=lambda: now[0])
    reg.add("t", "ann")
    assert reg.check("t", "ann") is None
    assert reg.check("t", "bob") == "unknown sign-in"
    assert reg.check("other", "ann") == "unknown sign-in"
    for _ in range(4):
        now[0] += 9
        assert reg.check("t", "ann") is None  # active: kept
    now[0] += 9
    assert reg.check("t", "ann", touch=False) is None
    now[0] += 9.5
    assert "no request" in reg.check("t", "ann")
    reg.add("u", "ann")
    issued = now[0]
    while now[0] + 9 < issued + 100:
        now[0] += 9
        assert reg.check("u", "ann") is None  # active
    now[0] = issued + 100
    assert reg.check("u", "ann") == "signed in more than 100 s ago"  # too old, active or not
    monkeypatch.setenv("VLM2VLA_SESSION_MAX_S", "nonsense")
    assert SessionRegistry().max_age_s == 12 * 3600
