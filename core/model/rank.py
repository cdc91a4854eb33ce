"""Pick the most likely of a small set of complete answers (exact, instead of greedy token by token).

When every valid answer is known in advance (the subtask lists of the known tasks: a few dozen), the
model's own probability of each whole answer can be computed: one forward pass over the prompt, then
one short pass per candidate on a copy of the prompt's KV cache. Greedy prefix decoding commits to the
first token ("grasp" vs "move") before it has seen the rest of the answer (the colour, the target);
ranking whole answers does not, which matters for commands in languages the adapter never saw.
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
def rank_answers(model: Any, tokenizer: Any, inputs: dict[str, torch.Tensor], candidates: Sequence[str]
                 ) -> tuple[list[Ranked], float]:
    """Candidates sorted by the model's log-probability (best first) and the seconds it took."""
    if not candidates:
        raise ValueError("rank_answers needs at least one candidate")
    t0 = time.perf_counter()
    out = model(**inputs, use_cache=True, logits_to_keep=1)  # the head only where it is read
    first = torch.log_softmax(out.logits[0, -1].float(), -1)
    past = out.past_key_values
    ends = torch.tensor(end_ids(tokenizer), dtype=torch.long)
    device = inputs["input_ids"].device
    ranked: list[Ranked] = []
    for text in candidates:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        o = model(input_ids=torch.tensor([ids], device=device), past_key_values=copy.deepcopy(past), use_cache=True)
        lp = torch.log_softmax(o.logits[0].float(), -1)
        score = first[ids[0]]
        if len(ids) > 1:
            score = score + lp[torch.arange(len(ids) - 1), torch.tensor(ids[1:])].sum()
        score = score + torch.logsumexp(lp[-1, ends.to(lp.device)], 0)
        ranked.append(Ranked(text, float(score)))
    ranked.sort(key=lambda r: -r.logprob)
    return ranked, time.perf_counter() - t0
