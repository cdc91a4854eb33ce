"""The running model as the app uses it: background loading, the generation lock, the live action adapter,
the side parts of the policy stack, chat answers and the autonomous policy.

    service = ModelService(source=None)   # None = the embedded default
    service.start()                       # returns at once; loads on the model thread
    service.status()                      # ModelStatus(state="idle" | "loading" | "ready" | "error", message, ...)
    service.activate_adapter(folder, name, card, metrics)   # or deactivate_adapter(); the Train tab's switch
    for piece in service.stream(frame, "What is in the bowl?", history): ...
    service.policy()                      # the VLM as the autonomous loop's policy (same weights, same lock)

The shipped stack (action adapter, restater, scene reader and locator) is installed by
`core.policy.shipped.install_shipped` once the model has loaded. Generation is serialised with a lock (one
model, one request at a time); it never runs on the control thread.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.model.adapters import adapters_off
from core.model.chat import Message, answer, stream_answer
from core.model.loader import LoadedModel, load_model
from core.model.worker import run
from core.policy.config import PolicyConfig
from core.policy.reader import SceneLayout
from core.policy.restate import Restater

log = logging.getLogger(__name__)


MIN_RETENTION = 0.95


class ModelNotReadyError(RuntimeError):
    """The model is still loading, failed to load, or was not requested."""


@dataclass(frozen=True)
class ModelStatus:
    state: str  # "idle" | "loading" | "ready" | "error"
    message: str
    precision: str = ""  # human-readable, e.g. "CPU · bf16 + int8 LM head"
    adapter: str = "none"


class ModelService:
    def __init__(self, source: str | None = None, device: str = "auto", precision: str = "auto",
                 threads: int | None = None) -> None:
        self.source, self.device, self.precision = source, device, precision
        self.threads = threads  # CPU threads for the model's kernels (None: torch's default)
        self._loaded: LoadedModel | None = None
        self._status = ModelStatus("idle", "not loaded (the app was started with --no-model)")
        self._thread: threading.Thread | None = None
        self._t0 = 0.0
        self.lock = threading.Lock()
        self._policy: Any = None
        self._on_ready: list[Callable[[], None]] = []
        # the live action adapter ("none": the base model), what it reads (its card's `PolicyConfig`) and its
        # VQA after / before (from its evaluation): below MIN_RETENTION, scene questions are answered with it
        # switched off for that call (the paper's claim, checked per adapter)
        self.adapter = "none"
        self.config = PolicyConfig()
        self.adapter_retention: float | None = None
        # side parts (`use_restater`, `use_reader`): the restater for commands in other words or languages;
        # the embedded default's scene reader, which answers questions after a layout line
        self.restater: Restater | None = None
        self.layout: SceneLayout | None = None
        # where the policy's instructions and subtask lists come from (core.policy.catalogue.CatalogueSource;
        # None: the built-in tasks only)
        self.catalogue: Any = None
        self.reader: str | None = None  # the reader side adapter's name on the model
        self.last_layout: str | None = None  # the line the last question was asked with (shown in the UI)

    @classmethod
    def ready(cls, loaded: LoadedModel) -> ModelService:
        """A ready service around a model loaded elsewhere (on the model thread), e.g. by a benchmark."""
        service = cls(source=loaded.name, device=loaded.device, precision=loaded.precision)
        service._loaded = loaded
        service._status = ModelStatus("ready", f"{loaded.name} loaded in {loaded.load_s:.1f} s", loaded.precision_label)
        return service

    def on_ready(self, fn: Callable[[], None]) -> None:
        """Call `fn` on the model thread once the model is loaded (before the status says ready)."""
        self._on_ready.append(fn)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._t0 = time.monotonic()
        self._status = ModelStatus("loading", f"loading {self.source or 'the embedded default model'}…")
        self._thread = threading.Thread(target=self._load, name="model-load", daemon=True)
        self._thread.start()

    def _load(self) -> None:
        """Loading and the on-ready hooks (adapters) run on the model thread (`core.model.worker`), where
        all of the model's later work runs too."""
        try:
            if self.threads:
                import torch

                run(torch.set_num_threads, self.threads)
            loaded = run(load_model, self.source, self.device, self.precision)
        except Exception as exc:  # noqa: BLE001 - reported through status(), shown by the UI
            log.exception("model load failed")
            self._status = ModelStatus("error", f"{type(exc).__name__}: {exc}")
            return
        self._loaded = loaded
        for fn in self._on_ready:
            try:
                run(fn)
            except Exception:  # noqa: BLE001 - a failing hook (e.g. an adapter) leaves the base model usable
                log.exception("model on-ready hook failed")
        if getattr(loaded, "info", {}).get("engine") is not None:  # build the engine's copy for the active adapter now
            from core.model.engine import engine_view

            run(engine_view, loaded)
        self._status = ModelStatus("ready", f"{loaded.name} loaded in {loaded.load_s:.1f} s", loaded.precision_label)

    # ---- the policy stack on this model ------------------------------------------------------------
    def activate_adapter(self, path: str | Path, name: str, card: dict[str, Any] | None = None,
                         metrics: dict[str, Any] | None = None) -> str:
        """Make the adapter folder `path` (loaded once, as `name`) the live action adapter, under the
        generation lock on the model thread. The policy then reads what its `card` says (default: the
        folder's card.json) and scene questions follow its measured VQA retention (`metrics`, default: the
        card's). Raises `AdapterError` when it cannot be activated (the previous state stays)."""
        from core.model.adapter_files import read_card
        from core.model.adapters import activate_adapter

        loaded = self.loaded
        card = read_card(path) if card is None else card
        with self.lock:
            active = run(activate_adapter, loaded, Path(path), name)
        r = (card.get("metrics", {}) if metrics is None else metrics).get("vqa_retention")
        self.adapter, self.config = active, PolicyConfig.from_card(card)
        self.adapter_retention = float(r) if isinstance(r, (int, float)) else None
        return active

    def deactivate_adapter(self) -> None:
        """Back to the base model (adapters stay loaded for a quick switch back)."""
        from core.model.adapters import deactivate_adapters

        loaded = self.loaded
        with self.lock:
            run(deactivate_adapters, loaded)
        self.adapter, self.config, self.adapter_retention = "none", PolicyConfig(), None

    def use_restater(self, restater: Restater | None) -> None:
        """The restater side adapter the policy restates commands with (None: commands go as typed)."""
        self.restater = restater

    def use_reader(self, layout: SceneLayout | None, reader: str | None) -> None:
        """The layout line's locator and the scene reader side adapter (both, or questions go bare)."""
        self.layout, self.reader = (layout, reader) if layout is not None and reader is not None else (None, None)

    def wait(self, timeout: float | None = None) -> ModelStatus:
        if self._thread is not None:
            self._thread.join(timeout)
        return self._status

    def status(self) -> ModelStatus:
        st = self._status
        if st.state == "loading":
            return ModelStatus("loading", f"{st.message} {time.monotonic() - self._t0:.0f} s")
        # the live label: an engine that failed during a call has handed over to the transformers model
        precision = self._loaded.precision_label if st.state == "ready" and self._loaded is not None else st.precision
        return ModelStatus(st.state, st.message, precision, self.adapter)

    @property
    def loaded(self) -> LoadedModel:
        if self._loaded is None:
            raise ModelNotReadyError(f"The model is not ready: {self._status.message}")
        return self._loaded

    def require(self) -> LoadedModel:
        """The loaded model, or ModelNotReadyError saying why not."""
        return self.loaded

    def answer_route(self) -> tuple[bool, str]:
        """(answer with the action adapter off?, who answers) for scene questions. With the adapter off (or
        none), the scene reader answers when it is loaded, after the frame's layout line."""
        base = ("the scene reader, after the object locator's layout line" if self.reader is not None
                else "the base model")
        if self.adapter == "none":
            return False, f"{base} (no action adapter active)"
        r = self.adapter_retention
        if r is None:  # an adapter whose card measured no scene VQA is not trusted with scene questions
            return True, (f"{base}, with adapter {self.adapter} switched off for this answer "
                          "(its VQA retention was not measured)")
        if r < MIN_RETENTION:
            return True, (f"{base}, with adapter {self.adapter} switched off for this answer "
                          f"(its VQA retention {r:.0%} < {MIN_RETENTION:.0%})")
        return False, f"the action adapter {self.adapter} (VQA retention {r:.0%})"

    @contextlib.contextmanager
    def _answering(self, image: np.ndarray, question: str) -> Iterator[tuple[LoadedModel, str]]:
        """Under the generation lock, the weights that answer (`answer_route`) -> (model, the question as
        it reads it: after the layout line when the scene reader answers)."""
        loaded = self.loaded
        off, _ = self.answer_route()
        with self.lock:
            if self.reader is not None and (off or self.adapter == "none"):
                from core.policy.reader import reading

                with reading(loaded.model, self.layout, self.reader, image, question) as (asked, line):
                    self.last_layout = line
                    yield loaded, asked
            else:
                self.last_layout = None
                with adapters_off(loaded.model, off):
                    yield loaded, question

    def answer(self, image: np.ndarray, question: str, history: Sequence[Message] | None = None,
               max_new_tokens: int = 48) -> str:
        with self._answering(image, question) as (loaded, asked):
            return answer(loaded, image, asked, history, max_new_tokens)

    def stream(self, image: np.ndarray, question: str, history: Sequence[Message] | None = None,
               max_new_tokens: int = 128) -> Iterator[str]:
        with self._answering(image, question) as (loaded, asked):
            yield from stream_answer(loaded, image, asked, history, max_new_tokens)

    def policy(self):  # noqa: ANN201 - VLMPolicy, imported lazily
        """The autonomous loop's policy on the loaded model for the live adapter (shares the generation lock;
        its grounding lines use the layout line's locator when one is loaded)."""
        from core.policy.vlm import VLMPolicy

        lm = self.loaded
        p = self._policy
        if (p is None or p.loaded is not lm or p.config != self.config or p.restater is not self.restater
                or p.catalogue is not self.catalogue):
            self._policy = VLMPolicy(lm, self.config, lock=self.lock, restater=self.restater,
                                     locator=self.layout.locator if self.layout is not None else None,
                                     catalogue=self.catalogue)
        return self._policy
