"""The app's model: loaded in the background at start-up, one generation at a time, status for the UI."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from core.model.loader import LoadedModel, ModelNotAvailableError, load_model

log = logging.getLogger(__name__)


class ModelNotReady(RuntimeError):
    """The model is still loading, failed to load, or was not requested."""


@dataclass(frozen=True)
class ModelStatus:
    state: str  # "off" | "loading" | "ready" | "failed"
    text: str
    precision: str = ""
    adapter: str = "none"


class ModelService:
    def __init__(self, source: str | None = None, precision: str = "auto", device: str = "auto") -> None:
        self.source, self.precision, self.device = source, precision, device
        self.loaded: LoadedModel | None = None
        self.lock = threading.Lock()  # generation is serialised: 2 CPU cores, one model
        self._state, self._error = "off", ""
        self._t0 = 0.0
        self._policy: Any = None
        self.adapter = "none"

    def start(self) -> None:
        if self._state in ("loading", "ready"):
            return
        self._state, self._t0 = "loading", time.monotonic()
        threading.Thread(target=self._load, name="model-load", daemon=True).start()

    def _load(self) -> None:
        try:
            self.loaded = load_model(self.source, device=self.device, precision=self.precision)
            self._state = "ready"
        except ModelNotAvailableError as exc:
            self._state, self._error = "failed", str(exc)
            log.error("model not available: %s", exc)
        except Exception as exc:
            self._state, self._error = "failed", f"{type(exc).__name__}: {exc}"
            log.exception("model failed to load")

    def status(self) -> ModelStatus:
        if self._state == "off":
            return ModelStatus("off", "The model is not loaded (started with --no-model).")
        if self._state == "loading":
            return ModelStatus("loading", f"Loading the model in the background… {time.monotonic() - self._t0:.0f} s")
        if self._state == "failed":
            return ModelStatus("failed", f"The model could not be loaded: {self._error}")
        lm = self.loaded
        assert lm is not None
        return ModelStatus("ready", f"{lm.name} · {lm.precision_label} · loaded in {lm.load_s:.1f} s",
                           lm.precision_label, self.adapter)

    def require(self) -> LoadedModel:
        if self._state != "ready" or self.loaded is None:
            raise ModelNotReady(self.status().text)
        return self.loaded

    def policy(self):  # noqa: ANN201 - VLMPolicy, imported lazily
        from core.model.policy import VLMPolicy

        lm = self.require()
        if self._policy is None or self._policy.loaded is not lm:
            self._policy = VLMPolicy(lm, lock=self.lock)
        return self._policy

    def ask_stream(self, image: Any, question: str, history: list[dict] | None = None) -> Iterator[str]:
        """The growing answer text (the whole text so far at each step)."""
        from core.model.chat import stream_answer

        lm = self.require()
        with self.lock:
            text = ""
            for piece in stream_answer(lm, image, question, history):
                text += piece
                yield text
