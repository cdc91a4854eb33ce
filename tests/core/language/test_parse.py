"""Parser and renderers of the action language: round trips, strict errors with spans, fuzzing."""

from __future__ import annotations

import pickle
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.language import (
    Chunk,
    ParseError,
    parse,
    parse_block,
    parse_list,
    parse_phrase,
    parse_subtasks,
    render_block,
    render_list,
    render_phrase,
)
from core.language.prompts import subtasks_target
from core.language.spec import MAX_AXIS_CM, MAX_CHUNKS, MAX_TEXT_CHARS, MAX_YAW_DEG

DESIGN_BLOCK = (
    "Subtask: pick up the red block\n"
    "Plan: move left and slightly forward, then down\n"
    "Actions: [[0.0, 4.2, 0.0, 1], [1.5, 0.0, -3.0, 1], [0.0, 0.0, 0.0, 0]]"
)
DESIGN_CHUNKS = [Chunk(0.0, 4.2, 0.0, 1), Chunk(1.5, 0.0, -3.0, 1), Chunk(0.0, 0.0, 0.0, 0)]

tenths = st.integers(-100, 100).map(lambda k: k / 10)
yaw_tenths = st.integers(-900, 900).map(lambda k: k / 10)


@st.composite
def chunk_lists(draw: st.DrawFn, yaw: bool | None = None) -> list[Chunk]:
    with_yaw = draw(st.booleans()) if yaw is None else yaw
    n = draw(st.integers(1, 12))
    return [
        Chunk(draw(tenths), draw(tenths), draw(tenths), draw(st.sampled_from([0, 1])),
              draw(yaw_tenths) if with_yaw else None)
        for _ in range(n)
    ]


# ---- round trips ------------------------------------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(chunk_lists())
def test_list_round_trip(chunks: list[Chunk]) -> None:
    text = render_list(chunks)
    assert parse(text) == chunks
    assert parse_list("Actions: " + text) == chunks
    assert parse("  Actions :\n" + text.replace(", ", " ,\t") + "\n") == chunks


@settings(max_examples=150, deadline=None)
@given(chunk_lists(), st.sampled_from([0, 1]))
def test_phrase_round_trip(chunks: list[Chunk], initial: int) -> None:
    with_yaw = chunks[0].yaw is not None
    text = render_phrase(chunks, initial)
    assert parse_phrase(text, yaw=with_yaw, initial_gripper=initial) == chunks
    assert parse(text.upper() + ".", yaw=with_yaw, initial_gripper=initial) == chunks


@settings(max_examples=60, deadline=None)
@given(chunk_lists(), st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40))
def test_block_round_trip(chunks: list[Chunk], subtask: str) -> None:
    subtask = " ".join(subtask.split()) or "x"
    block = parse_block(render_block(subtask, "move up", chunks))
    assert (block.subtask, block.plan, list(block.chunks)) == (subtask, "move up", chunks)


def test_design_examples() -> None:
    block = parse_block(DESIGN_BLOCK)
    assert block.subtask == "pick up the red block"
    assert block.plan == "move left and slightly forward, then down"
    assert list(block.chunks) == DESIGN_CHUNKS
    assert parse("move forward 1.5 cm and down 3.0 cm, then close the gripper") == [
        Chunk(1.5, 0.0, -3.0, 1),
        Chunk(0.0, 0.0, 0.0, 0),
    ]
    assert render_phrase([Chunk(1.5, 0.0, -3.0, 1), Chunk(0.0, 0.0, 0.0, 0)]) == (
        "move forward 1.5 cm and down 3.0 cm, then close the gripper"
    )
    assert render_list(DESIGN_CHUNKS) == "[[0.0, 4.2, 0.0, 1], [1.5, 0.0, -3.0, 1], [0.0, 0.0, 0.0, 0]]"


def test_phrase_variants() -> None:
    assert parse("Move left 2 cm, forward 1.5cm, and up 0.5 cm; then stay still.") == [
        Chunk(1.5, 2.0, 0.5, 1),
        Chunk(0.0, 0.0, 0.0, 1),
    ]
    assert parse("with the gripper closed, move up 2.0 cm then open the gripper and move up 1.0 cm") == [
        Chunk(0.0, 0.0, 2.0, 0),
        Chunk(0.0, 0.0, 1.0, 1),
    ]
    assert parse("rotate right 10.0 degrees, then move down 1.0 cm and rotate left 5 deg") == [
        Chunk(0.0, 0.0, 0.0, 1, -10.0),
        Chunk(0.0, 0.0, -1.0, 1, 5.0),
    ]
    assert parse("[[0, 0, 1, 1.0]]") == [Chunk(0.0, 0.0, 1.0, 1)]
    assert parse("[[0.25, -0.0, 1, 0]]") == [Chunk(0.25, 0.0, 1.0, 0)]


def test_subtask_list_round_trip() -> None:
    items = ["grasp the red block", "place it in the bowl"]
    assert parse_subtasks(subtasks_target(items)) == items
    assert parse_subtasks("1) grasp it\n\n  2.   lift   it  \n") == ["grasp it", "lift it"]


# ---- errors -----------------------------------------------------------------------------------------
def span_of(text: str, fn=parse, **kw) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with pytest.raises(ParseError) as info:
        fn(text, **kw)
    err = info.value
    assert 0 <= err.start <= err.end <= len(text) and err.message and not err.message.startswith("internal")
    return err.span


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("[[0.0, 4.2, 0.0, 1], [1.5, 0.0, -3.0, 2]]", "2"),
        ("[[11.0, 0.0, 0.0, 1]]", "11.0"),
        ("[[0.0, 0.0, 0.0, 0.5]]", "0.5"),
        ("[[0.0, 0.0, 0.0, 1, 91.0]]", "91.0"),
        ("[[nan, 0.0, 0.0, 1]]", "n"),
        ("[[inf, 0.0, 0.0, 1]]", "i"),
        ("[[+1.0, 0.0, 0.0, 1]]", "+"),
        ("[[1e3, 0.0, 0.0, 1]]", "1e"),
        ("[[1234.0, 0.0, 0.0, 1]]", "1234.0"),
        ("[[0.0, 0.0, 0.0, 1]] and more", "and more"),
        ("[[0.0, 0.0, 0.0, 1],]", "]"),
        ("[[0.0, 0.0, 1]]", "[0.0, 0.0, 1]"),
        ("[[0, 0, 0, 1], [0, 0, 0, 1, 5]]", "[0, 0, 0, 1, 5]"),
        ("[[\u0663, 0, 0, 1]]", "\u0663"),
        ("Plan: up\nActions: [[0, 0, 0, 1]]", "Plan:"),
        ("move forward 1.5 cm and forward 2.0 cm", "forward"),
        ("move sideways 1 cm", "sideways"),
        ("move forward -1.0 cm", "-"),
        ("move forward 10.5 cm", "10.5"),
        ("move up 1 cm, then fly", "fly"),
        ("move up 1 cm. then stay still", "."),
        ("rotate left 95 degrees", "95"),
        ("move up 1 cm and close the gripper", "and"),
        ("stay still, then with the gripper open, move up 1 cm", "with"),
    ],
)
def test_errors_name_the_offending_span(text: str, bad: str) -> None:
    start, end = span_of(text)
    assert text[start:end].startswith(bad[: max(1, end - start)]) or text[start:end] == bad, (text[start:end], bad)
    assert start == text.rindex(bad) if bad in ("2", "]", "-", ".", "forward") else start == text.index(bad)


@pytest.mark.parametrize(
    "text", ["", "   ", "[]", "[ ]", "Actions:", "[[", "[[0, 0, 0, 1]", "move forward 1.5", "move", "then"]
)
def test_incomplete_input(text: str) -> None:
    span_of(text)


def test_strictness_options() -> None:
    span_of("[[0, 0, 0, 1, 5]]", yaw=False)
    span_of("[[0, 0, 0, 1]]", yaw=True)
    span_of("rotate left 5 degrees", yaw=False)
    assert parse("move up 1 cm", yaw=True) == [Chunk(0.0, 0.0, 1.0, 1, 0.0)]
    span_of("Subtask: x\nActions: [[0, 0, 0, 1]]\nPlan: y", fn=parse_block)
    span_of("Plan: y\nSubtask: x\nActions: [[0, 0, 0, 1]]", fn=parse_block)
    span_of("Subtask: x\nPlan: y", fn=parse_block)
    span_of("Subtask:\nActions: [[0, 0, 0, 1]]", fn=parse_block)
    span_of("1. a\n3. b", fn=parse_subtasks)
    span_of("grasp it", fn=parse_subtasks)


def test_limits_and_non_text() -> None:
    span_of("[" + ", ".join(["[0, 0, 1, 1]"] * (MAX_CHUNKS + 1)) + "]")
    span_of(", then ".join(["move up 1 cm"] * (MAX_CHUNKS + 1)))
    span_of("[" * 100_000)  # too long
    span_of("[" * (MAX_TEXT_CHARS - 1))  # deep nesting: no recursion involved
    span_of("move up 1 cm", initial_gripper=2)
    for bad in (None, 3, b"[[0, 0, 0, 1]]", ["x"]):
        with pytest.raises(ParseError):
            parse(bad)  # type: ignore[arg-type]


def test_parse_error_is_a_picklable_value_error() -> None:
    with pytest.raises(ValueError) as info:
        parse("[[0, 0, 0, 7]]")
    err = pickle.loads(pickle.dumps(info.value))
    assert isinstance(err, ParseError) and err.span == info.value.span and "gripper" in str(err)


# ---- fuzzing ----------------------------------------------------------------------------------------
SEEDS = [
    DESIGN_BLOCK,
    render_list(DESIGN_CHUNKS),
    "Actions: [[0.0, 4.2, 0.0, 1, 15.0], [1.5, 0.0, -3.0, 1, -2.5]]",
    "move forward 1.5 cm and down 3.0 cm, then close the gripper",
    "with the gripper closed, move up 2.0 cm, left 1.0 cm and rotate left 5.0 degrees, then open the gripper",
    "1. grasp the red block\n2. place it in the bowl",
]
ALPHABET = list("[]{}(),.;:-+ \t\n0123456789eE_") + [
    "nan", "inf", "NaN", "1e308", "9" * 30, "-0", "cm", "then", "move ", "up", "left", "rotate", "degrees",
    "\u0663", "\u00a0", "\u2028", "\U0001f916", "\x00", "İ", "ſ", "Actions:", "Subtask:", "Plan:", "[[", "]]",
]


def _mutate(rng: random.Random, text: str) -> str:
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(6)
        i = rng.randint(0, len(text))
        if op == 5:  # change a digit: mostly still valid, exercises bounds
            digits = [k for k, ch in enumerate(text) if ch.isdigit()]
            if digits:
                k = rng.choice(digits)
                text = text[:k] + rng.choice("0123456789") + text[k + 1 :]
        elif op == 0:
            text = text[:i] + rng.choice(ALPHABET) + text[i:]
        elif op == 1 and text:
            j = min(len(text), i + rng.randint(1, 6))
            text = text[:i] + text[j:]
        elif op == 2 and text:
            text = text[:i] + rng.choice(ALPHABET) + text[i + 1 :]
        elif op == 3:
            j = min(len(text), i + rng.randint(1, 30))
            text = text[:i] + text[i:j] * rng.randint(2, 4) + text[j:]
        else:
            text = text[:i]
    return text


def _check_result(chunks: list[Chunk]) -> None:
    assert 1 <= len(chunks) <= MAX_CHUNKS
    for c in chunks:
        assert all(isinstance(v, float) and abs(v) <= MAX_AXIS_CM for v in c.translation)
        assert c.gripper in (0, 1) and type(c.gripper) is int
        assert c.yaw is None or abs(c.yaw) <= MAX_YAW_DEG


def test_fuzz_10k_strings() -> None:
    rng = random.Random(20250926)
    outcomes = {"ok": 0, "error": 0}
    for n in range(10_000):
        if n % 5 == 0:
            text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 40)))
        else:
            text = _mutate(rng, rng.choice(SEEDS))
        for fn in (parse, parse_block, parse_subtasks) if n % 4 == 0 else (parse,):
            try:
                result = fn(text)
            except ParseError as err:
                assert 0 <= err.start <= err.end <= len(text), (text, err.span)
                assert not err.message.startswith("internal"), (text, err)
                outcomes["error"] += 1
                continue
            outcomes["ok"] += 1
            if fn is parse:
                _check_result(result)
            elif fn is parse_block:
                _check_result(list(result.chunks))
    assert outcomes["ok"] > 500 and outcomes["error"] > 5000, outcomes
