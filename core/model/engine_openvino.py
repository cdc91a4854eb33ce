"""The OpenVINO backend of `core.model.engine`: the Gemma-3 text decoder as an OpenVINO model with int8 weights.

The graph is traced once per merged adapter from `TracedDecoder` (the arithmetic of `core.model.gemma_text`,
written with the KV cache as inputs and the new keys / values as outputs), with every projection stored as
int8 + one fp32 scale per output row. OpenVINO's CPU plugin runs that pattern (int8 constant -> convert ->
multiply by the scale -> matmul) as a compressed-weight matrix product, quantizing the activations on the fly
in small groups for the integer units. Inference precision is pinned to f32 (on a CPU with bf16 units the
plugin would otherwise round activations to bf16).

The traced model is saved as OpenVINO IR (`<key>.xml/.bin`) in the cache directory, so tracing (~15-45 s)
happens once per adapter and weights; later starts read the IR (~1 s). The KV cache lives on the host with
positions leading ([positions, layers, head_dim]): a prefix is a contiguous slice handed over without a copy.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from core.model import gemma_text as gt
from core.model.engine import EngineError
from core.model.quantize import quantize_rows

log = logging.getLogger(__name__)

INPUTS = ("x", "past_k", "past_v", "mask_local", "mask_global", "cos_local", "sin_local", "cos_global", "sin_global")


class _QLinear(nn.Module):
    def __init__(self, w: torch.Tensor, int8: bool) -> None:
        super().__init__()
        self.int8 = int8
        if int8:
            q, s = quantize_rows(w.float())
            self.register_buffer("q", q)
            self.register_buffer("s", s[:, None].contiguous())
        else:
            self.register_buffer("w", w.detach().to(torch.float32, copy=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.q.to(torch.float32) * self.s if self.int8 else self.w
        return torch.matmul(x, w.t())


def _rms(x: torch.Tensor, w: torch.Tensor, eps: float) -> torch.Tensor:
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def _rot(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return x * cos + torch.cat([-x[..., half:], x[..., :half]], dim=-1) * sin


class TracedDecoder(nn.Module):
    """`gemma_text.forward` with explicit cache tensors, for tracing (one KV head; masks are additive)."""

    def __init__(self, config: gt.TextConfig, state: Mapping[str, torch.Tensor], int8: bool = True) -> None:
        super().__init__()
        if config.kv_heads != 1:
            raise EngineError("the OpenVINO engine supports one KV head (Gemma-3-270M)")
        self.c = config
        self.lins = nn.ModuleList(
            nn.ModuleDict({p: _QLinear(state[gt.proj_key(i, p)], int8) for p in gt.PROJECTIONS})
            for i in range(config.layers))
        for i in range(config.layers):
            for k, v in gt.NORM_KEYS.items():
                self.register_buffer(f"n{i}_{k}", 1.0 + state[f"layers.{i}.{v}.weight"].float())
        self.register_buffer("final", 1.0 + state["norm.weight"].float())

    def forward(self, x, past_k, past_v, mask_local, mask_global, cos_local, sin_local, cos_global,  # noqa: ANN001, ANN201
                sin_global):
        c = self.c
        n = x.shape[0]
        h = x
        new_k, new_v = [], []
        for i in range(c.layers):
            p = self.lins[i]
            sliding = c.sliding[i]
            cos, sin = (cos_local, sin_local) if sliding else (cos_global, sin_global)
            norm = lambda k: getattr(self, f"n{i}_{k}")  # noqa: E731, B023
            a = _rms(h, norm("input"), c.eps)
            q = p["q_proj"](a).reshape(n, c.heads, c.head_dim).transpose(0, 1)
            k = _rot(_rms(p["k_proj"](a), norm("k"), c.eps), cos, sin)
            v = p["v_proj"](a)
            q = _rot(_rms(q, norm("q"), c.eps), cos, sin)
            new_k.append(k)
            new_v.append(v)
            keys = torch.cat([past_k[:, i], k], 0)
            values = torch.cat([past_v[:, i], v], 0)
            scores = torch.matmul(q, keys.t()) * c.query_scale + (mask_local if sliding else mask_global)
            att = torch.matmul(torch.softmax(scores, -1), values).transpose(0, 1).reshape(n, c.heads * c.head_dim)
            h = h + _rms(p["o_proj"](att), norm("post_attention"), c.eps)
            f = _rms(h, norm("pre_feedforward"), c.eps)
            f = p["down_proj"](F.gelu(p["gate_proj"](f), approximate="tanh") * p["up_proj"](f))
            h = h + _rms(f, norm("post_feedforward"), c.eps)
        return _rms(h, self.final, c.eps), torch.stack(new_k, 1), torch.stack(new_v, 1)


def _openvino():  # noqa: ANN202 - the openvino module
    try:
        import openvino
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise EngineError("openvino is not installed (pip install openvino)") from exc
    return openvino


def convert(config: gt.TextConfig, state: Mapping[str, torch.Tensor], int8: bool = True):  # noqa: ANN201 - ov.Model
    """Trace the decoder into an OpenVINO model with dynamic lengths."""
    ov = _openvino()
    module = TracedDecoder(config, state, int8).eval()
    n, past = 3, 5
    d, layers = config.head_dim, config.layers
    example = (torch.randn(n, config.hidden), torch.randn(past, layers, d), torch.randn(past, layers, d),
               torch.zeros(n, past + n), torch.zeros(n, past + n)) + tuple(torch.randn(n, d) for _ in range(4))
    with torch.no_grad():
        model = ov.convert_model(module, example_input=example)
    shapes = ([-1, config.hidden], [-1, layers, d], [-1, layers, d], [-1, -1], [-1, -1]) + ([-1, d],) * 4
    for port, name in zip(model.inputs, INPUTS):
        port.get_tensor().set_names({name})
    model.reshape({name: ov.PartialShape(list(s)) for name, s in zip(INPUTS, shapes)})
    return model


class OpenVinoBackend:
    """One compiled OpenVINO decoder + this sequence's KV cache."""

    def __init__(self, model, config: gt.TextConfig, threads: int = 1, capacity: int = 512,  # noqa: ANN001
                 precision: str = "f32", compile_cache: Path | None = None) -> None:
        """`model`: an `ov.Model` or the path of its IR; `compile_cache`: a folder for OpenVINO's compiled blobs."""
        ov = _openvino()
        self.config = config
        props = {"INFERENCE_PRECISION_HINT": precision, "INFERENCE_NUM_THREADS": int(threads), "NUM_STREAMS": 1,
                 "PERFORMANCE_HINT": "LATENCY"}
        if compile_cache is not None:
            props["CACHE_DIR"] = str(compile_cache)
        self.compiled = ov.Core().compile_model(model if not isinstance(model, Path) else str(model), "CPU", props)
        self.request = self.compiled.create_infer_request()
        self.rope = gt.Rope(config)
        self.k = np.zeros((capacity, config.layers, config.head_dim), np.float32)
        self.v = np.zeros_like(self.k)
        self.length = 0

    def reset(self) -> None:
        self.length = 0

    def crop(self, n: int) -> None:
        self.length = max(0, self.length - n)

    def _mask(self, start: int, n: int, sliding: bool, bidirectional: tuple[int, int] | None) -> np.ndarray:
        allow = gt._mask(self.config, start, n, sliding, bidirectional)
        if allow is None:
            return np.zeros((n, start + n), np.float32)
        return np.where(allow.numpy(), 0.0, -np.inf).astype(np.float32)

    def run(self, x: torch.Tensor, bidirectional: tuple[int, int] | None = None) -> torch.Tensor:
        c = self.config
        n, s = x.shape[0], self.length
        if s + n > self.k.shape[0]:
            grow = max(2 * self.k.shape[0], s + n)
            for name in ("k", "v"):
                old = getattr(self, name)
                new = np.zeros((grow,) + old.shape[1:], np.float32)
                new[:s] = old[:s]
                setattr(self, name, new)
        cl, sl = self.rope.get(c.theta_local, s, n)
        cg, sg = self.rope.get(c.theta_global, s, n)
        inputs = [np.ascontiguousarray(x.detach().float().numpy()), self.k[:s], self.v[:s],
                  self._mask(s, n, True, bidirectional), self._mask(s, n, False, bidirectional),
                  cl.numpy(), sl.numpy(), cg.numpy(), sg.numpy()]
        out = self.request.infer(inputs, share_inputs=True)
        h, k, v = (out[o] for o in self.compiled.outputs)
        self.k[s:s + n] = k
        self.v[s:s + n] = v
        self.length = s + n
        return torch.from_numpy(np.array(h, dtype=np.float32))


def openvino_backend(cache_dir: Path | None, threads: int = 1, int8: bool = True, precision: str = "f32"):  # noqa: ANN201
    """A `core.model.engine.QuantEngine` backend factory; IR files are kept under `cache_dir` (None: none)."""

    def make(config: gt.TextConfig, state: Mapping[str, torch.Tensor], key: str) -> OpenVinoBackend:
        ov = _openvino()
        tag = f"text-{key}-{'int8' if int8 else 'fp32'}"
        xml = Path(cache_dir) / f"{tag}.xml" if cache_dir is not None else None
        if xml is None or not (xml.is_file() and xml.with_suffix(".bin").is_file()):
            log.info("tracing the text decoder for OpenVINO (%s, one-off)", tag)
            model = convert(config, state, int8)
            if xml is None:
                return OpenVinoBackend(model, config, threads, precision=precision)
            xml.parent.mkdir(parents=True, exist_ok=True)
            tmp = xml.with_name(xml.stem + ".partial.xml")
            ov.save_model(model, str(tmp), compress_to_fp16=False)
            tmp.with_suffix(".bin").replace(xml.with_suffix(".bin"))
            tmp.replace(xml)
        return OpenVinoBackend(xml, config, threads, precision=precision, compile_cache=xml.parent / "openvino-cache")

    return make
