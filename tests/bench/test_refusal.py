"""bench/eval/refusal.py's pure part: verdicts from cached rankings, the rates, the choice of margins."""

from bench.eval.refusal import choose, rates, verdicts
from core.language.restate import NONE_ANSWER


def rec(category, text, best, none, open_=-20.0, gold=None, lang="en", sub="task"):
    return {"category": category, "subcategory": sub, "lang": lang, "text": text, "gold": gold,
            "ranked": [[best, 0.0], [NONE_ANSWER, none], ["pick up the block", open_]]}


RECORDS = [
    rec("in", "lift the red block", "pick up the red block", -9.0, gold="pick up the red block"),
    rec("in", "shove the blue one left", "push the blue block to the left", -4.0, gold="push the blue block to the left"),
    rec("out", "wave hello", "pick up the red block", -1.0, sub="skill"),
    rec("out", "what is two plus two?", "push the green block forward", -5.0, sub="question"),
    rec("ambiguous", "grab a block", "pick up the red block", -6.0, open_=0.5, sub="which block"),
]


def test_rates_count_refusals_false_refusals_and_questions_back():
    r = rates(verdicts(RECORDS, none_margin=2.0, question_margin=6.0, open_margin=0.0))
    assert r["recall"] == 1.0 and r["false_rate"] == 0.0 and r["asked_back"] == 1.0 and r["restated_right"] == 1.0
    assert (r["n_in"], r["n_out"], r["n_ambiguous"]) == (2, 2, 1)
    assert r["recall_by_subcategory"] == {"question": 1.0, "skill": 1.0}
    strict = rates(verdicts(RECORDS, none_margin=0.5, question_margin=0.5, open_margin=1.0))
    assert strict["recall"] == 0.0 and strict["asked_back"] == 0.0


def test_choose_keeps_false_refusals_under_the_cap_then_maximises_recall():
    c = choose(RECORDS, grid=(0.0, 2.0, 5.0, 8.0), max_false=0.0, open_grid=(0.0,), floor_grid=(float("-inf"),))
    assert c["false_rate"] == 0.0 and c["recall"] == 1.0
    assert c["none_margin"] < 4.0 <= c["question_margin"]  # "shove ..." (none at -4) stays acted on
    assert c["asked_back"] == 1.0
