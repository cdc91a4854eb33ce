"""The held-out scene-VQA set and its scorer: the yard-stick for "no catastrophic forgetting".

Scenes come from a seed stream (`TEST`) that the vision build never trains or selects on; each scene
gets one question of every kind its ground truth supports. Scoring is normalised exact match
(`core.model.scene_qa.is_correct`).

    vqa = make_vqa_set(n_scenes=40)
    result = evaluate(lambda image, q: answer(loaded, image, q), vqa)
    result.accuracy, result.per_kind
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from core.model.scene_qa import is_correct, questions

DEFAULT_SCENES = 40


@dataclass(frozen=True)
class VQAItem:
    scene: int  # index into VQASet.images
    kind: str
    question: str
    answer: str


@dataclass
class VQASet:
    images: list[np.ndarray]
    items: list[VQAItem]
    seed: int = 0


@dataclass
class VQAResult:
    accuracy: float
    per_kind: dict[str, float]
    n: int
    predictions: list[str] = field(default_factory=list)
    seconds: float = 0.0


def make_vqa_set(n_scenes: int = DEFAULT_SCENES, seed: int = 0, image_size: int = 224) -> VQASet:
    """Render the seeded held-out scenes (needs the MuJoCo sim; call from one thread)."""
    from core.model.scenes import TEST, SceneMaker

    maker = SceneMaker(image_size=image_size, seed=seed)
    try:
        images, items = [], []
        for i in range(n_scenes):
            scene = maker.make(TEST, i)
            images.append(scene.image)
            items.extend(VQAItem(i, qa.kind, qa.question, qa.answer) for qa in questions(scene.state, random.Random(i)))
    finally:
        maker.close()
    return VQASet(images, items, seed)


def score(predictions: Sequence[str], items: Sequence[VQAItem]) -> VQAResult:
    """Normalised exact-match accuracy, overall and per question kind."""
    if len(predictions) != len(items):
        raise ValueError(f"{len(predictions)} predictions for {len(items)} questions")
    per: dict[str, list[int]] = {}
    hits = 0
    for pred, item in zip(predictions, items, strict=True):
        ok = is_correct(pred, item.answer)
        hits += ok
        h = per.setdefault(item.kind, [0, 0])
        h[0] += ok
        h[1] += 1
    return VQAResult(
        accuracy=hits / max(1, len(items)),
        per_kind={k: h / n for k, (h, n) in sorted(per.items())},
        n=len(items),
        predictions=list(predictions),
    )


def evaluate(answer_fn: Callable[[np.ndarray, str], str], vqa: VQASet, limit: int | None = None) -> VQAResult:
    """Ask every question (single turn, its scene's image) and score the answers."""
    items = vqa.items[:limit] if limit else vqa.items
    t = time.perf_counter()
    preds = [answer_fn(vqa.images[it.scene], it.question) for it in items]
    result = score(preds, items)
    result.seconds = time.perf_counter() - t
    return result
