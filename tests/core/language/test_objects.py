"""Everyday objects that are not blocks, named in many languages, and the colours given to the bowl or the
plate (pure)."""

import pytest

from core.language.cues import fixture_colors
from core.language.objects import OTHER_OBJECTS, others_in
from core.language.wordlists import WordLists


@pytest.mark.parametrize(("text", "kind", "word"), [
    ("push the glass to the right", "glass", "glass"),
    ("mets la pomme dans le bol", "fruit", "pomme"),
    ("coge la pelota roja", "ball", "pelota"),
    ("Leg den Schlüssel auf den Teller", "key", "schlüssel"),
    ("metti il telefono nella ciotola", "phone", "telefono"),
    ("возьми красную чашку", "cup", "чашку"),
    ("podnieś książkę", "book", "książkę"),
    ("kırmızı topu al", "ball", "topu"),
    ("りんごをボウルに入れて", "fruit", "りんご"),
    ("把红色的球放进碗里", "ball", "球"),
    ("연필을 집어 줘", "pen", "연필"),
    ("prends l'orange et la banane", "fruit", "banane"),
])
def test_an_everyday_object_is_found_with_the_word_as_written(text, kind, word):
    assert (kind, word) in others_in(text)


@pytest.mark.parametrize("text", [
    "put the red block in the bowl", "pop the red cube into the bowl", "put it on top of the blue block",
    "Leg den roten Würfel in die Schüssel", "pon el bloque rojo en el plato", "ボウルに赤いブロックを入れて",
    "把蓝色方块叠在黄色方块上", "빨간 블록을 접시에 놓아", "kırmızı küpü kaseye koy", "posa il cubo giallo dentro la scodella",
])
def test_task_commands_name_no_other_object(text):
    assert others_in(text) == ()


def test_no_object_form_is_a_word_of_the_task_lists():
    # a form shared with the places, the table, the lifting verbs or the colours would refuse a task command
    from core.language.colors import _TERMS
    from core.language.cues import _LIFT, _PLACES, _TABLE

    task_words = WordLists({**_PLACES, **_TERMS, "lift": _LIFT, "table": _TABLE})
    objects = WordLists(OTHER_OBJECTS)
    shared = sorted(w for w in objects.words if w in task_words.words)
    assert shared == []


@pytest.mark.parametrize(("text", "own"), [
    ("put the red block on the white plate", {"white"}),
    ("pon el bloque rojo en el plato blanco", {"white"}),
    ("Leg den roten Block auf den weißen Teller", {"white"}),
    ("白いお皿に赤いブロックを置いて", {"white"}),
    ("把红色方块放到白色的盘子上", {"white"}),
    ("흰 접시에 빨간 블록을 놓아", {"white"}),
    ("take the white block", set()),
    ("お皿に白いブロックを置いて", set()),  # the colour after the plate's particle is the block's
    ("접시에 흰 블록을 놓아", set()),
])
def test_colours_of_the_bowl_or_plate(text, own):
    assert set(fixture_colors(text)) == own
