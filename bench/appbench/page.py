"""The headless chromium page, open on the Autonomous tab for the whole run: commands are typed in the chat
box and sent with the tab's own buttons, the arm is driven with the page's keyboard handler (its teleop
script posts to the app's teleop route), and what the page shows is read from its DOM.

Chromium is Debian's (`apt-get install chromium`), driven by Playwright (no browser download).
"""

from __future__ import annotations

import shutil
import time
from contextlib import contextmanager
from typing import Any

BOX = "Ask about the scene or tell the robot what to do…"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]

# the visible tab panel's chat and status line (Gradio 6: hidden tabs are display:none)
READ_JS = """() => {
  const panel = [...document.querySelectorAll('.tabitem')].find(p => getComputedStyle(p).display !== 'none');
  if (!panel) return null;
  const text = panel.innerText;
  const m = text.match(/\\bCommand:\\s*([^\\n]+)/);
  const bots = [...panel.querySelectorAll('[data-testid="bot"]')];
  const users = [...panel.querySelectorAll('[data-testid="user"]')];
  const toasts = [...document.querySelectorAll('[data-testid="toast-body"].error')].map(t => t.innerText.trim())
    .filter(t => t);
  return {command: m ? m[1].trim() : null, n_bot: bots.length, n_user: users.length,
          last_bot: bots.length ? bots[bots.length - 1].innerText : '', toasts: toasts};
}"""


@contextmanager
def chromium():
    """A headless Debian chromium under Playwright; RuntimeError with the reason when it is absent."""
    exe = shutil.which("chromium")
    if exe is None:
        raise RuntimeError("Debian's chromium is not installed (bash scripts/setup.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class AutonomousPage:
    """One page of the app on the Autonomous tab."""

    def __init__(self, browser: Any, base: str, width: int = 1400, height: int = 1000) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.base = base

    def open(self, timeout_s: float = 900.0) -> None:
        """Load the page, select the Autonomous tab, wait for the model line and the teleop script."""
        pg = self.page
        pg.goto(self.base + "/")
        pg.get_by_role("tab", name="Autonomous").click()
        pg.wait_for_function("() => document.body.innerText.includes('loaded in')", timeout=timeout_s * 1000)
        pg.wait_for_function("() => window.vlmTeleop !== undefined", timeout=60_000)
        pg.locator("#cam-front >> visible=true").wait_for(timeout=30_000)

    # ---- reading ---------------------------------------------------------------------------------
    def read(self) -> dict:
        return self.page.evaluate(READ_JS) or {"command": None, "n_bot": 0, "n_user": 0, "last_bot": "",
                                               "toasts": []}

    def wait_shown(self, predicate, timeout_s: float, poll_s: float = 0.1) -> tuple[dict, float | None]:
        """Poll `read()` until `predicate(state)`; (last state, perf_counter when it held or None)."""
        deadline = time.perf_counter() + timeout_s
        while True:
            st = self.read()
            if predicate(st):
                return st, time.perf_counter()
            if time.perf_counter() > deadline:
                return st, None
            time.sleep(poll_s)

    def screenshot(self, path: str) -> None:
        self.page.screenshot(path=path)

    # ---- the tab's buttons ------------------------------------------------------------------------
    def dismiss_toasts(self) -> None:
        """Close the error pop-ups an earlier command left (each toast's own close button)."""
        for btn in self.page.locator('[data-testid="toast-close"]').all():
            try:
                btn.click(timeout=2000)
            except Exception:  # noqa: BLE001 - it closed by itself meanwhile
                pass

    def clear_chat(self) -> None:
        self.page.get_by_role("button", name="Clear chat").click()
        self.wait_shown(lambda s: s["n_bot"] == 0 and s["n_user"] == 0, 5.0)

    def send(self, text: str, button: str = "Do it") -> float:
        """Type `text` in the chat box and press `button`; the perf_counter time of the press."""
        self.page.get_by_placeholder(BOX).fill(text)
        btn = self.page.get_by_role("button", name=button, exact=True)
        t = time.perf_counter()
        btn.click()
        return t

    def stop(self) -> None:
        self.page.get_by_role("button", name="Stop", exact=True).click()

    # ---- the keyboard (the page's teleop script) ---------------------------------------------------
    def focus_cameras(self) -> None:
        """Click the camera view, as the README says, so that keys drive the arm (not a text box)."""
        self.page.locator("#cameras >> visible=true").click()

    def key_down(self, key: str) -> None:
        self.page.keyboard.down(key)

    def key_up(self, key: str) -> None:
        self.page.keyboard.up(key)

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)

    def close(self) -> None:
        self.page.close()
