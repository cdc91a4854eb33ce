"""The command reader's rule (act / ask / refuse), the scene check, the replies' language, and the
restater's extra answers: pure logic on given rankings."""

import pytest

from core.language.replies import WORDS, ask_message, block_list
from core.language.restate import (
    NONE_ANSWER,
    OPEN_INSTRUCTIONS,
    answers,
    canonical,
    instructions,
    is_task_answer,
    open_kind,
    with_colors,
)
from core.language.understand import (
    completions,
    decide,
    followup_command,
    language_of,
    looks_like_question,
    margins,
    scene_blocks,
)

SCENE = ["red block", "green block", "blue block", "yellow block", "bowl", "plate"]


def ranking(best: str, score: float = 0.0, rest: float = -5.0, **others: float) -> list[tuple[str, float]]:
    out = {a: rest for a in answers()}
    out[NONE_ANSWER] = -100.0  # far below: the module's margins (chosen on data) do not refuse it
    out.update(others)
    out[best] = score
    return list(out.items())


def test_answers_are_the_tasks_then_open_instructions_then_none():
    a = answers()
    assert a[:len(instructions())] == instructions() and a[-1] == NONE_ANSWER
    assert set(a[len(instructions()):-1]) == set(OPEN_INSTRUCTIONS.values()) and len(a) == len(set(a))
    assert all(canonical(x) is None for x in a[len(instructions()):])  # no extra answer is a task
    assert open_kind("pick up the block") == "pick" and open_kind("pick up the red block") is None
    assert is_task_answer("pick up the red block") and not is_task_answer(NONE_ANSWER)
    assert not is_task_answer("stack the block on another block")
    lab = answers(["put the blue cup on the shelf"])
    assert lab[0] == "put the blue cup on the shelf" and NONE_ANSWER in lab


def test_colour_evidence_does_not_choose_between_a_block_and_none():
    evidence = {"red": -0.1, "green": -3.0, "blue": -3.0, "yellow": -3.0}
    ranked = [("pick up the red block", -1.0), ("pick up the green block", -1.0), (NONE_ANSWER, -0.5),
              ("pick up the block", -2.0)]
    out = dict(with_colors(ranked, evidence, weight=2.0))
    assert out["pick up the red block"] == pytest.approx(-1.2)  # its own colour's evidence
    assert out[NONE_ANSWER] == pytest.approx(-0.7) and out["pick up the block"] == pytest.approx(-2.2)  # the best one


def test_none_ranked_first_is_refused_with_the_reason_and_what_the_robot_can_do():
    u = decide("wave hello to the visitors", ranking(NONE_ANSWER), SCENE)
    assert u.verdict == "refuse" and u.reason == "no task" and not u.acts
    assert "wave hello to the visitors" in u.message and "not one of the tasks" in u.message
    assert "pick up a block" in u.message and "red, green, blue and yellow" in u.message


def test_margins_move_the_line_between_acting_and_refusing():
    # words that do not settle the task on their own ("go on then"): the margins alone decide
    r = ranking("pick up the red block", 0.0, **{NONE_ANSWER: -0.8})
    assert margins(r) == {"task": 0.0, "open": -5.0, "none": -0.8}
    assert decide("go on then", r, SCENE, none_margin=0.5).verdict == "act"
    assert decide("go on then", r, SCENE, none_margin=1.0).verdict == "refuse"
    # a question-like command uses its own margin
    assert decide("go on then?", r, SCENE, none_margin=0.5, question_margin=1.0).verdict == "refuse"
    assert decide("go on then", r, SCENE, none_margin=0.5, question_margin=1.0).verdict == "act"


def test_an_open_instruction_asks_back_listing_the_blocks_in_the_scene():
    u = decide("pick up the block", ranking("pick up the block"), ["red block", "blue block", "bowl", "plate"])
    assert u.verdict == "ask" and u.kind == "pick" and u.candidates == ("red", "blue")
    assert u.message == "Which block do you mean: red or blue?"
    es = decide("levanta el cubo", ranking("pick up the block"), SCENE)
    assert es.lang == "es" and es.message.startswith("¿Qué bloque") and es.message.endswith("?")
    # an open answer that does not beat the best task by the margin is not asked
    r = ranking("pick up the red block", 0.0, **{"pick up the block": 0.5})
    assert decide("pick that up", r, SCENE, open_margin=1.0).verdict == "act"
    assert decide("pick that up", r, SCENE, open_margin=0.0).verdict == "ask"


def test_the_scene_check_refuses_an_object_that_is_not_on_the_table_naming_it():
    u = decide("pick up the green block", ranking("pick up the green block"), ["red block", "bowl", "plate"])
    assert u.verdict == "refuse" and u.reason == "not in the scene" and u.missing == "green block"
    assert "there is no green block on the table" in u.message and "Blocks here: red." in u.message
    stack = decide("stack red on blue", ranking("stack the red block on the blue block"), ["red block", "bowl"])
    assert stack.missing == "blue block"
    no_bowl = decide("red in bowl", ranking("put the red block in the bowl"), ["red block", "plate"])
    assert no_bowl.missing == "bowl"
    # unknown scene (a real robot without a scene model): the ranking alone decides
    assert decide("pick up the green block", ranking("pick up the green block"), None).verdict == "act"


def test_a_colour_no_block_has_is_refused_when_the_command_names_none_of_the_chosen_task():
    # the restater mapped "purple" onto a block it knows; the word glosses say the command named purple
    u = decide("pick up the purple block", ranking("pick up the red block"), SCENE, named=["purple"])
    assert u.verdict == "refuse" and u.reason == "not in the scene" and u.missing == "purple object"
    assert "I understood “pick up the purple block”, but there is no purple object on the table" in u.message
    # a known colour in the scene is acted on; so is a command that names the chosen block's colour too
    assert decide("pick up the red block", ranking("pick up the red block"), SCENE, named=["red"]).acts
    white = decide("put the red block on the white plate", ranking("put the red block on the plate"), SCENE,
                   named=["red", "white"])
    assert white.acts
    # a block colour that is not in this scene: the words name blue, so the blue block's instruction is the
    # one checked against the scene (`core.language.cues`), and it is missing
    no_blue = decide("pick up the blue one", ranking("pick up the red block"), ["red block", "bowl"], named=["blue"])
    assert no_blue.verdict == "refuse" and no_blue.missing == "blue block"
    # no glosses (a script without spaces): the colour lexicon reads the words; no colour word at all: the
    # ranking decides
    zh = decide("拿起紫色的方块", ranking("pick up the red block"), SCENE, named=None)
    assert zh.verdict == "refuse" and zh.missing == "purple object"
    assert decide("拿起红色的方块", ranking("pick up the red block"), SCENE, named=None).acts
    assert decide("lift it", ranking("pick up the red block"), SCENE, named=[]).acts
    assert decide("lift it", ranking("pick up the red block"), SCENE, named=None).acts
    # glosses too weak to name the colour ("naranja" below the gain): the lexicon still does
    es = decide("pon el bloque naranja en el cuenco", ranking("put the yellow block in the bowl"), SCENE, named=[])
    assert es.verdict == "refuse" and es.missing == "orange object"


def test_named_colours_are_the_words_that_clearly_name_one_colour():
    from core.language.restate import PALETTE, named_colors

    prior = {c: -3.0 for c in PALETTE}
    flat = {c: -3.2 for c in PALETTE}
    glosses = {"pick": {**flat, "red": -2.9}, "purple": {**flat, "purple": 2.0, "pink": -1.0}, "block": flat}
    assert named_colors(glosses, prior, min_gain=2.0) == ["purple"]  # 5.0 - 2.0 = 3.0 over pink
    assert named_colors(glosses, prior, min_gain=3.5) == []
    assert named_colors(glosses, prior, min_gain=0.1) == ["red", "purple"]


def test_a_lab_task_is_checked_against_the_scene_by_its_object_names():
    r = [("put the blue cup on the shelf", 0.0), (NONE_ANSWER, -100.0)]
    assert decide("cup on shelf", r, ["blue cup", "shelf"]).verdict == "act"
    u = decide("cup on shelf", r, ["blue cup"], skills=["put the blue cup on the shelf"])
    assert u.verdict == "refuse" and u.missing == "shelf"
    assert "put the blue cup on the shelf" in decide("x", [(NONE_ANSWER, 0.0)], [], skills=["put the blue cup on the shelf"]).message


def test_language_of_commands_and_replies_in_their_language():
    cases = {"pick up the purple block": "en", "coge el bloque morado": "es", "prends le bloc": "fr",
             "Nimm den Würfel": "de", "拿起方块": "zh", "ブロックを取って": "ja", "подними кубик": "ru",
             "블록을 집어 줘": "ko", "prendi il blocco": "it"}
    assert {t: language_of(t) for t in cases} == cases
    assert all(set(WORDS[lang]) == set(WORDS["en"]) for lang in WORDS)
    assert decide("подними кубик", ranking(NONE_ANSWER), SCENE).message == decide("lift it", ranking(NONE_ANSWER),
                                                                                   SCENE).message.replace("lift it", "подними кубик")
    assert block_list("de", ["red", "blue"]) == "rot oder blau" and block_list("zh", ["red", "blue"], "and") == "红色和蓝色"
    assert ask_message("fr", "stack", ["red", "blue"]).endswith("?")


@pytest.mark.parametrize("text", ["what is two plus two?", "¿cuántos bloques hay?", "Wie heißt du", "今何時ですか",
                                  "碗里有什么？", "combien de blocs"])
def test_questions(text):
    assert looks_like_question(text)


def test_a_polite_command_is_not_held_to_a_questions_margin_when_its_words_name_the_task():
    text = "could you take hold of the red block and raise it"
    assert not looks_like_question(text) and not looks_like_question("pick up the red block")
    r = ranking("pick up the red block", 0.0, **{NONE_ANSWER: -6.0})
    assert decide(text, r, SCENE, none_margin=4.0, question_margin=8.0).verdict == "act"
    assert decide("what is two plus two?", ranking("pick up the red block", 0.0, **{NONE_ANSWER: -6.0}), SCENE,
                  none_margin=4.0, question_margin=8.0).verdict == "refuse"


def test_completions_and_the_followup_command():
    assert completions("pick", ["red", "blue"]) == ["pick up the blue block", "pick up the red block"]
    assert completions("put_in", ["green"]) == ["put the green block in the bowl"]
    stack = completions("stack", ["red", "blue", "green"])
    assert len(stack) == 6 and "stack the red block on the blue block" in stack
    assert completions("stack", ["red"]) == []
    assert scene_blocks(["bowl", "yellow block", "red block"]) == ["red", "yellow"]
    pending = decide("pick up the block.", ranking("pick up the block"), SCENE)
    assert followup_command(pending, " the red one ") == "pick up the block: the red one"


def test_decide_needs_a_ranking():
    with pytest.raises(ValueError, match="nothing ranked"):
        decide("x", [], SCENE)


def test_the_verdict_reads_one_ranking_and_the_block_is_picked_from_another():
    verdict = ranking("pick up the green block", 0.0, **{"pick up the red block": -0.5, NONE_ANSWER: -100.0})
    glossed = ranking("pick up the red block", 1.0, **{"pick up the green block": -2.0})
    u = decide("prends le bloc rouge", verdict, SCENE, pick=glossed)
    assert u.verdict == "act" and u.instruction == "pick up the red block"
    assert u.scores["task"] == 0.0  # the margins are the verdict ranking's
    gone = decide("prends le bloc rouge", verdict, ["green block"], pick=glossed)
    assert gone.verdict == "refuse" and gone.missing == "red block"


def test_words_naming_a_thing_or_colour_the_scene_lacks_are_refused_before_asking_or_acting():
    # a thing that is not a block: refused with the command's own word, whatever the restater chose
    ball = decide("coge la pelota roja", ranking("pick up the red block"), SCENE)
    assert ball.verdict == "refuse" and ball.reason == "not in the scene" and ball.missing == "ball"
    assert "no veo «pelota» en la mesa" in ball.message and ball.instruction is None
    # an absent colour with an open instruction winning: refused, not "which block?"
    white = decide("ta det vita blocket", ranking("pick up the block"), SCENE)
    assert white.verdict == "refuse" and white.missing == "white object"
    # a stack onto an absent colour, though the other colour is here
    stack = decide("stack the red block on the black one", ranking("stack the red block on the blue block"), SCENE)
    assert stack.verdict == "refuse" and stack.missing == "black object"
    # the plate's colour is not a block's; an open command about it is still asked back
    assert decide("put the red block on the white plate", ranking("put the red block on the plate"), SCENE).acts
    assert decide("put the block on the white plate", ranking("put the block on the plate"), SCENE).verdict == "ask"
    # a lab's scene holds other things and colours: its own objects are not missing
    lab = [("put the blue cup on the shelf", 0.0), (NONE_ANSWER, -100.0)]
    assert decide("put the blue cup on the shelf", lab, ["blue cup", "shelf"]).acts
    # no scene model: the words alone do not refuse
    assert decide("coge la pelota roja", ranking("pick up the red block"), None).acts


def test_a_request_put_as_a_question_is_a_command_when_its_words_name_the_task():
    from core.language.understand import looks_like_request

    for text in ("could you grab the red cube for me?", "kannst du den blauen Würfel hochheben?",
                 "¿puedes poner el bloque verde en el plato?", "请把红色方块放进碗里", "赤いブロックを持ち上げてくれる？"):
        assert looks_like_request(text) and not looks_like_question(text), text
    for text in ("can you see the red block?", "is the red block in the bowl?", "could you tell me a joke?"):
        assert not looks_like_request(text) and looks_like_question(text), text


def test_words_that_settle_the_task_outweigh_the_restaters_doubt_but_not_a_question():
    # the restater puts "none" within the margin of the task (a language it barely knows)
    doubt = ranking("pick up the blue block", 0.0, **{NONE_ANSWER: -1.0})
    u = decide("løft den blå klossen", doubt, SCENE)  # Norwegian: lift the blue block
    assert u.acts and u.instruction == "pick up the blue block"
    # words that settle nothing keep the refusal; so does a question about the blocks
    assert decide("do a little dance", doubt, SCENE).verdict == "refuse"
    assert decide("is the blue block in the bowl?", ranking("put the blue block in the bowl", 0.0, **{NONE_ANSWER: -1.0}),
                  SCENE).verdict == "refuse"
    # the words' colour makes "which block?" pointless: the block they name is acted on
    r = ranking("put the block on the plate", 0.0, **{"put the red block on the plate": -0.5})
    assert decide("tedd a piros kockát a tányérra", r, SCENE).instruction == "put the red block on the plate"


@pytest.mark.parametrize("command,reason,says", [
    ("prends la tasse", "not in the scene", "« tasse »"),
    ("stack the blue block on the blue block", "impossible: itself", "cannot go on itself"),
    ("mets le bloc rouge dans le bloc bleu", "impossible: inside", "dans un autre bloc"),
    ("put the bowl on the red block", "moves a fixed object", "the bowl stays where it is"),
])
def test_a_command_the_ranking_rejects_too_is_told_what_its_words_got_wrong(command, reason, says):
    # the restater ranks "none" first for all four: the verdict is the same refusal, the reason names the fault
    u = decide(command, ranking(NONE_ANSWER), SCENE)
    assert u.verdict == "refuse" and u.reason == reason and says in u.message
    assert "not one of the tasks" not in u.message
    assert decide("wave hello to the visitors", ranking(NONE_ANSWER), SCENE).reason == "no task"


def test_the_plates_colour_is_not_an_absent_block_colour_when_the_scene_is_unknown():
    # no scene model (a real robot): the colour check runs on the words and the chosen task alone
    u = decide("put the block on the white plate", ranking("put the red block on the plate"), None, named=["white"])
    assert u.verdict == "act" and u.missing is None
    # a colour given to a block is still checked
    v = decide("put the white block on the plate", ranking("put the red block on the plate"), None, named=["white"])
    assert v.verdict == "refuse" and v.missing == "white object"
