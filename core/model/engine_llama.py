"""The llama.cpp backend of `core.model.engine` (through llama-cpp-python's low-level C API).

Per adapter, the merged text decoder is written once as a Q8_0 GGUF (`core.model.gguf_export`, cached on
disk under the model's cache directory by adapter name and weights digest) and loaded as its own llama.cpp
model. Every pass feeds embeddings (`llama_batch.embd`), never token ids, and reads the final-normed hidden
states back (`embeddings=True`, no pooling); the image span runs as its own batch with causal attention
switched off, which is how Gemma-3 attends within an image. The KV cache stays fp32 and full size (no
sliding-window eviction), so rejected draft tokens can be dropped (`llama_memory_seq_rm`).
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from core.model.engine import EngineError
from core.model.gemma_text import TextConfig
from core.model.gguf_export import UnsupportedConfig, check_supported, write_gguf

log = logging.getLogger(__name__)

GGML_TYPE_F32 = 0
_init_lock = threading.Lock()
_initialised = False


def _lib():  # noqa: ANN202 - the llama_cpp module
    global _initialised
    try:
        import llama_cpp
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise EngineError("llama-cpp-python is not installed (pip install llama-cpp-python)") from exc
    with _init_lock:
        if not _initialised:
            llama_cpp.llama_backend_init()
            _quiet(llama_cpp)
            _initialised = True
    return llama_cpp


_LOG_CB = None


def _quiet(llama_cpp) -> None:  # noqa: ANN001
    """Route llama.cpp's log lines (per-load tables of every tensor) to this module's debug log."""
    global _LOG_CB

    @llama_cpp.llama_log_callback
    def cb(level, text, user_data):  # noqa: ANN001, ANN202
        if level >= 2 and text:  # GGML_LOG_LEVEL_WARN and above
            log.debug("llama.cpp: %s", text.decode("utf-8", "replace").rstrip())

    _LOG_CB = cb
    llama_cpp.llama_log_set(cb, ctypes.c_void_p(0))


class LlamaBackend:
    """One llama.cpp model + context (one sequence) for one merged adapter."""

    def __init__(self, gguf_path: Path, hidden: int, threads: int = 1, capacity: int = 1024) -> None:
        ll = _lib()
        self.ll, self.hidden = ll, hidden
        mp = ll.llama_model_default_params()
        self.model = ll.llama_model_load_from_file(str(gguf_path).encode(), mp)
        if not self.model:
            raise EngineError(f"llama.cpp could not load {gguf_path}")
        cp = ll.llama_context_default_params()
        cp.n_ctx = capacity
        cp.n_batch = cp.n_ubatch = capacity
        cp.n_seq_max = 1
        cp.n_threads = cp.n_threads_batch = threads
        cp.embeddings = True
        cp.pooling_type = ll.LLAMA_POOLING_TYPE_NONE
        cp.type_k = cp.type_v = GGML_TYPE_F32
        cp.swa_full = True
        cp.flash_attn_type = ll.LLAMA_FLASH_ATTN_TYPE_DISABLED
        self.ctx = ll.llama_init_from_model(self.model, cp)
        if not self.ctx:
            ll.llama_model_free(self.model)
            raise EngineError("llama.cpp could not create a context")
        self.mem = ll.llama_get_memory(self.ctx)
        self.capacity = capacity
        self.batch = ll.llama_batch_init(capacity, hidden, 1)
        self.length = 0

    def set_threads(self, threads: int) -> None:
        self.ll.llama_set_n_threads(self.ctx, threads, threads)

    def reset(self) -> None:
        self.ll.llama_memory_clear(self.mem, True)
        self.length = 0

    def crop(self, n: int) -> None:
        if n > 0:
            self.ll.llama_memory_seq_rm(self.mem, 0, self.length - n, -1)
            self.length -= n

    def _decode(self, x: np.ndarray, causal: bool) -> np.ndarray:
        n = x.shape[0]
        if self.length + n > self.capacity:
            raise EngineError(f"sequence longer than the engine's context ({self.capacity} positions)")
        b = self.batch
        b.n_tokens = n
        ctypes.memmove(b.embd, x.ctypes.data, x.nbytes)
        for i in range(n):
            b.pos[i] = self.length + i
            b.n_seq_id[i] = 1
            b.seq_id[i][0] = 0
            b.logits[i] = 1
        if not causal:
            self.ll.llama_set_causal_attn(self.ctx, False)
        try:
            rc = self.ll.llama_decode(self.ctx, b)
        finally:
            if not causal:
                self.ll.llama_set_causal_attn(self.ctx, True)
        if rc != 0:
            raise EngineError(f"llama_decode failed ({rc})")
        self.length += n
        ptr = self.ll.llama_get_embeddings(self.ctx)
        return np.ctypeslib.as_array(ptr, shape=(n * self.hidden,)).reshape(n, self.hidden).copy()

    def run(self, x: torch.Tensor, bidirectional: tuple[int, int] | None = None) -> torch.Tensor:
        a = np.ascontiguousarray(x.detach().float().numpy())
        start = self.length
        if bidirectional is None:
            return torch.from_numpy(self._decode(a, True))
        lo, hi = bidirectional[0] - start, bidirectional[1] - start
        parts = []
        for s, e, causal in ((0, lo, True), (lo, hi, False), (hi, a.shape[0], True)):
            if e > s:
                parts.append(self._decode(np.ascontiguousarray(a[s:e]), causal))
        return torch.from_numpy(np.concatenate(parts))

    def close(self) -> None:
        if getattr(self, "ctx", None):
            self.ll.llama_batch_free(self.batch)
            self.ll.llama_free(self.ctx)
            self.ll.llama_model_free(self.model)
            self.ctx = None

    def __del__(self) -> None:  # noqa: D105
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def llama_backend(cache_dir: Path, threads: int = 1, qtype: str = "Q8_0"):  # noqa: ANN201
    """A `core.model.engine.QuantEngine` backend factory writing GGUF files under `cache_dir`."""

    def make(config: TextConfig, state: Mapping[str, torch.Tensor], key: str) -> LlamaBackend:
        _lib()
        try:
            check_supported(config)
        except UnsupportedConfig as exc:
            raise EngineError(str(exc)) from exc
        path = Path(cache_dir) / f"text-{key}-{qtype.lower()}.gguf"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            log.info("writing %s (one-off)", path.name)
            write_gguf(path, config, state, qtype)
        return LlamaBackend(path, config.hidden, threads)

    return make
