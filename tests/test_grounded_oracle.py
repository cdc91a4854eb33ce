"""The fixed rule of bench/grounded_oracle.py (the ceiling of grounded servoing) on grounding lines."""

import pytest

from bench.grounded_oracle import CLAMP_CM, TRAVEL_CM, oracle_entry


def test_far_objects_are_approached_sideways_with_each_axis_clamped():
    line = "Gripper 18.0 cm above the table, open. Red block: 14.4 cm forward, 3.2 cm right, 15.8 cm down."
    assert oracle_entry(line, placing=False) == (CLAMP_CM, -3.2, 0.0, 1)
    low = "Gripper 2.2 cm above the table, closed. Bowl: 4.0 cm back, 20.0 cm left, 5.3 cm up."
    assert oracle_entry(low, placing=True) == (-4.0, CLAMP_CM, round(TRAVEL_CM - 2.2, 1), 0)  # climbs while it goes


def test_over_the_object_it_goes_down_then_closes_or_opens():
    over = "Gripper 15.0 cm above the table, open. Red block: 0.3 cm forward, 0.2 cm left, 12.8 cm down."
    assert oracle_entry(over, placing=False) == (0.0, 0.0, -CLAMP_CM, 1)
    there = "Gripper 2.3 cm above the table, open. Red block: 1.2 cm back, 0.3 cm right, 0.1 cm down."
    assert oracle_entry(there, placing=False) == (0.0, 0.0, 0.0, 0)  # the fingers hide the block: close anyway
    release = "Gripper 7.6 cm above the table, closed. Bowl: 0.2 cm back, 0.1 cm left, 0.1 cm down."
    assert oracle_entry(release, placing=True) == (0.0, 0.0, 0.0, 1)


def test_a_lift_goes_up_and_a_non_line_is_refused():
    assert oracle_entry("Gripper 2.2 cm above the table, closed.", placing=False) == (0.0, 0.0, CLAMP_CM, 0)
    with pytest.raises(ValueError, match="not a grounding line"):
        oracle_entry("Gripper: x 34.0, y 0.0, z 18.0 cm, open.", placing=False)
