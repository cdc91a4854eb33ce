"""Shared fixtures: environment for headless runs, a free port, a running app, a headless browser."""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MUJOCO_GL", "egl")

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except Exception as exc:  # not up yet
            last = exc
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout}s: {last}")


def api_status(base: str) -> dict:
    with urllib.request.urlopen(base + "/api/status", timeout=5) as r:
        return json.loads(r.read())


@contextmanager
def running_app(tmp_path: Path, *args: str):
    """`python app.py ARGS` in a subprocess with its folders under `tmp_path`; yields the base URL."""
    from bench.common import app_process

    with app_process(*args, folder=tmp_path, start_timeout=180) as (base, _):  # generous: CI may be busy
        yield base


@pytest.fixture
def app_server(tmp_path):
    """The app without a model; yields the base URL."""
    with running_app(tmp_path, "--no-model") as base:
        yield base


@pytest.fixture
def app_tiny_model(tmp_path):
    """The app with a tiny random Gemma-3 VLM (the real class) as its model; yields the base URL."""
    from tests.model_fixtures import tiny_gemma3

    with running_app(tmp_path, "--model", str(tiny_gemma3(tmp_path / "tiny"))) as base:
        yield base


@pytest.fixture
def browser():
    """Debian's headless chromium driven by Playwright; skipped with a reason when absent."""
    exe = shutil.which("chromium")
    if exe is None:
        pytest.skip("Debian's chromium is not installed (scripts/setup.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=exe,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                  "--no-first-run", "--disable-component-update", "--disable-sync"],
        )
        try:
            yield b
        finally:
            b.close()


def open_teleop_page(browser, base: str, height: int = 1100):
    """The app's page in a new browser tab, with the cameras streaming and the teleop script ready."""
    page = browser.new_page(viewport={"width": 1400, "height": height})
    page.goto(base + "/")
    page.wait_for_selector("#cam-front", timeout=60_000)
    page.wait_for_function("() => window.vlmTeleop !== undefined", timeout=30_000)
    return page


def start_recording_with_keys(page, instruction: str) -> None:
    """Type the instruction, focus the camera view and press N (start recording)."""
    page.get_by_label("Instruction for the recording").fill(instruction)
    time.sleep(0.8)  # the change event reaches the server
    page.click("#cameras")
    page.keyboard.press("n")
