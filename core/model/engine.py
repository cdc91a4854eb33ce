"""A quantized text engine for grammar-constrained decoding, in front of a loaded Gemma-3 VLM.

The transformers model stays loaded for everything else (chat, ranking, the locator); the policy's plan /
action / "done?" answers can instead run the language model through a `Backend` with int8 weights:

- `EngineModel` looks like the transformers model to `core.model.constrained.constrained_generate`
  (`.model(...)` returns `last_hidden_state` and a cache with `crop`, `get_output_embeddings()` the head),
  so the decoder, the grammar, the restricted head and the guessed tokens stay exactly as they are;
- the embeddings are computed here in fp32: text tokens from the fp32 embedding table (memory-mapped from
  the model's safetensors file, so only the rows a prompt uses are read), the image through an fp32 copy
  of the vision tower and projector; the head's allowed rows come from the same fp32 table (tied);
- one set of backend weights per adapter (the LoRA merged into its own int8 copy): the adapter that is
  active on the transformers model picks the copy, so switching adapters is a dictionary look-up;
- a new prompt keeps the cached positions it shares with the last sequence (a cycle's action question
  starts with its plan question's frame and words).

Backends: `core.model.engine_openvino` (OpenVINO int8, the CPU default `ov-int8`), `core.model.engine_llama`
(llama.cpp Q8_0 through llama-cpp-python), `core.model.engine_torch` (torch's int8 kernel). The precisions
that use them are `ENGINE_BACKENDS`; `docs/inference.md` has the comparison.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Protocol

import numpy as np
import torch

from core.model.gemma_text import TextConfig, embed_scale

log = logging.getLogger(__name__)

class EngineError(RuntimeError):
    """The engine cannot run this model (not a Gemma-3 VLM with an fp32 weights file, missing package)."""


class Backend(Protocol):
    """One sequence's text decoder with its KV cache."""

    length: int

    def reset(self) -> None: ...

    def run(self, x: torch.Tensor, bidirectional: tuple[int, int] | None = None) -> torch.Tensor:
        """Embeddings [n, hidden] fp32 at the next n positions -> final-normed hidden states [n, hidden]."""

    def crop(self, n: int) -> None:
        """Forget the last n positions."""


# ---- fp32 weights from a safetensors file, memory-mapped --------------------------------------------
def safetensors_index(path: Path) -> tuple[int, dict[str, Any]]:
    """(data start offset, header) of a safetensors file."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    return 8 + n, header


_NP = {"F32": np.float32, "F16": np.float16, "I8": np.int8}


class MappedWeights(Mapping[str, torch.Tensor]):
    """Tensors of a safetensors file as copy-on-write memory maps (pages are read when touched)."""

    def __init__(self, path: Path, prefix: str = "") -> None:
        self.path, self.prefix = Path(path), prefix
        self._start, header = safetensors_index(self.path)
        self._entries = {k[len(prefix):]: v for k, v in header.items() if k.startswith(prefix)}

    def __getitem__(self, key: str) -> torch.Tensor:
        e = self._entries[key]
        if e["dtype"] not in _NP:
            raise EngineError(f"{self.path.name}: {key} is {e['dtype']}, expected fp32 weights")
        a, b = e["data_offsets"]
        arr = np.memmap(self.path, dtype=_NP[e["dtype"]], mode="c", offset=self._start + a, shape=tuple(e["shape"]))
        return torch.from_numpy(arr)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


def text_prefix(path: Path) -> str:
    """The key prefix of the language model's text weights in a saved Gemma-3 VLM."""
    _, header = safetensors_index(path)
    for key in header:
        if key.endswith("embed_tokens.weight") and "vision" not in key:
            return key[: -len("embed_tokens.weight")]
    raise EngineError(f"{path}: no language-model embedding table")


# ---- LoRA deltas from a PEFT-wrapped transformers model -----------------------------------------------
def lora_deltas(model: Any, adapter: str | None) -> dict[str, torch.Tensor]:
    """`layers.N.<part>.<proj>.weight` -> fp32 delta (scaling * B @ A) of `adapter` in the language model
    of a transformers model with PEFT adapters loaded ({} for None: the base weights)."""
    if adapter is None:
        return {}
    from peft.tuners.lora import LoraLayer

    out: dict[str, torch.Tensor] = {}
    for name, module in model.named_modules():
        if not isinstance(module, LoraLayer) or "language_model" not in name or adapter not in module.lora_A:
            continue
        a = module.lora_A[adapter].weight.detach().float()
        b = module.lora_B[adapter].weight.detach().float()
        key = name[name.index("layers."):] + ".weight"
        out[key] = (b @ a) * float(module.scaling[adapter])
    if not out:
        raise EngineError(f"adapter {adapter!r} has no LoRA layers in the language model")
    return out


class MergedState(Mapping[str, torch.Tensor]):
    """Base text weights with LoRA deltas added on read (nothing is copied until a key is read)."""

    def __init__(self, base: Mapping[str, torch.Tensor], deltas: Mapping[str, torch.Tensor]) -> None:
        self.base, self.deltas = base, deltas

    def __getitem__(self, key: str) -> torch.Tensor:
        w = self.base[key]
        d = self.deltas.get(key)
        return w if d is None else w.float() + d

    def __iter__(self) -> Iterator[str]:
        return iter(self.base)

    def __len__(self) -> int:
        return len(self.base)


# ---- the front: embeddings in fp32 --------------------------------------------------------------------
@dataclass
class Front:
    """Prompt embeddings exactly as the fp32 transformers model computes them."""

    table: torch.Tensor  # [vocab, hidden] fp32 (memory-mapped): token embeddings and the tied head
    vision: Callable[[torch.Tensor], torch.Tensor]  # pixel values -> [tokens, hidden] image features
    image_token_id: int
    scale: float

    def embed(self, ids: torch.Tensor, pixel_values: torch.Tensor | None = None) -> torch.Tensor:
        ids = ids.reshape(-1)
        is_image = ids == self.image_token_id
        x = self.table.index_select(0, ids.masked_fill(is_image, 0)) * self.scale
        if pixel_values is not None and bool(is_image.any()):
            feats = self.vision(pixel_values.float()).reshape(-1, x.shape[-1]).float()
            if feats.shape[0] != int(is_image.sum()):
                raise EngineError(f"{int(is_image.sum())} image tokens but {feats.shape[0]} image features")
            x[is_image] = feats
        return x


def _vision_fn(hf: Any, weights: Path) -> Callable[[torch.Tensor], torch.Tensor]:
    """The model's vision tower + projector in fp32 (a copy when the loaded model is not fp32)."""
    inner = hf.model
    if next(inner.vision_tower.parameters()).dtype == torch.float32:
        tower, proj = inner.vision_tower, inner.multi_modal_projector
    else:
        tower, proj = copy.deepcopy(inner.vision_tower).float(), copy.deepcopy(inner.multi_modal_projector).float()
        _, header = safetensors_index(weights)
        for module, name in ((tower, "vision_tower."), (proj, "multi_modal_projector.")):
            prefix = next((k[: k.index(name) + len(name)] for k in header if name in k), None)
            if prefix is None:
                raise EngineError(f"{weights.name}: no {name.rstrip('.')} weights")
            state = {k: v.clone() for k, v in MappedWeights(weights, prefix).items()}
            module.load_state_dict(state, strict=True)

    def vision(pixel_values: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            out = tower(pixel_values=pixel_values, return_dict=True).last_hidden_state
            return proj(out)

    return vision


# ---- what constrained_generate sees -----------------------------------------------------------------
class _Cache:
    def __init__(self, body: _Body) -> None:
        self.body = body

    def crop(self, n: int) -> None:
        if n < 0:
            self.body.drop(-n)

    def get_seq_length(self) -> int:
        return self.body.backend.length


class _Body:
    """The language model's forward for `constrained_generate`: a pass without `past_key_values` starts a
    new prompt. With `reuse`, a new prompt that begins like the sequence in the cache (the same frame and
    the same first words, as a cycle's plan and action questions do) keeps those positions' keys and values
    and computes only the rest: the image and the shared words are not computed twice."""

    # a new prompt always recomputes at least this many of its last positions: the pass must return the
    # hidden states of its drafted guesses (`constrained_generate` checks up to 16 after the prompt)
    TAIL = 32

    def __init__(self, front: Front, backend: Backend, reuse: bool = True) -> None:
        self.front, self.backend, self.reuse = front, backend, reuse
        self.seq: list[int] = []  # token ids of the positions in the backend's cache
        self.pixels: torch.Tensor | None = None  # the frame of the image tokens among them
        self.reused = 0  # positions kept by the last new prompt

    def drop(self, n: int) -> None:
        self.backend.crop(n)
        del self.seq[len(self.seq) - n:]

    def _keep(self, ids: list[int], image: tuple[int, int] | None, pixel_values: torch.Tensor | None) -> int:
        """How many leading positions of a new prompt `ids` the cache already holds."""
        if not self.reuse:
            return 0
        keep = 0
        for a, b in zip(self.seq, ids):
            if a != b:
                break
            keep += 1
        keep = min(keep, len(ids) - self.TAIL)
        if image is not None and keep > image[0]:
            same = self.pixels is not None and pixel_values is not None and self.pixels.shape == pixel_values.shape \
                and torch.equal(self.pixels, pixel_values)
            if not same or keep < image[1]:
                keep = image[0]  # another frame, or only part of the image: recompute the image
        return max(0, keep)

    def __call__(self, input_ids: torch.Tensor, past_key_values: Any = None, pixel_values: torch.Tensor | None = None,
                 token_type_ids: torch.Tensor | None = None, **_: Any) -> SimpleNamespace:
        ids = input_ids.reshape(-1)
        image = None  # where the image's soft tokens are (one image per prompt, as the processor writes it)
        where = (ids == self.front.image_token_id).nonzero()
        if where.numel():
            image = (int(where[0, 0]), int(where[-1, 0]) + 1)
        both_ways = token_type_ids is not None  # transformers attends within the image only when given these
        if past_key_values is None:
            keep = self._keep(ids.tolist(), image, pixel_values)
            if keep:
                self.drop(len(self.seq) - keep)
            else:
                self.backend.reset()
                self.seq = []
            self.reused = keep
            if image is not None and keep >= image[1]:
                image, pixel_values = None, None  # the image's keys and values are in the cache
            elif image is not None:
                self.pixels = pixel_values
            ids = ids[keep:]
            image = None if image is None else (image[0] - keep, image[1] - keep)
        start = self.backend.length
        x = self.front.embed(ids, pixel_values)
        h = self.backend.run(x, None if image is None or not both_ways else (start + image[0], start + image[1]))
        self.seq.extend(ids.tolist())
        return SimpleNamespace(last_hidden_state=h.unsqueeze(0), past_key_values=_Cache(self))


class _Head:
    def __init__(self, table: torch.Tensor) -> None:
        self.weight = table
        self.bias = None


class EngineModel:
    """The parts of a transformers model `constrained_generate` uses, backed by one engine backend."""

    def __init__(self, config: Any, front: Front, backend: Backend, reuse: bool = True) -> None:
        self.config = config
        self.model = _Body(front, backend, reuse)
        self._head = _Head(front.table)

    def get_output_embeddings(self) -> _Head:
        return self._head

    def __call__(self, **inputs: Any) -> SimpleNamespace:
        """Full logits (every row of the head), for callers that do not restrict the head."""
        out = self.model(**inputs)
        logits = out.last_hidden_state @ self._head.weight.T
        return SimpleNamespace(logits=logits, past_key_values=out.past_key_values)

    def parameters(self) -> Iterator[torch.Tensor]:
        """What `core.model.chat.prepare_inputs` reads the input dtype from: the engine takes fp32 pixels."""
        yield self._head.weight


class QuantEngine:
    """Per-adapter int8 copies of a loaded default model's language model, picked by the active adapter.

    `make_backend(config, state, key)` builds a backend from the merged fp32 text weights (`state`, a
    mapping read on demand); `key` names the copy (adapter name and weights) for on-disk caches."""

    def __init__(self, loaded: Any, make_backend: Callable[[TextConfig, Mapping[str, torch.Tensor], str], Backend],
                 name: str, reuse: bool = True) -> None:
        hf = loaded.model
        cfg = getattr(hf, "config", None)
        if cfg is None or getattr(cfg, "model_type", "") != "gemma3" or not hasattr(hf, "model"):
            raise EngineError("the quantized engine runs Gemma-3 VLMs only")
        weights = Path(str(loaded.info.get("cache_dir") or loaded.info.get("source") or "")) / "model.safetensors"
        if not weights.is_file():
            raise EngineError(f"no fp32 weights file at {weights}")
        self.name = name
        self.reuse = reuse  # new prompts keep the cached positions they share with the last sequence
        self.loaded = loaded
        self.text_config = TextConfig.from_hf(cfg)
        prefix = text_prefix(weights)
        self.base = MappedWeights(weights, prefix)
        self.front = Front(self.base["embed_tokens.weight"], _vision_fn(hf, weights), int(cfg.image_token_id),
                           embed_scale(self.text_config.hidden))
        self.weights_file = weights
        self._make = make_backend
        self._models: dict[tuple, EngineModel] = {}
        self._lock = threading.Lock()

    def model_for(self, adapter: str | None) -> EngineModel:
        """The engine model with `adapter` merged (None: the base weights), built on first use."""
        with self._lock:
            ident = _adapter_identity(self.loaded.model, adapter)
            hit = self._models.get(ident)
            if hit is None:
                t0 = time.perf_counter()
                deltas = lora_deltas(self.loaded.model, adapter)
                key = f"{safe_key(adapter or 'base')}-{_digest(deltas)}"
                backend = self._make(self.text_config, MergedState(self.base, deltas), key)
                for old in [k for k in self._models if k[0] == adapter]:  # the same name with other weights
                    del self._models[old]
                hit = self._models[ident] = EngineModel(self.loaded.model.config, self.front, backend, self.reuse)
                log.info("%s engine: the copy for %s is ready (%.1f s)", self.name, adapter or "the base model",
                         time.perf_counter() - t0)
            return hit

    def current(self) -> EngineModel:
        """The engine model for the adapter active on the transformers model now."""
        from core.model.adapters import active_adapter

        return self.model_for(active_adapter(self.loaded))


def _adapter_identity(model: Any, adapter: str | None) -> tuple:
    """(name, where its LoRA weights live): an adapter reloaded under the same name gets new tensors."""
    if adapter is None:
        return (None,)
    from peft.tuners.lora import LoraLayer

    for module in model.modules():
        if isinstance(module, LoraLayer) and adapter in module.lora_A:
            w = module.lora_A[adapter].weight
            return (adapter, w.data_ptr(), w._version)
    return (adapter,)


def safe_key(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:60]


def _digest(deltas: Mapping[str, torch.Tensor]) -> str:
    import hashlib

    h = hashlib.sha256()
    for k in sorted(deltas):
        h.update(k.encode())
        h.update(deltas[k].reshape(-1)[:1024].numpy().tobytes())
        h.update(str(float(deltas[k].abs().sum())).encode())
    return h.hexdigest()[:12]


# ---- the precisions that run the policy through an engine ---------------------------------------------
ENGINE_BACKENDS = {"ov-int8": "OpenVINO", "llama-q8": "llama.cpp Q8_0", "torch-int8": "torch int8"}


def make_engine(loaded: Any, kind: str, threads: int | None = None, reuse: bool = True) -> QuantEngine:
    """A `QuantEngine` of `kind` (a key of `ENGINE_BACKENDS`) over a loaded default model; its per-adapter
    files (GGUF / OpenVINO IR) go to `engine/` in the model's cache directory."""
    threads = int(threads or torch.get_num_threads())
    folder = Path(str(loaded.info.get("cache_dir") or "")) / "engine" if loaded.info.get("cache_dir") else None
    if kind == "ov-int8":
        from core.model.engine_openvino import _openvino, openvino_backend

        _openvino()  # fail now, not at the first plan, when the package is missing
        factory = openvino_backend(folder, threads)
    elif kind == "llama-q8":
        from core.model.engine_llama import _lib, llama_backend

        _lib()
        if folder is None:
            raise EngineError("the llama.cpp engine needs the model's cache directory for its GGUF files")
        factory = llama_backend(folder, threads)
    elif kind == "torch-int8":
        from core.model.engine_torch import int8_backend

        factory = int8_backend
    else:
        raise EngineError(f"unknown engine {kind!r}; expected one of {sorted(ENGINE_BACKENDS)}")
    return QuantEngine(loaded, factory, kind, reuse)


def engine_view(loaded: Any) -> Any:
    """`loaded` with its model replaced by the engine's copy for the active adapter, when the precision
    runs the policy through an engine (`loaded.info["engine"]`); otherwise `loaded` itself."""
    engine = getattr(loaded, "info", {}).get("engine") if loaded is not None else None
    if engine is None:
        return loaded
    import dataclasses

    try:
        model = engine.current()
    except Exception as exc:  # noqa: BLE001 - a broken engine must not stop the robot: transformers takes over
        from core.model.quantize import ENGINE_PRECISIONS

        log.exception("the %s engine failed; the transformers model answers from now on", engine.name)
        loaded.info.pop("engine", None)
        loaded.info["engine_error"] = f"{type(exc).__name__}: {exc}"
        loaded.info["engine_fallback"] = f"{engine.name} engine failed: {loaded.info['engine_error']}"
        loaded.precision = ENGINE_PRECISIONS.get(loaded.precision, loaded.precision)
        return loaded
    return dataclasses.replace(loaded, model=model)
