"""Roles enforced by the server, not the page: the app runs in a subprocess with accounts in its store,
and every call goes straight to /api/* or to Gradio's /gradio_api/call/<handler> with a user's cookie."""

from __future__ import annotations

import io
import json
import time
import zipfile
from contextlib import closing

import httpx
import pytest

from bench.common import app_process
from core.auth import users as U
from core.store import StoreConfig, open_store
from core.store import episodes as E

PASSWORDS = {"root": "root-password-1", "ann": "ann-password-1", "ben": "ben-password-1", "vic": "vic-password-1"}
ROLES = {"root": "admin", "ann": "member", "ben": "member", "vic": "visitor"}
TTL_S = 2.0
TAKEOVER_S = 1.0
PRESET = "quick"
ZIP = {"Content-Type": "application/zip"}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """The app with four accounts (admin, two members, a visitor); yields (base URL, recordings dir)."""
    tmp = tmp_path_factory.mktemp("lab")
    rec = tmp / "recordings"
    store = open_store(StoreConfig(recordings_dir=rec))
    for name, pw in PASSWORDS.items():
        U.create_user(store, name, ROLES[name], pw)
    store.close()
    env = {"VLM2VLA_CONTROL_TTL_S": str(TTL_S), "VLM2VLA_TAKEOVER_AFTER_S": str(TAKEOVER_S),
           "VLM2VLA_MAX_UPLOAD_MB": "1"}
    with app_process("--no-model", folder=tmp, env=env) as (base, _):
        yield base, rec


def client(base: str, name: str | None = None) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=30)
    if name is not None:
        r = c.post("/login", data={"username": name, "password": PASSWORDS[name]})
        assert r.status_code == 200, r.text
    return c


def gradio_call(c: httpx.Client, handler: str, data: list) -> tuple[str, object]:
    """Call a Gradio event handler directly: ('complete', output) or ('error', message)."""
    r = c.post(f"/gradio_api/call/{handler}", json={"data": data})
    if r.status_code != 200:
        return "http", r.status_code
    event_id = r.json()["event_id"]
    kind, payload = "", None
    with c.stream("GET", f"/gradio_api/call/{handler}/{event_id}") as s:
        for line in s.iter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and kind in ("complete", "error"):
                payload = json.loads(line.split(":", 1)[1])
                break
    if kind == "error":
        return "error", (payload or {}).get("error") if isinstance(payload, dict) else payload
    return kind, payload


def event(axes=(0, 0, 0, 0, 0, 0), gripper=None, seq=None) -> dict:
    return {"source": "keyboard", "axes": list(axes), "gripper": gripper, "buttons": [],
            "seq": seq if seq is not None else time.time_ns() // 1000}


def audit_actions(base: str) -> list[tuple[str, str | None, str | None]]:
    with closing(client(base, "ann")) as c:
        rows = c.get("/api/audit", params={"limit": 500}).json()["entries"]
    return [(r["action"], r["user"], r["target"]) for r in reversed(rows)]


def test_nothing_without_a_login(lab):
    base, rec = lab
    with closing(client(base)) as c:
        for path in ("/api/status", "/api/control", "/stream/front.mjpg", "/frame/front.jpg", "/gradio_api/info",
                     "/api/audit"):
            assert c.get(path).status_code == 401, path
        assert c.post("/api/teleop/input", json=event((1, 0, 0, 0, 0, 0))).status_code == 401
        assert c.post("/api/record/start", json={}).status_code == 401
        assert gradio_call(c, "do_estop", []) == ("http", 401)
        assert c.post("/login", data={"username": "ann", "password": "wrong password"}).status_code == 400
        page = c.get("/")
        assert page.status_code == 200  # the login page
    (rec / "probe.mp4").write_bytes(b"not really a video")
    with closing(client(base, "vic")) as c:  # the recordings' media are served to signed-in users, the database never
        assert c.get(f"/gradio_api/file={rec / 'probe.mp4'}").status_code == 200
        db = rec.parent / "recordings-db" / "studio.db"
        assert db.exists() and not (rec / "studio.db").exists()
        for path in (db, f"{db}-wal", rec / "studio.db"):
            assert c.get(f"/gradio_api/file={path}").status_code == 403, path


def test_visitor_is_refused_everything_but_watching_asking_and_estop(lab):
    base, _ = lab
    with closing(client(base, "vic")) as c:
        assert c.get("/api/status").status_code == 200
        assert c.get("/api/control").json()["role"] == "visitor"
        with c.stream("GET", "/stream/front.mjpg") as s:
            assert s.status_code == 200 and next(s.iter_bytes()).startswith(b"--frame")
        # /api routes
        assert c.post("/api/record/start", json={}).status_code == 403
        r = c.post("/api/teleop/input", json=event((1, 0, 0, 0, 0, 0)))
        assert r.status_code == 403 and "visitors cannot drive" in r.json()["error"]
        r = c.post("/api/teleop/input", json=event())  # a heartbeat: answered, not applied
        assert r.status_code == 200 and r.json()["applied"] is False
        assert c.post("/api/control/take", json={}).status_code == 403
        assert c.get("/api/audit").status_code == 403
        assert c.post("/api/adapters/upload", content=b"PK", headers=ZIP).status_code == 403
        # Gradio handlers called directly
        refused = {
            "do_record": ["put the red block in the bowl", "vic"], "save_success": [], "do_discard": [],
            "do_reset": [3], "do_task": ["put the red block in the bowl"], "do_reset_estop": [],
            "tag_episode": [1, "success"], "tag_episode_1": [None], "tag_selected": [[]], "do_delete": [], "ask_delete_one": [None],
            "do_export": [[], "exports", "x"], "do_instruction": [None, "x"], "do_replay": [None],
            "do_start": ["job", [], 1, PRESET, 5e-5, 1, 1, 4, 8, 1, 1, 1.0, "front", False, False, False, 0, 0, 4], "do_cancel": [1], "do_resume": [1],
            "do_activate": ["base model (no adapter)"], "do_apply": [0.1, 0.5, [], "x y z - - -", 1, 1, 1, 1, 1, 1], "do_clear": [],
            "run_3": ["put the red block in the bowl"],  # "Do it"
        }
        for handler, data in refused.items():
            kind, msg = gradio_call(c, handler, data)
            assert kind == "error", (handler, kind, msg)
            assert any(w in str(msg) for w in ("may not", "visitors", "floor")), (handler, msg)
        kind, msg = gradio_call(c, "run_2", ["what is left of the bowl?"])  # "Ask": allowed, no model here
        assert kind == "error" and "not ready" in str(msg)
        assert c.get("/api/status").json()["recording"] == "idle"
        kind, _ = gradio_call(c, "do_estop", [])  # anyone may stop the robot
        assert kind == "complete" and c.get("/api/status").json()["estop"]
    with closing(client(base, "ann")) as c:
        assert gradio_call(c, "do_reset_estop", [])[0] == "complete"
        c.post("/api/control/release", json={})
    assert ("estop", "vic", None) in audit_actions(base)


def test_control_lock_between_members_admin_takeover_and_floor(lab):
    base, rec = lab
    ann, ben, root, vic = (client(base, n) for n in ("ann", "ben", "root", "vic"))
    try:
        r = ann.post("/api/teleop/input", json=event((0.5, 0, 0, 0, 0, 0)))
        assert r.status_code == 200 and r.json()["applied"], r.text  # free: taken by moving
        assert ann.get("/api/status").json()["control"]["holder"] == "ann"
        r = ben.post("/api/teleop/input", json=event((0, 0.5, 0, 0, 0, 0)))
        assert r.status_code == 403 and "ann has control" in r.json()["error"]
        assert gradio_call(ben, "do_record", ["put the red block in the bowl", "ben"])[0] == "error"
        # the holder records through the page's handlers
        assert gradio_call(ann, "do_record", ["put the red block in the bowl", "someone else"])[0] == "complete"
        time.sleep(0.5)
        assert gradio_call(ann, "save_success", [])[0] == "complete"
        # a request, then a takeover once it went unanswered
        assert ben.post("/api/control/request", json={}).json()["requests"] == ["ben"]
        assert ben.post("/api/control/takeover", json={}).status_code == 403  # too early
        time.sleep(TAKEOVER_S + 0.2)
        ann.post("/api/teleop/input", json=event())  # ann's page is alive but did not answer
        assert ben.post("/api/control/takeover", json={}).json()["holder"] == "ben"
        assert ann.post("/api/teleop/input", json=event((0.5, 0, 0, 0, 0, 0))).status_code == 403
        # an admin takes over at once; the floor lets the visitor command
        assert root.post("/api/control/takeover", json={}).json()["holder"] == "root"
        kind, msg = gradio_call(vic, "run_3", ["put the red block in the bowl"])
        assert kind == "error" and "floor" in str(msg)
        assert root.post("/api/control/floor-open", json={}).json()["floor_open"]
        kind, msg = gradio_call(vic, "run_3", ["put the red block in the bowl"])
        assert kind == "error" and "not ready" in str(msg)  # allowed; this app has no model
        assert vic.post("/api/control/floor-open", json={}).status_code == 403
        # hand over to a requester, then release
        ann.post("/api/control/request", json={})
        assert root.post("/api/control/handover", json={}).json()["holder"] == "ann"
        assert not ann.get("/api/control").json()["floor_open"]  # the floor closes when control moves
        assert ann.post("/api/control/release", json={}).json()["holder"] is None
    finally:
        for c in (ann, ben, root, vic):
            c.close()
    rows = audit_actions(base)
    for expected in [("control.take", "ann", None), ("control.request", "ben", "from ann"),
                     ("control.takeover", "ben", "from ann"), ("control.takeover", "root", "from ben"),
                     ("control.floor_open", "root", None), ("control.hand_over", "ann", "from root"),
                     ("control.release", "ann", None)]:
        assert expected in rows, (expected, rows)
    starts = [r for r in rows if r[0] == "record.start"]
    saves = [r for r in rows if r[0] == "record.save"]
    assert starts and starts[-1][1] == "ann" and saves and saves[-1][1] == "ann"
    store = open_store(StoreConfig(recordings_dir=rec, migrate=False))
    try:  # the episode is credited to the signed-in account, not to the name typed in the box
        assert [ep.operator for ep in E.list_episodes(store)] == ["ann"]
    finally:
        store.close()


def test_control_is_released_when_the_holders_page_goes_silent(lab):
    base, _ = lab
    with closing(client(base, "ben")) as ben:
        ben.post("/api/control/take", json={})
        assert ben.get("/api/control").json()["holder"] == "ben"
        for _ in range(3):  # heartbeats keep it
            time.sleep(TTL_S / 2)
            ben.post("/api/teleop/input", json=event())
        assert ben.get("/api/control").json()["holder"] == "ben"
        deadline = time.monotonic() + TTL_S + 3
        while ben.get("/api/control").json()["holder"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert ben.get("/api/control").json()["holder"] is None
    assert ("control.expire", "ben", None) in audit_actions(base)


def _adapter_zip(extra: dict[str, bytes] | None = None) -> bytes:
    import torch
    from safetensors.torch import save as save_tensors

    weights = save_tensors({"base_model.model.q_proj.lora_A.weight": torch.zeros(2, 4),
                            "base_model.model.q_proj.lora_B.weight": torch.zeros(4, 2)})
    files = {"adapter_config.json": json.dumps({"peft_type": "LORA", "r": 2}).encode(),
             "adapter_model.safetensors": weights, **(extra or {})}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_adapter_upload_is_member_only_size_limited_and_safetensors_only(lab):
    base, _ = lab
    with closing(client(base, "ann")) as c:
        r = c.post("/api/adapters/upload", params={"name": "../../etc/passwd"}, content=_adapter_zip(), headers=ZIP)
        assert r.status_code == 200, r.text
        assert "/" not in r.json()["name"] and ".." not in r.json()["name"]
        r = c.post("/api/adapters/upload", content=_adapter_zip({"extra.bin": b"\x80\x04junk"}), headers=ZIP)
        assert r.status_code == 400 and "pickle" in r.json()["detail"]
        r = c.post("/api/adapters/upload", content=_adapter_zip({"../escape.json": b"{}"}), headers=ZIP)
        assert r.status_code == 400 and "refusing entry" in r.json()["detail"]
        r = c.post("/api/adapters/upload", content=b"not a zip at all", headers=ZIP)
        assert r.status_code == 400
        r = c.post("/api/adapters/upload", content=b"\0" * (1024 * 1024 + 10), headers=ZIP)
        assert r.status_code == 413
        r = c.post("/api/estop", json={}, headers={"Origin": "http://evil.example"})
        assert r.status_code == 403  # another site's page cannot post with the cookie
    rows = audit_actions(base)
    assert any(a == "adapter.import" and u == "ann" for a, u, _ in rows)
