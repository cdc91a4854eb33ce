"""Grammar-constrained decoding on a tiny random Gemma-3 VLM: valid by construction, the restricted head
gives the same tokens as masking full logits, and the decode loop matches transformers' greedy generate."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.language.grammar import ActionListAcceptor, PrefixSetAcceptor
from core.language.parse import parse, parse_subtasks
from core.model.constrained import constrained_generate, make_constraint, token_strings
from tests.model_fixtures import tiny_gemma3

torch.set_num_threads(1)


class AnyText:
    """Accepts any text over the printable characters (a grammar that constrains nothing)."""

    def __init__(self, strings):
        self.alphabet = frozenset(c for s in strings if s for c in s)

    def start(self):
        return 0

    def step(self, state, ch):
        return state + 1

    def accepting(self, state):
        return True


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    path = tiny_gemma3(tmp_path_factory.mktemp("g3"))
    model = AutoModelForImageTextToText.from_pretrained(path).eval()
    proc = AutoProcessor.from_pretrained(path)
    img = np.zeros((28, 28, 3), dtype=np.uint8)
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What are the next actions?"}]}]
    text = proc.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    from PIL import Image

    inputs = proc(text=text, images=[Image.fromarray(img)], add_special_tokens=False, return_tensors="pt")
    return model, proc.tokenizer, dict(inputs)


def test_token_strings_decode_like_the_tokenizer(tiny):
    _, tok, _ = tiny
    strings = token_strings(tok)
    for i in range(len(tok)):
        if strings[i] is not None:
            assert tok.decode([i]) == strings[i]


def test_action_output_always_parses(tiny):
    model, tok, inputs = tiny
    res = constrained_generate(model, tok, inputs, ActionListAcceptor(max_entries=3), max_new_tokens=200)
    assert res.finished, res.text
    chunks = parse(res.text)
    assert 1 <= len(chunks) <= 3


def test_subtask_output_is_one_of_the_valid_lists(tiny):
    model, tok, inputs = tiny
    valid = ["1. grasp the red block\n2. lift the red block", "1. grasp the blue block\n2. place it in the bowl"]
    res = constrained_generate(model, tok, inputs, PrefixSetAcceptor(valid), max_new_tokens=120)
    assert res.finished and res.text in valid
    assert parse_subtasks(res.text)


def test_restricted_head_equals_masked_full_logits(tiny):
    model, tok, inputs = tiny
    acc = ActionListAcceptor(max_entries=2)
    c = make_constraint(tok, acc)
    fast = constrained_generate(model, tok, inputs, acc, max_new_tokens=60, constraint=c)
    slow = constrained_generate(model, tok, inputs, acc, max_new_tokens=60, restrict_head=False, constraint=c)
    assert fast.token_ids == slow.token_ids


def test_unconstrained_loop_matches_transformers_greedy(tiny):
    """With a grammar that allows every decodable token, our KV-cached loop is transformers' greedy."""
    model, tok, inputs = tiny
    strings = token_strings(tok)
    acc = AnyText(strings)
    ours = constrained_generate(model, tok, inputs, acc, max_new_tokens=12)
    decodable = [i for i, s in enumerate(strings) if s]
    ref = model.generate(**inputs, max_new_tokens=12, do_sample=False,
                         prefix_allowed_tokens_fn=lambda batch, ids: decodable)
    new = ref[0, inputs["input_ids"].shape[1]:].tolist()
    n = len(ours.token_ids)
    assert ours.token_ids == new[:n]


@pytest.mark.parametrize("entries", [2, 6])
def test_drafted_decoding_equals_one_token_per_pass(tiny, entries):
    """Checking guessed tokens in one pass keeps exactly the greedy output, with fewer passes."""
    model, tok, inputs = tiny
    acc = ActionListAcceptor(max_entries=entries)
    c = make_constraint(tok, acc)
    plain = constrained_generate(model, tok, inputs, acc, max_new_tokens=150, constraint=c, draft=0)
    drafted = constrained_generate(model, tok, inputs, acc, max_new_tokens=150, constraint=c, draft=16)
    assert drafted.token_ids == plain.token_ids and drafted.text == plain.text
    assert drafted.finished == plain.finished
    assert plain.stats["forwards"] == len(plain.token_ids) + int(plain.finished)
    assert drafted.stats["accepted"] > 0
    assert drafted.stats["forwards"] + drafted.stats["accepted"] == plain.stats["forwards"]


def test_drafted_decoding_respects_the_token_budget(tiny):
    model, tok, inputs = tiny
    acc = ActionListAcceptor(max_entries=16)
    for budget in (1, 7, 23):
        res = constrained_generate(model, tok, inputs, acc, max_new_tokens=budget, draft=16)
        ref = constrained_generate(model, tok, inputs, acc, max_new_tokens=budget, draft=0)
        assert len(res.token_ids) <= budget and res.token_ids == ref.token_ids


def test_lookup_guesses_the_continuation_of_the_latest_repeat():
    from core.model.constrained import _lookup

    assert _lookup([5, 6, 7, 8, 5, 6]) == [7, 8, 5, 6]
    assert _lookup([1, 2, 3, 9, 1, 2, 4, 1, 2]) == [4, 1, 2]  # latest occurrence of the longest tail
    assert _lookup([1, 2, 3]) == []
    assert _lookup([]) == []


def test_a_prior_answer_is_checked_in_the_first_pass(tiny):
    """Seeding the guess with an earlier answer changes nothing in the output, only the passes needed."""
    model, tok, inputs = tiny
    acc = ActionListAcceptor(max_entries=4)
    c = make_constraint(tok, acc)
    plain = constrained_generate(model, tok, inputs, acc, max_new_tokens=100, constraint=c, draft=0)
    seeded = constrained_generate(model, tok, inputs, acc, max_new_tokens=100, constraint=c, prior=plain.token_ids)
    unseeded = constrained_generate(model, tok, inputs, acc, max_new_tokens=100, constraint=c)
    assert seeded.token_ids == plain.token_ids == unseeded.token_ids
    assert seeded.stats["accepted"] >= 16  # the whole first pass's guess was right
    assert seeded.stats["forwards"] < unseeded.stats["forwards"]
    other = tok.encode("[[1.0, 2.0, 3.0, 1]]", add_special_tokens=False)
    wrong = constrained_generate(model, tok, inputs, acc, max_new_tokens=100, constraint=c, prior=other)
    assert wrong.token_ids == plain.token_ids


def test_agreement_up_to_the_first_forbidden_token(tiny):
    from core.model.constrained import agrees_until_forbidden

    _, tok, _ = tiny
    c = make_constraint(tok, ActionListAcceptor(max_entries=1))

    def ids(text):
        return tok(text, add_special_tokens=False)["input_ids"]

    con = ids("[[1.0, 0.0, 0.0, 1]]")
    assert agrees_until_forbidden(c, con, con)
    # greedy went on to a second entry: the grammar (one entry) forbade that, nothing else differed
    assert agrees_until_forbidden(c, con, ids("[[1.0, 0.0, 0.0, 1], [2.0, 0.0, 0.0, 1]]"))
    assert agrees_until_forbidden(c, con, con + [tok.eos_token_id])
    # greedy wrote another valid number: the constrained answer is not what greedy would have written
    assert not agrees_until_forbidden(c, con, ids("[[2.0, 0.0, 0.0, 1]]"))
    # the constrained answer ended where greedy went on with an allowed token: also a disagreement
    short = make_constraint(tok, ActionListAcceptor(max_entries=2))
    assert not agrees_until_forbidden(short, con, ids("[[1.0, 0.0, 0.0, 1], [2.0, 0.0, 0.0, 1]]"))
