"""The fixed servoing rule on grounding lines (core.policy.servo) and the policy that follows it."""

import random

import pytest

from core.language.parse import parse
from core.policy.servo import CLAMP_CM, TRAVEL_CM, ServoPolicy, perturbed, servo_entry


def test_far_objects_are_approached_sideways_with_each_axis_clamped():
    line = "Gripper 18.0 cm above the table, open. Red block: 14.4 cm forward, 3.2 cm right, 15.8 cm down."
    assert servo_entry(line, placing=False) == (CLAMP_CM, -3.2, 0.0, 1)
    low = "Gripper 2.2 cm above the table, closed. Bowl: 4.0 cm back, 20.0 cm left, 5.3 cm up."
    assert servo_entry(low, placing=True) == (0.0, 0.0, round(TRAVEL_CM - 2.2, 1), 0)  # a held block: up first
    assert servo_entry(low.replace("closed", "open"), placing=False) == (-4.0, CLAMP_CM, round(TRAVEL_CM - 2.2, 1), 1)


def test_over_the_object_it_goes_down_then_closes_or_opens():
    over = "Gripper 15.0 cm above the table, open. Red block: 0.3 cm forward, 0.2 cm left, 12.8 cm down."
    assert servo_entry(over, placing=False) == (0.0, 0.0, -CLAMP_CM, 1)
    there = "Gripper 2.3 cm above the table, open. Red block: 1.2 cm back, 0.3 cm right, 0.1 cm down."
    assert servo_entry(there, placing=False) == (0.0, 0.0, 0.0, 0)  # the fingers hide the block: close anyway
    release = "Gripper 7.6 cm above the table, closed. Bowl: 0.2 cm back, 0.1 cm left, 0.1 cm down."
    assert servo_entry(release, placing=True) == (0.0, 0.0, 0.0, 1)


def test_a_lift_goes_up_and_a_non_line_is_refused():
    assert servo_entry("Gripper 2.2 cm above the table, closed.", placing=False) == (0.0, 0.0, CLAMP_CM, 0)
    with pytest.raises(ValueError, match="not a grounding line"):
        servo_entry("Gripper: x 34.0, y 0.0, z 18.0 cm, open.", placing=False)


FAR = "Gripper 15.0 cm above the table, open. Red block: 6.0 cm forward, 2.0 cm left, 12.8 cm down."
AT = "Gripper 2.3 cm above the table, open. Red block: 0.2 cm back, 0.3 cm right, 0.1 cm down."


def test_perturbed_moves_each_axis_within_the_scale_and_never_a_gripper_change():
    rng = random.Random(3)
    for _ in range(50):
        dx, dy, dz, g = perturbed((6.0, 2.0, 0.0, 1), 1, rng, 4.0)
        assert abs(dx - 6.0) <= 4.0 and abs(dy - 2.0) <= 4.0 and abs(dz) <= 4.0 and g == 1
    assert perturbed((0.0, 0.0, 0.0, 0), 1, rng, 4.0) == (0.0, 0.0, 0.0, 0)  # the grasp itself stays


def _cycle(policy, line, subtask="grasp the red block"):
    plan = policy.plan(None, "pick up the red block", subtask, state=line)
    return plan, parse(policy.actions(None, "pick up the red block", subtask, plan, state=line), initial_gripper=1)


def test_the_policy_follows_the_rule_and_records_each_cycle():
    policy = ServoPolicy(lambda *a: FAR)
    plan, chunks = _cycle(policy, FAR)
    assert [(c.dx, c.dy, c.dz, c.gripper) for c in chunks] == [servo_entry(FAR, placing=False)]
    assert "forward" in plan
    _, chunks = _cycle(policy, AT)
    assert chunks[-1].gripper == 0  # closes at the block
    assert [(v.line, v.entry, v.gripper, v.perturbed) for v in policy.visits] == [
        (FAR, servo_entry(FAR, False), 1, False), (AT, (0.0, 0.0, 0.0, 0), 1, False)]


def test_with_noise_it_executes_perturbed_entries_but_records_the_rule_and_is_reproducible():
    runs = []
    for _ in range(2):
        policy = ServoPolicy(lambda *a: FAR, noise=1.0, seed=7)
        runs.append([_cycle(policy, FAR)[1][0] for _ in range(3)])
        assert all(v.perturbed and v.entry == servo_entry(FAR, False) for v in policy.visits)
    assert runs[0] == runs[1]
    assert any((c.dx, c.dy, c.dz) != servo_entry(FAR, False)[:3] for c in runs[0])
    with pytest.raises(ValueError, match="share of the cycles"):
        ServoPolicy(lambda *a: FAR, noise=1.5)
    with pytest.raises(ValueError, match="grounding line"):
        ServoPolicy(lambda *a: FAR).plan(None, "", "grasp the red block")


def test_the_rule_takes_another_robots_distances_from_its_expert_heights():
    from core.policy.servo import BUILT_IN_RULE, ServoRule
    from core.robot.heights import BUILT_IN
    from core.robot.so101.sim import HEIGHTS

    assert ServoRule.for_heights(BUILT_IN) == BUILT_IN_RULE and BUILT_IN_RULE.travel_cm == TRAVEL_CM
    so101 = ServoRule.for_heights(HEIGHTS)
    assert so101.travel_cm == 5.0 and so101.lateral_ok_low_cm == pytest.approx(1.2)  # 3 cm blocks against 5 cm
    low = "Gripper 2.0 cm above the table, open. Red block: 4.0 cm forward, 1.0 cm left, 0.7 cm down."
    assert servo_entry(low, placing=False) == (4.0, 1.0, round(TRAVEL_CM - 2.0, 1), 1)  # built-in: up to 10 cm
    assert servo_entry(low, placing=False, rule=so101) == (4.0, 1.0, 3.0, 1)  # the SO-101 travels at 5 cm
    near = "Gripper 1.3 cm above the table, open. Red block: 1.5 cm back, 0.2 cm right, 0.0 cm down."
    assert servo_entry(near, placing=False) == (0.0, 0.0, 0.0, 0)  # within the built-in's 2 cm: close
    assert servo_entry(near, placing=False, rule=so101)[3] == 1  # 1.5 cm off a 3 cm block: not yet
