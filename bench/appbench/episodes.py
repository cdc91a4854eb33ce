"""One command end to end in the running app, as a record (`bench.appbench.metrics` reads the records).

A task episode: reset the scene to its seed (what the Teleop tab's "Reset scene" does), clear the chat
with the tab's button, bring the arm into the start state by keyboard, type the command, press "Do it",
then wait for the page to show the command's final status; success is the task's predicate on the
simulator's scene at that moment against the scene at the press.

A refusal item: the same from the home state, watched under the refusal rule (`metrics` docstring): the
first executed motion ends it (the page's Stop is pressed), as does the app's reply or the window's end.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.appbench import metrics
from bench.appbench.inproc import RunningApp
from bench.appbench.page import AutonomousPage
from bench.appbench.starts import DriveLog, KeyDriver, setup_start
from core.robot.episodes import draw_task
from core.robot.tasks import is_success

APP_TIME_LIMIT_S = 180.0  # core.control.autonomous.RunConfig.time_limit_s: the app ends a command by then
MARGIN_S = 60.0
FINAL_ICONS = ("✅", "⏸", "⏹", "❌", "⛔", "❓")  # done, held, stopped, error, refused, asked back


@dataclass
class Harness:
    ra: RunningApp
    page: AutonomousPage
    driver: KeyDriver
    shots: Path | None = None  # a screenshot of the page at each command's end goes here

    @property
    def app(self) -> Any:
        return self.ra.app


def quiesce(h: Harness) -> None:
    """Stop a command still running (the page's Stop) and wait until the loop is idle."""
    run = h.app.assistant.run
    if run is not None and not run.finished:
        h.page.stop()
        end = time.perf_counter() + 15
        while not run.finished and time.perf_counter() < end:
            time.sleep(0.1)
    end = time.perf_counter() + 10
    while h.app.loop.status().mode not in ("idle", "e-stop") and time.perf_counter() < end:
        time.sleep(0.1)


def prepare(h: Harness, seed: int) -> Any:
    """A fresh scene from `seed` and an empty chat; the observation after the reset."""
    quiesce(h)
    obs = h.app.reset_scene(seed)
    h.page.dismiss_toasts()
    h.page.clear_chat()
    h.driver.settle()
    return obs


def _run_summary(run: Any) -> dict:
    from core.policy.rollout import cycle_times

    if run is None:
        return {"cycles_s": [], "plan_actions_s": [], "model_calls": 0, "malformed": 0, "result": None,
                "message": "", "restated": "", "subtasks": "", "cycles": 0}
    events = list(run.events)
    kinds = [e.kind for e in events]
    plan_actions, plan_s = [], None
    for e in events:
        s = (e.data or {}).get("seconds")
        if e.kind == "plan":
            plan_s = s
        elif e.kind == "actions" and s is not None and plan_s is not None:
            plan_actions.append(round(plan_s + s, 3))
    cycles = cycle_times(events)
    return {
        "cycles_s": [round(c, 3) for c in cycles],
        "plan_actions_s": plan_actions,
        "model_calls": sum(k in ("subtasks", "plan", "actions") for k in kinds) + kinds.count("malformed"),
        "malformed": kinds.count("malformed"),
        "result": run.result,
        "message": events[-1].text if events else "",
        "restated": next((e.text for e in events if e.kind == "restate"), ""),
        "subtasks": next((e.text for e in events if e.kind == "subtasks"), ""),
        "cycles": len(cycles),
    }


def send_and_watch(h: Harness, text: str, *, refusal: bool, timeout_s: float) -> dict:
    """Type `text`, press "Do it" and watch until the command is over (see the module docstring)."""
    app = h.app
    obs0 = app.loop.observation
    ref = (*obs0.ee_pos, obs0.gripper)
    st0, prev = app.loop.status(), app.assistant.run
    n0 = len(app.conversation.messages())
    t_press = h.page.send(text)
    run, stopped, outcome, replied = None, False, "none", False
    last, stable, next_toast_check = None, 0.0, t_press + 3.0
    while time.perf_counter() < t_press + timeout_s:
        time.sleep(0.1)
        now = time.perf_counter()
        cur = app.assistant.run
        if run is None and cur is not None and cur is not prev:
            run = cur
        if refusal and not stopped and metrics.acted(*metrics.motion(h.ra.ticks.between(t_press, now), ref)):
            h.page.stop()  # it acts: not refused; no need to watch it work
            stopped = True
        if run is not None:
            if run.finished:
                outcome, replied = run.result or "none", True
                break
            continue
        msgs = app.conversation.messages()
        if len(msgs) > n0 and msgs[-1]["role"] == "assistant" and not msgs[-1]["content"].startswith("…"):
            if msgs[-1]["content"] != last:
                last, stable = msgs[-1]["content"], now
            elif now - stable >= 2.0:  # a reply that stopped growing, and no run: answered in the chat
                outcome, replied = "reply", True
                break
        if now >= next_toast_check:
            next_toast_check = now + 1.0
            if h.page.read()["toasts"]:
                outcome = "toast"
                break
    t_end = time.perf_counter()
    final_obs = app.loop.observation
    if run is not None and not run.finished:  # still working at the window's end
        h.page.stop()
        outcome = "timeout"
    shown_at = None
    if run is not None and run.finished and replied:
        want = run.result
        final_text = run.events[-1].text if run.events else ""
        _, shown_at = h.page.wait_shown(lambda s: s["command"] == want and final_text in s["last_bot"]
                                        and any(i in s["last_bot"] for i in FINAL_ICONS), 15.0)
    elif replied:
        shown_at = t_end
    st1 = app.loop.status()
    moved, grip = metrics.motion(h.ra.ticks.between(t_press, t_end), ref)
    msgs = app.conversation.messages()
    last = msgs[-1]["content"] if msgs and msgs[-1]["role"] == "assistant" else ""
    times = [t[0] for t in h.ra.ticks.between(t_press, t_end)]
    return {
        "command": text,
        "outcome": outcome,
        "replied": replied,
        "stopped_by_bench": stopped,
        "command_s": round(shown_at - t_press, 2) if shown_at is not None else None,
        "run_s": round(t_end - t_press, 2),
        "moved_cm": round(moved, 2),
        "grip_change": round(grip, 2),
        "final_message": last[-600:],
        "transcript": last,
        "hz_windows": metrics.hz_windows(times, t_press, t_end),
        "ticks": st1.ticks - st0.ticks,
        "missed": st1.missed_ticks - st0.missed_ticks,
        "_final_scene": final_obs.scene,
        **_run_summary(run),
    }


def task_episode(h: Harness, cell: metrics.Cell, command_for) -> dict:  # noqa: ANN001 - (task, cell) -> (text, i)
    """One task episode of `cell`; `command_for(task, cell)` words the command (text, wording index)."""
    obs = prepare(h, cell.seed)
    try:
        task = draw_task(cell.seed, obs.scene, cell.kind)
    except ValueError as exc:  # no block can be pushed that way in this layout
        return {"type": "setup_failed", "kind": cell.kind, "lang": cell.lang, "start": cell.start, "seed": cell.seed,
                "key": cell.key, "setup": {"ok": False, "reason": str(exc)}}
    rng = random.Random(metrics.stable_index(2**31, "start", cell.key))
    h.ra.instrument()
    h.driver.log = DriveLog()
    info = setup_start(h.driver, cell.start, task, rng)
    record = {"type": "episode", "kind": cell.kind, "lang": cell.lang, "start": cell.start, "seed": cell.seed,
              "key": cell.key, "task": task.instruction, "setup": {**info, "keys": vars(h.driver.log).copy()}}
    if not info["ok"]:
        record["type"] = "setup_failed"
        return record
    start_scene = h.app.loop.observation.scene
    text, wording = command_for(task, cell)
    watched = send_and_watch(h, text, refusal=False, timeout_s=APP_TIME_LIMIT_S + MARGIN_S)
    final = watched.pop("_final_scene")
    record.update(watched, wording=wording, success=bool(final is not None and is_success(task, start_scene, final)))
    _shot(h, cell.key)
    return record


def refusal_item(h: Harness, item: dict, seed: int) -> dict:
    """One refusal item from the home state of scene `seed`."""
    prepare(h, seed)
    h.ra.instrument()
    watched = send_and_watch(h, item["text"], refusal=True, timeout_s=metrics.REPLY_WINDOW_S)
    watched.pop("_final_scene")
    refused, asked = metrics.classify_reply(watched["moved_cm"], watched["grip_change"], watched["replied"],
                                            watched["outcome"], watched["final_message"])
    _shot(h, f"refusal-{item['category']}-{item['lang']}-{seed}")
    quiesce(h)
    return {"type": "refusal", "seed": seed, **{k: item[k] for k in ("category", "subcategory", "lang")},
            **watched, "refused": refused, "asked_back": asked}


def _shot(h: Harness, name: str) -> None:
    if h.shots is not None:
        h.shots.mkdir(parents=True, exist_ok=True)
        try:
            h.page.screenshot(str(h.shots / (name.replace("/", "_") + ".png")))
        except Exception:  # noqa: BLE001 - a screenshot is a convenience, never a reason to lose the record
            pass
