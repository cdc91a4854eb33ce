"""The real embedded default model (opt in: pytest -m slow). Needs the shipped assets and the cache."""

from __future__ import annotations

import pytest

from core.model.scene_qa import is_correct

pytestmark = pytest.mark.slow

# (scene index in the held-out VQA set, question kind) - easy, unambiguous kinds on fixed scenes
FIXED = [(0, "count"), (0, "present"), (1, "in_bowl"), (2, "on_plate"), (3, "present"), (4, "count")]


@pytest.fixture(scope="module")
def loaded():  # noqa: ANN201
    from core.model.loader import assets_present, load_model

    if not assets_present():
        pytest.fail("assets/model is missing the default vision weights: run python -m recipes.default_model")
    return load_model()


def test_default_model_answers_fixed_scene_questions(loaded) -> None:  # noqa: ANN001
    from core.model.chat import answer
    from core.model.vqa import make_vqa_set

    vqa = make_vqa_set(n_scenes=5)
    picked = []
    for scene, kind in FIXED:
        picked.append(next(it for it in vqa.items if it.scene == scene and it.kind == kind))
    preds = [answer(loaded, vqa.images[it.scene], it.question, max_new_tokens=12) for it in picked]
    correct = sum(is_correct(p, it.answer) for p, it in zip(preds, picked, strict=True))
    assert correct >= 3, list(zip([it.question for it in picked], preds, [it.answer for it in picked], strict=True))


def test_default_model_is_a_gemma3_vlm_with_its_card(loaded) -> None:  # noqa: ANN001
    assert type(loaded.model).__name__ == "Gemma3ForConditionalGeneration"
    assert loaded.info.get("card", {}).get("seed") is not None
    assert loaded.processor.tokenizer.convert_tokens_to_ids("<image_soft_token>") == 262144


def test_the_scene_reader_answers_where_blocks_are(loaded) -> None:  # noqa: ANN001
    """The app's chat path: the scene reader, after the locator's layout line. Image-only, the default model
    answers these relational kinds right about 4 times in 10 (bench/results/model.json)."""
    from core.model.vqa import make_vqa_set
    from core.policy.reader import SceneLayout, answer_reading
    from core.policy.shipped import load_reader

    layout = SceneLayout.load()
    assert layout is not None, "the shipped object locator does not fit the shipped vision weights"
    reader = load_reader(loaded.model)
    assert reader is not None, "assets/reader is missing or was trained on another build of the default model"
    vqa = make_vqa_set(n_scenes=12)
    picked = [it for it in vqa.items if it.kind in ("leftmost", "rightmost", "nearest")]
    assert len(picked) >= 10
    preds = [answer_reading(loaded, layout, reader, vqa.images[it.scene], it.question) for it in picked]
    correct = sum(is_correct(p, it.answer) for p, it in zip(preds, picked, strict=True))
    assert correct >= 0.8 * len(picked), list(zip([it.question for it in picked], preds, [it.answer for it in picked],
                                                  strict=True))
