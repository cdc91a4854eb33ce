"""Real browser: train a LoRA adapter from the Train tab (tiny real-class model, a few steps on simulated
expert demos), watch it finish, and activate the adapter on the running model."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_train_and_activate(app_tiny_model, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    page.goto(app_tiny_model + "/")
    page.get_by_role("tab", name="Train").click()
    page.get_by_label("Job / adapter name").fill("tiny-demo")
    page.get_by_label("Plus scripted-expert demos (simulated)").fill("2")
    body = page.locator("body").inner_text()
    assert "Measured:" in body and "action parse rate" in body  # the CPU preset's outcome beside it
    assert page.get_by_label("Preset").input_value() == "cpu"  # no GPU here
    assert not page.get_by_label("Learning rate").is_visible()  # folded away
    page.get_by_text("Advanced settings").click()
    assert page.get_by_label("Learning rate").input_value() == "0.0004"
    page.get_by_label("Max steps (0 = by epochs)").fill("3")
    page.get_by_label("Batch").fill("2")
    page.get_by_label("Grad. accumulation").fill("1")
    page.get_by_label("Scene-VQA retention check: scenes (0 = skip)").fill("0")
    page.get_by_label("Servo corrections (simulated)").fill("3")  # without grounded servoing: refused, said why
    page.get_by_role("button", name="Train").click()
    page.wait_for_function("() => document.body.innerText.includes(\"tick 'Grounded servoing' too\")", timeout=30_000)
    page.get_by_label("Servo corrections (simulated)").fill("0")
    page.get_by_role("button", name="Train").click()
    page.wait_for_function("() => /Job 1 · tiny-demo/.test(document.body.innerText)", timeout=30_000)
    page.wait_for_function("() => /Job 1 · tiny-demo · done/.test(document.body.innerText)", timeout=240_000)
    # the progress panel is refreshed by its own timer: it reaches the last step a tick after the job list
    page.wait_for_function("() => document.body.innerText.includes('step 3/3')", timeout=30_000)
    page.get_by_role("button", name="Refresh").last.click()
    page.get_by_label("Active adapter").click()
    page.get_by_role("option", name="tiny-demo").click()
    page.get_by_role("button", name="Activate").click()
    page.wait_for_function("() => document.body.innerText.includes('Active: tiny-demo')", timeout=30_000)
    page.screenshot(path=str(tmp_path / "train.png"), full_page=True)
