import numpy as np
import pytest

from core.robot.base import Robot, RobotError
from core.robot.sim import SimConfig, SimRobot
from core.robot.tasks import BLOCKS, Task, TaskError, all_tasks, is_feasible, is_success, task_from_instruction
from core.types import Command, ObjectState, SceneState


@pytest.fixture(scope="module")
def sim():
    r = SimRobot(SimConfig(image_size=224))
    yield r
    r.close()


def test_implements_robot_contract(sim):
    assert isinstance(sim, Robot)


def test_reset_is_deterministic_by_seed(sim):
    a = sim.reset(5)
    b = sim.reset(5)
    c = sim.reset(6)
    assert a.scene == b.scene
    assert a.scene != c.scene
    assert np.array_equal(a.images["front"], b.images["front"])


def test_layout_has_all_objects_on_the_table(sim):
    obs = sim.reset(1)
    names = {o.name for o in obs.scene.objects}
    assert names == set(BLOCKS) | {"bowl", "plate"}
    for o in obs.scene.objects:
        assert 0.3 < o.pos[0] < 0.7 and -0.3 < o.pos[1] < 0.3
    assert obs.scene.held is None


def test_cameras_render_224_rgb(sim):
    obs = sim.reset(0)
    for cam in ("front", "wrist"):
        img = obs.images[cam]
        assert img.shape == (224, 224, 3) and img.dtype == np.uint8
        assert img.std() > 10  # not a blank frame


def test_front_camera_left_is_robot_left(sim):
    """Image-left must be the robot's +y so that 'left' means the same to people and the model."""
    layout = sim.sample_layout(np.random.default_rng(0), n_blocks=1)
    name = next(iter(layout.blocks))
    for y, side in ((0.18, "left"), (-0.18, "right")):
        layout.blocks[name] = (0.5, y, 0.025, 0.0)
        layout.bowl, layout.plate = (0.62, 0.0), (0.40, 0.0)
        img = sim.set_layout(layout).images["front"].astype(int)
        color = {"red": 0, "green": 1, "blue": 2, "yellow": 0}[name.split()[0]]
        mask = (img[..., color] > 150) & (img.sum(-1) - img[..., color] < 200)
        cols = np.nonzero(mask)[1]
        assert cols.size > 20
        assert (cols.mean() < 112) == (side == "left")


def test_frames_are_rendered_again_only_when_something_moved(sim):
    obs = sim.reset(2)
    hold = Command(obs.ee_pos, obs.ee_yaw, obs.gripper)
    n = sim.renders
    for _ in range(5):  # holding still: the same picture, not drawn again
        sim.apply(hold)
        still = sim.observe()
    assert sim.renders == n
    assert all(np.array_equal(still.images[c], obs.images[c]) for c in sim.cameras)
    x, y, z = obs.ee_pos
    for _ in range(5):
        sim.apply(Command((x, y, z + 0.05), obs.ee_yaw, obs.gripper))
    moved = sim.observe()
    assert sim.renders == n + len(sim.cameras)
    assert not np.array_equal(moved.images["front"], obs.images["front"])
    settle = Command(moved.ee_pos, moved.ee_yaw, moved.gripper)
    for _ in range(60):  # the arm settles; then it holds still again
        sim.apply(settle)
        sim.observe()
    m = sim.renders
    for _ in range(3):
        sim.apply(settle)
        again = sim.observe()
    assert sim.renders == m
    assert all(np.array_equal(again.images[c], sim.render(c)) for c in sim.cameras)  # what a render draws now
    sim.reset(3)  # a new scene is drawn
    assert sim.renders == m + len(sim.cameras)


def test_moving_only_the_bowl_draws_the_scene_again(sim):
    from core.robot.sim import Layout

    layout = Layout(blocks={"red block": (0.5, 0.0, 0.025, 0.0)}, bowl=(0.45, 0.15), plate=(0.55, -0.15))
    first = sim.set_layout(layout)
    moved = sim.set_layout(Layout(blocks=layout.blocks, bowl=(0.6, 0.2), plate=layout.plate))
    assert not np.array_equal(first.images["front"], moved.images["front"])
    assert np.array_equal(moved.images["front"], sim.render("front"))


def test_apply_moves_gripper_and_grasp_marks_held(sim):
    obs = sim.reset(0)
    x, y, _ = obs.scene.get("red block").pos
    for z, g, n in ((0.15, 1.0, 40), (0.022, 1.0, 40), (0.022, 0.0, 15), (0.12, 0.0, 40)):
        for _ in range(n):
            sim.apply(Command((x, y, z), 0.0, g))
    obs = sim.observe()
    assert obs.scene.held == "red block"
    assert obs.scene.get("red block").pos[2] > 0.08
    assert obs.gripper < 0.7


def test_non_finite_command_is_refused(sim):
    sim.reset(0)
    with pytest.raises(RobotError):
        sim.apply(Command((float("nan"), 0, 0.1), 0.0, 1.0))


def _scene(**pos):
    objs = [ObjectState(n, "block", n.split()[0], p) for n, p in pos.items() if "block" in n]
    objs += [ObjectState("bowl", "bowl", "", (0.5, 0.15, 0.0)), ObjectState("plate", "plate", "", (0.5, -0.15, 0.0))]
    return SceneState(tuple(objs))


def test_success_predicates():
    start = _scene(**{"red block": (0.45, 0.0, 0.025), "blue block": (0.55, 0.0, 0.025)})
    in_bowl = _scene(**{"red block": (0.51, 0.16, 0.028), "blue block": (0.55, 0.0, 0.025)})
    assert is_success(Task("put_in", "red block", "bowl"), start, in_bowl)
    assert not is_success(Task("put_on", "red block", "plate"), start, in_bowl)
    stacked = _scene(**{"red block": (0.551, 0.001, 0.075), "blue block": (0.55, 0.0, 0.025)})
    assert is_success(Task("stack", "red block", "blue block"), start, stacked)
    pushed = _scene(**{"red block": (0.45, 0.06, 0.025), "blue block": (0.55, 0.0, 0.025)})
    assert is_success(Task("push_left", "red block"), start, pushed)
    assert not is_success(Task("push_right", "red block"), start, pushed)
    lifted = SceneState(_scene(**{"red block": (0.45, 0.0, 0.09)}).objects, held="red block")
    assert is_success(Task("pick", "red block"), start, lifted)
    dropped = _scene(**{"red block": (0.45, 0.0, 0.09)})
    assert not is_success(Task("pick", "red block"), start, dropped)


def test_push_into_bowl_wall_is_infeasible():
    blocked = _scene(**{"red block": (0.5, 0.02, 0.025)})
    assert not is_feasible(Task("push_left", "red block"), blocked)
    assert is_feasible(Task("push_right", "red block"), blocked)


def test_task_validation_and_instructions_round_trip():
    with pytest.raises(TaskError):
        Task("stack", "red block", "red block")
    with pytest.raises(TaskError):
        Task("fly", "red block")
    for t in all_tasks():
        assert task_from_instruction(t.instruction.upper() + ".") == t
    with pytest.raises(TaskError):
        task_from_instruction("make coffee")


def test_closed_sim_refuses(sim):
    r = SimRobot(SimConfig(render=False))
    r.close()
    with pytest.raises(RobotError):
        r.reset(0)


def test_blocks_left_out_of_a_layout_stay_out_of_the_scene(sim):
    layout = sim.sample_layout(np.random.default_rng(3), n_blocks=2)
    sim.set_layout(layout)
    for _ in range(60):
        sim.apply(Command((0.4, 0.0, 0.2), 0.0, 1.0))
    blocks = {o.name for o in sim.scene_state().objects if o.kind == "block"}
    assert blocks == set(layout.blocks)


def test_a_task_whose_object_left_the_scene_fails_instead_of_raising():
    bowl = ObjectState("bowl", "bowl", "", (0.5, 0.15, 0.0))
    red = ObjectState("red block", "block", "red", (0.45, 0.0, 0.025))
    start = SceneState((red, bowl))
    gone = SceneState((bowl,))  # knocked off the table: the simulator no longer tracks it
    assert is_success(Task("push_left", "red block"), start, gone) is False
    assert is_success(Task("put_in", "red block", "bowl"), start, SceneState((red,))) is False
