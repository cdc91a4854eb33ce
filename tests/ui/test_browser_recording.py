"""Real browser: record an episode with keyboard shortcuts and see it verbalized on the Teleop tab."""

from __future__ import annotations

import time

import pytest

from tests.conftest import api_status as status
from tests.conftest import open_teleop_page, start_recording_with_keys

pytestmark = pytest.mark.browser



def test_record_with_keys_then_see_language(app_server, browser, tmp_path):
    base = app_server
    page = open_teleop_page(browser, base, 1100)
    start_recording_with_keys(page, "move the gripper forward and down")
    time.sleep(0.5)
    assert status(base)["recording"] == "recording"
    for key, secs in (("w", 0.8), ("f", 0.6)):
        page.keyboard.down(key)
        time.sleep(secs)
        page.keyboard.up(key)
    time.sleep(0.6)
    live = page.get_by_label("Live: this episode as language actions")
    assert "Actions: [[" in live.input_value()
    page.keyboard.press("y")
    time.sleep(1.5)
    st = status(base)
    assert st["recording"] == "idle"
    saved = page.get_by_label("Last saved episode, verbalized")
    page.wait_for_function(
        "() => [...document.querySelectorAll('textarea')].some(t => t.value.includes('Actions: [['))", timeout=10_000
    )
    text = saved.input_value()
    assert "Subtask:" in text and "Plan:" in text and "Actions: [[" in text
    assert "forward" in text  # the plan says which way the gripper moved
    page.screenshot(path=str(tmp_path / "recorded.png"), full_page=True)

    page.keyboard.press("y")  # nothing is recording: refused, the page says why, nothing breaks
    time.sleep(0.8)
    assert status(base)["recording"] == "idle"
