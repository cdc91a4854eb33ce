"""Training, grounding and judging on a robot other than the built-in arm (the simulated SO-101): its own
sizes in the subtask judge, pushes drawn within its reach, expert demos in the training job, its camera's
exact model and scene heights in the grounding line, the robot on the job spec and the adapter card."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from core.control.verify import sim_verify
from core.policy.config import PolicyInputs
from core.robot.episodes import draw_task
from core.robot.so101.kinematics import LIMITS
from core.robot.tasks import Task, is_feasible
from core.types import ObjectState, SceneState


def _scene(red=(0.2, 0.0, 0.015), blue=(0.2, 0.1, 0.015), size=0.015, held=None) -> SceneState:
    return SceneState((ObjectState("red block", "block", "red", red, size),
                       ObjectState("blue block", "block", "blue", blue, size),
                       ObjectState("bowl", "bowl", "", (0.25, -0.1, 0.0), 0.045),
                       ObjectState("plate", "plate", "", (0.15, -0.1, 0.0), 0.042)), held)


def test_the_subtask_judge_uses_the_scenes_own_sizes():
    start = _scene()
    # a lift is done when the pick task is achieved: 5 cm above the block's own resting height (1.5 cm here)
    assert sim_verify("lift the red block", start, _scene(red=(0.2, 0.0, 0.067), held="red block"), None)
    assert not sim_verify("lift the red block", start, _scene(red=(0.2, 0.0, 0.041), held="red block"), None)
    # stacked: 3 cm higher, not 5 cm
    on_top = _scene(red=(0.2, 0.1, 0.045))
    assert sim_verify("stack it on the blue block", start, on_top, "red block")
    assert not sim_verify("stack it on the blue block", start, _scene(red=(0.2, 0.1, 0.065)), "red block")
    # in the bowl: within 0.8 of its 4.5 cm radius (3.6 cm), not the built-in bowl's reach
    assert sim_verify("place it in the bowl", start, _scene(red=(0.25, -0.07, 0.02)), "red block")
    assert not sim_verify("place it in the bowl", start, _scene(red=(0.25, -0.06 + 0.02, 0.02)), "red block")
    # the built-in scene (no sizes) keeps its rules
    builtin = SceneState((ObjectState("red block", "block", "red", (0.5, 0.0, 0.025)),), None)
    assert not sim_verify("lift the red block", builtin,
                          SceneState((ObjectState("red block", "block", "red", (0.5, 0.0, 0.04)),), "red block"), None)


def test_pushes_out_of_the_arms_reach_are_not_drawn():
    far = _scene(red=(0.28, 0.0, 0.015))  # a push forward would end at 0.342 m: beyond the box's 0.31
    assert is_feasible(Task("push_forward", "red block"), far)  # the bowl does not block it ...
    assert not is_feasible(Task("push_forward", "red block"), far, LIMITS)  # ... the arm cannot reach it
    near = _scene(red=(0.11, 0.0, 0.015))  # the fingers would start behind the base's edge of the box
    assert not is_feasible(Task("push_forward", "red block"), near, LIMITS)
    assert is_feasible(Task("push_left", "red block"), _scene(red=(0.2, 0.0, 0.015)), LIMITS)
    for seed in range(40):  # every push drawn for the SO-101's scenes stays inside its box
        from core.robot.so101.sim import SPEC

        rng = np.random.default_rng(seed)
        x, y = rng.uniform(*SPEC.obj_x), rng.uniform(*SPEC.obj_y)
        scene = _scene(red=(x, y, 0.015), blue=(0.2, -0.12, 0.015))
        try:
            task = draw_task(seed, scene, "push_right", limits=LIMITS)
        except ValueError:
            continue
        block = scene.get(task.obj).pos
        assert LIMITS.y[0] <= block[1] - 0.062 and block[1] + 0.058 <= LIMITS.y[1]


def test_job_spec_takes_a_simulated_robot_and_refuses_what_it_cannot_do():
    from core.training.errors import JobError
    from core.training.jobspec import DataSpec

    assert DataSpec(expert_seeds=(1,), inputs=PolicyInputs(robot="so101-sim", grounded=True)).inputs.robot == "so101-sim"
    with pytest.raises(JobError, match="unknown robot"):
        DataSpec(expert_seeds=(1,), inputs=PolicyInputs(robot="ur5"))
    with pytest.raises(JobError, match="not a simulator"):
        DataSpec(expert_seeds=(1,), inputs=PolicyInputs(robot="so101"))
    assert DataSpec(episode_ids=(3,), inputs=PolicyInputs(robot="so101")).inputs.robot == "so101"  # its recordings: fine
    # servo corrections roll the rule out on the simulated SO-101 with its own distances; not on the real arm
    assert DataSpec(servo_seeds=(500,), inputs=PolicyInputs(grounded=True, robot="so101-sim")).n_episodes == 1
    with pytest.raises(JobError, match="not a simulator"):
        DataSpec(servo_seeds=(500,), inputs=PolicyInputs(grounded=True, robot="so101"))


def test_policy_inputs_read_the_robot_from_the_card():
    from core.policy.config import PolicyInputs

    assert PolicyInputs.from_card({"data": {"grounded": True, "robot": "so101-sim"}}).robot == "so101-sim"
    assert PolicyInputs.from_card({"data": {"grounded": True}}).robot == "sim"  # cards from before: the built-in


def test_expert_demos_run_on_the_so101_with_its_scene():
    from core.training.sources import expert_episodes

    recs = list(expert_episodes([0, 1], kind="pick", image_size=64, start_jitter=0.1, robot="so101-sim"))
    assert [r.key for r in recs] == ["expert-0", "expert-1"] and all(r.n_steps > 20 for r in recs)
    assert recs[0].verbalization.subtasks[0].text.startswith("grasp the ")
    frames = recs[1].frames([0, recs[1].n_steps - 1])
    assert frames[0].shape == (64, 64, 3) and not np.array_equal(frames[0], frames[recs[1].n_steps - 1])
    # every second demo starts off home, at the SO-101's scale (8-18 cm x 0.6 up, within its box)
    start = recs[1].states[0][0]
    assert LIMITS.contains(start) and 0.04 <= start[2] <= 0.11
    with pytest.raises(ValueError, match="not a simulator"):
        next(expert_episodes([0], robot="so101"))


class _Locator:
    """Sights every object exactly where the camera sees its centre (stands in for the learned head)."""

    def __init__(self, cam, scene):  # noqa: ANN001
        self.cam, self.scene = cam, scene

    def locate(self, frames):  # noqa: ANN001, ANN201
        from core.policy.locator import Sighting

        out = {}
        for o in self.scene.objects:
            u, v = self.cam.project(o.pos)
            out[o.name] = Sighting(o.name, u, v, 0.99)
        return [out for _ in frames]


def test_the_so101_grounder_uses_its_camera_and_block_size():
    from core.policy.grounding import sim_grounder
    from core.robot.so101.sim import So101Sim
    from core.robot.tabletop import SimConfig

    sim = So101Sim(SimConfig(image_size=224, cameras=("front",)))
    try:
        obs = sim.reset(5)
        cam = sim.camera_model("front")
    finally:
        sim.close()
    scene = obs.scene
    probe = _Locator(cam, scene)
    g = sim_grounder(224, locator=probe, robot="so101-sim")  # type: ignore[arg-type]
    assert g.heights.block_half == pytest.approx(0.015) and g.camera.position == cam.position
    block = next(o for o in scene.objects if o.kind == "block")
    where = g.place(probe.locate([None])[0][block.name], 224)
    assert math.dist(where[:2], block.pos[:2]) < 1e-4  # the exact camera model puts it back on the table
    line = g.line(obs.images["front"], f"grasp the {block.name}", obs.ee_pos, obs.gripper)
    dz = obs.ee_pos[2] - g.heights.grasp_z  # "down" to the SO-101's grasp height, not the built-in 2.2 cm
    assert f"{100 * dz:.1f} cm down" in line, line


def test_the_training_job_trains_on_so101_demos_and_its_card_names_the_robot(tmp_path, monkeypatch):
    """The job code the Train tab starts (`run_job`), on a tiny model: expert demos of the simulated SO-101
    become samples, the adapter is written, and its card records the robot the policy must ground with."""
    import json

    from core.model.adapter_files import read_card
    from core.policy.config import PolicyInputs
    from core.training.config import TrainConfig
    from core.training.jobspec import DataSpec, EvalSpec, JobConfig
    from core.training.runner import CONFIG_FILE, PROGRESS_FILE, run_job
    from tests.core.training.test_training_tiny import tiny_model_dir

    monkeypatch.setenv("VLM2VLA_ADAPTERS_DIR", str(tmp_path / "adapters"))
    job_dir = tmp_path / "job-1"
    job_dir.mkdir()
    JobConfig("so101 demos", TrainConfig(base_model=str(tiny_model_dir(tmp_path / "tiny")), max_steps=2, batch_size=2,
                                         grad_accum=1, lr=3e-3, checkpoint_every=5),
              DataSpec(expert_seeds=(0, 1), expert_kind="pick", val_fraction=0.5, max_entries=3, inputs=PolicyInputs(robot="so101-sim")),
              EvalSpec(max_samples=1, max_new_tokens=4, vqa_scenes=0)).save(job_dir / CONFIG_FILE)
    assert run_job(job_dir) == 0
    progress = json.loads((job_dir / PROGRESS_FILE).read_text())
    assert progress["status"] == "done", progress
    card = read_card(Path(progress["adapter_dir"]))
    assert card["data"]["robot"] == "so101-sim" and PolicyInputs.from_card(card).robot == "so101-sim"
    samples = (job_dir / "data" / "samples.jsonl").read_text().splitlines()
    assert samples and any("grasp the" in s for s in samples)


def test_servo_corrections_on_the_so101_answer_with_its_own_distances():
    from core.language.parse import parse
    from core.policy.grounding import sim_grounder
    from core.policy.servo import BUILT_IN_RULE, ServoRule, rule_entry
    from core.training.corrections import correction_samples

    grounder = sim_grounder(robot="so101-sim")
    rule = ServoRule.for_heights(grounder.heights)
    assert rule.travel_cm == 5.0 and rule != BUILT_IN_RULE
    samples = correction_samples([500], grounder.line, noise=0.3, noise_cm=2.0, kinds=("pick",), robot="so101-sim",
                                 heights=grounder.heights, time_limit_s=40.0)
    actions = [s for s in samples if s.kind == "actions"]
    assert len(actions) >= 3
    differs = 0
    for s in actions:
        subtask = s.prompt.split("Current subtask: ")[1].split(". Plan:")[0]
        line = s.prompt[s.prompt.index("Gripper "):s.prompt.index(" What are the next actions?")]
        (chunk,) = parse(s.target, initial_gripper=1)
        assert (chunk.dx, chunk.dy, chunk.dz, chunk.gripper) == rule_entry(line, subtask, rule)
        differs += rule_entry(line, subtask, rule) != rule_entry(line, subtask)
    assert differs >= 1  # the built-in arm's rule (10 cm travel) would have answered some cycles otherwise
