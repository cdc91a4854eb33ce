"""Layout lines for camera frames (the object locator's sightings written by `core.language.layout`) and
the scene reader, the side adapter that reads them (`core.model.build_layout`).

`SceneLayout.load()` gives None (and logs why) when the shipped locator is missing or was trained on
another vision build; `load_reader(model)` gives None when the reader is missing or was trained on another
build. Questions get a line only when both are there (a model without the reader reads it worse than none).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.language.layout import layout_text, with_layout
from core.model.locator import Locator, LocatorError

log = logging.getLogger(__name__)
READER = "scene-reader"
READER_DIR = Path(__file__).resolve().parents[2] / "assets" / "reader"


class SceneLayout:
    def __init__(self, locator: Locator) -> None:
        self.locator = locator

    @classmethod
    def load(cls, assets: Path | None = None) -> SceneLayout | None:
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


def load_reader(model: Any, reader_dir: Path = READER_DIR) -> str | None:
    """Load the scene reader beside the model's adapters (not active: it is switched in per question).
    Its name, or None with a logged reason."""
    from core.model.restate import load_shipped_side

    return load_shipped_side(model, reader_dir, READER, "scene reader", "python -m core.model.build_layout",
                             "scene questions are asked without a layout line")


@contextlib.contextmanager
def reading(model: Any, layout: SceneLayout, reader: str, image: np.ndarray,
            question: str) -> Iterator[tuple[str, str | None]]:
    """The scene reader switched in for the calls inside -> (the question as it reads it, after the frame's
    layout line; the line). The locator runs on the model thread, where the model's kernels run."""
    from core.model.restate import adapter_switched
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


__all__ = ["READER", "READER_DIR", "SceneLayout", "answer_reading", "load_reader", "reading"]
