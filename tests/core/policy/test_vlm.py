"""The VLM policy on a tiny random Gemma-3: every generated subtask list, plan and action list is valid,
and an autonomous run with it never meets malformed text (it may fail the task: the weights are random)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.control.autonomous import AutonomousRun, RunConfig
from core.control.loop import ControlLoop, LoopConfig
from core.language.grammar import LexiconAcceptor, accepts, plan_lexicon
from core.language.parse import parse, parse_subtasks
from core.model.loader import load_model
from core.policy.config import PolicyConfig, PolicyInputs
from core.policy.vlm import VLMPolicy, valid_subtask_lists
from core.robot.sim import SimConfig, SimRobot
from tests.model_fixtures import tiny_gemma3

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def policy(tmp_path_factory):
    loaded = load_model(tiny_gemma3(tmp_path_factory.mktemp("g3")), precision="fp32")
    return VLMPolicy(loaded, PolicyConfig(max_entries=3))


def test_each_question_gives_valid_language(policy):
    img = np.zeros((64, 64, 3), dtype=np.uint8)
    subs = policy.subtasks(img, "pon el bloque rojo en el cuenco")
    assert subs in valid_subtask_lists()
    first = parse_subtasks(subs)[0]
    plan = policy.plan(img, "x", first)
    assert plan and accepts(LexiconAcceptor(plan_lexicon()), plan)
    acts = policy.actions(img, "x", first, plan)
    assert 1 <= len(parse(acts)) <= 3
    assert policy.is_done(img, first) in (True, False)


def test_autonomous_run_with_the_vlm_never_sees_malformed_text(policy):
    loop = ControlLoop(lambda: SimRobot(SimConfig(image_size=64)), LoopConfig(hz=30))
    loop.start(seed=0)
    try:
        run = AutonomousRun(policy, "put the red block in the bowl", config=RunConfig(max_retries=0, max_cycles=1, time_limit_s=60))
        loop.set_driver(run.start())
        assert run.wait(90)
        kinds = [e.kind for e in run.events]
        assert "malformed" not in kinds
        assert kinds[0] == "subtasks" and "actions" in kinds
        assert run.result in ("success", "failed")
    finally:
        loop.close()


@pytest.mark.parametrize("plan", ["move forward and slightly left, then down, then close the gripper",
                                  "close the gripper, then move right and down", "move up"])
def test_action_chunk_starts_the_way_the_plan_says(policy, plan):
    from core.language.plan import first_entry_rule

    img = np.full((64, 64, 3), 90, dtype=np.uint8)
    first = parse(policy.actions(img, "x", "grasp the red block", plan))[0]
    rule = first_entry_rule(plan)
    assert rule is not None
    axes, grip = rule
    for want, v in zip(axes, (first.dx, first.dy, first.dz)):
        assert {"free": True, "small": abs(v) < 1.0, "++": v >= 1.0, "--": v <= -1.0, "+": v > 0, "-": v < 0}[want], (want, v)
    assert grip is None or first.gripper == grip


def test_follow_plan_can_be_switched_off(tmp_path):
    loaded = load_model(tiny_gemma3(tmp_path), precision="fp32")
    free = VLMPolicy(loaded, PolicyConfig(max_entries=3, follow_plan=False))
    assert free._action_constraint("move up") == "actions"
    assert VLMPolicy(loaded, PolicyConfig(max_entries=3))._action_constraint("move up") == "actions('small', 'small', '++') same gripper"
    assert VLMPolicy(loaded, PolicyConfig(max_entries=3))._action_constraint("move up, then close the gripper") == (
        "actions('small', 'small', '++')")


def test_the_state_line_reaches_only_an_adapter_trained_with_it(policy, monkeypatch):
    import core.policy.vlm as pol

    asked = []
    real = pol.prepare_inputs
    monkeypatch.setattr(pol, "prepare_inputs", lambda loaded, image, prompt: asked.append(prompt) or real(loaded, image, prompt))
    img = np.zeros((64, 64, 3), dtype=np.uint8)
    state = "Gripper: x 34.0, y 0.0, z 18.0 cm, open."
    with_state = VLMPolicy(policy.loaded, PolicyConfig(PolicyInputs(robot_state=True), max_entries=3))
    for p in (policy, with_state):
        plan = p.plan(img, "x", "grasp the red block", state=state)
        p.actions(img, "x", "grasp the red block", plan, state=state)
        p.is_done(img, "grasp the red block", state=state)
    assert len(asked) == 6
    assert not any(state in q for q in asked[:3])  # trained without it: the training questions, unchanged
    assert all(q.count(state) == 1 for q in asked[3:])


def test_a_grounded_policy_writes_its_line_with_its_grounder(policy):
    class Grounder:
        def line(self, image, subtask, ee_pos, gripper, seen=None):
            if seen is not None:
                seen[subtask] = ee_pos
            return f"Gripper {100 * ee_pos[2]:.1f} cm above the table. Going to: {subtask}."

    img = np.zeros((64, 64, 3), dtype=np.uint8)
    grounded = VLMPolicy(policy.loaded, PolicyConfig(max_entries=3), grounder=Grounder())
    assert grounded.grounded and not grounded.robot_state
    line = grounded.context(img, "grasp the red block", (0.34, 0.0, 0.18), 1.0)
    assert line == "Gripper 18.0 cm above the table. Going to: grasp the red block."
    memory: dict = {}
    assert grounded.context(img, "grasp the red block", (0.34, 0.0, 0.18), 1.0, memory) == line
    assert memory == {"grasp the red block": (0.34, 0.0, 0.18)}  # the run's memory reaches the grounder
    assert grounded._state(line) == line  # its questions carry the line
    assert policy.context(img, "grasp the red block", (0.34, 0.0, 0.18), 1.0) is None  # plain adapter: no line
    stateful = VLMPolicy(policy.loaded, PolicyConfig(PolicyInputs(robot_state=True), max_entries=3))
    assert stateful.context(img, "x", (0.34, 0.0, 0.18), 1.0) == "Gripper: x 34.0, y 0.0, z 18.0 cm, open."


def test_subtasks_can_be_decoded_greedily_instead_of_ranked(policy):
    """`rank_subtasks=False`: greedy decoding under the prefix grammar of the valid lists (the ranked whole
    list is the default); either way the answer is one of the valid lists."""
    greedy = VLMPolicy(policy.loaded, PolicyConfig(max_entries=3, rank_subtasks=False))
    img = np.zeros((64, 64, 3), dtype=np.uint8)
    subs = greedy.subtasks(img, "put the red block in the bowl")
    assert subs in valid_subtask_lists() and greedy.last_ranking == []
    assert "subtasks" in greedy.last  # decoded token by token, not ranked
