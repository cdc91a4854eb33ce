"""Verbalization: chunking rules, subtask segmentation, plans, and parse(verbalize(x)) fidelity."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.language import (
    SPEC_VERSION,
    Chunk,
    Verbalization,
    Verbalizer,
    chunk_steps,
    direction_words,
    motion_plan,
    parse,
    parse_block,
    parse_phrase,
    render_list,
    render_phrase,
    verbalize,
)
from core.language.segment import placement
from core.language.spec import AXIS_CUT_CM, TOTAL_CUT_CM
from core.language.synthetic import episode
from core.types import Command, ObjectState, SceneState, Step, Twist

TOL = 0.05 + 1e-6  # half the text resolution


def make_steps(
    deltas_cm: list[tuple[float, float, float]],
    grippers: list[int] | None = None,
    scenes: list[SceneState] | None = None,
    yaws_deg: list[float] | None = None,
    start: tuple[float, float, float] = (0.4, 0.0, 0.2),
) -> list[Step]:
    """Steps whose tick i moves by deltas_cm[i] under gripper command grippers[i]."""
    n = len(deltas_cm) + 1
    grippers = grippers or [1] * max(1, len(deltas_cm))
    pos = [start]
    for d in deltas_cm:
        pos.append(tuple(p + c / 100 for p, c in zip(pos[-1], d)))  # type: ignore[arg-type]
    yaws = [0.0]
    for d in yaws_deg or [0.0] * len(deltas_cm):
        yaws.append(yaws[-1] + math.radians(d))
    out = []
    for i in range(n):
        g = float(grippers[min(i, len(grippers) - 1)])
        out.append(Step(i / 30, pos[i], yaws[i], g, Twist(), Command(pos[i], yaws[i], g), None,
                        scenes[i] if scenes else None))
    return out


def net_cm(steps: list[Step]) -> list[float]:
    return [(b - a) * 100 for a, b in zip(steps[0].ee_pos, steps[-1].ee_pos)]


def sums(chunks: list[Chunk]) -> list[float]:
    return [sum(c.dx for c in chunks), sum(c.dy for c in chunks), sum(c.dz for c in chunks)]


def as_lists(chunks: list[Chunk]) -> list[list[float | int]]:
    return [c.as_list() for c in chunks]


# ---- chunking rules ---------------------------------------------------------------------------------
def test_merges_while_direction_holds() -> None:
    chunks = chunk_steps(make_steps([(0.2, 0.0, 0.0)] * 10))
    assert as_lists(chunks) == [[2.0, 0.0, 0.0, 1]]
    assert chunks[0].steps == (0, 10)


def test_sign_change_cuts() -> None:
    chunks = chunk_steps(make_steps([(0.2, 0.1, 0.0)] * 3 + [(-0.2, 0.1, 0.0)] * 3))
    assert as_lists(chunks) == [[0.6, 0.3, 0.0, 1], [-0.6, 0.3, 0.0, 1]]
    assert [c.steps for c in chunks] == [(0, 3), (3, 6)]


def test_axis_and_total_cuts() -> None:
    assert as_lists(chunk_steps(make_steps([(0.5, 0.0, 0.0)] * 20))) == [[2.5, 0.0, 0.0, 1]] * 4
    assert as_lists(chunk_steps(make_steps([(0.4, -0.4, 0.4)] * 8))) == [[1.6, -1.6, 1.6, 1]] * 2


def test_long_entries_close_only_at_a_sign_change_or_the_long_cut() -> None:
    from core.language.spec import LONG_AXIS_CUT_CM, LONG_TOTAL_CUT_CM

    long = {"axis_cut": LONG_AXIS_CUT_CM, "total_cut": LONG_TOTAL_CUT_CM}
    # a dog-leg with no sign change is one entry (the paper's cuts make three of it)
    steps = make_steps([(0.5, -0.5, 0.0)] * 8 + [(0.5, 0.0, 0.0)] * 6 + [(0.0, 0.0, -0.5)] * 4)
    assert as_lists(chunk_steps(steps, **long)) == [[7.0, -4.0, -2.0, 1]]
    assert len(chunk_steps(steps)) > 1
    assert as_lists(chunk_steps(make_steps([(0.5, 0.0, 0.0)] * 30), **long)) == [[9.5, 0.0, 0.0, 1], [5.5, 0.0, 0.0, 1]]
    with pytest.raises(ValueError, match="entry cut"):
        chunk_steps(steps, axis_cut=10.0, total_cut=30.0)  # rounding could step over the parser's 10.0 cm bound


def test_one_large_tick_is_split() -> None:
    chunks = chunk_steps(make_steps([(6.0, 0.0, 0.0)]))
    assert as_lists(chunks) == [[2.0, 0.0, 0.0, 1]] * 3
    assert all(c.steps == (0, 1) for c in chunks)


def test_jitter_does_not_cut_and_stillness_is_dropped() -> None:
    wobble = [(0.3, 0.01 * (-1) ** i, -0.02 * (-1) ** i) for i in range(6)]
    assert as_lists(chunk_steps(make_steps(wobble))) == [[1.8, 0.0, 0.0, 1]]
    assert chunk_steps(make_steps([(0.001, -0.002, 0.0)] * 20)) == []  # 0.04 cm in total


def test_gripper_change_is_its_own_entry() -> None:
    deltas = [(0.0, 0.0, -0.5)] * 4 + [(0.0, 0.0, 0.0)] * 5 + [(0.0, 0.0, 0.5)] * 4
    grips = [1] * 4 + [0] * 9
    chunks = chunk_steps(make_steps(deltas, grips))
    assert as_lists(chunks) == [[0.0, 0.0, -2.0, 1], [0.0, 0.0, 0.0, 0], [0.0, 0.0, 2.0, 0]]
    assert [c.steps for c in chunks] == [(0, 4), (4, 9), (9, 13)]


def test_rounding_error_does_not_accumulate() -> None:
    # 0.14 cm per entry would round to 0.1 each time and lose 0.04 per entry without error feedback
    steps = make_steps([(0.14, 0.0, 0.0), (-0.1, 0.0, 0.0)] * 50)
    chunks = chunk_steps(steps)
    assert abs(sums(chunks)[0] - net_cm(steps)[0]) <= TOL


def test_incremental_matches_batch_and_preview() -> None:
    steps = episode("put_in", "red block", seed=3)
    v = Verbalizer()
    live: list[Chunk] = []
    for s in steps:
        live += v.push(s)
        pre = v.preview()
        assert pre is None or pre.steps is not None
    live += v.finish()
    assert live == v.chunks == chunk_steps(steps)
    assert [c.steps for c in live] == [c.steps for c in chunk_steps(steps)]


@st.composite
def random_episodes(draw: st.DrawFn) -> tuple[list[Step], bool]:
    n = draw(st.integers(1, 80))
    small = st.floats(-0.04, 0.04)
    big = st.floats(-3.0, 3.0)
    comp = st.one_of(small, big, st.just(0.0))
    deltas = [(draw(comp), draw(comp), draw(comp)) for _ in range(n)]
    grips = draw(st.lists(st.sampled_from([0, 1]), min_size=n, max_size=n))
    yaw = draw(st.booleans())
    yaws = [draw(st.floats(-20.0, 20.0)) for _ in range(n)] if yaw else None
    return make_steps(deltas, grips, yaws_deg=yaws), yaw


@settings(max_examples=120, deadline=None)
@given(random_episodes())
def test_parse_of_chunks_reproduces_the_motion(case: tuple[list[Step], bool]) -> None:
    steps, yaw = case
    chunks = chunk_steps(steps, yaw=yaw)
    parsed = parse(render_list(chunks), yaw=yaw if chunks else None) if chunks else []
    assert parsed == chunks
    for got, want in zip(sums(parsed), net_cm(steps)):
        assert abs(got - want) <= TOL
    if yaw:
        want_yaw = math.degrees(steps[-1].ee_yaw - steps[0].ee_yaw)
        assert abs(sum(c.yaw or 0.0 for c in parsed) - want_yaw) <= TOL
    last = 0
    for c in chunks:
        assert c.steps is not None and last <= c.steps[0] <= c.steps[1] <= len(steps) - 1
        last = c.steps[0]
        assert max(abs(v) for v in c.translation) <= AXIS_CUT_CM + TOL
        assert sum(abs(v) for v in c.translation) <= TOTAL_CUT_CM + 3 * TOL


# ---- verbalize on scripted episodes -----------------------------------------------------------------
EXPECTED = [
    ("pick", "green block", None, ["grasp the green block", "lift the green block"]),
    ("put_in", "red block", None, ["grasp the red block", "place it in the bowl"]),
    ("put_on", "yellow block", None, ["grasp the yellow block", "place it on the plate"]),
    ("stack", "red block", "green block", ["grasp the red block", "stack it on the green block"]),
    ("push_left", "blue block", None, ["move to the right of the blue block", "push the blue block to the left"]),
    ("push_right", "green block", None, ["move to the left of the green block", "push the green block to the right"]),
    ("push_forward", "red block", None, ["move to the near side of the red block", "push the red block forward"]),
]


@pytest.mark.parametrize(("kind", "obj", "target", "texts"), EXPECTED)
@pytest.mark.parametrize("jitter", [0.0, 0.0002])
def test_scripted_episodes(kind: str, obj: str, target: str | None, texts: list[str], jitter: float) -> None:
    steps = episode(kind, obj, target, seed=1, jitter=jitter)
    v = verbalize(steps)
    assert v.spec_version == SPEC_VERSION == "v1"
    assert [s.text for s in v.subtasks] == texts
    # subtasks tile the episode; entries sit inside their subtask
    assert v.subtasks[0].steps[0] == 0 and v.subtasks[-1].steps[1] == len(steps) - 1
    for a, b in zip(v.subtasks, v.subtasks[1:]):
        assert a.steps[1] == b.steps[0]
    for s in v.subtasks:
        assert all(s.steps[0] <= c.steps[0] and c.steps[1] <= s.steps[1] for c in s.chunks if c.steps)
    # the text alone reproduces the motion
    parsed = []
    for s in v.subtasks:
        block = parse_block(s.block())
        assert (block.subtask, block.plan, block.chunks) == (s.text, s.plan, s.chunks)
        assert parse_phrase(s.phrase(), initial_gripper=s.initial_gripper) == list(s.chunks)
        parsed += block.chunks
    for got, want in zip(sums(parsed), net_cm(steps)):
        assert abs(got - want) <= TOL
    assert len(v.chunks) < 60


def test_grasp_reads_like_the_paper() -> None:
    v = verbalize(episode("put_in", "red block", seed=1))
    grasp, place = v.subtasks
    assert grasp.chunks[-1].as_list() == [0.0, 0.0, 0.0, 0] and grasp.plan.endswith("then close the gripper")
    assert grasp.plan.startswith("move ") and ", then down, then close the gripper" in grasp.plan
    assert place.initial_gripper == 0 and "open the gripper" in place.plan
    assert place.phrase().startswith("move up 2.0 cm, then")  # starts closed: nothing to say
    assert render_phrase(place.chunks).startswith("with the gripper closed, move up 2.0 cm, then")


def test_without_scene_uses_the_instruction() -> None:
    steps = episode("put_in", "red block", seed=2, with_scene=False)
    texts = [s.text for s in verbalize(steps, "Put the red block in the bowl.").subtasks]
    assert texts == ["grasp the red block", "place it in the bowl"]
    steps = episode("pick", "blue block", seed=2, with_scene=False)
    assert [s.text for s in verbalize(steps, "pick up the blue block").subtasks] == [
        "grasp the blue block",
        "lift the blue block",
    ]
    assert [s.text for s in verbalize(steps).subtasks] == ["grasp the object", "lift the object"]
    steps = episode("push_left", "blue block", seed=2, with_scene=False)
    assert [s.text for s in verbalize(steps, "push the blue block to the left").subtasks] == [
        "push the blue block to the left"
    ]
    assert [s.text for s in verbalize(steps, "empuja el bloque azul").subtasks] == ["grasp the object", "lift the object"]


def test_hand_built_scene_segmentation() -> None:
    def scene(red: tuple[float, float, float], held: str | None) -> SceneState:
        return SceneState(
            (
                ObjectState("red block", "block", "red", red),
                ObjectState("bowl", "bowl", "", (0.5, 0.2, 0.0)),
                ObjectState("plate", "plate", "", (0.5, -0.2, 0.0)),
            ),
            held,
        )

    # approach (4 ticks), close (4), carry left to the bowl (8), open (3), retreat up (2)
    deltas = [(0.0, 0.0, -1.0)] * 4 + [(0.0, 0.0, 0.0)] * 4 + [(0.0, 2.5, 0.0)] * 8 + [(0.0, 0.0, 0.0)] * 3
    deltas += [(0.0, 0.0, 1.0)] * 2
    grips = [1] * 4 + [0] * 12 + [1] * 5
    steps = make_steps(deltas, grips, start=(0.5, 0.0, 0.06))
    scenes = []
    for i, s in enumerate(steps):
        held = "red block" if 6 <= i <= 16 else None
        red = (s.ee_pos[0], s.ee_pos[1], 0.025) if held else ((0.5, 0.0, 0.025) if i < 6 else (0.5, 0.2, 0.025))
        scenes.append(scene(red, held))
    steps = [Step(s.t, s.ee_pos, s.ee_yaw, s.gripper, s.twist, s.command, None, sc) for s, sc in zip(steps, scenes)]
    v = verbalize(steps)
    assert [(s.text, s.steps) for s in v.subtasks] == [
        ("grasp the red block", (0, 8)),
        ("place it in the bowl", (8, 21)),
    ]
    assert as_lists(list(v.subtasks[0].chunks)) == [[0.0, 0.0, -2.0, 1], [0.0, 0.0, -2.0, 1], [0.0, 0.0, 0.0, 0]]
    assert v.subtasks[1].plan == "move left, then open the gripper, then move up"

    s = scene((0.51, -0.19, 0.025), None)
    assert placement("red block", s) == "place it on the plate"
    assert placement("red block", scene((0.3, 0.0, 0.025), None)) == "put it down"


def test_degenerate_episodes() -> None:
    assert verbalize([]).subtasks == () and verbalize(make_steps([])).subtasks == ()
    still = verbalize(make_steps([(0.0, 0.0, 0.0)] * 5), "wave")
    assert still.subtasks == () and still.n_steps == 6


def test_yaw_is_a_fifth_number() -> None:
    steps = make_steps([(0.3, 0.0, 0.0)] * 6, yaws_deg=[4.0] * 6)
    v = verbalize(steps, yaw=True)
    assert as_lists(list(v.chunks)) == [[0.9, 0.0, 0.0, 1, 12.0]] * 2  # yaw cut at 15 degrees
    assert abs(sum(c.yaw or 0 for c in v.chunks) - 24.0) <= TOL
    assert "rotate left" in v.subtasks[0].phrase()
    assert all(c.yaw is None for c in verbalize(steps).chunks)


def test_serialisation_and_corrections() -> None:
    v = verbalize(episode("stack", "blue block", "red block", seed=4))
    again = Verbalization.from_dict(json.loads(json.dumps(v.to_dict())))
    assert again == v
    assert [c.steps for c in again.chunks] == [c.steps for c in v.chunks]
    fixed = v.corrected(1, text="stack it  on the red block", plan="move up, then over, then down")
    assert fixed.subtasks[1].text == "stack it on the red block" and fixed.subtasks[0] == v.subtasks[0]
    assert "Plan: move up, then over, then down" in fixed.text()
    with pytest.raises(ValueError):
        v.corrected(0, text="   ")
    with pytest.raises(IndexError):
        v.corrected(9, text="x")


def test_direction_words_and_plans() -> None:
    assert direction_words((1.5, 4.2, 0.0)) == "left and slightly forward"
    assert direction_words((0.0, -0.1, -3.0)) == "down"
    assert direction_words((2.0, 2.0, -2.0)) == "forward, left and down"
    assert direction_words((0.0, 0.0, 0.0)) == ""
    chunks = [Chunk(1.5, 4.0, 0.0, 1), Chunk(1.5, 4.0, 0.0, 1), Chunk(0.5, 1.0, -1.5, 1), Chunk(0.0, 0.0, -2.5, 1),
              Chunk(0.0, 0.0, 0.0, 0)]
    assert motion_plan(chunks) == "move left and slightly forward, then down, then close the gripper"
    assert motion_plan([]) == "stay still"
    assert motion_plan([Chunk(0.0, 0.0, 2.0, 0)], initial_gripper=0) == "move up"


def test_long_subtasks_become_several_parseable_blocks() -> None:
    steps = make_steps([(0.3, 0.0, 0.0), (-0.3, 0.0, 0.0)] * 300)  # every tick reverses: 600 entries
    v = verbalize(steps, "shake")
    assert len(v.chunks) == 600 and [s.text for s in v.subtasks] == ["shake"] * 3
    assert [len(s.chunks) for s in v.subtasks] == [256, 256, 88]
    for a, b in zip(v.subtasks, v.subtasks[1:]):
        assert a.steps[1] == b.steps[0]
    assert [c for s in v.subtasks for c in parse_block(s.block()).chunks] == list(v.chunks)


@st.composite
def messy_scene_episodes(draw: st.DrawFn) -> list[Step]:
    n = draw(st.integers(0, 30))
    names = ("red block", "green block", "bowl")
    pos = [0.4, 0.0, 0.1]
    objs = {name: [draw(st.floats(0.3, 0.6)), draw(st.floats(-0.2, 0.2)), 0.025] for name in names}
    steps = []
    for i in range(n):
        pos = [p + draw(st.sampled_from([0.0, 0.004, -0.03, 0.02])) for p in pos]
        objs["red block"][0] += draw(st.sampled_from([0.0, 0.0, 0.03]))
        g = float(draw(st.sampled_from([0, 1])))
        held = draw(st.sampled_from([None, "red block", "ghost"]))
        present = draw(st.sets(st.sampled_from(names)))
        scene = SceneState(tuple(ObjectState(k, "bowl" if k == "bowl" else "block", "", tuple(objs[k]))  # type: ignore[arg-type]
                                 for k in names if k in present), held)
        steps.append(Step(i / 30, (pos[0], pos[1], pos[2]), 0.0, g, Twist(), Command((0, 0, 0), 0.0, g), None, scene))
    return steps


@settings(max_examples=80, deadline=None)
@given(messy_scene_episodes())
def test_messy_scenes_never_break_verbalize(steps: list[Step]) -> None:
    v = verbalize(steps)
    for s in v.subtasks:
        assert parse_block(s.block()).chunks == s.chunks
    if len(steps) > 1:
        for got, want in zip(sums(list(v.chunks)), net_cm(steps)):
            assert abs(got - want) <= TOL
