"""The chat's command path with a policy that refuses or asks back: the reply stays in the chat, the robot
does not move, and the next command right after a question completes the asked command."""

from __future__ import annotations

import time

import pytest

from core.assistant import Assistant, format_run
from core.control.loop import ControlLoop, LoopConfig
from core.control.policy import PolicyBase
from core.conversation import Conversation
from core.language.restate import NONE_ANSWER
from core.language.understand import decide
from core.robot.sim import SimConfig, SimRobot


class Reader(PolicyBase):
    """Refuses, asks back or acts as scripted; a run that acts holds at once (no subtasks)."""

    name = "reader"

    def __init__(self, verdicts):
        self.verdicts, self.pendings = verdicts, []

    def understand(self, instruction, present=None, pending=None):
        self.pendings.append(pending)
        best = self.verdicts[instruction]
        other = "pick up the red block" if best == NONE_ANSWER else NONE_ANSWER
        return decide(instruction, [(best, 0.0), (other, -99.0)], present)

    def subtasks(self, image, instruction, on_text=None):
        return ""  # unusable: the run holds after its restatement

    def plan(self, *a, **k):  # pragma: no cover - never reached
        return ""

    def actions(self, *a, **k):  # pragma: no cover
        return ""

    def is_done(self, *a, **k):  # pragma: no cover
        return None


class Model:
    def __init__(self, policy):
        self._policy, self.loaded, self.last_layout = policy, object(), None

    def policy(self):
        return self._policy

    def stream(self, image, question, history):
        yield "four blocks"

    def answer_route(self):
        return False, "the base model"


@pytest.fixture
def loop():
    lp = ControlLoop(lambda: SimRobot(SimConfig(image_size=32)), LoopConfig(hz=30))
    lp.start(seed=0)
    deadline = time.monotonic() + 10
    while lp.observation is None and time.monotonic() < deadline:
        time.sleep(0.05)
    yield lp
    lp.close()


def settle(assistant):
    assert assistant.run.wait(30)
    time.sleep(0.5)  # the follower thread writes the final message


VERDICTS = {"wave hello": NONE_ANSWER, "pick up the block": "pick up the block",
            "the red one": "pick up the red block", "recoge el bloque": "pick up the block"}


def test_a_refusal_is_the_chats_last_message_and_the_robot_holds(loop):
    conv = Conversation()
    a = Assistant(loop, Model(Reader(VERDICTS)), conv)
    before = loop.observation.ee_pos
    a.command("wave hello")
    settle(a)
    last = conv.messages()[-1]
    assert last["role"] == "assistant" and "⛔" in last["content"] and "not one of the tasks" in last["content"]
    assert a.run.result == "refused" and a.pending() is None
    assert loop.observation.ee_pos == pytest.approx(before, abs=1e-3)


def test_the_answer_to_which_block_completes_the_command(loop):
    conv = Conversation()
    reader = Reader(VERDICTS)
    a = Assistant(loop, Model(reader), conv)
    a.command("recoge el bloque")
    settle(a)
    assert conv.messages()[-1]["content"].rstrip().endswith("?") and "¿Qué bloque" in conv.messages()[-1]["content"]
    pending = a.pending()
    assert pending is not None and pending.kind == "pick"
    a.command("the red one")
    settle(a)
    assert reader.pendings[-1] is pending  # read as the answer
    assert "pick up the red block" in conv.messages()[-1]["content"]
    assert a.pending() is None  # answered: the next command is a new one


def test_a_question_is_only_pending_until_another_turn_or_a_cleared_chat(loop):
    conv = Conversation()
    reader = Reader(VERDICTS)
    a = Assistant(loop, Model(reader), conv)
    a.command("pick up the block")
    settle(a)
    assert a.pending() is not None
    a.ask("how many blocks are there?").join(10)
    assert a.pending() is None  # another turn came between
    a.command("pick up the block")
    settle(a)
    conv.clear()
    assert a.pending() is None
    a.command("the red one")
    settle(a)
    assert reader.pendings[-1] is None


def test_format_run_shows_the_reason_as_the_last_line():
    from core.control.autonomous import AutoEvent

    text = format_run([AutoEvent("restate", "(none of the robot's tasks)", 0.0), AutoEvent("refuse", "⛔ no.", 0.1)],
                      state="refused")
    assert text.endswith("⛔ no.") and "…" not in text
