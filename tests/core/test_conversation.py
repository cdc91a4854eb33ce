import threading

import pytest

from core.assistant import format_run
from core.control.autonomous import AutoEvent
from core.conversation import Conversation, looks_like_question


@pytest.mark.parametrize("text", ["what is left of the bowl?", "¿Qué hay en el cuenco?", "碗里有什么？", "Is there a red block",
                                  "wo ist der rote Block", "combien de blocs", "ボウルに何がありますか"])
def test_questions(text):
    assert looks_like_question(text)


@pytest.mark.parametrize("text", ["pon el bloque rojo en el cuenco", "pick up the red block", "把红色方块放进碗里",
                                  "mets le bloc rouge dans le bol", "", "   "])
def test_commands(text):
    assert not looks_like_question(text)


def test_conversation_is_shared_and_thread_safe():
    c = Conversation()

    def writer(n):
        for i in range(200):
            c.add("user", f"{n}-{i}")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(c.messages()) == 500  # capped
    idx = c.add("assistant", "…")
    c.update(idx, "grown")
    assert c.messages()[-1] == {"role": "assistant", "content": "grown"}
    with pytest.raises(ValueError):
        c.add("system", "x")
    c.update(10_000, "ignored")  # a trimmed message is not an error
    assert len(c.history(3)) == 3


def test_format_run_shows_language_before_outcome():
    ev = [
        AutoEvent("subtasks", "1. grasp the red block\n2. lift the red block", 0.1),
        AutoEvent("plan", "move forward, then down", 0.5, "grasp the red block"),
        AutoEvent("actions", "[[2.5, 0.0, 0.0, 1]]", 0.9, "grasp the red block", {"seconds": 0.84}),
        AutoEvent("verify", "done (judged by simulator)", 2.0, "grasp the red block"),
        AutoEvent("malformed", "actions: bad", 2.5, "lift the red block"),
        AutoEvent("done", "all subtasks done", 3.0),
    ]
    text = format_run(ev)
    assert text.index("Subtasks") < text.index("Plan: move forward") < text.index("[[2.5") < text.index("✓ done")
    assert "⚠" in text and text.rstrip().endswith("all subtasks done")
    assert "Actions: `[[2.5, 0.0, 0.0, 1]]`\n_model time: actions 0.8 s_" in text  # shown when known
    assert format_run([], partial="1. gra").endswith("… 1. gra")


def test_format_run_shows_the_restated_command_first():
    ev = [AutoEvent("restate", "pick up the red block", 0.4, None, {"seconds": 1.25, "command": "recoge el bloque rojo"}),
          AutoEvent("subtasks", "1. grasp the red block\n2. lift the red block", 0.9)]
    text = format_run(ev)
    assert text.startswith("**In English** · 1.2 s\npick up the red block")
    assert text.index("pick up the red block") < text.index("**Subtasks**")


def test_format_run_shows_the_state_the_model_was_given_and_workspace_cuts():
    ev = [
        AutoEvent("plan", "move up", 0.5, "lift the red block", {"state": "Gripper: x 40.0, y 1.0, z 2.5 cm, closed."}),
        AutoEvent("actions", "[[0.0, 0.0, 2.5, 0]]", 0.9, "lift the red block"),
        AutoEvent("limit", "the workspace limit cuts 3.5 cm of this chunk's motion", 1.0, "lift the red block"),
    ]
    text = format_run(ev)
    assert "_Gripper: x 40.0, y 1.0, z 2.5 cm, closed._\nPlan: move up" in text
    assert text.index("Actions:") < text.index("⛔ the workspace limit cuts 3.5 cm")
    assert "_Gripper" not in format_run(ev[1:])  # no state line for an adapter that does not read it


def test_format_run_says_what_was_skipped_and_how_the_robot_was_got_ready():
    ev = [
        AutoEvent("subtasks", "1. grasp the red block\n2. place it in the bowl", 0.1),
        AutoEvent("prepare", "The gripper is closed and holds nothing: opening it before the grasp.", 0.3,
                  "grasp the red block", {"actions": "[[0.0, 0.0, 0.0, 1]]", "reason": "open"}),
        AutoEvent("hold", "stopped early on 'grasp the red block': no progress in the last 3 cycles", 9.0),
    ]
    text = format_run(ev)
    assert "**grasp the red block**\n↳ The gripper is closed and holds nothing" in text
    assert "Actions: `[[0.0, 0.0, 0.0, 1]]`" in text and text.rstrip().endswith("no progress in the last 3 cycles")
    done = format_run([AutoEvent("subtasks", "1. grasp the red block\n2. lift the red block", 0.1),
                       AutoEvent("skip", "already done: 'grasp the red block', 'lift the red block'", 0.2, "lift the red block"),
                       AutoEvent("done", "the command is already done: nothing to do", 0.2)])
    assert "✓ already done: 'grasp the red block'" in done and done.rstrip().endswith("nothing to do")
def test_an_update_that_changes_nothing_keeps_the_version():
    c = Conversation()
    i = c.add("assistant", "… thinking", kind="run")
    v = c.version
    c.update(i, "… thinking")  # the run's follower rewrites its message every 0.2 s
    c.update(i, "… thinking", kind="run")
    assert c.version == v  # pages compare the version: nothing to re-send
    c.update(i, "… writing plan")
    assert c.version == v + 1 and c.messages()[-1]["content"] == "… writing plan"
    c.update(i, "… writing plan", seconds=1.5)
    assert c.version == v + 2
