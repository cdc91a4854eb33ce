"""Background loading and serialised use of one model, for the app.

    service = ModelService(source=None)   # None = the embedded default
    service.start()                       # returns at once; loads in a worker thread
    service.status()                      # ModelStatus(state="idle" | "loading" | "ready" | "error", message, ...)
    for piece in service.stream(frame, "What is in the bowl?", history): ...
    service.policy()                      # the VLM as the autonomous loop's policy (same weights, same lock)

Generation is serialised with a lock (one model, one request at a time); it never runs on the
control thread.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.model.chat import Message, answer, stream_answer
from core.model.loader import LoadedModel, load_model
from core.model.worker import run

log = logging.getLogger(__name__)


MIN_RETENTION = 0.95


@contextlib.contextmanager
def _adapters_off(model: Any, off: bool) -> Iterator[None]:
    """Run the base weights for one call (PEFT adapters stay loaded and come back on afterwards)."""
    if not off or not getattr(model, "_hf_peft_config_loaded", False):
        yield
        return
    model.disable_adapters()
    try:
        yield
    finally:
        model.enable_adapters()


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
        # the embedded default's scene reader answers questions after a layout line (`core.model.layout`);
        # both are loaded with the model (None: another model, or no locator / reader for this build)
        self.layout: Any = None
        self.reader: str | None = None  # the side adapter that reads the line (`core.model.layout.load_reader`)
        self.last_layout: str | None = None  # the line the last question was asked with (shown in the UI)
        self.threads = threads  # CPU threads for the model's kernels (None: torch's default)
        self._loaded: LoadedModel | None = None
        self._status = ModelStatus("idle", "not loaded (the app was started with --no-model)")
        self._thread: threading.Thread | None = None
        self._t0 = 0.0
        self.lock = threading.Lock()
        self._policy: Any = None
        self.adapter = "none"
        self._on_ready: list[Callable[[], None]] = []
        # VQA after / before of the active adapter (from its evaluation); below MIN_RETENTION, questions
        # are answered with the adapter switched off for that call (the paper's claim, checked per adapter)
        self.adapter_retention: float | None = None
        self.adapter_camera = "front"  # the camera the active adapter was trained on: the loop uses it
        self.adapter_robot_state = False  # the active adapter's questions carry the robot's state
        self.adapter_grounded = False  # ... or a grounding line (where the subtask's object is)
        self.restater: str | None = None  # a loaded side adapter that restates commands in English
        self.restater_prior: Any = None  # its calibration prior (core.model.restate.RestatePrior), computed on load

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
        if self.source is None:
            self._load_reader(loaded)
        self._loaded = loaded
        for fn in self._on_ready:
            try:
                run(fn)
            except Exception:  # noqa: BLE001 - a failing hook (e.g. an adapter) leaves the base model usable
                log.exception("model on-ready hook failed")
        if loaded.info.get("engine") is not None:  # build the engine's copy for the active adapter now
            from core.model.engine import engine_view

            run(engine_view, loaded)
        self._status = ModelStatus("ready", f"{loaded.name} loaded in {loaded.load_s:.1f} s", loaded.precision_label)

    def _load_reader(self, loaded: LoadedModel) -> None:
        """The layout line's locator and the scene reader; without either, questions go bare (the bare
        model read a line worse than none). A failure here leaves the model usable."""
        from core.model.layout import SceneLayout, load_reader

        try:
            layout = run(SceneLayout.load)
            reader = run(load_reader, loaded.model) if layout is not None else None
        except Exception:  # noqa: BLE001 - chat still works, without the line
            log.exception("could not load the scene reader; questions are asked without a layout line")
            return
        if reader is not None:
            self.layout, self.reader = layout, reader

    def wait(self, timeout: float | None = None) -> ModelStatus:
        if self._thread is not None:
            self._thread.join(timeout)
        return self._status

    def status(self) -> ModelStatus:
        st = self._status
        if st.state == "loading":
            return ModelStatus("loading", f"{st.message} {time.monotonic() - self._t0:.0f} s")
        return ModelStatus(st.state, st.message, st.precision, self.adapter)

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
        if r is not None and r < MIN_RETENTION:
            return True, (f"{base}, with adapter {self.adapter} switched off for this answer "
                          f"(its VQA retention {r:.0%} < {MIN_RETENTION:.0%})")
        kept = f"VQA retention {r:.0%}" if r is not None else "VQA retention not measured"
        return False, f"the action adapter {self.adapter} ({kept})"

    @contextlib.contextmanager
    def _answering(self, image: np.ndarray, question: str) -> Iterator[tuple[LoadedModel, str]]:
        """Under the generation lock, the weights that answer (`answer_route`) -> (model, the question as
        it reads it: after the layout line when the scene reader answers)."""
        loaded = self.loaded
        off, _ = self.answer_route()
        with self.lock:
            if self.reader is not None and (off or self.adapter == "none"):
                from core.model.layout import reading

                with reading(loaded.model, self.layout, self.reader, image, question) as (asked, line):
                    self.last_layout = line
                    yield loaded, asked
            else:
                self.last_layout = None
                with _adapters_off(loaded.model, off):
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
        """The autonomous loop's policy on the loaded model (shares the generation lock)."""
        from core.model.policy import VLMPolicy

        lm = self.loaded
        p = self._policy
        if (p is None or p.loaded is not lm or p.camera != self.adapter_camera
                or p.robot_state != self.adapter_robot_state or p.grounded != self.adapter_grounded
                or p.restater != self.restater):
            self._policy = VLMPolicy(lm, lock=self.lock, camera=self.adapter_camera,
                                     robot_state=self.adapter_robot_state, grounded=self.adapter_grounded,
                                     restater=self.restater, restate_prior=self.restater_prior,
                                     locator=self.layout.locator if self.layout is not None else None)
        return self._policy
