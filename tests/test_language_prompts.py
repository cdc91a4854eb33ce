"""Prompt/target templates: the three factors and the two augmentations, read back by the parsers."""

from __future__ import annotations

from core.language import Chunk, parse, parse_subtasks, verbalize
from core.language.prompts import (
    KINDS,
    actions_prompt,
    direction_sample,
    done_sample,
    episode_samples,
    plan_prompt,
    subtasks_prompt,
)
from core.language.synthetic import episode


def test_templates() -> None:
    assert subtasks_prompt("put the red block in the bowl ") == (
        "The robot's task: put the red block in the bowl. Which subtasks should the robot do, in order?"
    )
    assert plan_prompt("grasp the red block") == (
        "Current subtask: grasp the red block. What is the motion plan for the gripper?"
    )
    p = actions_prompt("grasp the red block", "move left, then down")
    assert p.startswith("Current subtask: grasp the red block. Plan: move left, then down. What are the next actions?")
    assert "[dx, dy, dz, gripper]" in p and "centimetres" in p
    assert "yaw" in actions_prompt("s", "p", yaw=True)
    assert done_sample("grasp it", True).target == "yes" and done_sample("grasp it", False).target == "no"
    d = direction_sample([Chunk(1.5, 4.2, 0.0, 1)])
    assert d is not None and d.target == "left and slightly forward" and "[[1.5, 4.2, 0.0, 1]]" in d.prompt
    assert direction_sample([Chunk(0.0, 0.0, 0.0, 0)]) is None


def test_episode_samples() -> None:
    v = verbalize(episode("put_in", "red block", seed=5), "put the red block in the bowl")
    samples = episode_samples(v)
    assert {s.kind for s in samples} == set(KINDS)
    first = samples[0]
    assert first.kind == "subtasks" and parse_subtasks(first.target) == ["grasp the red block", "place it in the bowl"]
    actions = [s for s in samples if s.kind == "actions"]
    assert [tuple(parse(a.target)) for a in actions] == [s.chunks for s in v.subtasks]
    assert [s.target for s in samples if s.kind == "plan"] == [s.plan for s in v.subtasks]
    done = [(s.target, s.step) for s in samples if s.kind == "done"]
    assert done[:2] == [("no", v.subtasks[0].steps[0]), ("yes", v.subtasks[0].steps[1])]
    assert all(0 <= s.step < v.n_steps for s in samples)


def test_cycles_split_long_subtasks() -> None:
    v = verbalize(episode("stack", "red block", "green block", seed=5), "stack the red block on the green block")
    samples = episode_samples(v, max_entries=4)
    actions = [parse(s.target) for s in samples if s.kind == "actions"]
    assert all(1 <= len(a) <= 4 for a in actions)
    assert [c for a in actions for c in a] == list(v.chunks)
    plans = [s for s in samples if s.kind == "plan"]
    assert len(plans) == len(actions) and all(p.target for p in plans)


def test_decision_entries_are_the_first_and_each_change_of_direction_or_gripper():
    from core.language.decisions import decision_spans, entry_spans

    text = ("[[2.4, -0.7, -0.4, 1], [1.9, -0.6, -0.3, 1], [2.0, -0.6, -0.3, 1], [1.5, -0.4, -2.0, 1], "
            "[0.0, 0.0, -2.0, 1], [0.1, 0.0, -2.0, 1], [0.0, 0.0, 0.0, 0]]")
    assert len(entry_spans(text)) == 7
    assert [text[a:b] for a, b in decision_spans(text)] == [
        "[2.4, -0.7, -0.4, 1]", "[1.5, -0.4, -2.0, 1]", "[0.0, 0.0, -2.0, 1]", "[0.0, 0.0, 0.0, 0]", "]"]
    assert decision_spans(text)[-1] == (len(text) - 1, len(text))
    assert decision_spans("move forward") == [] and decision_spans("[[1.0, 0.0]]") == []
