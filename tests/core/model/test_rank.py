"""Ranking whole answers: the cached scores equal a plain forward pass over prompt + answer, and the policy
returns the best-scoring valid subtask list. Tiny random Gemma-3."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.model.chat import prepare_inputs
from core.model.constrained import end_ids
from core.model.loader import load_model
from core.model.rank import rank_answers
from core.policy.config import PolicyConfig
from core.policy.vlm import VLMPolicy, valid_subtask_lists
from tests.model_fixtures import tiny_gemma3

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    return load_model(tiny_gemma3(tmp_path_factory.mktemp("g3")), precision="fp32")


def brute_force(loaded, inputs, text: str) -> float:
    tok = loaded.processor.tokenizer
    ids = tok(text, add_special_tokens=False)["input_ids"]
    n = inputs["input_ids"].shape[1]
    full = {k: v for k, v in inputs.items()}
    full["input_ids"] = torch.cat([inputs["input_ids"], torch.tensor([ids])], 1)
    full["attention_mask"] = torch.ones_like(full["input_ids"])
    if "token_type_ids" in inputs:
        full["token_type_ids"] = torch.cat([inputs["token_type_ids"], torch.zeros(1, len(ids), dtype=torch.long)], 1)
    with torch.no_grad():
        lp = torch.log_softmax(loaded.model(**full).logits[0].float(), -1)
    score = sum(float(lp[n - 1 + i, t]) for i, t in enumerate(ids))
    return score + float(torch.logsumexp(lp[-1, end_ids(tok)], 0))


def test_cached_scores_equal_a_plain_forward_pass(loaded):
    img = np.full((64, 64, 3), 120, dtype=np.uint8)
    inputs = prepare_inputs(loaded, img, "The robot's task: recoge el bloque rojo. Which subtasks?")
    cands = valid_subtask_lists()[:5]
    ranked, seconds = rank_answers(loaded.model, loaded.processor.tokenizer, inputs, cands)
    assert sorted(r.text for r in ranked) == sorted(cands) and seconds > 0
    assert [r.logprob for r in ranked] == sorted((r.logprob for r in ranked), reverse=True)
    for r in ranked[:3]:
        assert r.logprob == pytest.approx(brute_force(loaded, inputs, r.text), abs=2e-3)
    with pytest.raises(ValueError):
        rank_answers(loaded.model, loaded.processor.tokenizer, inputs, [])


def test_batched_scores_equal_one_candidate_at_a_time(loaded):
    img = np.full((64, 64, 3), 90, dtype=np.uint8)
    inputs = prepare_inputs(loaded, img, "The robot's task: prends le bloc bleu. Which subtasks?")
    cands = valid_subtask_lists()[:7]  # different lengths: padding inside a batch
    tok = loaded.processor.tokenizer
    one = {r.text: r.logprob for r in rank_answers(loaded.model, tok, inputs, cands, batch=1)[0]}
    for b in (3, 7, 50):
        got = {r.text: r.logprob for r in rank_answers(loaded.model, tok, inputs, cands, batch=b)[0]}
        assert got.keys() == one.keys() and all(got[k] == pytest.approx(one[k], abs=1e-3) for k in one)
    with pytest.raises(ValueError, match="batch"):
        rank_answers(loaded.model, tok, inputs, cands, batch=0)


def test_policy_returns_the_best_ranked_subtask_list(loaded):
    policy = VLMPolicy(loaded, PolicyConfig(max_entries=3))
    seen = []
    text = policy.subtasks(np.zeros((64, 64, 3), dtype=np.uint8), "pon el bloque rojo en el cuenco", seen.append)
    assert text == policy.last_ranking[0].text and text in valid_subtask_lists() and seen == [text]
    assert len(policy.last_ranking) == len(valid_subtask_lists())
