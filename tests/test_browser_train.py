"""Real browser: train a LoRA adapter from the Train tab (tiny real-class model, a few steps on simulated
expert demos), watch it finish, and activate the adapter on the running model."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, free_port, wait_http
from tests.model_fixtures import tiny_gemma3

pytestmark = pytest.mark.browser


@pytest.fixture
def app_tiny(tmp_path):
    model = tiny_gemma3(tmp_path / "tiny")
    port = free_port()
    log = open(tmp_path / "app.log", "w")
    env = dict(os.environ, VLM2VLA_RECORDINGS=str(tmp_path / "rec"), VLM2VLA_ADAPTERS_DIR=str(tmp_path / "adapters"),
               VLM2VLA_JOBS_DIR=str(tmp_path / "jobs"))
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--no-spacemouse", "--model", str(model)],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/api/status")
        yield base
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def test_train_and_activate(app_tiny, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    page.goto(app_tiny + "/")
    page.get_by_role("tab", name="Train").click()
    page.get_by_label("Job / adapter name").fill("tiny-demo")
    page.get_by_label("Plus scripted-expert demos (simulated)").fill("2")
    page.get_by_label("Max steps (0 = by epochs)").fill("3")
    page.get_by_label("Batch").fill("2")
    page.get_by_label("Grad. accumulation").fill("1")
    page.get_by_label("Scene-VQA retention check: scenes (0 = skip)").fill("0")
    page.get_by_role("button", name="Train").click()
    page.wait_for_function("() => /Job 1 · tiny-demo/.test(document.body.innerText)", timeout=30_000)
    page.wait_for_function("() => /Job 1 · tiny-demo · done/.test(document.body.innerText)", timeout=240_000)
    assert "step 3/3" in page.locator("body").inner_text()
    page.get_by_role("button", name="Refresh").last.click()
    page.get_by_label("Active adapter").click()
    page.get_by_role("option", name="tiny-demo").click()
    page.get_by_role("button", name="Activate").click()
    page.wait_for_function("() => document.body.innerText.includes('Active: tiny-demo')", timeout=30_000)
    page.screenshot(path=str(tmp_path / "train.png"), full_page=True)
