"""The OpenVINO backend of `core.model.engine`: the Gemma-3 text decoder as an OpenVINO model with int8 weights.

The graph is built once per merged adapter with OpenVINO's opset (`build`: the arithmetic of
`core.model.gemma_text`, with the KV cache as inputs and the new keys / values as outputs), with every
projection stored as int8 + one fp32 scale per output row. OpenVINO's CPU plugin runs that pattern (int8 constant -> convert ->
multiply by the scale -> matmul) as a compressed-weight matrix product, quantizing the activations on the fly
in small groups for the integer units. Inference precision is pinned to f32 (on a CPU with bf16 units the
plugin would otherwise round activations to bf16).

The model is saved as OpenVINO IR (`<key>.xml/.bin`) in the cache directory, and OpenVINO keeps its compiled
form beside it (`openvino-cache/`), so later starts skip both building and most of the compiling. The KV cache lives on the host with
positions leading ([positions, layers, head_dim]): a prefix is a contiguous slice handed over without a copy.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from core.model import gemma_text as gt
from core.model.engine import EngineError
from core.model.quantize import quantize_rows

log = logging.getLogger(__name__)

# int8 weights in groups of this many inputs, one fp32 scale each (as llama.cpp's Q8_0): on held-out cycle
# prompts the hidden states were 4.4% off fp32 on average, against 5.7% with one scale per row, at the same speed
GROUP = 32
INPUTS = ("x", "past_k", "past_v", "mask_local", "mask_global", "cos_local", "sin_local", "cos_global", "sin_global")


def _openvino():  # noqa: ANN202 - the openvino module
    try:
        import openvino
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise EngineError("openvino is not installed (pip install openvino)") from exc
    return openvino


def build(config: gt.TextConfig, state: Mapping[str, torch.Tensor], int8: bool = True,  # noqa: ANN201, C901
          group: int | None = None):
    """The decoder as an OpenVINO model with dynamic lengths, written node by node with OpenVINO's opset
    (the arithmetic of `core.model.gemma_text.forward`, the cache as inputs, the new keys / values as
    outputs; masks are additive): every projection is an int8 constant -> convert -> multiply by its scales
    (per row, or per `group` inputs of a row) -> matmul. Building takes seconds; tracing a torch module
    with `ov.convert_model` instead took 15-75 s and peaked at ~2.7 GB more memory."""
    ov = _openvino()
    import openvino.opset13 as op

    if config.kv_heads != 1:
        raise EngineError("the OpenVINO engine supports one KV head (Gemma-3-270M)")
    c, d, f32 = config, config.head_dim, ov.Type.f32
    shapes = ([-1, c.hidden], [-1, c.layers, d], [-1, c.layers, d], [-1, -1], [-1, -1]) + ([-1, d],) * 4
    params = [op.parameter(ov.PartialShape(list(s)), f32, name=name) for name, s in zip(INPUTS, shapes)]
    x, past_k, past_v, mask_l, mask_g, cos_l, sin_l, cos_g, sin_g = params

    def const(a: np.ndarray):  # noqa: ANN202
        return op.constant(a if a.ndim == 0 else np.ascontiguousarray(a))  # (ascontiguousarray makes 0-d 1-d)

    def vec(t: torch.Tensor):  # noqa: ANN202
        return const(t.detach().float().numpy())

    def linear(node, key: str):  # noqa: ANN001, ANN202
        w = state[key]
        if int8 and group:
            n, k = w.shape
            q, s = quantize_rows(w.float().reshape(-1, group))
            weight = op.multiply(op.convert(const(q.numpy().reshape(n, k // group, group)), f32),
                                 const(s.numpy().reshape(n, k // group, 1)))
            weight = op.reshape(weight, shape(n, k), False)
        elif int8:
            q, s = quantize_rows(w.float())
            weight = op.multiply(op.convert(const(q.numpy()), f32), const(s[:, None].numpy()))
        else:
            weight = const(w.detach().float().numpy())
        return op.matmul(node, weight, transpose_a=False, transpose_b=True)

    axis = const(np.array([-1], np.int64))
    eps = const(np.array(c.eps, np.float32))

    def rms(node, w):  # noqa: ANN001, ANN202
        mean = op.reduce_mean(op.multiply(node, node), axis, keep_dims=True)
        return op.multiply(op.divide(node, op.sqrt(op.add(mean, eps))), w)

    def rope(node, cos, sin):  # noqa: ANN001, ANN202
        a, b = op.split(node, const(np.array(-1, np.int64)), 2).outputs()
        rot = op.concat([op.negative(b), a], -1)
        return op.add(op.multiply(node, cos), op.multiply(rot, sin))

    def shape(*dims: int):  # noqa: ANN202
        return const(np.array(dims, np.int64))

    scale = const(np.array(c.query_scale, np.float32))
    h = x
    new_k, new_v = [], []
    for i in range(c.layers):
        norm = {k: vec(1.0 + state[f"layers.{i}.{v}.weight"].float()) for k, v in gt.NORM_KEYS.items()}
        cos, sin, mask = (cos_l, sin_l, mask_l) if c.sliding[i] else (cos_g, sin_g, mask_g)
        a = rms(h, norm["input"])
        q = op.transpose(op.reshape(linear(a, gt.proj_key(i, "q_proj")), shape(-1, c.heads, d), False),
                         shape(1, 0, 2))
        q = rope(rms(q, norm["q"]), cos, sin)
        k = rope(rms(linear(a, gt.proj_key(i, "k_proj")), norm["k"]), cos, sin)
        v = linear(a, gt.proj_key(i, "v_proj"))
        new_k.append(op.unsqueeze(k, const(np.array([1], np.int64))))
        new_v.append(op.unsqueeze(v, const(np.array([1], np.int64))))
        index = const(np.array(i, np.int64))
        keys = op.concat([op.gather(past_k, index, const(np.array(1, np.int64))), k], 0)
        values = op.concat([op.gather(past_v, index, const(np.array(1, np.int64))), v], 0)
        scores = op.add(op.multiply(op.matmul(q, keys, False, True), scale), mask)
        att = op.matmul(op.softmax(scores, -1), values, False, False)
        att = op.reshape(op.transpose(att, shape(1, 0, 2)), shape(-1, c.heads * d), False)
        h = op.add(h, rms(linear(att, gt.proj_key(i, "o_proj")), norm["post_attention"]))
        g = rms(h, norm["pre_feedforward"])
        g = op.multiply(op.gelu(linear(g, gt.proj_key(i, "gate_proj")), "tanh"), linear(g, gt.proj_key(i, "up_proj")))
        h = op.add(h, rms(linear(g, gt.proj_key(i, "down_proj")), norm["post_feedforward"]))
    out = [rms(h, vec(1.0 + state["norm.weight"].float())), op.concat(new_k, 1), op.concat(new_v, 1)]
    for node, name in zip(out, ("hidden", "new_k", "new_v")):
        node.output(0).get_tensor().set_names({name})
    return ov.Model([o.output(0) for o in out], params, "gemma3_text")


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


def openvino_backend(cache_dir: Path | None, threads: int = 1, int8: bool = True, precision: str = "f32",  # noqa: ANN201
                     group: int | None = GROUP):
    """A `core.model.engine.QuantEngine` backend factory; IR files are kept under `cache_dir` (None: none)."""

    def make(config: gt.TextConfig, state: Mapping[str, torch.Tensor], key: str) -> OpenVinoBackend:
        ov = _openvino()
        tag = f"text-{key}-{f'int8g{group or 0}' if int8 else 'fp32'}-ov1"
        xml = Path(cache_dir) / f"{tag}.xml" if cache_dir is not None else None
        if xml is None or not (xml.is_file() and xml.with_suffix(".bin").is_file()):
            log.info("building the text decoder for OpenVINO (%s, one-off)", tag)
            model = build(config, state, int8, group)
            if xml is None:
                return OpenVinoBackend(model, config, threads, precision=precision)
            xml.parent.mkdir(parents=True, exist_ok=True)
            tmp = xml.with_name(xml.stem + ".partial.xml")
            ov.save_model(model, str(tmp), compress_to_fp16=False)
            tmp.with_suffix(".bin").replace(xml.with_suffix(".bin"))
            tmp.replace(xml)
        return OpenVinoBackend(xml, config, threads, precision=precision, compile_cache=xml.parent / "openvino-cache")

    return make
