"""Prompt/target templates: the three factors and the two augmentations, read back by the parsers."""

from __future__ import annotations

from core.language import Chunk, parse, parse_subtasks, verbalize
from core.language.plan import motion_plan
from core.language.prompts import (
    KINDS,
    actions_prompt,
    direction_sample,
    done_prompt,
    done_sample,
    episode_samples,
    plan_prompt,
    state_text,
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


def test_state_text_reads_the_gripper_place_and_opening() -> None:
    assert state_text((0.34, -0.00004, 0.18), 1.0) == "Gripper: x 34.0, y 0.0, z 18.0 cm, open."
    assert state_text((0.4812, -0.1606, 0.022), 0.55) == "Gripper: x 48.1, y -16.1, z 2.2 cm, closed."
    assert state_text((0.4, 0.1, 0.1), 0.9).endswith("closed.")  # at the threshold a held block is "closed"
    with_state = plan_prompt("grasp the red block", "Gripper: x 1.0, y 2.0, z 3.0 cm, open.")
    assert with_state == ("Current subtask: grasp the red block. Gripper: x 1.0, y 2.0, z 3.0 cm, open. "
                          "What is the motion plan for the gripper?")
    assert plan_prompt("grasp the red block", None) == plan_prompt("grasp the red block")
    assert "open. Is this subtask complete?" in done_prompt("lift it", "Gripper: x 1.0, y 2.0, z 3.0 cm, open.")


def test_samples_carry_the_state_of_the_frame_they_show() -> None:
    steps = episode("put_in", "red block", seed=5)
    v = verbalize(steps, "put the red block in the bowl")
    states = [(s.ee_pos, s.gripper) for s in steps]
    samples = episode_samples(v, max_entries=4, states=states)
    asked = [s for s in samples if s.kind in ("plan", "actions", "done")]
    assert asked and all(state_text(*states[s.step]) in s.prompt for s in asked)
    assert all("Gripper:" not in s.prompt for s in samples if s.kind == "subtasks")
    plain = episode_samples(v, max_entries=4)
    assert [s.target for s in plain] == [s.target for s in samples]  # the answers do not change
    assert all("Gripper:" not in s.prompt for s in plain)


def test_overlapping_windows_start_part_way_with_their_own_plan() -> None:
    steps = episode("put_in", "red block", seed=5)
    v = verbalize(steps, "put the red block in the bowl")
    back_to_back = [s for s in episode_samples(v, max_entries=4) if s.kind == "actions"]
    assert episode_samples(v, max_entries=4, stride=4) == episode_samples(v, max_entries=4)
    assert episode_samples(v, max_entries=4, stride=9) == episode_samples(v, max_entries=4)  # no entry left out
    overlapping = episode_samples(v, max_entries=4, stride=2)
    actions = [s for s in overlapping if s.kind == "actions"]
    plans = [s for s in overlapping if s.kind == "plan"]
    assert len(actions) > len(back_to_back) and len(plans) == len(actions)
    for sub in v.subtasks:  # each window: up to 4 entries from every second one, planned from its own entries
        mine = [(p, a) for p, a in zip(plans, actions) if f"subtask: {sub.text}." in a.prompt]
        assert len(mine) == (len(sub.chunks) + 1) // 2
        for k, (p, a) in enumerate(mine):
            window = sub.chunks[2 * k : 2 * k + 4]
            assert tuple(parse(a.target)) == window
            assert p.target == motion_plan(window, sub.chunks[2 * k - 1].gripper if k else sub.initial_gripper)
            assert p.step == a.step == window[0].steps[0]


def test_questions_from_inside_an_entry_are_answered_with_the_rest_of_it() -> None:
    from core.language.prompts import inner_windows, remaining_entry

    positions = [(0.30 + 0.01 * i, -0.005 * i, 0.15) for i in range(11)]  # 10 cm forward, 5 cm right
    entry = Chunk(10.0, -5.0, 0.0, 1, steps=(0, 10))
    assert remaining_entry(entry, positions, 4) == Chunk(6.0, -3.0, 0.0, 1)
    assert remaining_entry(entry, positions, 4).steps == (4, 10)
    assert remaining_entry(entry, positions, 10) is None  # nothing left
    assert remaining_entry(Chunk(10.0, -5.0, 0.0, 1), positions, 4) is None  # an entry read from text
    overshoot = [(0.30, 0.0, 0.15), (0.32, 0.0, 0.15), (0.31, 0.0, 0.15)]  # went past, came back
    assert remaining_entry(Chunk(1.0, 0.0, 0.0, 1, steps=(0, 2)), overshoot, 1) is None
    assert [k for k, _ in inner_windows(entry, positions, 2)] == [3, 7]
    assert [c.dx for _, c in inner_windows(entry, positions, 2)] == [7.0, 3.0]

    steps = episode("put_in", "red block", seed=5)
    v = verbalize(steps, "put the red block in the bowl")
    pos = [s.ee_pos for s in steps]
    one = episode_samples(v, max_entries=1, stride=1)
    more = episode_samples(v, max_entries=1, stride=1, mid_entries=2, positions=pos)
    assert episode_samples(v, max_entries=1, stride=1, mid_entries=2) == one  # no positions: nothing added
    assert episode_samples(v, max_entries=4, mid_entries=2, positions=pos) == episode_samples(v, max_entries=4)
    added = [s for s in more if s not in one]
    assert added and {s.kind for s in added} == {"plan", "actions"}
    starts = {c.steps[0] for sub in v.subtasks for c in sub.chunks}
    for s in added:
        assert s.step not in starts  # asked from inside an entry
        if s.kind == "actions":
            (rest,) = parse(s.target)
            sub = next(x for x in v.subtasks if f"subtask: {x.text}." in s.prompt)
            entry = next(c for c in sub.chunks if c.steps[0] < s.step < c.steps[1])
            assert rest == remaining_entry(entry, pos, s.step) and rest.gripper == entry.gripper
