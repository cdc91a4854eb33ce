"""Real browser with accounts: the login page, the banner, the control panel as the operator and as a
visitor, and the page's own heartbeat keeping (then, when the tab closes, releasing) control."""

from __future__ import annotations

import os
import time

import httpx
import pytest

from tests.ui.test_auth_api import PASSWORDS, lab  # noqa: F401 - the module-scoped app with accounts

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("VLM2VLA_SCREENSHOTS")  # a folder to keep the screenshots in (optional)


def shot(page, tmp_path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=False)
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=False)


def sign_in(browser, base: str, name: str):
    ctx = browser.new_context(viewport={"width": 1400, "height": 950})
    page = ctx.new_page()
    page.goto(base + "/")
    page.get_by_label("username").fill(name)
    page.get_by_label("password").fill(PASSWORDS[name])
    page.get_by_role("button", name="Login").click()
    page.wait_for_selector("#control-owner", timeout=60_000)
    return ctx, page


def control(base: str) -> dict:
    with httpx.Client(base_url=base, timeout=10) as c:
        c.post("/login", data={"username": "root", "password": PASSWORDS["root"]})
        return c.get("/api/control").json()


def test_login_page_banner_and_control_panel(lab, browser, tmp_path):  # noqa: F811
    base, _ = lab
    page = browser.new_page(viewport={"width": 1400, "height": 950})
    page.goto(base + "/")
    page.get_by_label("username").wait_for(timeout=60_000)
    shot(page, tmp_path, "login")
    page.close()

    ann_ctx, ann = sign_in(browser, base, "ann")
    ann.wait_for_function("() => document.body.innerText.includes('Signed in as ann')", timeout=30_000)
    ann.locator("#control-take").click()
    ann.wait_for_function("() => (document.querySelector('#control-owner') || {innerText: ''}).innerText.includes('you are')",
                          timeout=15_000)
    assert control(base)["holder"] == "ann"
    ann.locator("#control-floor").click()
    ann.wait_for_function("() => (document.querySelector('#control-owner') || {innerText: ''}).innerText.includes('floor open')",
                          timeout=15_000)
    shot(ann, tmp_path, "operator")

    vic_ctx, vic = sign_in(browser, base, "vic")
    vic.wait_for_function("() => (document.querySelector('#control-owner') || {innerText: ''}).innerText.includes('ann')", timeout=15_000)
    assert not vic.locator("#control-take").is_visible() and not vic.locator("#control-request").is_visible()
    vic.get_by_role("button", name="● Record").click()
    vic.wait_for_function("() => document.body.innerText.includes('may not record')", timeout=15_000)
    shot(vic, tmp_path, "visitor")
    vic_ctx.close()

    time.sleep(3.0)  # longer than the lock's time-to-live: ann's page heartbeats keep it
    assert control(base)["holder"] == "ann"
    ann_ctx.close()  # the tab goes away: control is released by itself
    deadline = time.monotonic() + 6
    while control(base)["holder"] is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert control(base)["holder"] is None


def test_open_lab_says_so(app_server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 950})
    page.goto(app_server + "/")
    page.wait_for_function("() => document.body.innerText.includes('Open lab')", timeout=60_000)
    assert "python -m core.auth create-user" in page.locator("#access-banner").inner_text()
    page.wait_for_function("() => (document.querySelector('#control-owner') || {innerText: ''}).innerText.includes('no control lock')",
                           timeout=15_000)
    shot(page, tmp_path, "open-lab")
