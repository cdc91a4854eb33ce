"""Servo-correction samples: noisy rollouts of the servo rule in the simulator, answered with the rule."""

from __future__ import annotations

import pytest

from core.language.parse import parse
from core.policy.config import PolicyInputs
from core.policy.servo import rule_entry
from core.training.corrections import ALL_KINDS, rollout_plan
from core.training.errors import JobError
from core.training.jobspec import SERVO_DATA, DataSpec, JobConfig


def test_corrections_need_grounded_training_and_a_sane_noise():
    with pytest.raises(JobError, match="grounded"):
        DataSpec(servo_seeds=(500,))
    with pytest.raises(JobError, match="servo_noise"):
        DataSpec(servo_seeds=(500,), inputs=PolicyInputs(grounded=True), servo_noise=1.5)
    assert JobConfig("servo-only", data=DataSpec(servo_seeds=(500,), inputs=PolicyInputs(grounded=True))).data.n_episodes == 1


def test_rollouts_take_every_task_kind_and_start_state_in_turn():
    plan = rollout_plan(range(500, 542), ALL_KINDS, ("home", "after_teleop", "after_command"))
    assert len({(k, s) for _, k, s in plan}) == 21  # every pair once in 21 rollouts, twice in 42
    assert plan[:2] == [(500, "pick", "home"), (501, "put_in", "home")] and plan[7] == (507, "pick", "after_teleop")
    assert rollout_plan([500, 501], ("pick", "put_in"), ("home",)) == [(500, "pick", "home"), (501, "put_in", "home")]
    with pytest.raises(JobError, match="unknown task kinds or start states"):
        DataSpec(servo_seeds=(500,), inputs=PolicyInputs(grounded=True), servo_kinds=("juggle",))
    with pytest.raises(JobError, match="unknown task kinds or start states"):
        DataSpec(servo_seeds=(500,), inputs=PolicyInputs(grounded=True), servo_starts=("upside_down",))


def test_a_servo_job_rolls_the_rule_out_and_answers_every_cycle_with_its_entry():
    from core.training.runner import build_job_data

    cfg = JobConfig("servo", data=DataSpec(servo_seeds=(500, 501), inputs=PolicyInputs(grounded=True), val_fraction=0.5, **SERVO_DATA))
    split = build_job_data(cfg, 224, None)
    assert sorted(split.train_episodes + split.val_episodes) == ["servo-500", "servo-501"]
    samples = split.train + split.val
    assert {s.kind for s in samples} == {"plan", "actions"}
    actions = [s for s in samples if s.kind == "actions"]
    assert len(actions) >= 4 and all(s.image.shape == (224, 224, 3) for s in samples)
    subtasks = set()
    for s in actions:
        subtask = s.prompt.split("Current subtask: ")[1].split(". Plan:")[0]
        subtasks.add(subtask)
        line = s.prompt[s.prompt.index("Gripper "):s.prompt.index(" What are the next actions?")]
        (chunk,) = parse(s.target, initial_gripper=1)
        assert (chunk.dx, chunk.dy, chunk.dz, chunk.gripper) == rule_entry(line, subtask)
    # seed 500 is a pick-up, seed 501 a put-in: the rollouts reach the release over the bowl
    assert "place it in the bowl" in subtasks
