"""Pick the most likely of a small set of complete answers (exact, instead of greedy token by token).

When every valid answer is known in advance (the subtask lists of the known tasks: a few dozen), the
model's own probability of each whole answer can be computed: one forward pass over the prompt, then
one short batched pass per group of candidates on copies of the prompt's KV cache. Greedy prefix
decoding commits to the first token ("grasp" vs "move") before it has seen the rest of the answer (the
colour, the target); ranking whole answers does not, which matters for commands in languages the
adapter never saw.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from core.model.constrained import end_ids


@dataclass(frozen=True)
class Ranked:
    text: str
    logprob: float  # log p(answer, then end of turn | prompt)


@torch.inference_mode()
def rank_answers(model: Any, tokenizer: Any, inputs: dict[str, torch.Tensor], candidates: Sequence[str],
                 batch: int = 12) -> tuple[list[Ranked], float]:
    """Candidates sorted by the model's log-probability (best first) and the seconds it took.

    Candidates are scored `batch` at a time: the prompt's cache repeated once per candidate, candidates
    right-padded (a padding token comes after every real one, so causal attention never sees it).
    """
    if not candidates:
        raise ValueError("rank_answers needs at least one candidate")
    if batch < 1:
        raise ValueError("batch must be at least 1")
    t0 = time.perf_counter()
    out = model(**inputs, use_cache=True, logits_to_keep=1)  # the head only where it is read
    first = torch.log_softmax(out.logits[0, -1].float(), -1)
    past = out.past_key_values
    ends = torch.tensor(end_ids(tokenizer), dtype=torch.long)
    device = inputs["input_ids"].device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ranked: list[Ranked] = []
    for start in range(0, len(candidates), batch):
        texts = list(candidates[start:start + batch])
        ids = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
        width = max(len(i) for i in ids)
        grid = torch.full((len(ids), width), pad, dtype=torch.long)
        for row, i in enumerate(ids):
            grid[row, :len(i)] = torch.tensor(i)
        cache = copy.deepcopy(past)
        if len(ids) > 1:
            cache.batch_repeat_interleave(len(ids))
        logits = model(input_ids=grid.to(device), past_key_values=cache, use_cache=True).logits
        for row, (text, i) in enumerate(zip(texts, ids)):
            lp = torch.log_softmax(logits[row, :len(i)].float(), -1)
            score = first[i[0]]
            if len(i) > 1:
                score = score + lp[torch.arange(len(i) - 1), torch.tensor(i[1:])].sum()
            score = score + torch.logsumexp(lp[-1, ends.to(lp.device)], 0)
            ranked.append(Ranked(text, float(score)))
    ranked.sort(key=lambda r: -r.logprob)
    return ranked, time.perf_counter() - t0
