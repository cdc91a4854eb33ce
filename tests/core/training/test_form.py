"""The Train tab's form -> the training job it asks for (core.training.form), without a page."""

from __future__ import annotations

import pytest

from core.policy.config import PolicyInputs
from core.training.errors import JobError, TrainingError
from core.training.form import TrainForm
from core.training.jobspec import SERVO_DATA, JobConfig


def test_the_form_becomes_one_job_config_with_the_policy_inputs():
    f = TrainForm.from_values({"name": " red ", "episode_ids": [3, "4"], "expert_demos": 2.0, "max_steps": 0,
                               "camera": "front", "robot_state": False, "grounded": None, "servo": True,
                               "corrections": 3, "vqa_scenes": 0, "lr": 1e-3})
    job = f.job_config("default")
    assert job.name == "red" and job.data.episode_ids == (3, 4) and job.data.expert_seeds == (0, 1)
    assert job.data.inputs == PolicyInputs(grounded=True)  # servoing implies the grounding line
    assert job.train.max_steps is None and job.train.lr == 1e-3 and job.eval.vqa_scenes == 0
    assert all(getattr(job.data, k) == v for k, v in SERVO_DATA.items()) and len(job.data.servo_seeds) == 3
    assert JobConfig.from_dict(job.to_dict()) == job


def test_a_bad_form_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="Grounded servoing"):
        TrainForm(expert_demos=1, corrections=2).job_config()
    with pytest.raises(ValueError, match="choose one"):
        TrainForm(expert_demos=1, robot_state=True, grounded=True).job_config()
    with pytest.raises(JobError, match="name"):
        TrainForm(expert_demos=1).job_config()
    with pytest.raises(TrainingError, match="unknown preset"):
        TrainForm(name="x", expert_demos=1, preset="fastest").job_config()
    with pytest.raises(ValueError, match="unknown train form field"):
        TrainForm.from_values({"colour": "red"})


def test_the_tab_starts_from_the_cpu_preset_without_a_gpu_and_the_paper_with_one():
    from core.training.config import PRESET_OUTCOMES, PRESETS, default_preset

    assert default_preset(gpu=False) == "cpu" and default_preset(gpu=True) == "paper"
    f = TrainForm.for_preset("cpu", name="cpu-job", expert_demos=25)
    train = f.job_config().train
    # the shipped adapter's recipe (recipes/default_adapter.py): what learned the action format on a CPU
    assert (train.lr, train.decision_weight, train.warmup_steps) == (4e-4, 20.0, 5)
    assert train.max_steps and train.batch_size * train.grad_accum * train.max_steps <= 400  # fits the CPU budget
    paper = TrainForm.for_preset("paper", name="gpu-job", expert_demos=1).job_config().train
    assert (paper.lr, paper.epochs, paper.max_steps, paper.decision_weight) == (5e-5, 1.0, None, 1.0)
    assert set(PRESET_OUTCOMES) == set(PRESETS)
    assert f.job_config().eval.max_samples == f.eval_samples
