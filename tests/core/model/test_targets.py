"""Stage-1 vision targets: per-block token relations and training scenes with the gripper among the blocks."""

from __future__ import annotations

import numpy as np
import pytest

from core.model.scenes import SceneMaker
from core.model.targets import ALIGNED_M, AROUND_Z, IGNORE, TOKEN_HEADS, relative_class, token_targets
from core.types import ObjectState, SceneState

COL = {k: j for j, k in enumerate(TOKEN_HEADS)}


def scene_with(blocks: dict[str, tuple[float, float]], ee: tuple[float, float, float], pixels: dict):  # noqa: ANN201
    """A Scene with blocks at `blocks` (colour -> xy), the bowl at (0.5, 0.15), the plate at (0.5, -0.15)."""
    from core.model.scenes import Scene

    objects = tuple(ObjectState(f"{c} block", "block", c, (x, y, 0.025)) for c, (x, y) in blocks.items())
    objects += (ObjectState("bowl", "bowl", "", (0.5, 0.15, 0.0)), ObjectState("plate", "plate", "", (0.5, -0.15, 0.0)))
    return Scene(image=np.zeros((224, 224, 3), np.uint8), state=SceneState(objects), ee=ee, gripper=1.0, pixels=pixels)


def test_relative_class_has_a_level_band() -> None:
    assert relative_class(-0.05) == 0
    assert relative_class(ALIGNED_M / 2) == relative_class(-ALIGNED_M / 2) == 1
    assert relative_class(0.05) == 2


def test_each_block_token_carries_its_relations() -> None:
    # red: left of the gripper and in front of it, the leftmost block; blue: right, level in x, rightmost
    blocks = {"red": (0.55, 0.25), "blue": (0.40, -0.20)}
    pixels = {"red block": (20.0, 20.0), "blue block": (200.0, 150.0)}  # cells 0 and 2*4+3=11
    t = token_targets(scene_with(blocks, (0.40, 0.0, 0.15), pixels))
    assert t.shape == (16, len(TOKEN_HEADS))
    red, blue = t[0], t[11]
    assert (red[COL["tok_x"]], red[COL["tok_y"]], red[COL["tok_grasp"]]) == (2, 2, 0)
    assert (blue[COL["tok_x"]], blue[COL["tok_y"]]) == (1, 0)
    assert red[COL["tok_leftmost"]] == 1 and blue[COL["tok_leftmost"]] == 0
    assert blue[COL["tok_rightmost"]] == 1 and red[COL["tok_rightmost"]] == 0
    assert red[COL["tok_side"]] == 1 and blue[COL["tok_side"]] == 0  # left / right of the bowl (y 0.15)
    others = np.delete(t, [0, 11], axis=0)
    assert (others == IGNORE).all()


def test_grasp_class_over_and_around_a_block() -> None:
    pixels = {"red block": (100.0, 100.0)}  # cell 1*4+1 = 5
    high = token_targets(scene_with({"red": (0.5, 0.0)}, (0.505, 0.0, 0.12), pixels))
    low = token_targets(scene_with({"red": (0.5, 0.0)}, (0.505, 0.0, AROUND_Z - 0.01), pixels))
    beside = token_targets(scene_with({"red": (0.5, 0.0)}, (0.5, 0.05, AROUND_Z - 0.01), pixels))
    assert (high[5, COL["tok_grasp"]], low[5, COL["tok_grasp"]], beside[5, COL["tok_grasp"]]) == (1, 2, 0)


def test_two_blocks_in_one_cell_are_not_labelled() -> None:
    pixels = {"red block": (10.0, 10.0), "blue block": (30.0, 30.0)}  # both in cell 0
    t = token_targets(scene_with({"red": (0.5, 0.2), "blue": (0.45, 0.3)}, (0.4, 0.0, 0.1), pixels))
    assert (t == IGNORE).all()


@pytest.fixture(scope="module")
def makers():  # noqa: ANN201
    plain, task = SceneMaker(image_size=56, seed=3), SceneMaker(image_size=56, seed=3, task_poses=1.0)
    yield plain, task
    plain.close()
    task.close()


def test_task_poses_put_the_gripper_low_among_the_blocks(makers) -> None:  # noqa: ANN001
    plain, task = makers
    heights, over = [], 0
    for i in range(40):
        s = task.make(0, i)
        heights.append(s.ee[2])
        blocks = [o.pos for o in s.state.objects if o.kind == "block" and o.pos[2] < 0.1]
        over += any(abs(b[0] - s.ee[0]) < ALIGNED_M and abs(b[1] - s.ee[1]) < ALIGNED_M for b in blocks)
    assert min(heights) < AROUND_Z
    assert sum(h <= 0.15 for h in heights) >= 30  # all but scenes without a free block on the table
    assert over >= 8  # about half the scenes are right over a block
    plain_heights = [plain.make(0, i).ee[2] for i in range(40)]
    assert min(plain_heights) >= 0.1  # without task poses the gripper is never this low


def test_no_task_poses_keeps_the_scene_stream(makers) -> None:  # noqa: ANN001
    """The held-out scene-VQA set is drawn without task poses: its scenes must not change."""
    plain, _ = makers
    other = SceneMaker(image_size=56, seed=3, task_poses=0.0)
    try:
        a, b = plain.make(1, 5), other.make(1, 5)
        assert a.ee == b.ee and np.array_equal(a.image, b.image)
    finally:
        other.close()
    with pytest.raises(ValueError, match="task_poses"):
        SceneMaker(image_size=56, task_poses=1.5)


def test_stage1_token_heads_count_only_with_their_weight(makers) -> None:  # noqa: ANN001
    import torch

    from core.model.assemble import VisionSpec
    from recipes.default_model.stage1 import TowerProbe, s1_batch, s1_evaluate, s1_loss

    _, task = makers
    torch.manual_seed(0)
    spec = VisionSpec(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                      image_size=56, patch_size=14, mm_tokens_per_image=16)
    probe = TowerProbe(spec, 0)
    batch = s1_batch(task, 0, 0, 6)
    assert batch["tok"].shape == (6, 16, len(TOKEN_HEADS)) and (batch["tok"] != IGNORE).any()
    out = probe(batch["pixels"])
    assert all(out[k].shape == (6, 16, n) for k, n in TOKEN_HEADS.items())
    assert s1_loss(out, batch, 1.0, 0.0, 1.0) > s1_loss(out, batch, 1.0, 0.0, 0.0)
    acc = s1_evaluate(probe, [batch], tokens=True)
    assert all(0.0 <= acc[k] <= 1.0 for k in TOKEN_HEADS)
    assert acc["score"] != s1_evaluate(probe, [batch])["score"]  # the token heads join the score only when asked


def test_reach_answer_is_the_first_phase_of_a_grasp_plan() -> None:
    from core.language.plan import first_entry_rule
    from recipes.default_model.chats import reach_answer

    assert reach_answer((0.52, 0.10), (0.40, 0.0, 0.15)) == "forward and left"
    assert reach_answer((0.50, -0.03), (0.40, 0.0, 0.15)) == "forward and slightly right"
    assert reach_answer((0.50, 0.0), (0.505, 0.004, 0.15)) == "down"
    assert reach_answer((0.50, 0.0), (0.505, 0.004, AROUND_Z - 0.02)) == "close the gripper"
    # the answer is a phase the plan grammar and the loop's first-entry rule read
    rule = first_entry_rule("move " + reach_answer((0.50, 0.10), (0.40, 0.0, 0.15)))
    assert rule is not None and rule[0][0] in ("+", "++") and rule[0][1] in ("+", "++")
