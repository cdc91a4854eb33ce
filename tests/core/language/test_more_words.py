"""The fourteen more languages of the word lists (pure)."""

import pytest

from core.language.colors import colors_in
from core.language.cues import cues, kinds_allowed
from core.language.objects import others_in
from core.language.understand import looks_like_request


@pytest.mark.parametrize(("text", "colours", "kind"), [
    ("posa el bloc vermell al plat", ("red",), "put_on"),  # ca
    ("posuň modrú kocku doľava", ("blue",), "push_left"),  # sk: the -ú ending of a Slavic stem
    ("gurni žutu kocku udesno", ("yellow",), "push_right"),  # hr
    ("бутни зеления блок напред", ("green",), "push_forward"),  # bg
    ("angkat blok kuning", ("yellow",), "pick"),  # ms
    ("ilagay ang bloke na pula sa mangkok", ("red",), "put_in"),  # tl
    ("שים את הקובייה הכחולה בקערה", ("blue",), "put_in"),  # he
    ("หยิบบล็อกสีเขียว", ("green",), "pick"),  # th: substrings
])
def test_colours_and_places_in_more_languages(text, colours, kind):
    assert colors_in(text) == colours
    assert kinds_allowed(cues(text)) == frozenset({kind})


def test_objects_and_requests_in_more_languages():
    assert others_in("agafa la pilota vermella") == (("ball", "pilota"),)
    assert others_in("หยิบลูกบอลสีแดง") == (("ball", "ลูกบอล"),)
    assert looks_like_request("pots agafar el bloc vermell, si us plau?")
    assert looks_like_request("môžeš zdvihnúť červenú kocku? prosím, zdvihni ju")
