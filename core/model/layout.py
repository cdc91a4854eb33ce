"""Layout lines for camera frames (the object locator's sightings written by `core.language.layout`) and
the scene reader, the side adapter that reads them (`core.model.build_layout`).

`SceneLayout.load()` gives None (and logs why) when the shipped locator is missing or was trained on
another vision build; `load_reader(model)` gives None when the reader is missing or was trained on another
build. Questions get a line only when both are there (a model without the reader reads it worse than none).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.language.layout import layout_text
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


__all__ = ["READER", "READER_DIR", "SceneLayout", "load_reader"]
