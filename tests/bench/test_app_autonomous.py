"""The in-app benchmark's pure parts: its command sets, the refusal rule, loop windows, the result's keys and
the episode plan (`bench/appbench`, `bench/data`). Nothing here starts the app or a model."""

from __future__ import annotations

import itertools
import string

import pytest

from bench.appbench import metrics
from bench.appbench.cli import parse, plan_of, refusal_items, word
from bench.data import render, slots
from bench.data.dev_commands import DEV_LANGUAGES, DEV_WORDINGS, dev_refusal_items
from bench.data.held_out_commands import COLOURS, HELD_OUT_LANGUAGES, LANGUAGES, WORDINGS
from bench.data.held_out_commands import DEV_LANGUAGES as TEST_DEV_LANGUAGES
from bench.data.held_out_refusal import items as held_out_items
from core.language.paraphrase import all_wordings
from core.robot.tasks import BLOCK_COLORS, TASK_KINDS, Task, all_tasks

COLOR_PAIRS = [(c, t) for c, t in itertools.permutations(BLOCK_COLORS, 2)]


def _renderings(table: dict, lang: str, kind: str) -> list[str]:
    out = []
    for tpl in table[lang][kind]:
        for c, t in COLOR_PAIRS:
            out.append(render(tpl, COLOURS[lang], c, t if kind == "stack" else None))
    return out


def test_every_kind_in_every_language_has_several_wordings_that_render():
    assert set(HELD_OUT_LANGUAGES).isdisjoint(TEST_DEV_LANGUAGES) and len(HELD_OUT_LANGUAGES) >= 4
    assert set(LANGUAGES) == set(WORDINGS) == set(COLOURS)
    for lang, kind in itertools.product(LANGUAGES, TASK_KINDS):
        wordings = WORDINGS[lang][kind]
        assert len(wordings) >= 3 and len(set(wordings)) == len(wordings), (lang, kind)
        for tpl in wordings:
            names = slots(tpl)
            assert any(n == "c" or n.startswith("c_") for n in names), (lang, kind, tpl)
            assert any(n.startswith("t") for n in names) == (kind == "stack"), (lang, kind, tpl)
        texts = _renderings(WORDINGS, lang, kind)
        assert all("{" not in t and "}" not in t for t in texts)
        # each colour word shows up: the command names the block
        for c in BLOCK_COLORS:
            assert any(w in render(wordings[0], COLOURS[lang], c, "green" if c != "green" else "red")
                       for w in (f[c] for f in COLOURS[lang].values())), (lang, kind, c)


def test_held_out_english_is_not_the_restaters_training_wording():
    trained = {w for task in all_tasks() for w in all_wordings(task)}
    for kind in TASK_KINDS:
        for text in _renderings(WORDINGS, "en", kind):
            assert text not in trained, text


def test_dev_set_is_separate_from_the_held_out_set():
    assert set(DEV_WORDINGS) == set(DEV_LANGUAGES) <= set(TEST_DEV_LANGUAGES)
    for lang, kind in itertools.product(DEV_LANGUAGES, TASK_KINDS):
        assert len(DEV_WORDINGS[lang][kind]) >= 2
        dev = set(_renderings(DEV_WORDINGS, lang, kind))
        assert dev.isdisjoint(_renderings(WORDINGS, lang, kind)), (lang, kind)
    held = {it["text"] for it in held_out_items()}
    assert held.isdisjoint(it["text"] for it in dev_refusal_items())
    assert {it["lang"] for it in dev_refusal_items()} <= set(DEV_LANGUAGES)


def test_refusal_set_size_languages_and_categories():
    items = held_out_items()
    ins = [it for it in items if it["category"] == "in"]
    outs = [it for it in items if it["category"] == "out"]
    amb = [it for it in items if it["category"] == "ambiguous"]
    assert len(ins) >= 40 and len(outs) >= 40 and amb
    assert len({it["lang"] for it in ins}) >= 6 and len({it["lang"] for it in outs}) >= 6
    assert {it["subcategory"] for it in outs} == {"skill", "absent", "question", "absurd"}
    texts = [it["text"] for it in items]
    assert len(texts) == len(set(texts))
    assert all(it["text"].strip() for it in items)


def test_refusal_items_selection_keys_and_seeds():
    everything = refusal_items(False, "all")
    assert len({it["key"] for it in everything}) == len(everything)
    assert len({it["seed"] for it in everything}) == len(everything)
    one = refusal_items(False, "1")
    assert [it["category"] for it in one] == ["in", "out", "ambiguous"]
    assert refusal_items(False, "none") == []
    # dev items run on other scenes than the test items
    assert {it["seed"] for it in refusal_items(True, "all")}.isdisjoint({it["seed"] for it in everything})


@pytest.mark.parametrize("moved, grip, replied, outcome, message, expect", [
    (5.0, 0.0, True, "cancelled", "", (False, False)),       # it acted (stopped by the bench)
    (0.5, 0.46, True, "failed", "", (False, False)),         # a grasp changes the opening: acted
    (0.5, 0.0, True, "failed", "I cannot wave.", (True, False)),  # answered without moving
    (0.0, 0.0, True, "reply", "Which block do you mean?", (True, True)),
    (0.0, 0.0, True, "refused", "どのブロックですか？", (True, True)),
    (0.0, 0.0, True, "error", "model error", (False, False)),
    (0.0, 0.0, True, "success", "", (False, False)),
    (0.0, 0.0, False, "toast", "", (False, False)),
    (0.0, 0.0, False, "timeout", "", (False, False)),        # never answered within the window
    (1.9, 0.29, True, "failed", "", (True, False)),          # just under both thresholds
])
def test_refusal_rule(moved, grip, replied, outcome, message, expect):
    assert metrics.classify_reply(moved, grip, replied, outcome, message) == expect


def test_motion_and_windows():
    ref = (0.34, 0.0, 0.18, 1.0)
    samples = [(0.0, 0.34, 0.0, 0.18, 1.0), (0.1, 0.34, 0.03, 0.14, 0.55)]
    moved, grip = metrics.motion(samples, ref)
    assert moved == pytest.approx(5.0) and grip == pytest.approx(0.45)
    times = [k / 30 for k in range(105)]  # 3.5 s at 30 Hz
    assert metrics.hz_windows(times, 0.0, 3.5) == [30, 30, 30]
    gap = [t for t in times if not 1.0 <= t < 1.5]  # half a second without ticks
    assert metrics.hz_windows(gap, 0.0, 3.5) == [30, 15, 30]
    assert metrics.hz_windows(times, 0.0, 0.9) == []


def _episode(kind, lang, start, success, command_s, **kw):
    return {"type": "episode", "kind": kind, "lang": lang, "start": start, "seed": 1, "success": success,
            "command_s": command_s, "cycles_s": kw.get("cycles", [1.0]), "model_calls": 4,
            "malformed": kw.get("malformed", 0), "hz_windows": [30, 28], "ticks": 60, "missed": kw.get("missed", 0)}


def test_summary_has_exactly_the_issue_keys_and_right_figures():
    kinds, langs, starts = ["pick", "stack"], ["en", "it"], list(metrics.STARTS)
    empty = metrics.summarize([], kinds, langs, starts)
    assert tuple(empty) == metrics.RESULT_KEYS and tuple(empty["refusal"]) == metrics.REFUSAL_KEYS
    assert empty["success"] == {"pick": {"en": None, "it": None}, "stack": {"en": None, "it": None}}
    assert empty["loop_hz_mean"] is None and empty["refusal"]["n_in"] == 0
    records = [
        _episode("pick", "en", "home", True, 30.0, cycles=[1.0, 3.0]),
        _episode("pick", "en", "after_teleop", False, 120.0, missed=6),
        _episode("pick", "it", "home", True, 99.0, malformed=2),
        {"type": "refusal", "category": "out", "refused": True, "asked_back": False, "hz_windows": [20]},
        {"type": "refusal", "category": "out", "refused": False, "asked_back": False},
        {"type": "refusal", "category": "in", "refused": False, "asked_back": False},
        {"type": "refusal", "category": "ambiguous", "refused": True, "asked_back": True},
        {"type": "setup_failed", "kind": "pick", "lang": "en", "start": "after_command"},
        {"type": "quantized", "speedup": 1.3, "match_rate": 0.9},
    ]
    s = metrics.summarize(records, kinds, langs, starts)
    assert tuple(s) == metrics.RESULT_KEYS
    assert s["success"]["pick"] == {"en": 0.5, "it": 1.0} and s["success"]["stack"]["en"] is None
    assert s["success_by_start"]["home"]["pick"] == 1.0 and s["success_by_start"]["after_teleop"]["pick"] == 0.0
    assert s["success_by_start"]["after_command"]["pick"] is None  # a failed setup is not an episode
    assert s["command_s_p50"] == {"pick": 75.0, "stack": None}  # English only
    assert s["cycle_s_p50"] == 1.0
    assert s["loop_hz_min"] == 20 and s["loop_hz_mean"] == pytest.approx((30 + 28) * 3 / 7 + 20 / 7, abs=0.01)
    assert s["missed_tick_rate"] == pytest.approx(6 / 180, abs=1e-4)
    assert s["malformed_rate"] == pytest.approx(2 / 12, abs=1e-4)
    assert s["refusal"] == {"recall": 0.5, "false_rate": 0.0, "n_in": 1, "n_out": 2}
    assert (s["quantized_speedup"], s["quantized_match_rate"]) == (1.3, 0.9)
    ex = metrics.extras(records)
    assert ex["ambiguous_asked_back"] == 1.0 and ex["n_ambiguous"] == 1


def test_episode_plan():
    seeds = (7000, 7001)
    cells = metrics.plan_episodes(TASK_KINDS, ["en", "es", "it", "ko"], metrics.STARTS, seeds, other_seeds=1)
    en = [c for c in cells if c.lang == "en"]
    assert len(en) == len(TASK_KINDS) * 3 * 2
    others = [c for c in cells if c.lang != "en"]
    assert len(others) == len(TASK_KINDS) * 3
    # each (kind, start) has its own scene, shared by every language; base seeds stay below the refusal scenes
    assert len({(c.kind, c.start, c.seed) for c in en}) == len({c.seed for c in en}) == len(en)
    assert all((c.kind, c.start, c.seed) in {(e.kind, e.start, e.seed) for e in en} for c in others)
    assert max(c.seed for c in cells) < 9000 and min(c.seed for c in cells) >= 7000
    with pytest.raises(ValueError, match="within"):
        metrics.plan_episodes(TASK_KINDS, ["en"], metrics.STARTS, (7000, 7050), 1)
    for kind in TASK_KINDS:  # across the other languages each kind meets every start state
        assert {c.start for c in others if c.kind == kind} == set(metrics.STARTS)
    assert len({c.key for c in cells}) == len(cells)
    with pytest.raises(ValueError, match="unknown"):
        metrics.plan_episodes(["wave"], ["en"], ["home"], seeds, 1)
    # one kind at a time in every language
    assert [c.kind for c in cells[:3 + 3]] == [TASK_KINDS[0]] * 6 and cells[3].lang == "es"


def test_interleave_keeps_order_and_spreads():
    a, b = list(range(10)), ["x", "y"]
    merged = metrics.interleave(a, b)
    assert [v for v in merged if v in b] == b and [v for v in merged if v not in b] == a
    assert merged.index("x") in (4, 5) and merged.index("y") == len(merged) - 1
    assert metrics.interleave([], b) == b and metrics.interleave(a, []) == a


def test_cli_options_and_wording():
    quick = parse(["--quick"])
    assert quick.out.name == "app_autonomous-quick.json" and quick.langs == ("en", "es")
    full = parse([])
    assert full.kinds == TASK_KINDS and full.langs == LANGUAGES and full.seeds == (7000, 7001)
    assert parse(["--seeds", "7005-7007"]).seeds == (7005, 7006, 7007)
    assert parse(["--seeds", "3,9"]).seeds == (3, 9)
    with pytest.raises(SystemExit):
        parse(["--dev", "--langs", "it"])
    with pytest.raises(SystemExit):
        parse(["--kinds", "wave"])
    cfg, cells, items = plan_of(parse(["--langs", "en,pl", "--kinds", "stack", "--starts", "home"]))
    assert [c.lang for c in cells] == ["en", "pl", "en"] and cfg["rule"]["move_cm"] == metrics.MOVE_CM
    command_for = word(False)
    text, i = command_for(Task("stack", "red block", "blue block"), cells[1])
    assert "czerwony" in text and "niebieskim" in text and 0 <= i < len(WORDINGS["pl"]["stack"])
    assert not [n for _, n, _, _ in string.Formatter().parse(text) if n]
