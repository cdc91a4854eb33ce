"""The scene reader: scene questions asked after the frame's layout line, with the reader side adapter on.

The *layout line* lists the objects the object locator (`core.policy.locator`) sees in the frame, ordered
left to right and near to far (`core.language.layout`). The 270M language model never learned to compare the
pooled image tokens, but it learned to read that line: the *scene reader* is a side adapter (stage 3 of the
default model's build, `python -m recipes.layout_reader`) switched in for each scene question. Loading it
and the locator: `core.policy.shipped.load_reader` / `SceneLayout.load`; a model without the reader reads the
line worse than none, so questions get a line only when both are there.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.language.layout import layout_text, with_layout
from core.policy.locator import Locator, LocatorError

log = logging.getLogger(__name__)


class SceneLayout:
    """Layout lines of camera frames, written from the object locator's sightings."""

    def __init__(self, locator: Locator) -> None:
        self.locator = locator

    @classmethod
    def load(cls, assets: Path | None = None) -> SceneLayout | None:
        """With the shipped locator; None (and the reason logged) when it is missing or was trained on
        another vision build."""
        try:
            return cls(Locator.load(assets))
        except (LocatorError, OSError, ValueError) as exc:
            log.warning("questions are asked without a layout line: %s", exc)
            return None

    def lines(self, images: Sequence[np.ndarray]) -> list[str | None]:
        found = self.locator.locate(list(images))
        return [layout_text({n: (s.u, s.v) for n, s in sightings.items() if s.seen}) for sightings in found]

    def line(self, image: np.ndarray) -> str | None:
        return self.lines([image])[0]


@contextlib.contextmanager
def reading(model: Any, layout: SceneLayout, reader: str, image: np.ndarray,
            question: str) -> Iterator[tuple[str, str | None]]:
    """The scene reader switched in for the calls inside -> (the question as it reads it, after the frame's
    layout line; the line). The locator runs on the model thread, where the model's kernels run."""
    from core.model.adapters import adapter_switched
    from core.model.worker import run

    line = run(layout.line, image)
    with adapter_switched(model, reader):
        yield with_layout(question, line), line


def answer_reading(loaded: Any, layout: SceneLayout, reader: str, image: np.ndarray, question: str,
                   max_new_tokens: int = 12) -> str:
    """The scene reader's answer to `question` about `image` (`reading` + `core.model.chat.answer`)."""
    from core.model.chat import answer

    with reading(loaded.model, layout, reader, image, question) as (asked, _):
        return answer(loaded, image, asked, max_new_tokens=max_new_tokens)


__all__ = ["SceneLayout", "answer_reading", "reading"]
