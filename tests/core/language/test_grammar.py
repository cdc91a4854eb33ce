import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.language.grammar import ActionListAcceptor, LexiconAcceptor, PrefixSetAcceptor, accepts, feed
from core.language.parse import ParseError, parse
from core.language.plan import motion_plan
from core.language.render import render_list
from core.language.spec import Chunk

coord = st.integers(min_value=-100, max_value=100).map(lambda v: v / 10)
chunk = st.builds(Chunk, coord, coord, coord, st.sampled_from([0, 1]))


@given(st.lists(chunk, min_size=1, max_size=16))
def test_every_rendered_list_is_accepted(chunks):
    assert accepts(ActionListAcceptor(), render_list(chunks))


def test_everything_accepted_parses():
    """Random walks through the acceptor: whatever it accepts, the strict parser reads."""
    acc = ActionListAcceptor(max_entries=4)
    rng = random.Random(0)
    alphabet = sorted(acc.alphabet)
    found = 0
    for _ in range(3000):
        state, text = acc.start(), ""
        for _ in range(120):
            options = [c for c in alphabet if acc.step(state, c) is not None]
            if acc.accepting(state):
                break
            c = rng.choice(options)
            state, text = acc.step(state, c), text + c
        if acc.accepting(state):
            found += 1
            chunks = parse(text)
            assert 1 <= len(chunks) <= 4
    assert found > 100


def test_rejects_what_the_parser_rejects():
    acc = ActionListAcceptor()
    for bad in ("[[10.1, 0.0, 0.0, 1]]", "[[1.0, 0.0, 0.0, 2]]", "[[1.00, 0.0, 0.0, 1]]", "[]", "[[1, 0.0, 0.0, 1]]",
                "[[-0.0,0.0, 0.0, 1]]"):
        assert not accepts(acc, bad)
        try:
            parse(bad)
        except ParseError:
            pass
    assert feed(acc, acc.start(), "[[1.0, 2") is not None  # a live prefix


def test_max_entries():
    acc = ActionListAcceptor(max_entries=2)
    assert accepts(acc, "[[0.0, 0.0, 0.0, 1], [0.0, 0.0, 0.0, 0]]")
    assert not accepts(acc, "[[0.0, 0.0, 0.0, 1], [0.0, 0.0, 0.0, 0], [0.0, 0.0, 0.0, 0]]")


def test_prefix_set():
    acc = PrefixSetAcceptor(["1. grasp the red block", "1. grasp the blue block"])
    assert accepts(acc, "1. grasp the red block")
    assert not accepts(acc, "1. grasp the")
    assert feed(acc, acc.start(), "1. grasp the gr") is None


def test_lexicon_accepts_generated_plans():
    rng = random.Random(1)
    plans = []
    for _ in range(300):
        chunks = [Chunk(rng.choice([-2.5, 0.0, 1.2, 2.5]), rng.choice([-2.5, 0.0, 0.4, 2.5]),
                        rng.choice([-2.5, 0.0, 2.5]), rng.choice([0, 1])) for _ in range(rng.randint(1, 8))]
        plans.append(motion_plan(chunks))
    lexicon = {w for p in plans for w in p.replace(",", " ").split()}
    acc = LexiconAcceptor(lexicon)
    assert all(accepts(acc, p) for p in plans)
    assert not accepts(acc, "move  left") and not accepts(acc, "move left,") and not accepts(acc, "fly away")


def test_first_entry_follows_the_plan_rule():
    from core.language.plan import first_entry_rule

    assert first_entry_rule("move forward and slightly left, then down") == (("++", "+", "small"), None)
    assert first_entry_rule("move right and down, then open the gripper") == (("small", "--", "--"), None)
    assert first_entry_rule("close the gripper, then move up") == (("small", "small", "small"), 0)
    assert first_entry_rule("stay still") is None
    acc = ActionListAcceptor(4, first_rule=("++", "free", "small"), first_gripper=1)
    assert accepts(acc, "[[2.4, -1.9, -0.3, 1], [0.0, 0.0, 0.0, 0]]")  # later entries are free
    assert not accepts(acc, "[[0.4, -1.9, -0.2, 1]]")  # under 1 cm forward
    assert not accepts(acc, "[[2.4, 0.0, -1.2, 1]]")  # 1 cm or more along an axis the plan does not name
    assert not accepts(acc, "[[2.4, 0.0, -0.2, 0]]")  # the gripper the plan did not ask for
    assert not accepts(acc, "[[-2.4, 0.0, 0.0, 1]]") and accepts(acc, "[[10.0, 0.0, -0.9, 1]]")
    with pytest.raises(ValueError):
        ActionListAcceptor(first_rule=("up", "free", "free"))


def test_first_entry_follows_the_plan_signs():
    acc = ActionListAcceptor(4, first_rule=("+", "free", "-"))
    assert accepts(acc, "[[0.4, -1.9, -0.2, 0], [0.0, 0.0, 0.0, 1]]")  # later entries are free
    assert not accepts(acc, "[[0.0, -1.9, -0.2, 0]]")  # no forward motion
    assert not accepts(acc, "[[0.4, -1.9, -0.0, 0]]")  # "-0.0" is no downward motion
    assert not accepts(acc, "[[-0.4, 1.9, -0.2, 0]]")  # backward
    assert accepts(acc, "[[10.0, 0.0, -10.0, 1]]")


@given(st.lists(chunk, min_size=1, max_size=16))
def test_a_chunk_is_accepted_under_the_rule_of_its_own_first_entry(chunks):
    first = chunks[0]
    rule = tuple("small" if abs(v) < 1.0 else ("++" if v > 0 else "--") for v in (first.dx, first.dy, first.dz))
    assert accepts(ActionListAcceptor(first_rule=rule, first_gripper=first.gripper), render_list(chunks))


@given(st.lists(chunk, min_size=1, max_size=16))
def test_a_chunk_is_accepted_under_the_signs_of_its_own_first_entry(chunks):
    first = chunks[0]
    signs = tuple("+" if v > 0 else "-" if v < 0 else "free" for v in (first.dx, first.dy, first.dz))
    assert accepts(ActionListAcceptor(first_rule=signs), render_list(chunks))


def test_a_plan_without_gripper_words_keeps_one_gripper_value():
    from core.language.grammar import SameGripperAcceptor

    acc = SameGripperAcceptor(ActionListAcceptor(max_entries=4))
    assert accepts(acc, "[[0.3, 2.3, -0.3, 1], [0.0, 0.0, -2.0, 1]]")
    assert accepts(acc, "[[0.0, 0.0, 2.0, 0], [1.0, 0.0, 0.0, 0]]")
    assert not accepts(acc, "[[0.3, 2.3, -0.3, 1], [0.0, 0.0, -2.0, 1], [0.0, 0.0, -0.2, 0]]")  # closes early


@given(st.lists(chunk, min_size=1, max_size=8), st.sampled_from([0, 1]))
def test_the_expert_never_changes_the_gripper_under_a_plan_that_does_not_say_so(chunks, grip):
    from core.language.grammar import SameGripperAcceptor

    plan = motion_plan(chunks, grip)
    if "the gripper" not in plan:
        assert accepts(SameGripperAcceptor(ActionListAcceptor()), render_list(chunks))
