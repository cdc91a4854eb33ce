"""The restater's training commands: every answer is one the restater ranks, every template fills, and no
training command is one of the benchmarks' or the dev sets' commands (nor in a held-out language)."""

from core.language.restate import NONE_ANSWER, answers
from core.language.restate_data import (
    FIXED_MOVED,
    NONE_COMMANDS,
    OPEN_TEMPLATES,
    TEMPLATES,
    TRAIN_LANGUAGES,
    language_pairs,
    training_pairs,
)
from core.robot.tasks import TASK_KINDS


def bench_commands() -> set[str]:
    from bench.data import render
    from bench.data.dev_commands import dev_refusal_items
    from bench.data.dev_refusal import AMBIGUOUS, OUT, dev_in_domain
    from bench.data.held_out_commands import COLOURS, WORDINGS
    from bench.data.held_out_refusal import items
    from bench.phrases import LANGUAGES, command
    from bench.phrases import WORDINGS as PHRASE_WORDINGS
    from core.robot.tasks import all_tasks

    out = {it["text"] for it in items() + dev_refusal_items()}
    out |= {t for _, _, t in OUT} | {t for _, t in AMBIGUOUS} | {c for _, _, c in dev_in_domain()}
    for task in all_tasks():
        target = task.target.split()[0] if task.kind == "stack" and task.target else None
        for lang, kinds in WORDINGS.items():
            out |= {render(tpl, COLOURS[lang], task.obj.split()[0], target) for tpl in kinds[task.kind]}
        for lang in LANGUAGES:
            for wording in PHRASE_WORDINGS:
                if not (lang == "en" and wording == "dev"):
                    out.add(command(task, lang, wording))
    return {" ".join(t.lower().split()) for t in out}


def test_every_kind_has_templates_and_every_answer_is_ranked():
    assert TRAIN_LANGUAGES == ("es", "de", "zh")  # fr and ja stay out: the dev languages of the refusal rule
    for lang in TEMPLATES:
        assert set(TEMPLATES[lang]) == set(TASK_KINDS)
    for lang in OPEN_TEMPLATES:
        assert set(OPEN_TEMPLATES[lang]) == set(TASK_KINDS)
    train, held = training_pairs()
    assert set(a for _, a in train) <= set(answers()) and NONE_ANSWER in {a for _, a in train}
    assert held and all(a in answers() for _, a in held)


def test_no_training_command_is_a_benchmark_or_dev_command():
    bench = bench_commands()
    mine = [c for lang in ("en", *TRAIN_LANGUAGES) for c, _ in language_pairs(lang)]
    clash = [c for c in mine if " ".join(c.lower().split()) in bench]
    assert clash == []


def test_no_held_out_language_is_trained_on():
    never = {"fr", "ja", "it", "pt", "nl", "ru", "ko", "pl"}  # the dev languages tuned on, the held-out ones
    assert not never & (set(TEMPLATES) | set(OPEN_TEMPLATES) | set(NONE_COMMANDS) | set(FIXED_MOVED))


def test_the_bowl_or_plate_moved_onto_a_block_is_no_task_in_every_colour():
    pairs = dict(language_pairs("de"))
    assert pairs["setz die Schale auf den gelben Würfel"] == NONE_ANSWER
    assert pairs["leg den Teller oben auf das rote Klötzchen"] == NONE_ANSWER
    en = [c for c, a in language_pairs("en") if a == NONE_ANSWER and "on top of the" in c and "cube" in c]
    assert {c.split()[-2] for c in en} == {"red", "green", "blue", "yellow"}
