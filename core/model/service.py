"""Background loading and serialised use of one model, for the app.

    service = ModelService(source=None)   # None = the embedded default
    service.start()                       # returns at once; loads in a worker thread
    service.status()                      # ModelStatus(state="loading" | "ready" | "error", message, precision)
    for piece in service.stream(frame, "What is in the bowl?", history): ...

Generation is serialised with a lock (one model, one request at a time); it never runs on the
control thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from core.model.chat import Message, answer, stream_answer
from core.model.loader import LoadedModel, load_model

log = logging.getLogger(__name__)


class ModelNotReadyError(RuntimeError):
    """The model is still loading, or failed to load."""


@dataclass(frozen=True)
class ModelStatus:
    state: str  # "idle" | "loading" | "ready" | "error"
    message: str
    precision: str = ""  # human-readable, e.g. "CPU · bf16 + int8 LM head"


class ModelService:
    def __init__(self, source: str | None = None, device: str = "auto", precision: str = "auto") -> None:
        self.source, self.device, self.precision = source, device, precision
        self._loaded: LoadedModel | None = None
        self._status = ModelStatus("idle", "not started")
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._status = ModelStatus("loading", f"loading {self.source or 'the embedded default model'}…")
        self._thread = threading.Thread(target=self._load, name="model-load", daemon=True)
        self._thread.start()

    def _load(self) -> None:
        try:
            loaded = load_model(self.source, self.device, self.precision)
        except Exception as exc:  # noqa: BLE001 - reported through status(), shown by the UI
            log.exception("model load failed")
            self._status = ModelStatus("error", f"{type(exc).__name__}: {exc}")
            return
        self._loaded = loaded
        self._status = ModelStatus("ready", f"{loaded.name} loaded in {loaded.load_s:.1f} s", loaded.precision_label)

    def wait(self, timeout: float | None = None) -> ModelStatus:
        if self._thread is not None:
            self._thread.join(timeout)
        return self._status

    def status(self) -> ModelStatus:
        return self._status

    @property
    def loaded(self) -> LoadedModel:
        if self._loaded is None:
            raise ModelNotReadyError(self._status.message)
        return self._loaded

    def answer(self, image: np.ndarray, question: str, history: Sequence[Message] | None = None,
               max_new_tokens: int = 48) -> str:
        loaded = self.loaded
        with self._lock:
            return answer(loaded, image, question, history, max_new_tokens)

    def stream(self, image: np.ndarray, question: str, history: Sequence[Message] | None = None,
               max_new_tokens: int = 128) -> Iterator[str]:
        loaded = self.loaded
        with self._lock:
            yield from stream_answer(loaded, image, question, history, max_new_tokens)
