"""Layout lines for camera frames: the object locator's sightings written by `core.language.layout`.

`SceneLayout.load()` gives None (and logs why) when the shipped locator is missing or was trained on
another vision build; questions are then asked without a line. Only the embedded default model was
trained to read the line (`core.model.build_layout`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.language.layout import layout_text
from core.model.locator import Locator, LocatorError

log = logging.getLogger(__name__)


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


__all__ = ["SceneLayout"]
