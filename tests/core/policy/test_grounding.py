"""The grounding line: camera geometry, the text, the locator head, training samples and the policy's line."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from core.cameras.model import PinholeCamera
from core.language.grounding import NOT_IN_VIEW, grounding_text, offset_words, target_object
from core.policy.config import PolicyInputs


def from_xyaxes(x, y) -> tuple[float, ...]:
    """MuJoCo's camera `xyaxes` -> its camera-to-world matrix (columns: the camera's x, y, z axes)."""
    x, y = np.asarray(x, float) / np.linalg.norm(x), np.asarray(y, float) / np.linalg.norm(y)
    return tuple(np.stack([x, y, np.cross(x, y)], axis=1).ravel())


# the simulator's front camera (core.robot.scene): at 0.8 m, looking down and forward
FRONT = PinholeCamera(position=(0.0, 0.0, 0.8), rotation=from_xyaxes((0, -1, 0), (0.838, 0, 0.545)),
                      fovy_deg=37.0, size=224)


def test_a_pixel_goes_back_to_the_point_on_its_plane():
    for point in [(0.4, 0.1, 0.025), (0.62, -0.2, 0.0), (0.3, 0.25, 0.025)]:
        u, v = FRONT.project(point)
        assert 0 <= u < 224 and 0 <= v < 224
        back = FRONT.ray_to_plane(u, v, point[2])
        assert back is not None and np.allclose(back, point, atol=1e-9)
    u, v = FRONT.project((0.4, 0.1, 0.025))
    big = FRONT.resized(448)
    assert np.allclose(big.project((0.4, 0.1, 0.025)), (2 * u, 2 * v))  # same view, twice the pixels
    assert FRONT.ray_to_plane(112, -5000, 0.0) is None  # far above the horizon: the ray never meets the table


def test_the_sim_camera_model_matches_its_renderer():
    from core.model.scenes import SceneMaker
    from core.robot.sim import SimConfig, SimRobot

    fresh = SimRobot(SimConfig(cameras=("front",)))  # nothing simulated yet: the calibration is still right
    try:
        cam = fresh.camera_model("front")
        assert np.allclose(cam.rotation, FRONT.rotation, atol=1e-6) and np.allclose(cam.position, FRONT.position)
        with pytest.raises(Exception, match="no camera 'top'"):
            fresh.camera_model("top")
    finally:
        fresh.close()

    maker = SceneMaker(seed=3)
    try:
        scene = maker.make(0, 1)
        cam = maker.robot.camera_model("front")
        assert np.allclose(cam.rotation, FRONT.rotation, atol=1e-6) and np.allclose(cam.position, FRONT.position)
        img = scene.image.astype(int)
        for obj in scene.state.objects:
            if obj.name.endswith("block") and obj.pos[2] > 0:
                u, v = cam.project(obj.pos)
                r, g, b = img[int(v), int(u)]
                assert max(r, g, b) - min(r, g, b) > 60, obj.name  # a saturated block colour, not the table
    finally:
        maker.close()


def test_the_subtask_names_the_object_to_go_to():
    assert target_object("grasp the red block") == "red block"
    assert target_object("place it in the bowl") == "bowl"
    assert target_object("stack it on the green block") == "green block"
    assert target_object("push the blue block left") == "blue block"
    assert target_object("lift the red block") is None  # already in the gripper
    assert target_object("put it down") is None


def test_the_grounding_line_says_where_the_object_is_from_the_gripper():
    ee = (0.34, 0.0, 0.18)
    line = grounding_text("grasp the red block", ee, 1.0, {"red block": (0.42, 0.045, 0.022)})
    assert line == "Gripper 18.0 cm above the table, open. Red block: 8.0 cm forward, 4.5 cm left, 15.8 cm down."
    assert grounding_text("place it in the bowl", (0.34, 0.0, 0.02), 0.5, {"bowl": (0.30, -0.1, 0.075)}).endswith(
        "closed. Bowl: 4.0 cm back, 10.0 cm right, 5.5 cm up.")
    assert grounding_text("lift the red block", ee, 0.5, {}) == "Gripper 18.0 cm above the table, closed."
    assert grounding_text("grasp the blue block", ee, 1.0, {"blue block": None}).endswith(f"Blue block: {NOT_IN_VIEW}.")
    assert offset_words(-0.0004, 0.0, -0.0004) == "0.0 cm forward, 0.0 cm left, 0.0 cm down"  # no "-0.0"


def test_placing_subtasks_go_down_to_the_release_height_and_grasps_to_the_grasp_height():
    from core.control.expert import reach_height
    from core.language.grounding import is_placing
    from core.robot.heights import GRASP_Z, RELEASE_Z

    assert is_placing("place it in the bowl") and is_placing("stack it on the blue block")
    assert not is_placing("grasp the red block") and not is_placing("push the red block to the left")
    assert reach_height("red block", placing=False) == GRASP_Z
    assert reach_height("bowl", placing=True) == RELEASE_Z["put_in"]
    assert reach_height("plate", placing=True) == RELEASE_Z["put_on"]
    assert reach_height("blue block", placing=True) > 2 * GRASP_Z  # on top of a block


def test_the_locator_head_gives_a_pixel_and_a_presence_per_object():
    from core.policy.locator import OBJECTS, LocatorHead

    head = LocatorHead(width=32, grid=4, patch=14)
    pix, logit = head(torch.randn(3, 16, 32))
    assert pix.shape == (3, len(OBJECTS), 2) and logit.shape == (3, len(OBJECTS))
    assert bool(((pix > -14 * 4) & (pix < 14 * 8)).all())  # near the 56 px image (sub-patch offsets)


def test_the_context_head_scores_a_patch_with_its_neighbours_and_the_plain_head_alone():
    from core.policy.locator import LocatorHead

    torch.manual_seed(0)
    feats = torch.randn(1, 64, 16)
    moved = feats.clone()
    moved[0, 9] = torch.randn(16)  # one patch changes (row 1, column 1 of the 8 x 8 grid)

    def scores(head, f):
        return head.mlp(f if not head.context else torch.cat(
            [f, head.ctx(f.transpose(1, 2).reshape(1, 16, 8, 8)).flatten(2).transpose(1, 2)], -1))[0, :, 0]

    for context, neighbour_changes in ((0, False), (8, True)):
        head = LocatorHead(width=16, grid=8, patch=14, context=context).eval()
        with torch.no_grad():
            a, b = scores(head, feats), scores(head, moved)
        assert not torch.isclose(a[9], b[9])  # the patch itself
        assert (not torch.isclose(a[10], b[10])) == neighbour_changes  # its right-hand neighbour
        assert torch.isclose(a[63], b[63])  # the far corner: out of the 7 x 7 view
        assert head(feats)[0].shape == (1, 7, 2)


def test_a_missing_or_stale_locator_is_a_clear_error(tmp_path):
    from core.policy.locator import HEAD_FILE, META_FILE, Locator, LocatorError

    (tmp_path / "vision.safetensors").write_bytes(b"weights of one build")
    with pytest.raises(LocatorError, match="recipes.locator"):
        Locator.load(tmp_path)
    (tmp_path / HEAD_FILE).write_bytes(b"")
    (tmp_path / META_FILE).write_text(json.dumps({"vision_fingerprint": "another"}))
    with pytest.raises(LocatorError, match="trained on vision build another"):
        Locator.load(tmp_path)


# ---- training samples -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def records():
    from core.training.sources import expert_episodes
    from tests.core.training.test_training_tiny import IMAGE_SIZE

    return list(expert_episodes([0], image_size=IMAGE_SIZE))


def digest(frame) -> str:
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(frame).tobytes()).hexdigest()[:8]


def fake_ground(calls):
    def ground(frames, subtasks, states):
        calls.append(len(frames))
        return [f"Gripper {100 * ee[2]:.1f} cm above the table. Target of '{sub}' at frame {digest(f)}."
                for f, sub, (ee, _) in zip(frames, subtasks, states, strict=True)]
    return ground


def test_grounded_questions_carry_the_line_of_their_own_frame_and_subtask(records):
    from core.training.data import DataConfig, build_samples
    from core.training.errors import DataError
    from tests.core.training.test_training_tiny import IMAGE_SIZE

    rec = records[0]
    calls: list[int] = []
    cfg = DataConfig(image_size=IMAGE_SIZE, max_entries=3, inputs=PolicyInputs(grounded=True), window_stride=2)
    got = build_samples([rec], cfg, fake_ground(calls))
    asked = [s for s in got if s.kind in ("plan", "actions", "done")]
    assert asked and len(calls) == 1  # one batch per episode
    frames = rec.frames(sorted({s.step for s in asked}))
    for s in asked:
        subtask = s.prompt.split("subtask: ")[1].split(".")[0]
        ee = rec.states[s.step][0]
        assert f"Gripper {100 * ee[2]:.1f} cm above the table. Target of '{subtask}' at frame {digest(frames[s.step])}." in s.prompt
    others = [s for s in got if s.kind not in ("plan", "actions", "done")]
    assert others and not any("above the table" in s.prompt for s in others)
    with pytest.raises(DataError, match="object locator"):
        build_samples([rec], cfg)
    with pytest.raises(DataError, match="no recorded robot state"):
        build_samples([dataclasses.replace(rec, states=())], cfg, fake_ground([]))
    with pytest.raises(ValueError, match="choose one"):
        PolicyInputs(grounded=True, robot_state=True)


def test_a_grounded_card_makes_a_grounded_policy():
    from core.policy.config import PolicyConfig, PolicyInputs

    assert PolicyConfig.from_card({"data": {"grounded": True}}).inputs == PolicyInputs(grounded=True)
    assert PolicyConfig.from_card({}).grounded is False  # older cards
    from core.training.errors import JobError
    from core.training.jobspec import JobConfig

    with pytest.raises(ValueError, match="front"):
        PolicyInputs(grounded=True, camera="wrist")
    with pytest.raises(JobError, match="front"):  # a job config that asks for it is refused too
        JobConfig.from_dict({"name": "x", "data": {"expert_seeds": [1], "inputs": {"grounded": True, "camera": "wrist"}}})
    older = JobConfig.from_dict({"name": "x", "data": {"expert_seeds": [1], "grounded": True, "camera": "front"}})
    assert older.data.inputs == PolicyInputs(grounded=True)  # a config written before `inputs`
    assert JobConfig.from_dict(older.to_dict()) == older


def test_demos_can_start_beside_the_object_they_grasp():
    from core.training.sources import expert_episodes, near_pose

    p = near_pose(3, (0.45, -0.1, 0.025), 0.06)
    assert p == near_pose(3, (0.45, -0.1, 0.025), 0.06)  # seeded
    assert abs(p[0] - 0.45) <= 0.06 and abs(p[1] + 0.1) <= 0.06 and 0.05 <= p[2] <= 0.15
    home, near = expert_episodes([4, 5], kind="pick", image_size=64, start_near=0.06)
    assert home.states[0][0] == pytest.approx((0.34, 0.0, 0.18), abs=0.01)  # the first of each pair starts home
    from core.robot.episodes import draw_task
    from core.robot.sim import SimConfig, SimRobot

    robot = SimRobot(SimConfig(image_size=64, cameras=("front",)))
    try:
        scene = robot.reset(5).scene
        obj = scene.get(draw_task(5, scene, "pick").obj).pos
    finally:
        robot.close()
    want = near_pose(5, obj, 0.06)
    assert near.states[0][0] == pytest.approx(want, abs=0.006)  # the demo starts where it was sent, by its block


def test_an_object_the_arm_hides_is_placed_where_it_was_last_seen():
    from core.policy.grounding import Grounder
    from core.policy.locator import Sighting

    class Blinking:  # sees the red block in the first frame only
        calls = 0

        def locate(self, frames):
            out = []
            for _ in frames:
                p = 0.99 if Blinking.calls == 0 else 0.01
                Blinking.calls += 1
                out.append({"red block": Sighting("red block", 120.0, 150.0, p)})
            return out

    g = Grounder(Blinking(), FRONT)
    frame = np.zeros((FRONT.size, FRONT.size, 3), np.uint8)
    ee = (0.34, 0.0, 0.18)
    first, hidden = g.lines([frame, frame], ["grasp the red block"] * 2, [(ee, 1.0)] * 2)
    assert "cm forward" in first and hidden == first  # remembered within one call (one episode)
    assert g.line(frame, "grasp the red block", ee, 1.0).endswith(f"Red block: {NOT_IN_VIEW}.")  # a fresh memory
    seen: dict = {}
    Blinking.calls = 0
    assert g.line(frame, "grasp the red block", ee, 1.0, seen) == first
    assert g.line(frame, "grasp the red block", ee, 1.0, seen) == first  # the caller's memory


def test_sightings_next_to_the_gripper_do_not_replace_one_from_farther_away():
    from core.policy.grounding import NEAR_M, Grounder
    from core.policy.locator import Sighting

    class Drifting:  # the object seems to move by 10 pixels once the gripper is over it
        def __init__(self):
            self.u = 120.0

        def locate(self, frames):
            out = [{"bowl": Sighting("bowl", self.u, 150.0, 0.99)} for _ in frames]
            self.u += 10.0
            return out

    g = Grounder(Drifting(), FRONT)
    frame = np.zeros((FRONT.size, FRONT.size, 3), np.uint8)
    far = g.place(Sighting("bowl", 120.0, 150.0, 0.99), FRONT.size)
    seen: dict = {}
    g.line(frame, "place it in the bowl", (0.34, 0.0, 0.18), 0.5, seen)
    assert np.allclose(seen["bowl"], far)
    over = (far[0], far[1], 0.10)  # the gripper above the bowl: the next sighting drifts and is not taken
    g.line(frame, "place it in the bowl", over, 0.5, seen)
    assert np.allclose(seen["bowl"], far)
    away = (far[0] - 2 * NEAR_M, far[1], 0.15)  # from farther away it is taken again
    g.line(frame, "place it in the bowl", away, 0.5, seen)
    assert not np.allclose(seen["bowl"], far)
