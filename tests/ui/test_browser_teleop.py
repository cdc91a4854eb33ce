"""Real browser: open the app in headless chromium, drive with the keyboard, e-stop with Esc."""

from __future__ import annotations

import time

import pytest

from tests.conftest import api_status as status
from tests.conftest import open_teleop_page

pytestmark = pytest.mark.browser



def hold(page, key: str, seconds: float) -> None:
    page.keyboard.down(key)
    time.sleep(seconds)
    page.keyboard.up(key)
    time.sleep(0.3)


def test_keyboard_drives_the_arm_the_right_way_and_esc_stops(app_server, browser, tmp_path):
    base = app_server
    page = open_teleop_page(browser, base, 900)
    page.click("#cameras")
    x0, y0, z0 = status(base)["ee_pos"]

    hold(page, "w", 0.8)  # forward = +x
    x1, y1, z1 = status(base)["ee_pos"]
    assert x1 > x0 + 0.03 and abs(y1 - y0) < 0.01

    hold(page, "a", 0.8)  # left = +y
    x2, y2, z2 = status(base)["ee_pos"]
    assert y2 > y1 + 0.03 and abs(x2 - x1) < 0.01

    hold(page, "f", 0.5)  # down = -z
    assert status(base)["ee_pos"][2] < z2 - 0.02

    page.keyboard.press("Space")  # close the gripper
    time.sleep(1.0)
    assert status(base)["gripper"] < 0.3

    page.screenshot(path=str(tmp_path / "teleop.png"))
    page.keyboard.press("Escape")
    time.sleep(0.3)
    st = status(base)
    assert st["estop"] and st["mode"] == "e-stop"
    before = st["ee_pos"]
    hold(page, "s", 0.6)  # ignored while e-stopped
    assert abs(status(base)["ee_pos"][0] - before[0]) < 0.005
    assert page.locator("text=E-STOP").count() >= 1
