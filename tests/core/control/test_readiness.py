"""What the loop does before and during a subtask (core.control.readiness): skip what is done, get the
robot ready (put a block down, open a closed gripper, rise), judge a push's approach, stop futile cycles."""

from __future__ import annotations

import pytest

from core.control.readiness import (
    HELD_UNKNOWN,
    PUT_DOWN_Z,
    TRAVEL_Z,
    Progress,
    RobotNow,
    already_done,
    approach_reached,
    clear_spot,
    fresh_start,
    held_block,
    needs_grasp,
    prepare,
    push_ended,
    push_lost,
    retry_from,
    travels_first,
)
from core.language.spec import GRIPPER_CLOSED, GRIPPER_OPEN


def _end(entries, start):
    x, y, z = start
    for e in entries:
        x, y, z = x + e.dx / 100, y + e.dy / 100, z + e.dz / 100
    return x, y, z


def test_the_last_subtask_that_holds_already_covers_the_ones_before():
    assert already_done([False, False]) == 0
    assert already_done([True, False]) == 1  # the block is held: only the lift is left
    assert already_done([False, True]) == 2  # the block is in the bowl: nothing to do, no grasp first
    assert already_done([None, None]) == 0  # nothing could judge: act


def test_what_the_gripper_holds_comes_from_the_simulator_or_else_the_opening():
    assert held_block(0.55, "red block", True) == "red block"
    assert held_block(0.55, None, True) is None  # the simulator knows better than the opening
    assert held_block(0.55, None, False) == HELD_UNKNOWN  # a real robot: fingers stopped by something
    assert held_block(0.0, None, False) is None and held_block(1.0, None, False) is None


def test_a_closed_empty_gripper_low_over_the_table_rises_and_opens_before_a_grasp():
    # the observed failure: a keyboard drive left the gripper closed 2.3 cm above the table
    now = RobotNow((0.40, 0.05, 0.023), 0.0)
    prep = prepare("grasp the red block", now, "red block", offset=(5.0, -12.0, -0.1))
    assert prep is not None and prep.reason == "open"
    assert "closed and holds nothing" in prep.says and "rising" in prep.says
    assert [e.gripper for e in prep.entries][-1] == GRIPPER_OPEN
    assert all(e.gripper == GRIPPER_CLOSED for e in prep.entries[:-1])  # rise first, then open
    assert _end(prep.entries, now.ee_pos)[2] == pytest.approx(TRAVEL_Z, abs=0.002)
    # high up and closed: only open
    prep = prepare("grasp the red block", RobotNow((0.4, 0.0, 0.15), 0.0), "red block")
    assert prep is not None and [(e.dx, e.dy, e.dz, e.gripper) for e in prep.entries] == [(0.0, 0.0, 0.0, 1)]


def test_a_low_open_gripper_rises_unless_it_is_over_its_block_already():
    prep = prepare("grasp the red block", RobotNow((0.4, 0.0, 0.03), 1.0), "red block", offset=(10.0, 4.0, -0.8))
    assert prep is not None and prep.reason == "rise" and "rising to 10 cm" in prep.says
    assert all(e.gripper == GRIPPER_OPEN and e.dx == 0 and e.dy == 0 for e in prep.entries)
    assert prepare("grasp the red block", RobotNow((0.4, 0.0, 0.03), 1.0), "red block", offset=(0.5, 1.0, -0.8)) is None
    assert prepare("grasp the red block", RobotNow((0.34, 0.0, 0.18), 1.0), "red block") is None  # home: ready


def test_a_block_held_that_the_command_does_not_need_is_set_down_first():
    objects = {"red block": (0.45, 0.1, 0.025), "green block": (0.40, -0.1, 0.17), "bowl": (0.5, -0.2, 0.0)}
    now = RobotNow((0.40, -0.1, 0.15), 0.55, "green block", objects)
    prep = prepare("grasp the red block", now, "red block")
    assert prep is not None and prep.reason == "put_down"
    assert "holds the green block" in prep.says and "grasp the red block" in prep.says
    grips = [e.gripper for e in prep.entries]
    assert grips.index(GRIPPER_OPEN) > 0 and all(g == GRIPPER_CLOSED for g in grips[:grips.index(GRIPPER_OPEN)])
    opened_at = _end(prep.entries[:grips.index(GRIPPER_OPEN)], now.ee_pos)
    assert opened_at[2] == pytest.approx(PUT_DOWN_Z, abs=0.002)  # set down on the table, then released
    assert _end(prep.entries, now.ee_pos)[2] == pytest.approx(TRAVEL_Z, abs=0.002)
    assert all(max(abs(e.dx), abs(e.dy), abs(e.dz)) <= 9.5 for e in prep.entries)  # valid long entries
    # the block the grasp wants is in the gripper already: nothing to prepare (the grasp is judged done)
    assert prepare("grasp the green block", now, "green block") is None
    # a push needs the block on the table, even its own
    assert prepare("move to the right of the green block", now, "green block").reason == "put_down"


def test_a_block_is_set_down_away_from_the_others():
    objects = {"red block": (0.40, 0.0, 0.025), "bowl": (0.40, 0.14, 0.0), "blue block": (0.40, 0.0, 0.15)}
    x, y = clear_spot((0.40, 0.0), objects, "blue block")
    assert ((x - 0.40) ** 2 + y ** 2) ** 0.5 >= 0.075 and ((x - 0.40) ** 2 + (y - 0.14) ** 2) ** 0.5 >= 0.13
    assert clear_spot((0.5, -0.1), objects, "blue block") == (0.5, -0.1)  # clear already
    now = RobotNow((0.40, 0.0, 0.15), 0.55, "blue block", objects)
    entries = prepare("grasp the red block", now, "red block").entries
    first_down = next(i for i, e in enumerate(entries) if e.dz < 0)
    assert _end(entries[:first_down], now.ee_pos)[:2] == pytest.approx((x, y), abs=0.002)  # moved over first


def test_only_subtasks_that_travel_to_an_object_are_prepared():
    assert travels_first("grasp the red block") and travels_first("move to the near side of the red block")
    assert not travels_first("place it in the bowl") and not travels_first("push the red block forward")
    closed_low = RobotNow((0.4, 0.0, 0.03), 0.0)
    assert prepare("place it in the bowl", closed_low, "red block") is None
    assert prepare("lift the red block", closed_low, "red block") is None


def test_a_place_or_lift_without_its_block_goes_back_to_the_grasp():
    assert needs_grasp("place it in the bowl", None, "red block")
    assert needs_grasp("stack it on the blue block", "green block", "red block")
    assert needs_grasp("lift the red block", None, "red block")
    assert not needs_grasp("place it in the bowl", "red block", "red block")
    assert not needs_grasp("place it in the bowl", HELD_UNKNOWN, "red block")  # a real robot: trust the grasp
    assert not needs_grasp("grasp the red block", None, "red block")
    subtasks = ["grasp the red block", "place it in the bowl"]
    assert retry_from(subtasks, 1) == 0 and retry_from(subtasks, 0) is None
    push = ["move to the right of the red block", "push the red block to the left"]
    assert retry_from(push, 1) == 0 and retry_from(push, 0) is None


def test_a_push_is_judged_on_its_grounding_line():
    sub, push = "move to the right of the red block", "push the red block to the left"
    there = "Gripper 2.1 cm above the table, closed. Red block: 0.3 cm forward, 0.6 cm left, 0.1 cm down."
    assert approach_reached(sub, there) is True
    assert approach_reached(sub, there.replace("closed", "open")) is False  # a push needs closed fingers
    assert approach_reached(sub, there.replace("0.6 cm left", "3.0 cm left")) is False
    assert approach_reached(sub, "Gripper 2.1 cm above the table, closed. Red block: not in view.") is False
    assert approach_reached("grasp the red block", there) is None and approach_reached(sub, None) is None
    at_end = "Gripper 2.0 cm above the table, closed. Red block: 0.2 cm forward, 0.4 cm left, 0.0 cm down."
    assert push_ended(push, at_end) and not push_ended(sub, at_end)
    assert not push_ended(push, at_end.replace("0.4 cm left", "7.0 cm left"))
    assert push_lost(push, at_end.replace("0.0 cm down", "8.0 cm down")) and push_lost(push, at_end.replace("closed", "open"))
    assert not push_lost(push, at_end)


def _line(dist_cm, grip="open"):
    return f"Gripper 10.0 cm above the table, {grip}. Red block: {dist_cm:.1f} cm forward, 0.0 cm left, 8.0 cm down."


def test_cycles_that_get_closer_are_progress_and_cycles_that_do_not_stop_the_subtask():
    p = Progress(patience=3)
    assert p.observe((0.3, 0, 0.1), 1, _line(20)) is None  # the first look sets the baseline
    for d in (12, 6, 3):
        p.acted("[[1.0, 0.0, 0.0, 1]]", 1)
        assert p.observe((0.3, 0, 0.1), 1, _line(d)) is None
    for _ in range(2):
        p.acted("[[0.0, 0.0, -2.5, 1]]", 1)
        assert p.observe((0.3, 0, 0.1), 1, _line(2.9)) is None
    p.acted("[[0.0, 0.0, -2.5, 1]]", 1)
    why = p.observe((0.3, 0, 0.1), 1, _line(2.9), "the red block")
    assert why == ("no progress in the last 3 cycles: still 8.5 cm from the red block "
                   "(the same action [[0.0, 0.0, -2.5, 1]] each time)")


def test_without_a_grounding_line_progress_is_the_gripper_moving():
    p = Progress(patience=2)
    p.observe((0.3, 0.0, 0.1), 1)
    p.acted("[[0.0, 0.0, 2.5, 1]]", 1)
    assert p.observe((0.3, 0.0, 0.125), 1) is None
    p.acted("[[0.0, 0.0, 0.2, 1]]", 1)
    assert p.observe((0.3, 0.0, 0.127), 1) is None
    p.acted("[[0.0, 0.0, 0.2, 1]]", 1)
    assert "the gripper is not getting anywhere" in p.observe((0.3, 0.0, 0.129), 1)


def test_a_gripper_that_does_not_change_when_asked_twice_stops_the_subtask():
    p = Progress(patience=5)
    p.observe((0.3, 0, 0.02), GRIPPER_CLOSED, _line(1, "closed"))
    p.acted("[[0.0, 0.0, 0.0, 1]]", GRIPPER_OPEN)
    assert p.observe((0.3, 0, 0.02), GRIPPER_CLOSED, _line(1, "closed")) is None
    p.acted("[[0.0, 0.0, 0.0, 1]]", GRIPPER_OPEN)
    why = p.observe((0.3, 0, 0.02), GRIPPER_CLOSED, _line(1, "closed"))
    assert why == "the gripper stayed closed although the last 2 chunks asked to open it"


def test_opening_and_closing_over_and_over_is_not_progress():
    p = Progress(patience=2)
    p.observe((0.3, 0, 0.02), 1, _line(1))
    stops = []
    for k in range(8):
        grip = k % 2  # closes, opens, closes, ... without getting closer
        p.acted(f"[[0.0, 0.0, 0.0, {1 - grip}]]", 1 - grip)
        stops.append(p.observe((0.3, 0, 0.02), 1 - grip, _line(1, "open" if grip == 0 else "closed")))
    assert stops[:2] == [None, None] and any(stops)


def test_an_open_gripper_is_closed_before_a_push_approach():
    home = RobotNow((0.34, 0.0, 0.18), 1.0)
    prep = prepare("move to the left of the green block", home, "green block")
    assert prep.reason == "close" and [e.gripper for e in prep.entries] == [GRIPPER_CLOSED]
    assert "closing it before moving" in prep.says
    # low and open: rise first, then close
    low = prepare("move to the left of the green block", RobotNow((0.4, 0.0, 0.03), 1.0), "green block")
    assert low.reason == "close" and low.entries[0].dz > 0 and low.entries[-1].gripper == GRIPPER_CLOSED
    # already closed: ready as it is; a grasp still wants it open
    assert prepare("move to the left of the green block", RobotNow((0.34, 0.0, 0.18), 0.0), "green block") is None
    assert prepare("grasp the green block", home, "green block") is None


def test_a_fresh_start_rises_to_travel_height_with_the_gripper_as_it_is():
    low = fresh_start("grasp the red block", RobotNow((0.45, 0.02, 0.022), 0.0), "still 0.1 cm from the red block")
    assert low.reason == "fresh_start" and _end(low.entries, (0.45, 0.02, 0.022)) == pytest.approx((0.45, 0.02, TRAVEL_Z),
                                                                                                  abs=1e-3)
    assert {e.gripper for e in low.entries} == {GRIPPER_CLOSED}  # not opened among the blocks (prepare opens it up high)
    assert "No progress on 'grasp the red block' (still 0.1 cm from the red block): rising to 10 cm" in low.says
    assert {e.gripper for e in fresh_start("stack it on the blue block", RobotNow((0.4, 0.0, 0.05), 0.55), "x").entries} \
        == {GRIPPER_CLOSED}  # a held block stays held
    high = fresh_start("move to the left of the blue block", RobotNow((0.4, 0.0, 0.10), 0.0), "still 8.0 cm")
    assert high.entries == () and "rising" not in high.says and "looking for the objects again" in high.says


def test_a_block_set_down_before_a_push_leaves_the_gripper_closed():
    held = RobotNow((0.45, 0.05, 0.16), 0.55, "yellow block", {"yellow block": (0.45, 0.05, 0.16),
                                                               "red block": (0.40, -0.10, 0.025)})
    push = prepare("move to the right of the red block", held, "red block")
    assert push.reason == "put_down" and push.entries[-1].gripper == GRIPPER_CLOSED
    assert GRIPPER_OPEN in [e.gripper for e in push.entries]  # it let go of the yellow block first
    assert push.says.endswith("then I push the red block with the gripper closed.")
    grasp = prepare("grasp the red block", held, "red block")
    assert grasp.reason == "put_down" and grasp.entries[-1].gripper == GRIPPER_OPEN  # a grasp wants it open
