"""Chat-plus-act: questions are answered from the live frame, commands run the closed loop; both write
into the shared conversation from background threads, so every viewer sees the same turns live.

A command the policy refuses ends its run at once with the reason in the chat (the robot never moves); one
that fits several blocks ends with a question ("Which block do you mean: red, green, blue or yellow?"), and
the next command typed right after it in the chat (no other turn between, chat not cleared) is its
answer: the run started for it completes the asked command (`AutonomousRun(pending=...)`)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from core.control.autonomous import AutoEvent, AutonomousRun, RunConfig
from core.control.loop import ControlLoop
from core.conversation import Conversation, looks_like_question
from core.policy.service import ModelNotReadyError, ModelService
from core.store.text import strip_controls

log = logging.getLogger(__name__)
CAMERA = "front"


class AssistantBusy(RuntimeError):
    """A command is already running (stop it first)."""


@dataclass
class Seen:
    """The frame the model looked at for the latest turn (shown beside the answer)."""

    image: Any = None
    caption: str = ""


def _seconds(e: AutoEvent) -> float | None:
    s = (e.data or {}).get("seconds")
    return float(s) if isinstance(s, (int, float)) else None


def _scripted(e: AutoEvent) -> str:
    """The line under a scripted step (prepare, restart) with the entries the loop executes, if any."""
    actions = (e.data or {}).get("actions")
    return f"\nActions: `{actions}`" if actions else ""


def format_run(events: list[AutoEvent], partial: str = "", state: str = "") -> str:
    """The assistant's message for a command: subtasks, then per cycle plan, actions and verdict; under
    each action list, how long the model took to write the plan and the list."""
    lines: list[str] = []
    plan_s: float | None = None
    for e in events:
        if e.kind == "restate":
            took = _seconds(e)
            lines.append("**In English**" + (f" · {took:.1f} s" if took is not None else "") + "\n" + e.text + "\n")
        elif e.kind == "subtasks":
            took = _seconds(e)
            lines.append("**Subtasks**" + (f" · {took:.1f} s" if took is not None else "") + "\n" + e.text)
        elif e.kind == "plan":
            plan_s = _seconds(e)
            lines.append(f"\n**{e.subtask}**\n" + (f"_{e.data['state']}_\n" if (e.data or {}).get("state") else "")
                         + f"Plan: {e.text}")
        elif e.kind == "actions":
            lines.append(f"Actions: `{e.text}`")
            took = [f"{name} {s:.1f} s" for name, s in (("plan", plan_s), ("actions", _seconds(e))) if s is not None]
            if took:
                lines.append(f"_model time: {' · '.join(took)}_")
        elif e.kind == "limit":
            lines.append(f"⛔ {e.text}")
        elif e.kind == "verify":
            lines.append(("✓ " if e.text.startswith("done") else "✗ ") + e.text)
        elif e.kind == "malformed":
            lines.append(f"⚠ unusable model output, retrying: {e.text}")
        elif e.kind in ("retry", "regrasp"):
            lines.append(f"↻ {e.text}")
        elif e.kind == "skip":
            lines.append(f"✓ {e.text}")
        elif e.kind == "restart":
            lines.append(f"↻ {e.text}" + _scripted(e))
        elif e.kind == "prepare":
            lines.append(f"\n**{e.subtask}**\n↳ {e.text}" + _scripted(e))
        elif e.kind in ("done", "hold", "cancelled", "error"):
            icon = {"done": "✅", "hold": "⏸", "cancelled": "⏹", "error": "❌"}[e.kind]
            lines.append(f"\n{icon} {e.text}")
        elif e.kind == "refuse":  # the message carries its own mark (⛔)
            lines.append(f"\n{e.text}")
        elif e.kind == "ask":
            lines.append(f"\n❓ {e.text}")
    if partial:
        lines.append(f"… {partial}")
    elif state and state not in ("success", "failed", "cancelled", "error", "refused", "asked"):
        lines.append(f"… {state}")
    return "\n".join(lines) if lines else "… starting"


class Assistant:
    def __init__(self, loop: ControlLoop, model: ModelService, conversation: Conversation,
                 run_config: RunConfig | None = None) -> None:
        self.loop, self.model, self.conversation = loop, model, conversation
        self.run_config = run_config or RunConfig()
        self.run: AutonomousRun | None = None
        self.seen = Seen()
        self.last_path = ""
        self._asked: tuple[AutonomousRun, int] | None = None  # a run that asked back and its chat message

    def pending(self) -> Any:
        """The asked-back command a new command answers (an `Understanding`), or None: the last run asked
        "which block?" and its message is still the chat's last one (no turn since, chat not cleared)."""
        asked = self._asked
        if asked is None:
            return None
        run, idx = asked
        msgs = self.conversation.messages()
        if run.result != "asked" or len(msgs) != idx + 1 or msgs[idx]["role"] != "assistant":
            return None
        return run.understanding

    def _frame(self, camera: str = CAMERA) -> Any:
        obs = self.loop.observation
        if obs is None or camera not in obs.images:
            raise RuntimeError(f"no {camera} camera frame yet")
        return obs.images[camera]

    def send(self, text: str) -> str:
        """Route a typed message: a question is answered, anything else is a command. Returns the kind."""
        if looks_like_question(text):
            self.ask(text)
            return "question"
        self.command(text)
        return "command"

    def ask(self, question: str) -> threading.Thread:
        question = strip_controls(question, multiline=False).strip()
        if not question:
            raise ValueError("type a question first")
        self.model.loaded  # noqa: B018 - raises ModelNotReadyError with the reason
        image = self._frame()
        history = self.conversation.history()
        self.conversation.add("user", question, kind="question")
        idx = self.conversation.add("assistant", "…", kind="answer")
        self.seen = Seen(image, f"the frame the model saw for: {question}")

        _, who = self.model.answer_route()

        def work() -> None:
            t0 = time.perf_counter()
            text = ""
            try:
                for piece in self.model.stream(image, question, history):
                    text += piece
                    self.conversation.update(idx, text)
                self.last_path = f"answered by {who} in {time.perf_counter() - t0:.1f} s"
                line = self.model.last_layout  # set when the scene reader answered
                if line:
                    self.last_path += f"; it read: “{line}”"
                self.conversation.update(idx, text or "(no answer)", seconds=time.perf_counter() - t0)
            except Exception as exc:
                log.exception("answer failed")
                self.conversation.update(idx, f"❌ could not answer: {exc}")

        th = threading.Thread(target=work, name="answer", daemon=True)
        th.start()
        return th

    def command(self, instruction: str) -> AutonomousRun:
        instruction = strip_controls(instruction, multiline=False).strip()
        if not instruction:
            raise ValueError("type a command first")
        if self.run is not None and not self.run.finished:
            raise AssistantBusy("a command is still running; press Stop first")
        policy = self.model.policy()  # raises ModelNotReadyError
        limits = self.loop.config.limits
        pending = self.pending()
        run = AutonomousRun(policy, instruction, limits=limits, dt=1.0 / self.loop.config.hz, config=self.run_config,
                            pending=pending)
        image = self._frame(run.camera)
        self.conversation.add("user", instruction, kind="command")
        idx = self.conversation.add("assistant", "… thinking", kind="run")
        self._asked = (run, idx)
        self.seen = Seen(image, f"the {run.camera} camera frame the model saw for: {instruction}")
        self.loop.set_driver(run.start())  # raises ControlError while e-stopped
        self.run = run

        def follow() -> None:
            while True:
                finished = run.finished
                self.conversation.update(idx, format_run(list(run.events), run.partial, run.state))
                if finished:
                    break
                time.sleep(0.2)

        threading.Thread(target=follow, name="run-follow", daemon=True).start()
        return run

    def stop(self, reason: str = "Stop pressed") -> bool:
        run = self.run
        if run is None or run.finished:
            return False
        run.cancel(reason)
        self.loop.set_driver(None)
        return True


__all__ = ["Assistant", "AssistantBusy", "ModelNotReadyError", "format_run"]
