"""ui/static/teleop.js in real headless chromium: keys, pad and synthetic WebHID reports -> posted events.

A minimal page is served by http.server on 127.0.0.1; its /api/teleop/input stub passes every post
through the real `BrowserTeleop.submit`, so the JS and the Python validator are checked together.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from core.teleop import BrowserTeleop, TeleopInputError
from core.types import Twist

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip("Debian chromium is not installed (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")

STATIC = Path(__file__).resolve().parents[2] / "ui" / "static"

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>teleop test</title>
<script>window.VLM_TELEOP_CONFIG = {heartbeatMs: 400};</script>
<script src="/static/teleop.js"></script><script src="/static/teleop_pad.js"></script></head>
<body><input id="text" type="text"><textarea id="area"></textarea>
<div id="teleop-pad"></div><button id="webhid-connect">Connect SpaceMouse (browser)</button>
<div id="teleop-status"></div></body></html>"""


class Backend:
    """What the app's route would do, plus a record of every post."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.events: list[dict[str, Any]] = []
            self.errors: list[str] = []
            self.records = 0
            self.teleop = BrowserTeleop(on_record=self._record)

    def _record(self) -> None:
        self.records += 1

    def post(self, body: bytes) -> tuple[int, dict[str, Any]]:
        payload = json.loads(body)
        with self.lock:
            self.events.append(payload)
            teleop = self.teleop
        try:
            return 200, teleop.submit(payload)
        except TeleopInputError as e:
            with self.lock:
                self.errors.append(str(e))
            return 422, {"detail": str(e)}

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.events)


def make_handler(backend: Backend) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

        def _send(self, code: int, body: bytes, ctype: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/":
                self._send(200, PAGE.encode(), "text/html; charset=utf-8")
            elif self.path in ("/static/teleop.js", "/static/teleop_pad.js"):
                self._send(200, (STATIC / self.path.rsplit("/", 1)[1]).read_bytes(), "text/javascript; charset=utf-8")
            else:
                self._send(404, b"not found", "text/plain")

        def do_POST(self) -> None:
            if self.path != "/api/teleop/input":
                self._send(404, b"not found", "text/plain")
                return
            n = int(self.headers.get("Content-Length", "0"))
            code, ack = backend.post(self.rfile.read(n))
            self._send(code, json.dumps(ack).encode(), "application/json")

    return Handler


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Backend]]:
    backend = Backend()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(backend))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", backend
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any, server: tuple[str, Backend]) -> Iterator[tuple[Any, Backend]]:
    url, backend = server
    backend.reset()
    pg = browser.new_page()
    pg.goto(url)
    pg.wait_for_function("() => window.vlmTeleop && document.querySelector('.vlm-pad')")
    try:
        yield pg, backend
    finally:
        pg.evaluate("() => window.vlmTeleop.stop()")
        pg.close()
        assert backend.errors == [], f"the page posted invalid events: {backend.errors}"


def wait_for(pred: Callable[[], Any], timeout: float = 3.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def last(backend: Backend, source: str) -> dict[str, Any] | None:
    evs = [e for e in backend.snapshot() if e["source"] == source]
    return evs[-1] if evs else None


def axes_of(backend: Backend, source: str) -> list[float] | None:
    e = last(backend, source)
    return None if e is None else e["axes"]


KEYS = {
    "KeyW": [1, 0, 0, 0, 0, 0],
    "KeyS": [-1, 0, 0, 0, 0, 0],
    "KeyA": [0, 1, 0, 0, 0, 0],
    "KeyD": [0, -1, 0, 0, 0, 0],
    "KeyR": [0, 0, 1, 0, 0, 0],
    "KeyF": [0, 0, -1, 0, 0, 0],
    "KeyQ": [0, 0, 0, 0, 0, 1],
    "KeyE": [0, 0, 0, 0, 0, -1],
    "ArrowUp": [1, 0, 0, 0, 0, 0],
    "ArrowLeft": [0, 1, 0, 0, 0, 0],
}
ZERO = [0, 0, 0, 0, 0, 0]


def test_held_key_is_resent_and_release_sends_zero(page: tuple[Any, Backend]) -> None:
    pg, backend = page
    pg.keyboard.down("KeyW")
    wait_for(lambda: axes_of(backend, "keyboard") == KEYS["KeyW"], what="W event")
    n0 = len([e for e in backend.snapshot() if e["source"] == "keyboard"])
    time.sleep(0.4)
    n1 = len([e for e in backend.snapshot() if e["source"] == "keyboard"])
    assert n1 - n0 >= 4, "a held key must be resent at ~20 Hz"
    assert backend.teleop.read() == Twist(dx=1.0)
    pg.keyboard.up("KeyW")
    wait_for(lambda: axes_of(backend, "keyboard") == ZERO, what="release event")
    assert backend.teleop.read() == Twist()
    seqs = [e["seq"] for e in backend.snapshot()]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_key_map(page: tuple[Any, Backend]) -> None:
    pg, backend = page
    for code, expected in KEYS.items():
        pg.keyboard.down(code)
        wait_for(lambda e=expected: axes_of(backend, "keyboard") == e, what=code)
        pg.keyboard.up(code)
        wait_for(lambda: axes_of(backend, "keyboard") == ZERO, what=f"{code} release")


def test_shift_is_slow_and_combined_keys_add(page: tuple[Any, Backend]) -> None:
    pg, backend = page
    pg.keyboard.down("KeyW")
    pg.keyboard.down("KeyA")
    wait_for(lambda: axes_of(backend, "keyboard") == [1, 1, 0, 0, 0, 0], what="W+A")
    pg.keyboard.down("Shift")
    wait_for(lambda: axes_of(backend, "keyboard") == [0.3, 0.3, 0, 0, 0, 0], what="slow")
    pg.keyboard.up("Shift")
    pg.keyboard.up("KeyW")
    pg.keyboard.up("KeyA")
    wait_for(lambda: axes_of(backend, "keyboard") == ZERO, what="release")


def test_typing_in_a_field_does_not_drive(page: tuple[Any, Backend]) -> None:
    pg, backend = page
    for sel in ("#text", "#area"):
        pg.click(sel)
        pg.keyboard.type("wasd qe rf ")
        assert pg.input_value(sel) == "wasd qe rf "
    time.sleep(0.2)
    assert all(e["axes"] == ZERO for e in backend.snapshot())
    assert all(e["gripper"] is None for e in backend.snapshot())


def test_space_toggles_gripper_once_per_press(page: tuple[Any, Backend]) -> None:
    pg, backend = page
    pg.click("body")
    pg.keyboard.press("Space")
    wait_for(lambda: any(e["gripper"] == 0 for e in backend.snapshot()), what="close")
    assert backend.teleop.read().gripper == 0.0
    # repeated in a few events, then null; the server turns it into one command
    wait_for(lambda: backend.snapshot()[-1]["gripper"] is None, what="gripper back to null")
    assert backend.teleop.read().gripper is None
    pg.keyboard.press("Space")
    wait_for(lambda: any(e["gripper"] == 1 for e in backend.snapshot()), what="open")
    assert backend.teleop.read().gripper == 1.0
    assert pg.evaluate("() => window.vlmTeleop.state().gripper") == 1


def test_idle_page_sends_heartbeats(page: tuple[Any, Backend]) -> None:
    _, backend = page
    time.sleep(1.0)
    evs = backend.snapshot()
    assert 2 <= len(evs) <= 5
    assert all(e["axes"] == ZERO for e in evs)
    assert backend.teleop.status().state == "connected"


def test_pad_press_and_hold(page: tuple[Any, Backend]) -> None:
    pg, backend = page
    buttons = pg.locator("#teleop-pad button")
    assert buttons.count() == 9
    fwd = pg.locator("#teleop-pad button[data-axis='0'][data-dir='1']")
    box = fwd.bounding_box()
    pg.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    pg.mouse.down()
    wait_for(lambda: axes_of(backend, "pad") == [1, 0, 0, 0, 0, 0], what="pad forward")
    assert "vlm-held" in (fwd.get_attribute("class") or "")
    time.sleep(0.3)
    assert backend.teleop.read().dx == 1.0  # still held: resent
    pg.mouse.up()
    wait_for(lambda: axes_of(backend, "pad") == ZERO, what="pad release")
    pg.locator("#teleop-pad button[data-gripper]").click()
    wait_for(lambda: any(e["gripper"] == 0 for e in backend.snapshot()), what="pad gripper")


HID_REPORT = """([id, bytes]) => {
  const dv = new DataView(new Uint8Array(bytes).buffer);
  window.vlmTeleop.handleHidReport(id, dv);
}"""


def int16le(*values: int) -> list[int]:
    out: list[int] = []
    for v in values:
        out += list(int(v).to_bytes(2, "little", signed=True))
    return out


def test_webhid_reports_map_to_robot_frame(page: tuple[Any, Backend]) -> None:
    pg, backend = page
    # translation report: +x right 100 counts, y -350 (pushed away from the user) -> forward, left-ish
    pg.evaluate(HID_REPORT, [1, int16le(100, -350, 0)])
    ev = wait_for(lambda: last(backend, "webhid"), what="webhid event")
    assert ev["axes"] == pytest.approx([1.0, -100 / 350, 0, 0, 0, 0])
    # rotation report: twisting counter-clockwise seen from above is -Rz in HID -> +yaw
    pg.evaluate(HID_REPORT, [2, int16le(0, 0, -175)])
    wait_for(lambda: axes_of(backend, "webhid") == pytest.approx([1.0, -100 / 350, 0, 0, 0, 0.5]),
             what="rotation")
    # newer models: rotation inside report 1 (bytes 6..11); lift (z negative = up) and tilt
    pg.evaluate(HID_REPORT, [1, int16le(0, 0, -700, 35, -70, 0)])
    wait_for(lambda: axes_of(backend, "webhid") == pytest.approx([0, 0, 1.0, 0.2, -0.1, 0]), what="report 1 x12")
    # no more reports: the page stops sending that motion within 250 ms
    wait_for(lambda: axes_of(backend, "webhid") == ZERO, timeout=1.0, what="stale HID zeroed")


def test_webhid_buttons_gripper_and_record(page: tuple[Any, Backend]) -> None:
    pg, backend = page
    pg.evaluate(HID_REPORT, [3, [0b01, 0]])  # left button down
    wait_for(lambda: any(e["gripper"] == 0 for e in backend.snapshot()), what="HID gripper")
    pg.evaluate(HID_REPORT, [3, [0b00, 0]])
    pg.evaluate(HID_REPORT, [3, [0b10, 0]])  # right button down
    wait_for(lambda: backend.records == 1, what="record callback")
    ev = last(backend, "webhid")
    assert ev is not None and ev["buttons"][:2] == [0, 1]
    pg.evaluate(HID_REPORT, [3, [0, 0]])
    wait_for(lambda: (last(backend, "webhid") or {}).get("buttons", [1])[:2] == [0, 0], what="buttons up")
    assert backend.records == 1


def test_page_going_silent_is_zeroed_by_server_watchdog(page: tuple[Any, Backend]) -> None:
    pg, backend = page
    pg.keyboard.down("KeyD")
    wait_for(lambda: backend.teleop.read() == Twist(dy=-1.0), what="moving")
    pg.evaluate("() => window.vlmTeleop.stop()")  # like a frozen tab: no more posts, no release
    time.sleep(0.35)
    assert backend.teleop.read() == Twist()
    pg.keyboard.up("KeyD")


def test_webhid_connect_without_webhid_support_reports_it(page: tuple[Any, Backend]) -> None:
    pg, _ = page
    pg.evaluate("() => { Object.defineProperty(navigator, 'hid', {value: undefined}); }")
    pg.click("#webhid-connect")
    status = pg.text_content("#teleop-status") or ""
    assert "WebHID not available" in status
