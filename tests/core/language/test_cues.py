"""What a command's words say about the task (places, block colours, a verb of picking up), and how the
restatement is held to them (pure)."""

import pytest

from core.language.cues import agreeing, consistent, cues, kinds_allowed, moved_fixture
from core.language.restate import NONE_ANSWER, answers
from core.language.understand import decide

SCENE = ["red block", "green block", "blue block", "yellow block", "bowl", "plate"]


@pytest.mark.parametrize("text, kinds", [
    ("lève le bloc rouge", {"pick"}),  # a verb of lifting, one colour, no place
    ("노란 블록을 들어 올려", {"pick"}),
    ("tira su il mattoncino giallo", {"pick"}),
    ("파란 블록을 접시에 놓아 줘", {"put_on"}),  # the plate
    ("połóż zielony klocek na talerzu", {"put_on"}),
    ("put the green cube into the bowl", {"put_in"}),
    ("pick up the red block and put it in the bowl", {"put_in"}),  # a place outweighs the lifting verb
    ("빨간 블록을 왼쪽으로 밀어", {"push_left"}),
    ("duw het gele blok naar voren", {"push_forward"}),
    ("push the red block to the right", {"push_right"}),
    ("Stapel den roten Block auf den grünen", {"stack"}),  # two colours, no place, no lifting verb
    ("黄色いブロックを赤いブロックの上に積んで", {"stack"}),
])
def test_the_words_settle_the_kind(text, kinds):
    assert kinds_allowed(cues(text)) == frozenset(kinds)


@pytest.mark.parametrize("text", [
    "push the red block",  # no direction named
    "move the red block",  # no verb the lists know, no place
    "push the red block to the right, next to the bowl",  # two places do not settle it
    "zrób coś z czerwonym",  # Polish, no verb of lifting: one colour alone says nothing
])
def test_words_that_do_not_settle_the_kind(text):
    assert kinds_allowed(cues(text)) is None


def test_english_right_alone_is_not_a_direction():
    assert kinds_allowed(cues("pick up the red block right now")) == {"pick"}
    assert kinds_allowed(cues("push the red block towards the right")) == {"push_right"}


def test_an_instruction_agrees_with_the_colours_the_words_name():
    c = cues("pose le bloc vert sur l'assiette")
    assert consistent("put the green block on the plate", c)
    assert consistent("put the blue block on the plate", c) is False  # the wrong block
    assert consistent("put the green block in the bowl", c) is False  # the wrong place
    assert consistent("a lab task of its own", c) is None  # not a built-in task: the lists say nothing


def test_the_restatement_keeps_to_the_words_and_falls_back_when_none_agrees():
    ranked = [("push the red block forward", -1.0), ("pick up the red block", -3.0), (NONE_ANSWER, -9.0)]
    assert [a for a, _ in agreeing(ranked, "lève le bloc rouge")] == ["pick up the red block", NONE_ANSWER]
    only_wrong = [("push the red block forward", -1.0)]
    assert agreeing(only_wrong, "lève le bloc rouge") == only_wrong  # nothing agrees: the ranking stands
    assert agreeing(ranked, "fais quelque chose") == ranked  # no cue at all


def test_decide_acts_on_the_best_answer_the_words_agree_with():
    scores = {a: -20.0 for a in answers()}
    scores.update({"push the red block forward": 2.0, "pick up the red block": 1.0, NONE_ANSWER: -100.0})
    u = decide("lève le bloc rouge", list(scores.items()), SCENE)
    assert u.acts and u.instruction == "pick up the red block"
    # a wording the lists do not know: the restater's best stands
    assert decide("fais-le avancer", list(scores.items()), SCENE).instruction == "push the red block forward"


@pytest.mark.parametrize("text, fixture", [
    ("push the table forward", "table"),
    ("stack the plate on the green block", "plate"),
    ("apila el bol sobre el bloque rojo", "bowl"),
    ("soulève la table", "table"),
    ("pose le bol sur l'assiette", "bowl"),
    ("leg die Schüssel auf den roten Block", "bowl"),
    ("把碗放在红色方块上", "bowl"),  # 把 marks the object
    ("ボウルを赤いブロックの上に置いて", "bowl"),  # を marks it
    ("お皿を右に押して", "plate"),
    ("접시를 왼쪽으로 밀어", "plate"),  # 를 marks it
])
def test_a_fixed_object_as_the_thing_moved(text, fixture):
    from core.language.understand import language_of

    assert moved_fixture(text, language_of(text)) == fixture


@pytest.mark.parametrize("text", [
    "put the red block in the bowl",  # a block colour first
    "put the block in the bowl",  # the bowl after a preposition
    "pick up the block next to the bowl",
    "into the bowl, put the green block",  # the destination first, after its preposition
    "pon el bloque en el cuenco",  # "en": an article in Swedish, a preposition here: the safe reading
    "levanta el cubo verde de la mesa",
    "zet het groene blok in de kom",
    "ボウルに赤いブロックを入れて",  # the bowl with に (destination), the block with を
    "把红色方块放进碗里",
    "그릇에 빨간 블록을 넣어",
])
def test_a_fixed_object_as_a_destination_or_landmark(text):
    from core.language.understand import language_of

    assert moved_fixture(text, language_of(text)) is None


def test_decide_refuses_moving_a_fixed_object_unless_a_lab_task_moves_it():
    scores = {a: -20.0 for a in answers()}
    scores.update({"put the red block in the bowl": 3.0, NONE_ANSWER: -100.0})
    u = decide("put the bowl on the red block", list(scores.items()), SCENE)
    assert u.verdict == "refuse" and u.reason == "moves a fixed object" and u.missing == "bowl"
    assert "I understood “put the bowl on the red block”, but the bowl stays where it is" in u.message
    assert "I can pick up a block" in u.message
    de = decide("Leg die Schüssel auf den roten Block", list(scores.items()), SCENE)
    assert de.verdict == "refuse" and "die Schüssel lässt sich nicht bewegen" in de.message
    lab = decide("put the bowl on the red block", list(scores.items()), SCENE, skills=["put the bowl on the shelf"])
    assert lab.acts


@pytest.mark.parametrize(("text", "why"), [
    ("stack the blue block on the blue block", "itself"),
    ("put the red block on top of itself", "itself"),
    ("put the red block into the blue block", "inside"),
    ("把红色方块放到蓝色方块里面", "inside"),
    ("pick up the red block", None),
    ("stack the red block on the blue block", None),
    ("appoggia il cubetto rosso in cima al cubetto verde", None),  # "in cima": on top
    ("coloque o cubo vermelho em cima do cubo verde", None),
    ("put the red block in the bowl", None),
    ("pick up the red block, the red one", None),  # a lifting verb: one block, named twice
])
def test_a_block_on_itself_or_inside_another_is_impossible(text, why):
    from core.language.cues import impossible

    assert impossible(text) == why
