"""A small, self-contained Gemma-3 text decoder in plain torch: the same arithmetic as transformers'
`Gemma3TextModel` (RMSNorm with 1 + w, q/k norms, RoPE with one base for the sliding layers and one for
the global layers, one KV head shared by all query heads, GeLU-tanh MLP, four norms per layer), written
for one sequence and fast inference on a CPU:

- every linear is a callable (`Dense`: fp32 weights; `core.model.int8_linear.Int8Dense`: int8 weights),
  so one layer stack can be built per precision and per merged adapter;
- the KV cache is preallocated and can drop its last positions (rejected draft tokens);
- the input is embeddings (text tokens already scaled, image soft tokens as the projector wrote them),
  so the vision side stays where it is, and `bidirectional` gives the image span that attends both
  ways in the prefill pass (as Gemma-3 does for the tokens of one image);
- the output is the final-normed hidden state: the caller applies the LM head to the rows it needs
  (`core.model.constrained`'s restricted head).

No transformers import: the weights come in as a name -> tensor mapping (`stack_from_state`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch.nn import functional as F

Linear = Callable[[torch.Tensor], torch.Tensor]
PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class TextConfig:
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    eps: float
    sliding: tuple[bool, ...]  # per layer: sliding-window attention (else global)
    window: int
    theta_local: float
    theta_global: float
    query_scale: float  # query_pre_attn_scalar ** -0.5

    @classmethod
    def from_hf(cls, cfg: object) -> TextConfig:
        """From a transformers `Gemma3TextConfig` (or a composite config holding one)."""
        cfg = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
        n = int(cfg.num_hidden_layers)
        types = list(getattr(cfg, "layer_types", None) or [])
        if not types:
            pattern = int(getattr(cfg, "sliding_window_pattern", 6) or 6)
            types = ["full_attention" if (i + 1) % pattern == 0 else "sliding_attention" for i in range(n)]
        rope = getattr(cfg, "rope_parameters", None) or {}
        glob = (rope.get("full_attention") or {}).get("rope_theta", getattr(cfg, "rope_theta", 1_000_000.0))
        local = (rope.get("sliding_attention") or {}).get("rope_theta", getattr(cfg, "rope_local_base_freq", 10_000.0))
        return cls(hidden=int(cfg.hidden_size), layers=n, heads=int(cfg.num_attention_heads),
                   kv_heads=int(cfg.num_key_value_heads), head_dim=int(cfg.head_dim), eps=float(cfg.rms_norm_eps),
                   sliding=tuple(t == "sliding_attention" for t in types), window=int(cfg.sliding_window or 1 << 30),
                   theta_local=float(local), theta_global=float(glob),
                   query_scale=float(cfg.query_pre_attn_scalar) ** -0.5)


class Dense:
    """fp32 linear without bias: y = x @ W.T."""

    def __init__(self, weight: torch.Tensor) -> None:
        self.weight = weight.detach().to(torch.float32, copy=True).contiguous()
        self.out_features, self.in_features = self.weight.shape

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight)


@dataclass
class Layer:
    proj: dict[str, Linear]  # q_proj ... down_proj
    norms: dict[str, torch.Tensor]  # (1 + w) in fp32: input, post_attention, pre_feedforward, post_feedforward, q, k
    sliding: bool


@dataclass
class Stack:
    """One set of decoder weights (one precision, one merged adapter)."""

    config: TextConfig
    layers: list[Layer]
    final_norm: torch.Tensor  # 1 + w

    def nbytes(self) -> int:
        total = self.final_norm.numel() * 4
        for layer in self.layers:
            total += sum(t.numel() * t.element_size() for t in layer.norms.values())
            for lin in layer.proj.values():
                total += sum(t.numel() * t.element_size() for t in _tensors(lin))
        return total


def _tensors(lin: object) -> list[torch.Tensor]:
    return [v for v in vars(lin).values() if isinstance(v, torch.Tensor)]


NORM_KEYS = {"input": "input_layernorm", "post_attention": "post_attention_layernorm",
             "pre_feedforward": "pre_feedforward_layernorm", "post_feedforward": "post_feedforward_layernorm",
             "q": "self_attn.q_norm", "k": "self_attn.k_norm"}


def proj_key(i: int, name: str) -> str:
    """The state-dict key of layer `i`'s projection `name` below the text model's prefix."""
    part = "self_attn" if name in ("q_proj", "k_proj", "v_proj", "o_proj") else "mlp"
    return f"layers.{i}.{part}.{name}.weight"


def stack_from_state(config: TextConfig, state: Mapping[str, torch.Tensor],
                     make_linear: Callable[[str, torch.Tensor], Linear] = lambda key, w: Dense(w)) -> Stack:
    """A `Stack` from a text model's state (keys below its prefix: `layers.0.self_attn.q_proj.weight`,
    `norm.weight`, ...). `make_linear(key, fp32 weight)` builds each projection (fp32 by default)."""
    layers = []
    for i in range(config.layers):
        norms = {k: 1.0 + state[f"layers.{i}.{v}.weight"].detach().float() for k, v in NORM_KEYS.items()}
        proj = {name: make_linear(proj_key(i, name), state[proj_key(i, name)].detach().float()) for name in PROJECTIONS}
        layers.append(Layer(proj, norms, config.sliding[i]))
    return Stack(config, layers, 1.0 + state["norm.weight"].detach().float())


def _rms(x: torch.Tensor, w: torch.Tensor, eps: float) -> torch.Tensor:
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


class Rope:
    """cos / sin tables of both RoPE bases, grown on demand."""

    def __init__(self, config: TextConfig) -> None:
        self.config = config
        self._tables: dict[float, tuple[torch.Tensor, torch.Tensor]] = {}

    def get(self, theta: float, start: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        cos, sin = self._tables.get(theta, (torch.empty(0), torch.empty(0)))
        if cos.shape[0] < start + n:
            size = max(1024, 2 * (start + n))
            d = self.config.head_dim
            inv = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
            freqs = torch.outer(torch.arange(size, dtype=torch.float32), inv)
            emb = torch.cat([freqs, freqs], dim=-1)
            cos, sin = emb.cos(), emb.sin()
            self._tables[theta] = (cos, sin)
        return cos[start:start + n], sin[start:start + n]


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    rot = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rot * sin


class KVCache:
    """Keys and values of every layer for one sequence, preallocated; `crop(-n)` forgets the last n."""

    def __init__(self, config: TextConfig, capacity: int = 512) -> None:
        self.config = config
        self.length = 0
        self.capacity = capacity
        shape = (config.kv_heads, capacity, config.head_dim)
        self.k = [torch.zeros(shape) for _ in range(config.layers)]
        self.v = [torch.zeros(shape) for _ in range(config.layers)]

    def reserve(self, n: int) -> None:
        """Room for `n` more positions (the tables double when full)."""
        if self.length + n <= self.capacity:
            return
        self.capacity = max(2 * self.capacity, self.length + n)
        shape = (self.config.kv_heads, self.capacity, self.config.head_dim)
        for table in (self.k, self.v):
            for i, old in enumerate(table):
                new = torch.zeros(shape)
                new[:, :self.length] = old[:, :self.length]
                table[i] = new

    def crop(self, n: int) -> None:
        """Like transformers' `DynamicCache.crop`: a negative `n` drops that many positions from the end."""
        self.length = max(0, self.length + n if n < 0 else min(n, self.length))

    def get_seq_length(self) -> int:
        return self.length


def _mask(config: TextConfig, start: int, n: int, sliding: bool, bidirectional: tuple[int, int] | None) -> torch.Tensor | None:
    """Boolean [n, start + n] mask (True = attend) for queries at start..start+n-1; None if all may attend."""
    total = start + n
    q = torch.arange(start, total)[:, None]
    k = torch.arange(total)[None, :]
    allow = k <= q
    if bidirectional is not None:
        a, b = bidirectional
        allow = allow | ((q >= a) & (q < b) & (k >= a) & (k < b))
    if sliding and total > config.window:
        allow = allow & (q - k < config.window)
    if n == 1 and bool(allow.all()):
        return None
    return allow


def forward(stack: Stack, x: torch.Tensor, cache: KVCache, rope: Rope,
            bidirectional: tuple[int, int] | None = None) -> torch.Tensor:
    """Run `x` ([n, hidden] fp32 embeddings at the positions after the cache) through the stack; returns
    the final-normed hidden states [n, hidden] and appends the keys / values to `cache`.
    `bidirectional` = (a, b): absolute positions a..b-1 attend to each other both ways (one image)."""
    c = stack.config
    n = x.shape[0]
    start = cache.length
    cache.reserve(n)
    masks = {s: _mask(c, start, n, s, bidirectional) for s in (True, False)}
    ropes = {s: rope.get(c.theta_local if s else c.theta_global, start, n) for s in (True, False)}
    h = x
    for i, layer in enumerate(stack.layers):
        p, nm = layer.proj, layer.norms
        a = _rms(h, nm["input"], c.eps)
        q = p["q_proj"](a).view(n, c.heads, c.head_dim).transpose(0, 1)
        k = p["k_proj"](a).view(n, c.kv_heads, c.head_dim).transpose(0, 1)
        v = p["v_proj"](a).view(n, c.kv_heads, c.head_dim).transpose(0, 1)
        cos, sin = ropes[layer.sliding]
        q = _rotate(_rms(q, nm["q"], c.eps), cos, sin)
        k = _rotate(_rms(k, nm["k"], c.eps), cos, sin)
        cache.k[i][:, start:start + n] = k
        cache.v[i][:, start:start + n] = v
        keys = cache.k[i][:, :start + n]
        values = cache.v[i][:, :start + n]
        if c.kv_heads != c.heads:
            rep = c.heads // c.kv_heads
            keys = keys.repeat_interleave(rep, dim=0)
            values = values.repeat_interleave(rep, dim=0)
        att = F.scaled_dot_product_attention(q.unsqueeze(0), keys.unsqueeze(0), values.unsqueeze(0),
                                             attn_mask=masks[layer.sliding], scale=c.query_scale)
        att = att[0].transpose(0, 1).reshape(n, c.heads * c.head_dim)
        h = h + _rms(p["o_proj"](att), nm["post_attention"], c.eps)
        f = _rms(h, nm["pre_feedforward"], c.eps)
        f = p["down_proj"](F.gelu(p["gate_proj"](f), approximate="tanh") * p["up_proj"](f))
        h = h + _rms(f, nm["post_feedforward"], c.eps)
    cache.length = start + n
    return _rms(h, stack.final_norm, c.eps)


def embed_scale(hidden: int) -> float:
    """Gemma multiplies token embeddings by sqrt(hidden) (in the embedding's dtype)."""
    return float(torch.tensor(math.sqrt(hidden), dtype=torch.float32))
