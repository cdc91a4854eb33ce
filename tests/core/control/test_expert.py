import pytest

from core.control.expert import Expert, rollout
from core.robot.episodes import draw_task
from core.robot.sim import SimConfig, SimRobot
from core.robot.tasks import TASK_KINDS, Task, is_feasible


@pytest.fixture(scope="module")
def sim():
    r = SimRobot(SimConfig(render=False))
    yield r
    r.close()


@pytest.mark.parametrize("kind", TASK_KINDS)
def test_expert_solves_each_task_kind(sim, kind):
    results = []
    for seed in range(4):
        task = draw_task(seed, sim.reset(seed).scene, kind)
        ro = rollout(sim, task, seed)
        results.append(ro.success)
        assert ro.steps and len(ro.steps) < 600
    assert sum(results) >= 3, results


def test_rollout_steps_are_complete_records(sim):
    task = draw_task(3, sim.reset(3).scene, "put_in")
    ro = rollout(sim, task, 3)
    s = ro.steps[10]
    assert s.scene is not None and s.command is not None and len(s.ee_pos) == 3
    assert any(st.twist.gripper == 0.0 for st in ro.steps)
    assert [st.t for st in ro.steps] == sorted(st.t for st in ro.steps)


def test_a_rollout_can_start_away_from_home(sim):
    from core.training.sources import start_pose

    starts = [start_pose(s, 0.08) for s in range(6)]
    assert len(set(starts)) == 6 and all(0.26 <= x <= 0.42 and -0.08 <= y <= 0.08 and 0.08 <= z <= 0.18
                                         for x, y, z in starts)
    assert start_pose(4, 0.08) == starts[4]  # seeded
    marks = []
    for seed in range(3):
        task = draw_task(seed, sim.reset(seed).scene, "pick")
        ro = rollout(sim, task, seed, start_pos=starts[seed], on_record=lambda s=seed: marks.append(s))
        assert ro.success and max(abs(a - b) for a, b in zip(ro.steps[0].ee_pos, starts[seed])) < 0.005
    assert marks == [0, 1, 2]


def test_expert_needs_scene_state():
    from core.types import Observation

    with pytest.raises(ValueError):
        Expert(Task("pick", "red block")).act(Observation(0.0, (0.4, 0, 0.2), 0.0, 1.0))


def test_draw_task_is_feasible_and_deterministic(sim):
    scene = sim.reset(11).scene
    a, b = draw_task(11, scene), draw_task(11, scene)
    assert a == b and is_feasible(a, scene)


@pytest.mark.parametrize("kind", TASK_KINDS)
def test_canonical_subtasks_match_the_verbalized_expert(sim, kind):
    """The subtask lists the autonomous loop may write are exactly what demonstrations teach."""
    from core.language.verbalize import verbalize

    for seed in (0, 1):
        task = draw_task(seed, sim.reset(seed).scene, kind)
        ro = rollout(sim, task, seed)
        assert [s.text for s in verbalize(ro.steps, task.instruction).subtasks] == list(task.subtasks)


def test_the_direct_expert_travels_at_its_starting_height_and_its_long_entries_reach_the_object(sim):
    from core.language.verbalize import verbalize
    from core.robot.heights import DIRECT_Z, GRASP_Z

    task = draw_task(2, sim.reset(2).scene, "pick")
    start = (0.34, 0.0, 0.13)
    ro = rollout(sim, task, 2, start_pos=start, direct=True)
    assert ro.success
    zs = [st.ee_pos[2] for st in ro.steps]
    assert max(zs) < start[2] + 0.005 and DIRECT_Z[0] <= start[2] <= DIRECT_Z[1]  # no climb to cruise height
    v = verbalize(ro.steps, task.instruction, long_entries=True)
    grasp = v.subtasks[0]
    assert grasp.text.startswith("grasp") and len(grasp.chunks) <= 5 and grasp.chunks[-1].gripper == 0
    block = ro.start.get(task.obj).pos
    reached = [sum(c.translation[a] for c in grasp.chunks) / 100 + ro.steps[0].ee_pos[a] for a in range(3)]
    assert abs(reached[0] - block[0]) < 0.01 and abs(reached[1] - block[1]) < 0.01
    assert abs(reached[2] - GRASP_Z) < 0.01
