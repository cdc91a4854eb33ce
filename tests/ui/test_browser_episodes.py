"""Real browser: record a short episode with keys, then find it in the Episodes tab with a playable
video, its plot and its language timeline; a timeline entry seeks the video."""

from __future__ import annotations

import time

import pytest

from tests.conftest import api_status as status
from tests.conftest import open_teleop_page, start_recording_with_keys

pytestmark = pytest.mark.browser



def wait_status(base: str, key: str, value: str, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        st = status(base)
        if st[key] == value or time.monotonic() > deadline:
            return st
        time.sleep(0.1)


def test_recorded_episode_plays_in_the_episodes_tab(app_server, browser, tmp_path):
    base = app_server
    page = open_teleop_page(browser, base, 1300)
    # record: n, drive forward / left / down, close the gripper, save with y
    start_recording_with_keys(page, "move the gripper forward and down")
    assert wait_status(base, "recording", "recording")["recording"] == "recording"
    for key, secs in (("w", 0.7), ("a", 0.5), ("f", 0.5)):
        page.keyboard.down(key)
        time.sleep(secs)
        page.keyboard.up(key)
    page.keyboard.press("Space")
    time.sleep(0.6)
    page.keyboard.press("y")
    assert wait_status(base, "recording", "idle")["recording"] == "idle"

    # the Episodes tab lists it (auto refresh), a row click opens it
    page.get_by_role("tab", name="Episodes").click()
    # (the table also renders a hidden copy of each row to measure columns: take the visible one)
    row = page.locator("#episodes-table >> text=move the gripper forward and down >> visible=true").first
    row.wait_for(timeout=15_000)
    row.click()

    page.wait_for_selector("#episode-video video", timeout=15_000)
    page.wait_for_function(
        "() => { const v = document.querySelector('#episode-video video');"
        " return v && v.readyState >= 2 && v.duration > 0; }",
        timeout=20_000,
    )
    video = page.evaluate(
        "() => { const v = document.querySelector('#episode-video video');"
        " return {ready: v.readyState, duration: v.duration, w: v.videoWidth, src: v.currentSrc}; }"
    )
    assert video["ready"] >= 2 and video["duration"] > 0.5 and video["w"] > 0, video
    assert page.locator(".episode-video video").count() == 2  # front and wrist cameras

    # the timeline: at least one subtask, with its plan and clickable entries
    page.wait_for_selector("#episode-timeline .tl-sub", timeout=10_000)
    assert page.locator("#episode-timeline .tl-sub").count() >= 1
    assert "Plan:" in page.locator("#episode-timeline .tl-plan").first.inner_text()
    chunks = page.locator("#episode-timeline .tl-chunk[data-seek]")
    assert chunks.count() >= 2
    last = chunks.nth(chunks.count() - 1)
    target = float(last.get_attribute("data-seek"))
    last.click()
    page.wait_for_function(
        f"() => Math.abs(document.querySelector('#episode-video video').currentTime - {target}) < 0.05",
        timeout=5_000,
    )
    assert "v1" in page.locator("#episode-version").inner_text()  # stored when the episode was saved


    # correct the first subtask: saved as version 2, shown in the timeline
    page.get_by_label("Subtask text").fill("reach forward and down")
    page.get_by_role("button", name="Save correction (new version)").click()
    page.wait_for_function("() => document.querySelector('#episode-version').innerText.includes('v2')",
                           timeout=10_000)
    assert "reach forward and down" in page.locator("#episode-timeline .tl-sub").first.inner_text()

    # replay the language on a separate simulator: an end-effector error is reported
    page.locator("#episode-replay").click()
    result = page.locator("#episode-replay-result")
    page.wait_for_function(
        "() => document.querySelector('#episode-replay-result').innerText.includes('End-effector error')",
        timeout=30_000,
    )
    assert "success: n/a" in result.inner_text()  # a free-form instruction, not one of the sim's tasks

    page.locator("#episode-timeline").scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "episodes.png"), full_page=True)

    # delete takes two steps; the list empties
    page.get_by_role("button", name="Delete…").click()
    page.locator("#episodes-confirm-delete").wait_for(timeout=5_000)
    page.locator("#episodes-confirm-delete").click()
    page.wait_for_function("() => document.body.innerText.includes('0 episode(s)')", timeout=10_000)
