"""Scene questions from ground truth and the normalised exact-match scorer (pure Python)."""

from __future__ import annotations

import random

import pytest

from core.model.scene_qa import answers, is_correct, normalize_answer, questions, scene_facts
from core.model.vqa import VQAItem, score
from core.types import ObjectState, SceneState


def _scene(blocks: dict[str, tuple[float, float]], bowl=(0.5, 0.0), plate=(0.6, -0.25)) -> SceneState:  # noqa: ANN001
    objs = [ObjectState(f"{c} block", "block", c, (x, y, 0.025)) for c, (x, y) in blocks.items()]
    objs += [ObjectState("bowl", "bowl", "", (*bowl, 0.0)), ObjectState("plate", "plate", "", (*plate, 0.0))]
    # a parked block far off the table must not count
    objs.append(ObjectState("yellow block", "block", "yellow", (0.3, 2.0, 0.2)))
    return SceneState(objects=tuple(objs))


def test_answers_from_ground_truth() -> None:
    s = _scene({"red": (0.4, 0.2), "green": (0.55, -0.1), "blue": (0.5, 0.005)})
    a = answers(scene_facts(s))
    assert a["count"] == "3"
    assert a["present"] == {"red": "yes", "green": "yes", "blue": "yes", "yellow": "no"}
    assert a["leftmost"] == "red" and a["rightmost"] == "green" and a["nearest"] == "red"
    assert a["in_bowl"] == "blue" and a["on_plate"] == "nothing"
    assert a["side"] == {"red": "left", "green": "right"}  # blue is in the bowl: not asked
    assert a["colors"] == "red, green and blue"


def test_ambiguous_relations_are_not_asked() -> None:
    s = _scene({"red": (0.4, 0.20), "green": (0.6, 0.19)})
    a = answers(scene_facts(s))
    assert "leftmost" not in a and "rightmost" not in a
    kinds = {q.kind for q in questions(s, random.Random(0))}
    assert "leftmost" not in kinds and "count" in kinds


def test_questions_are_seeded() -> None:
    s = _scene({"red": (0.4, 0.2), "green": (0.55, -0.1)})
    assert questions(s, random.Random(3)) == questions(s, random.Random(3))
    present = [q for q in questions(s, random.Random(1)) if q.kind == "present"]
    assert {q.answer for q in present} == {"yes", "no"}


@pytest.mark.parametrize(("pred", "gold", "ok"), [
    ("Red.", "red", True),
    ("  the red block", "red", True),
    ("two", "2", True),
    ("2 blocks", "2", True),
    ("Yes, it is", "yes", False),
    ("blue and red", "red and blue", True),
    ("red, blue", "red, green and blue", False),
    ("left\nmore text", "left", True),
    ("right", "left", False),
    ("", "nothing", False),
])
def test_scorer_known_cases(pred: str, gold: str, ok: bool) -> None:
    assert is_correct(pred, gold) is ok


def test_score_per_kind() -> None:
    items = [VQAItem(0, "count", "q", "3"), VQAItem(0, "side", "q", "left"), VQAItem(1, "side", "q", "right")]
    r = score(["three", "left", "left"], items)
    assert r.accuracy == pytest.approx(2 / 3)
    assert r.per_kind == {"count": 1.0, "side": 0.5}
    with pytest.raises(ValueError):
        score(["x"], items)
    assert normalize_answer("The Blue Block!") == "blue"
