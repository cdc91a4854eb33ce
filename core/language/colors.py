"""Colour words in many languages: which basic colours a command's words name (pure, no model).

The restater's word glosses (`core.language.restate.named_colors`) tell which colour a word names from the
model itself, in any language; on the small default model they are weak for the colours no block has ("naranja"
leads orange by 2.8 where the gain asks for 3, "paarse" leads pink) and absent for scripts without spaces
(zh, ja). This lexicon is the second reader: the eleven basic colour terms (Berlin & Kay) in 26 languages
and the 14 of `core.language.more_words`
(Danish black, "sort", is left out: it is also an English verb), written out once from dictionaries —
never fitted to a benchmark's items. `colors_in(text)` returns the
colours named, in text order; `core.language.understand.decide` adds them to the glosses' so a command
that names a colour no block has is refused ("not in the scene") instead of being acted on with another
block.

Matching (`core.language.wordlists`): whole words, lower case; "x-" a stem, "x~" a Slavic adjective stem
(Russian "сер~", grey, takes серый, серого but not сердце); CJK and hangul forms as substrings, except
inside a few words that are not colours (明白). A few words are also something else: English "an orange"
is a fruit, so "orange" right after "a"/"an" does not count.
"""

from __future__ import annotations

import re
from functools import lru_cache

from core.language import more_words
from core.language.more_words import merged
from core.language.wordlists import WordLists

# colour -> language -> forms (`core.language.wordlists`: "x-" a stem, "x~" a Slavic adjective stem)
_TERMS: dict[str, dict[str, str]] = {
    "red": {
        "en": "red reddish", "es": "rojo roja rojos rojas rojizo", "fr": "rouge rouges", "de": "rot rote roten roter rotes rotem",
        "it": "rosso rossa rossi rosse", "pt": "vermelho vermelha vermelhos vermelhas", "nl": "rood rode",
        "pl": "czerwon~", "ru": "красн~", "uk": "червон~", "cs": "červen~", "sv": "röd röda rött",
        "da": "rød røde rødt", "nb": "rød røde rødt", "fi": "puna-", "tr": "kırmızı-", "hu": "piros- vörös-",
        "ro": "roșu roșie roșii rosu rosie rosii", "el": "κόκκιν-", "ar": "أحمر حمراء الأحمر الحمراء",
        "hi": "लाल", "id": "merah", "vi": "đỏ", "zh": "红 紅", "ja": "赤", "ko": "빨간 빨강 붉은",
    },
    "green": {
        "en": "green greenish", "es": "verde verdes", "fr": "vert verte verts vertes", "de": "grün- gruen-",
        "it": "verde verdi", "pt": "verde verdes", "nl": "groen groene", "pl": "zielon~", "ru": "зелён~ зелен~",
        "uk": "зелен~", "cs": "zelen~", "sv": "grön gröna grönt", "da": "grøn grønne grønt",
        "nb": "grønn grønne grønt", "fi": "vihre-", "tr": "yeşil-", "hu": "zöld-", "ro": "verde verzi",
        "el": "πράσιν-", "ar": "أخضر خضراء الأخضر الخضراء", "hi": "हरा हरे हरी", "id": "hijau",
        "zh": "绿 綠", "ja": "緑 グリーン", "ko": "초록 녹색",
    },
    "blue": {
        "en": "blue bluish", "es": "azul azules", "fr": "bleu bleue bleus bleues", "de": "blau blaue blauen blauer blaues blauem",
        "it": "blu azzurro azzurra azzurri azzurre", "pt": "azul azuis", "nl": "blauw blauwe",
        "pl": "niebiesk~", "ru": "син~ голуб~", "uk": "син~ блакитн~", "cs": "modr~", "sv": "blå blåa blått",
        "da": "blå blåt", "nb": "blå blått", "fi": "sini-", "tr": "mavi-", "hu": "kék-",
        "ro": "albastru albastră albastra albaștri", "el": "μπλε γαλάζι-", "ar": "أزرق زرقاء الأزرق الزرقاء",
        "hi": "नीला नीले नीली", "id": "biru", "zh": "蓝 藍", "ja": "青 ブルー",
        "ko": "파란 파랑 청색",
    },
    "yellow": {
        "en": "yellow yellowish", "es": "amarillo amarilla amarillos amarillas", "fr": "jaune jaunes",
        "de": "gelb gelbe gelben gelber gelbes gelbem", "it": "giallo gialla gialli gialle",
        "pt": "amarelo amarela amarelos amarelas", "nl": "geel gele", "pl": "żółt~ zolt~", "ru": "жёлт~ желт~",
        "uk": "жовт~", "cs": "žlut~", "sv": "gul gula gult", "da": "gul gule gult", "nb": "gul gule gult",
        "fi": "keltai-", "tr": "sarı-", "hu": "sárga-", "ro": "galben galbenă galbena galbeni galbene",
        "el": "κίτριν-", "ar": "أصفر صفراء الأصفر الصفراء", "hi": "पीला पीले पीली", "id": "kuning", "vi": "vàng",
        "zh": "黄 黃", "ja": "黄色 イエロー", "ko": "노란 노랑",
    },
    "purple": {
        "en": "purple violet lilac", "es": "morado morada morados moradas púrpura violeta lila",
        "fr": "violet violette violets violettes mauve pourpre", "de": "lila violett- purpur-",
        "it": "viola porpora", "pt": "roxo roxa roxos roxas púrpura violeta lilás", "nl": "paars paarse",
        "pl": "fioletow~ purpurow~", "ru": "фиолетов~ пурпурн~", "uk": "фіолетов~", "cs": "fialov~",
        "sv": "lila", "da": "lilla", "nb": "lilla", "fi": "violet- purppura-", "tr": "mor",
        "hu": "lila- bíbor-", "ro": "mov", "el": "μωβ", "ar": "بنفسجي بنفسجية البنفسجي", "hi": "बैंगनी",
        "id": "ungu", "vi": "tím", "zh": "紫", "ja": "紫 パープル", "ko": "보라",
    },
    "orange": {
        "en": "orange", "es": "naranja anaranjado anaranjada", "fr": "orange orangé orangée",
        "de": "orange orangen orangene orangenen orangefarben-", "it": "arancione arancioni arancio",
        "pt": "laranja alaranjado alaranjada", "nl": "oranje", "pl": "pomarańczow~", "ru": "оранжев~",
        "uk": "помаранчев~ оранжев~", "cs": "oranžov~", "sv": "orange", "da": "orange", "nb": "oransje",
        "fi": "oranssi-", "tr": "turuncu-", "hu": "narancs-", "ro": "portocaliu portocalie portocalii",
        "el": "πορτοκαλ-", "ar": "برتقالي برتقالية البرتقالي", "hi": "नारंगी", "id": "oranye jingga",
        "zh": "橙 橘色", "ja": "オレンジ 橙", "ko": "주황 오렌지",
    },
    "pink": {
        "en": "pink", "es": "rosa rosado rosada rosados rosadas", "fr": "rose roses", "de": "rosa pink- rosafarben-",
        "it": "rosa", "pt": "rosa rosado rosada", "nl": "roze", "pl": "różow~ rozow~", "ru": "розов~",
        "uk": "рожев~", "cs": "růžov~", "sv": "rosa", "da": "lyserød lyserøde", "nb": "rosa",
        "fi": "vaaleanpuna-", "tr": "pembe-", "hu": "rózsaszín-", "ro": "roz", "el": "ροζ",
        "ar": "وردي وردية الوردي", "hi": "गुलाबी", "vi": "hồng", "zh": "粉红 粉紅 粉色",
        "ja": "ピンク 桃色", "ko": "분홍 핑크",
    },
    "brown": {
        "en": "brown", "es": "marrón marrones", "fr": "marron marrons brun brune bruns brunes",
        "de": "braun braune braunen brauner braunes braunem", "it": "marrone marroni", "pt": "marrom castanho castanha",
        "nl": "bruin bruine", "pl": "brązow~ brazow~", "ru": "коричнев~", "uk": "коричнев~", "cs": "hněd~",
        "sv": "brun bruna brunt", "da": "brun brune brunt", "nb": "brun brune brunt", "fi": "rusk-",
        "tr": "kahverengi-", "hu": "barna-", "ro": "maro", "el": "καφέ", "ar": "بني بنية البني", "hi": "भूरा भूरे भूरी",
        "id": "coklat cokelat", "vi": "nâu", "zh": "棕 褐色 咖啡色", "ja": "茶色 ブラウン", "ko": "갈색",
    },
    "black": {
        "en": "black", "es": "negro negra negros negras", "fr": "noir noire noirs noires", "de": "schwarz-",
        "it": "nero nera neri nere", "pt": "preto preta pretos pretas", "nl": "zwart zwarte", "pl": "czarn~",
        "ru": "чёрн~ черн~", "uk": "чорн~", "cs": "čern~", "sv": "svart svarta",
        "nb": "svart svarte", "fi": "musta-", "tr": "siyah-", "hu": "fekete-", "ro": "negru neagră neagra negri negre",
        "el": "μαύρ-", "ar": "أسود سوداء الأسود السوداء", "hi": "काला काले काली", "id": "hitam", "vi": "đen",
        "zh": "黑", "ja": "黒 ブラック", "ko": "검은 검정 까만",
    },
    "white": {
        "en": "white", "es": "blanco blanca blancos blancas", "fr": "blanc blanche blancs blanches",
        "de": "weiß- weiss-", "it": "bianco bianca bianchi bianche", "pt": "branco branca brancos brancas",
        "nl": "wit witte", "pl": "biał~", "ru": "бел~", "uk": "біл~", "cs": "bíl~", "sv": "vit vita vitt",
        "da": "hvid hvide hvidt", "nb": "hvit hvite hvitt", "fi": "valkoi-", "tr": "beyaz-", "hu": "fehér-",
        "ro": "alb albă alba albi albe", "el": "λευκ- άσπρ-", "ar": "أبيض بيضاء الأبيض البيضاء",
        "hi": "सफ़ेद सफेद", "id": "putih", "vi": "trắng", "zh": "白色", "ja": "白 ホワイト", "ko": "흰 하얀 흰색",
    },
    "grey": {
        "en": "grey gray greyish grayish", "es": "gris grises", "fr": "gris grise grises", "de": "grau graue grauen grauer graues grauem",
        "it": "grigio grigia grigi grigie", "pt": "cinza cinzento cinzenta", "nl": "grijs grijze", "pl": "szar~",
        "ru": "сер~", "uk": "сір~", "cs": "šed~", "sv": "grå gråa grått", "da": "grå gråt", "nb": "grå grått",
        "fi": "harmaa-", "tr": "gri", "hu": "szürke-", "ro": "gri", "el": "γκρι", "ar": "رمادي رمادية الرمادي",
        "hi": "स्लेटी धूसर", "id": "abu-abu", "vi": "xám", "zh": "灰", "ja": "灰色 グレー", "ko": "회색",
    },
}

_WORD = re.compile(r"[\w\u0590-\u06ff\u0900-\u097f]+(?:-[\w]+)*", re.UNICODE)
_TERMS = merged(_TERMS, more_words.COLORS)  # 14 more languages (`core.language.more_words`)
_LEXICON = WordLists(_TERMS)

# multi-word forms (Vietnamese "xanh" alone is both green and blue; Indonesian pink is "red young")
_PHRASES = {"xanh lá": "green", "xanh lục": "green", "xanh dương": "blue", "xanh lam": "blue", "màu cam": "orange",
            "merah muda": "pink"}
# substrings of the no-space scripts that hold a colour character and are not a colour
_NOT_COLORS = ("明白", "空白", "白天", "面白", "赤ちゃん", "青年", "白白")


def word_color(word: str) -> str | None:
    """The colour one lower-case word names, or None."""
    return _LEXICON.first(word)


@lru_cache(maxsize=4096)
def color_spans(text: str) -> tuple[tuple[int, int, str], ...]:
    """(start, end, colour) of every colour word in the lower-cased text, in text order."""
    low = text.lower()
    found: list[tuple[int, int, str]] = []
    for phrase, color in _PHRASES.items():
        for m in re.finditer(rf"(?<!\w){re.escape(phrase)}(?!\w)", low):
            found.append((m.start(), m.end(), color))
            low = low[:m.start()] + " " * len(phrase) + low[m.end():]  # "merah muda" is not also "merah"
    prev = ""
    for m in _WORD.finditer(low):
        w = m.group(0)
        c = word_color(w)
        if c is not None and not (c == "orange" and prev in ("a", "an")):
            found.append((m.start(), m.end(), c))
        prev = w
    found += _LEXICON.spans(low, skip=_NOT_COLORS)  # the longest first: 粉红 (pink) before 红 (red)
    return tuple(sorted(found))


def colors_in(text: str) -> tuple[str, ...]:
    """The basic colours the text's words name, in order of first mention ("pon el bloque naranja en el
    cuenco" -> ("orange",); "put the red block on the white plate" -> ("red", "white")); () for none."""
    out: list[str] = []
    for _, _, c in color_spans(text):
        if c not in out:
            out.append(c)
    return tuple(out)


__all__ = ["color_spans", "colors_in", "word_color"]
