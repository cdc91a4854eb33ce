"""Real browser: a command typed in the Autonomous tab shows the model's language, then the robot does it.

The model is a tiny random Gemma-3 (the real class), so what it writes is arbitrary but always valid
action language; the test checks that what was written is what the robot executed."""

from __future__ import annotations

import time

import pytest

from core.language.parse import parse
from tests.conftest import api_status as status

pytestmark = pytest.mark.browser



def test_command_in_autonomous_tab(app_tiny_model, browser, tmp_path):
    base = app_tiny_model
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(base + "/")
    page.get_by_role("tab", name="Autonomous").click()
    page.wait_for_function("() => document.body.innerText.includes('loaded in')", timeout=60_000)
    before = status(base)
    box = page.get_by_placeholder("Ask about the scene or tell the robot what to do…")
    box.fill("pon el bloque rojo en el cuenco")
    page.get_by_role("button", name="Do it").click()
    page.wait_for_function("() => document.body.innerText.includes('Actions:')", timeout=60_000)
    assert status(base)["mode"] == "autonomous"
    text = page.locator(".message").last.inner_text()
    assert "Subtasks" in text and "Plan:" in text
    actions_line = next(line for line in text.splitlines() if line.startswith("Actions:"))
    chunks = parse(actions_line.removeprefix("Actions:").strip())
    page.wait_for_function("() => /judged by/.test(document.body.innerText)", timeout=60_000)
    after = status(base)
    moved = sum(abs(a - b) for a, b in zip(after["ee_pos"], before["ee_pos"])) * 100
    planned = sum(abs(c.dx) + abs(c.dy) + abs(c.dz) for c in chunks)
    grip_changed = abs(after["gripper"] - before["gripper"]) > 0.3
    assert (planned > 0.5 and moved > 0.3) or (chunks[-1].gripper == 0 and grip_changed) or (
        planned <= 0.5 and chunks[-1].gripper == 1), (chunks, before, after)
    page.screenshot(path=str(tmp_path / "autonomous.png"))
    page.get_by_role("button", name="Stop").click()
    deadline = time.monotonic() + 10
    while status(base)["mode"] == "autonomous" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert status(base)["mode"] != "autonomous"
