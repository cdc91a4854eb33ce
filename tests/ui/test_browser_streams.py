"""Real browser: a camera stream is open only while its picture is shown, and the app draws a camera only
while a stream of it is open (ui/static/streams.js, core/control/frames.py)."""

from __future__ import annotations

import time
import urllib.request

import pytest

from tests.conftest import api_status, open_teleop_page

pytestmark = pytest.mark.browser

LIVE = """() => [...document.querySelectorAll('img[data-stream]')]
  .filter(i => i.dataset.live === '1' && i.naturalWidth > 1).map(i => i.id)"""


def wait_until(fn, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_streams_follow_the_visible_tab(app_server, browser):
    base = app_server
    assert api_status(base)["drawn"] == ["front"]  # no page: only the primary camera is drawn
    with urllib.request.urlopen(base + "/frame/wrist.jpg", timeout=10) as r:  # drawn on demand for one fetch
        assert r.status == 200 and r.read(3) == b"\xff\xd8\xff"
    page = open_teleop_page(browser, base)
    assert wait_until(lambda: sorted(page.evaluate(LIVE)) == ["cam-front", "cam-wrist"])
    assert wait_until(lambda: api_status(base)["drawn"] == ["front", "wrist"])

    page.get_by_role("tab", name="Episodes").click()  # no camera on this tab: the streams close
    assert wait_until(lambda: api_status(base)["drawn"] == ["front"])
    assert page.evaluate(LIVE) == []

    page.get_by_role("tab", name="Presenter").click()  # the front camera only
    assert wait_until(lambda: page.evaluate(LIVE) == ["cam-front"])
    time.sleep(1.0)
    assert api_status(base)["drawn"] == ["front"]

    page.get_by_role("tab", name="Autonomous").click()
    assert wait_until(lambda: sorted(page.evaluate(LIVE)) == ["cam-front", "cam-wrist"])
    assert wait_until(lambda: api_status(base)["drawn"] == ["front", "wrist"])
    page.close()
    assert wait_until(lambda: api_status(base)["drawn"] == ["front"])
