"""Replay as language on the simulator: the text alone reproduces expert demonstrations."""

from __future__ import annotations

import pytest

from core.control.replay import replay_episode

pytest.importorskip("mujoco")

from core.control.expert import rollout  # noqa: E402
from core.robot.sim import SimConfig, SimRobot  # noqa: E402
from core.robot.tasks import Task  # noqa: E402


@pytest.fixture(scope="module")
def robot():  # type: ignore[no-untyped-def]
    r = SimRobot(SimConfig(render=False))
    yield r
    r.close()


@pytest.mark.parametrize(
    ("task", "seed"),
    [
        (Task("pick", "red block"), 0),
        (Task("put_in", "green block", "bowl"), 1),
        (Task("stack", "blue block", "red block"), 2),
        (Task("push_right", "yellow block"), 3),
    ],
)
def test_replay_reaches_the_same_outcome(robot: SimRobot, task: Task, seed: int) -> None:
    demo = rollout(robot, task, seed)
    assert demo.success
    result = replay_episode(demo.steps, task, seed, robot=robot)
    assert result.success, result
    assert result.ee_error_cm < 0.5 and result.max_ee_error_cm < 1.5 and result.timeouts == 0, result
