"""The loop's subtask judge agrees with the task's own success test where they overlap."""

from __future__ import annotations

import pytest

from core.control.verify import sim_verify
from core.robot.tasks import BLOCK_HALF, LIFT_HEIGHT, Task, is_success
from core.types import ObjectState, SceneState


def scene(z: float, held: str | None = "red block", size: float = 0.0) -> SceneState:
    half = size or BLOCK_HALF
    return SceneState((ObjectState("red block", "block", "red", (0.4, 0.0, half + z), size),
                       ObjectState("bowl", "bowl", "", (0.4, 0.2, 0.0))), held=held)


@pytest.mark.parametrize("size", [0.0, 0.6 * BLOCK_HALF])  # the built-in blocks and the SO-101's smaller ones
@pytest.mark.parametrize("z", [0.01, 0.03, LIFT_HEIGHT - 0.002, LIFT_HEIGHT + 0.002, 0.09])
def test_a_lift_is_judged_done_exactly_when_the_pick_task_is_achieved(z, size):
    start, now = scene(0.0, None, size), scene(z, "red block", size)
    pick = Task("pick", "red block")
    assert sim_verify("lift the red block", start, now, "red block") is is_success(pick, start, now)


def test_a_lift_without_the_block_in_the_gripper_is_not_done():
    assert sim_verify("lift the red block", scene(0.0, None), scene(0.09, None), "red block") is False
