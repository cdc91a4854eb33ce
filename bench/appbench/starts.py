"""Start states, reached the way a person reaches them: through the page's keyboard teleop.

- home: the scene as "Reset scene" leaves it (gripper open at the home pose);
- after_teleop: a seeded random pose in the workspace, driven to with the arrow-like keys (W/S, A/D, R/F,
  Shift for fine moves), then the gripper left open or closed (Space) at random;
- after_command: the scene an earlier command leaves: either a block held up (the task's own block or
  another one) or the task already done. The arm follows the scripted expert's waypoints
  (`core.control.expert.plan`) by keyboard; nothing is teleported.

The driver watches the gripper's place in the simulator (as a person watches the camera) and holds a
key until the arm is close enough, then taps with Shift for the last centimetres. A setup that does not
reach its state (a block slipped) is reported, not used.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from core.control.expert import plan
from core.control.starts import teleop_pose
from core.robot.heights import CRUISE_Z
from core.robot.tasks import BLOCK_HALF, BLOCKS, LIFT_HEIGHT, Task, is_success

KEYS = {0: ("KeyW", "KeyS"), 1: ("KeyA", "KeyD"), 2: ("KeyR", "KeyF")}  # (+, -) per axis x, y, z
FULL_SPEED = 0.20  # m/s at full deflection (core.control.safety.Limits.max_speed)
SLOW = 0.3  # the page's Shift factor (teleop.js slowFactor)
FINE_M = 0.035  # closer than this, drive with Shift held
OPEN, CLOSED = 0.9, 0.75  # opening above: open; below: closed (a held 5 cm block stops the fingers at ~0.55)


@dataclass
class DriveLog:
    key_presses: int = 0
    space_presses: int = 0
    space_ignored: int = 0  # Space pressed but the gripper did not change (pressed again)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


class KeyDriver:
    """Drives the arm to places with the page's keyboard handler, reading where it is from the app."""

    def __init__(self, page: Any, app: Any) -> None:
        self.page, self.app = page, app
        self.latency = 0.06  # s from key release to the arm stopping (adapted as it drives)
        self.log = DriveLog()

    def pos(self) -> tuple[float, float, float]:
        return self.app.loop.observation.ee_pos

    def opening(self) -> float:
        return self.app.loop.observation.gripper

    def settle(self, timeout: float = 1.5) -> None:
        end = time.perf_counter() + timeout
        last = self.pos()
        while time.perf_counter() < end:
            time.sleep(0.06)
            now = self.pos()
            if max(abs(a - b) for a, b in zip(now, last)) < 0.0005:
                return
            last = now

    def axis_to(self, axis: int, target: float, tol: float = 0.004, tries: int = 14) -> bool:
        kb = self.page
        for _ in range(tries):
            err = target - self.pos()[axis]
            if abs(err) <= tol:
                return True
            sign = 1.0 if err > 0 else -1.0
            fine = abs(err) < FINE_M
            speed = FULL_SPEED * (SLOW if fine else 1.0)
            key = KEYS[axis][0 if sign > 0 else 1]
            lead = speed * self.latency
            if fine:
                kb.key_down("Shift")
            kb.key_down(key)
            self.log.key_presses += 1
            t0 = time.perf_counter()
            limit = abs(err) / speed + 1.5
            while time.perf_counter() - t0 < limit:
                if (target - self.pos()[axis]) * sign <= lead + tol / 2:
                    break
                time.sleep(0.004)
            at_release = self.pos()[axis]
            kb.key_up(key)
            if fine:
                kb.key_up("Shift")
            self.settle()
            coast = abs(self.pos()[axis] - at_release)
            self.latency = min(0.15, max(0.02, 0.7 * self.latency + 0.3 * coast / speed))
        return abs(target - self.pos()[axis]) <= tol

    def move_to(self, goal: tuple[float, float, float], tol: float = 0.004) -> bool:
        """Going up: height first; otherwise across first, then down (as a person avoids the blocks)."""
        order = (2, 0, 1) if goal[2] > self.pos()[2] + 0.01 else (0, 1, 2)
        ok = True
        for axis in order:
            ok = self.axis_to(axis, goal[axis], tol) and ok
        return ok and max(abs(a - b) for a, b in zip(self.pos(), goal)) <= 1.5 * tol

    def gripper(self, want_open: bool, tries: int = 3) -> bool:
        """Space until the gripper is open (or closed); a press the app ignores is pressed again."""
        for _ in range(tries):
            if self._is(want_open):
                return True
            before = self.opening()
            self.page.press("Space")
            self.log.space_presses += 1
            end = time.perf_counter() + 1.5
            while time.perf_counter() < end and not self._is(want_open):
                time.sleep(0.05)
            time.sleep(0.4)  # the fingers settle on the block
            if abs(self.opening() - before) < 0.05:
                self.log.space_ignored += 1
                time.sleep(1.1)  # the page trusts the server's gripper state again after 1 s
        return self._is(want_open)

    def _is(self, want_open: bool) -> bool:
        g = self.opening()
        return g > OPEN if want_open else g < CLOSED


# ---- the start states (the teleop pose is core.control.starts', the one the closed-loop benchmarks use) ----
def other_block(task: Task, rng: random.Random) -> str:
    return rng.choice([b for b in BLOCKS if b not in (task.obj, task.target)])


def setup_start(driver: KeyDriver, start: str, task: Task, rng: random.Random) -> dict:
    """Bring the scene into `start` by keyboard; a description of what was done and whether it worked."""
    t0 = time.perf_counter()
    info: dict = {"start": start}
    scene = driver.app.loop.observation.scene
    if start == "home":
        info["ok"] = True
    elif start == "after_teleop":
        pose, closed = teleop_pose(rng, scene)
        driver.page.focus_cameras()
        reached = driver.move_to(pose, tol=0.006)
        grip = driver.gripper(not closed)
        info.update(pose_cm=[round(v * 100, 1) for v in pose], gripper="closed" if closed else "open",
                    ok=reached and grip)
    elif start == "after_command":
        variant = "done" if rng.random() < 0.5 else "held"
        block = task.obj if variant == "done" or rng.random() < 0.5 else other_block(task, rng)
        earlier = task if variant == "done" else Task("pick", block)
        driver.page.focus_cameras()
        ok = True
        for wp in plan(earlier, scene, CRUISE_Z):
            if wp.gripper < 0.5 and driver._is(True) and wp.pos[2] > 0.05:  # a push starts closed, up high
                ok = driver.gripper(False) and ok
            ok = driver.move_to(wp.pos) and ok
            ok = driver.gripper(wp.gripper > 0.5) and ok
        driver.settle()
        now = driver.app.loop.observation.scene
        if variant == "held":
            held = now.held == block and now.get(block).pos[2] >= BLOCK_HALF + LIFT_HEIGHT
            info.update(variant=f"holding the {block}", ok=held)
        else:
            info.update(variant=f"done: {earlier.instruction}", ok=is_success(earlier, scene, now))
        info["drove_ok"] = ok
    else:
        raise ValueError(f"unknown start state {start!r}")
    driver.settle()
    info["seconds"] = round(time.perf_counter() - t0, 1)
    return info
