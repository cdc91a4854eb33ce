"""The colour lexicon: which basic colours a command's words name, in many languages (pure)."""

import pytest

from core.language.colors import colors_in


@pytest.mark.parametrize("text, colors", [
    ("pick up the purple block", ("purple",)),
    ("put the red block on the white plate", ("red", "white")),
    ("pon el bloque naranja en el cuenco", ("orange",)),
    ("Leg den schwarzen Würfel auf den Teller", ("black",)),
    ("prends le cube jaune", ("yellow",)),
    ("metti il blocco rosso nella ciotola", ("red",)),
    ("leg de paarse kubus in de kom", ("purple",)),
    ("podnieś pomarańczowy klocek", ("orange",)),  # Polish: a stem and an adjective ending
    ("połóż zielony klocek na talerzu", ("green",)),
    ("возьми оранжевый кубик", ("orange",)),
    ("подвинь зелёный кубик вправо", ("green",)),
    ("vezmi červenou kostku", ("red",)),
    ("ta den röda klossen", ("red",)),
    ("kırmızı bloğu al", ("red",)),
    ("ota sininen palikka", ("blue",)),  # Finnish: a stem and a case ending
    ("نقل المكعب الأحمر", ("red",)),
    ("नीला ब्लॉक उठाओ", ("blue",)),
    ("把紫色的方块放进碗里", ("purple",)),  # no spaces: substrings
    ("白いブロックを持ち上げて", ("white",)),
    ("보라색 블록을 집어 줘", ("purple",)),
    ("把粉红色的方块拿起来", ("pink",)),  # the longest form first: pink, not also red
    ("ambil balok merah muda", ("pink",)),  # a two-word form is not also its first word
    ("lấy khối xanh lá", ("green",)),  # Vietnamese "xanh" alone is green or blue: only the two-word forms
])
def test_colour_words_in_many_languages(text, colors):
    assert colors_in(text) == colors


@pytest.mark.parametrize("text", [
    "push the block to the left",
    "put an orange in the bowl",  # a fruit
    "сердце",  # starts like "сер-" (grey) without an adjective ending
    "szarpnij klocek",  # Polish "pull", starts like "szar-" (grey)
    "我明白了",  # 明白 holds 白 (white) and is "understood"
    "lấy khối xanh",
    "sort the blocks",
])
def test_words_that_are_not_colour_words(text):
    assert colors_in(text) == ()


def test_colours_in_order_of_first_mention():
    assert colors_in("stack the blue block on the red block, not the blue one on the green") == ("blue", "red", "green")
