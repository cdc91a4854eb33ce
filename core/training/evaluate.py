"""Evaluation after a job: held-out action accuracy, scene-VQA retention, and (later) sim success.

- `evaluate_samples`: greedy answers to held-out samples. For action samples: parse rate (the answer
  reads as action entries: `core.language.parse`, or the codec for the actions-as-tokens baseline),
  mean error per entry in cm (Euclidean over dx/dy/dz, position by position; missing or extra entries
  count as zero motion on the other side) and gripper accuracy (per target entry). For the other
  kinds: exact match after normalising case and spaces.
- `vqa_retention`: the held-out scene-VQA set (`core.model.vqa`) answered with the adapter off
  (before) and on (after): the paper's forgetting test.
- `sim_success`: closed-loop rollout success over seeded sim tasks (`core.policy.rollout`, the app's
  autonomous loop) with the fine-tuned model as a `core.policy.vlm.VLMPolicy`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from core.language import Chunk, ParseError, parse
from core.policy.config import PolicyInputs
from core.policy.rollout import SimResult
from core.training.action_tokens import ActionTokenCodec, ActionTokenError
from core.training.collate import ChatEncoder
from core.training.data import TrainSample

log = logging.getLogger(__name__)


@dataclass
class SampleEval:
    n: int = 0
    action_n: int = 0
    parse_rate: float | None = None
    mean_cm_error: float | None = None
    gripper_accuracy: float | None = None
    per_kind: dict[str, float] = field(default_factory=dict)
    examples: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _norm(text: str) -> str:
    return " ".join(text.lower().replace(".", " ").split())


def entry_errors(pred: Sequence[Chunk], target: Sequence[Chunk]) -> tuple[float, float]:
    """(mean cm error per entry, gripper accuracy over the target's entries)."""
    n = max(len(pred), len(target))
    if n == 0:
        return 0.0, 1.0
    zero = Chunk(0.0, 0.0, 0.0, 1)
    err = 0.0
    for i in range(n):
        p = pred[i] if i < len(pred) else zero
        t = target[i] if i < len(target) else zero
        err += math.dist(p.translation, t.translation)
    hits = sum(1 for i, t in enumerate(target) if i < len(pred) and pred[i].gripper == t.gripper)
    return err / n, hits / max(1, len(target))


def _stop_ids(tokenizer: Any) -> list[int]:
    ids = [tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<end_of_turn>")]
    return sorted({i for i in ids if isinstance(i, int) and i != tokenizer.unk_token_id})


@torch.no_grad()
def generate_ids(model: Any, encoder: ChatEncoder, sample: TrainSample, max_new_tokens: int) -> list[int]:
    """Greedy continuation of the sample's prompt (new token ids, stop tokens removed)."""
    device = next(model.parameters()).device
    dtype = next(p.dtype for p in model.parameters() if p.is_floating_point())
    inputs = {k: (v.to(device, dtype) if v.is_floating_point() else v.to(device))
              for k, v in encoder.prompt_inputs(sample).items()}
    stops = _stop_ids(encoder.tokenizer)
    out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=stops or None,
                         pad_token_id=encoder.pad_id)
    new = out[0, inputs["input_ids"].shape[1]:].tolist()
    while new and new[-1] in stops:
        new.pop()
    return new


def evaluate_samples(
    model: Any,
    encoder: ChatEncoder,
    samples: Sequence[TrainSample],
    *,
    codec: ActionTokenCodec | None = None,
    max_new_tokens: int = 200,
    n_examples: int = 3,
) -> SampleEval:
    """Greedy answers to `samples`, scored per kind (see the module docstring)."""
    t0 = time.perf_counter()
    was_training = model.training
    model.eval()
    res = SampleEval(n=len(samples))
    hits: dict[str, list[int]] = {}
    parsed, cm, grip = 0, [], []
    try:
        for s in samples:
            ids = generate_ids(model, encoder, s, max_new_tokens)
            text = encoder.tokenizer.decode(ids, skip_special_tokens=True).strip()
            if s.kind == "actions":
                res.action_n += 1
                target = parse(s.target)
                try:
                    pred = codec.decode(ids) if codec else parse(text)
                except (ParseError, ActionTokenError, ValueError):
                    pred = None
                if pred is not None:
                    parsed += 1
                    e, g = entry_errors(pred, target)
                    cm.append(e)
                    grip.append(g)
                ok = pred is not None and [c.as_list() for c in pred] == [c.as_list() for c in target]
            else:
                ok = _norm(text) == _norm(s.target)
            hits.setdefault(s.kind, []).append(int(ok))
            if len(res.examples) < n_examples:
                res.examples.append({"kind": s.kind, "prompt": s.prompt, "target": s.target, "prediction": text})
    finally:
        model.train(was_training)
    res.per_kind = {k: sum(v) / len(v) for k, v in sorted(hits.items())}
    if res.action_n:
        res.parse_rate = parsed / res.action_n
        res.mean_cm_error = sum(cm) / len(cm) if cm else None
        res.gripper_accuracy = sum(grip) / len(grip) if grip else None
    res.seconds = time.perf_counter() - t0
    return res


# ---- scene-VQA retention ----------------------------------------------------------------------------
@dataclass
class VQARetention:
    before: float | None
    after: float
    n: int
    per_kind_before: dict[str, float] = field(default_factory=dict)
    per_kind_after: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ratio(self) -> float | None:
        if self.before is None or self.before <= 0:
            return None
        return self.after / self.before

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


@dataclass
class _Loaded:  # the fields `core.model.chat.answer` reads
    model: Any
    processor: Any
    device: str


def vqa_accuracy(model: Any, processor: Any, vqa: Any, *, limit: int | None = None) -> Any:
    """Score a `core.model.vqa.VQASet` with greedy answers from `model` (a VQAResult)."""
    from core.model.chat import answer
    from core.model.vqa import evaluate

    device = str(next(model.parameters()).device)
    loaded = _Loaded(model, processor, device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return evaluate(lambda image, q: answer(loaded, image, q, max_new_tokens=12), vqa, limit=limit)
    finally:
        model.train(was_training)


def vqa_retention(
    peft_model: Any,
    processor: Any,
    *,
    n_scenes: int = 10,
    seed: int = 0,
    image_size: int = 224,
    limit: int | None = None,
    before: float | None = None,
) -> VQARetention:
    """VQA accuracy with the adapter disabled (before; skipped when `before` is given) and enabled."""
    from core.model.vqa import make_vqa_set

    t0 = time.perf_counter()
    vqa = make_vqa_set(n_scenes=n_scenes, seed=seed, image_size=image_size)
    per_before: dict[str, float] = {}
    if before is None:
        ctx = peft_model.disable_adapter() if hasattr(peft_model, "disable_adapter") else nullcontext()
        with ctx:
            r0 = vqa_accuracy(peft_model, processor, vqa, limit=limit)
        before, per_before = r0.accuracy, r0.per_kind
    r1 = vqa_accuracy(peft_model, processor, vqa, limit=limit)
    return VQARetention(before, r1.accuracy, r1.n, per_before, r1.per_kind, time.perf_counter() - t0)


# ---- sim rollouts -----------------------------------------------------------------------------------
def sim_success(model: Any, processor: Any, *, inputs: PolicyInputs | None = None, episodes: int = 10,
                seed: int = 1000, kind: str | None = None, time_limit_s: float = 240.0,
                image_size: int = 224) -> SimResult:
    """`core.policy.rollout.run_sim_episodes` with the fine-tuned model as the policy
    (`core.policy.vlm.VLMPolicy`: the training prompts, grammar-constrained decoding). Language-action
    adapters only. `inputs`: what the adapter reads (default: the front camera's frame alone)."""
    from core.model.loader import LoadedModel
    from core.policy.config import PolicyConfig
    from core.policy.rollout import run_sim_episodes
    from core.policy.vlm import VLMPolicy

    base = model.get_base_model() if hasattr(model, "get_base_model") else model  # LoRA layers stay active
    device = str(next(base.parameters()).device)
    loaded = LoadedModel(base, processor, "fine-tuned", device, "fp32", 0.0)
    was_training = base.training
    base.eval()
    try:
        with torch.no_grad():
            inputs = inputs or PolicyInputs()
            grounder = None
            if inputs.grounded:
                from core.policy.grounding import sim_grounder

                grounder = sim_grounder(image_size, inputs.camera, robot=inputs.robot)
            policy = VLMPolicy(loaded, PolicyConfig(inputs), grounder=grounder)
            return run_sim_episodes(policy, episodes=episodes, seed=seed, kind=kind, time_limit_s=time_limit_s,
                                    image_size=image_size, robot=inputs.robot)
    finally:
        base.train(was_training)
