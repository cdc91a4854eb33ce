"""What a command's words say about the task, from word lists in many languages (pure, no model).

The restater (a small LoRA on the default model) sometimes adds what the command never said: "lève le
bloc rouge" (lift the red block) restated as "push the red block forward", "노란 블록을 들어 올려" (lift
the yellow block) as "put the yellow block in the bowl", a green block restated as the blue one. A
restatement should not invent a destination, a direction or a block colour. `Cues` are the words a
command holds for the built-in scene's places: the bowl, the plate, the three push directions, and the
block colours (`core.language.colors`); `kinds_allowed` turns them into the task kinds the words leave
open, and `consistent` checks one canonical instruction against them. `core.language.understand.decide`
chooses, among the restater's task answers, the best one the words agree with; when no answer agrees (or
the words say nothing: a language or a wording the lists do not know), the restater's choice stands.

The lists are written out once from dictionaries for the languages of `core.language.colors`, never
fitted to a benchmark's items, and read as there (`core.language.wordlists`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from core.language import more_words
from core.language.colors import color_spans, colors_in, word_color
from core.language.more_words import merged
from core.language.wordlists import NO_SPACES, WordLists
from core.robot.tasks import BLOCK_COLORS, TaskError, task_from_instruction

_PLACES: dict[str, dict[str, str]] = {
    "bowl": {
        "en": "bowl bowls basin", "es": "cuenco bol tazón", "fr": "bol saladier", "de": "schüssel schale napf",
        "it": "ciotola scodella", "pt": "tigela bacia cumbuca", "nl": "kom schaal", "pl": "misk- misce",
        "ru": "миск-", "uk": "миск- мисц-", "cs": "misk- misce", "sv": "skål skålen", "da": "skål skålen",
        "nb": "bolle bollen skål skålen", "fi": "kulho-", "tr": "kase- kâse-", "hu": "tál tálba tálban tálat",
        "ro": "castron- bolul", "el": "μπολ", "ar": "وعاء الوعاء سلطانية", "hi": "कटोरा कटोरे कटोरी",
        "id": "mangkuk mangkok", "vi": "bát tô", "zh": "碗", "ja": "ボウル 椀 お碗", "ko": "그릇 볼 사발",
    },
    "plate": {
        "en": "plate plates saucer", "es": "plato", "fr": "assiette", "de": "teller", "it": "piatto",
        "pt": "prato", "nl": "bord bordje", "pl": "talerz-", "ru": "тарелк-", "uk": "тарілк-", "cs": "talíř-",
        "sv": "tallrik-", "da": "tallerken-", "nb": "tallerken-", "fi": "lautas- lautase-", "tr": "tabak- tabağ-",
        "hu": "tányér-", "ro": "farfuri-", "el": "πιάτο", "ar": "طبق الطبق صحن الصحن", "hi": "प्लेट थाली",
        "id": "piring", "vi": "đĩa", "zh": "盘 碟", "ja": "皿 プレート", "ko": "접시",
    },
    "left": {
        "en": "left leftward leftwards", "es": "izquierda", "fr": "gauche", "de": "links", "it": "sinistra",
        "pt": "esquerda", "nl": "links", "pl": "lewo lewą", "ru": "влево налево", "uk": "вліво ліворуч",
        "cs": "doleva vlevo", "sv": "vänster", "da": "venstre", "nb": "venstre", "fi": "vasemmalle",
        "tr": "sola", "hu": "balra", "ro": "stânga stanga", "el": "αριστερά", "ar": "اليسار يسار",
        "hi": "बाएं बाईं बाएँ", "id": "kiri", "vi": "trái", "zh": "左", "ja": "左", "ko": "왼쪽",
    },
    "right": {
        "en": "rightward rightwards", "es": "derecha", "fr": "droite", "de": "rechts", "it": "destra",
        "pt": "direita", "nl": "rechts", "pl": "prawo prawą", "ru": "вправо направо", "uk": "вправо праворуч",
        "cs": "doprava vpravo", "sv": "höger", "da": "højre", "nb": "høyre", "fi": "oikealle", "tr": "sağa",
        "hu": "jobbra", "ro": "dreapta", "el": "δεξιά", "ar": "اليمين يمين", "hi": "दाएं दाईं दाएँ",
        "id": "kanan", "vi": "phải", "zh": "右", "ja": "右", "ko": "오른쪽",
    },
    "forward": {
        "en": "forward forwards ahead", "es": "adelante delante frente", "fr": "avant", "de": "vorne vorn vorwärts",
        "it": "avanti", "pt": "frente adiante", "nl": "voren vooruit", "pl": "przodu naprzód", "ru": "вперёд вперед",
        "uk": "вперед уперед", "cs": "dopředu vpřed", "sv": "framåt fram", "da": "fremad frem", "nb": "fremover frem",
        "fi": "eteenpäin eteen", "tr": "ileri öne", "hu": "előre", "ro": "înainte inainte față fata", "el": "μπροστά", "ar": "الأمام",
        "hi": "आगे", "id": "depan maju", "vi": "trước", "zh": "前", "ja": "前 奥", "ko": "앞",
    },
}
# the tabletop itself (a fixed object like the bowl and the plate; `moved_fixture`)
_TABLE = {
    "en": "table tables desk", "es": "mesa", "fr": "table", "de": "tisch-", "it": "tavolo tavola", "pt": "mesa",
    "nl": "tafel", "pl": "stół stoł- stol-", "ru": "стол стола столу столе столом", "uk": "стіл стола столу столі",
    "cs": "stůl stolu stole", "sv": "bord bordet", "da": "bord bordet", "nb": "bord bordet", "fi": "pöytä- pöydä-",
    "tr": "masa-", "hu": "asztal-", "ro": "masă masa", "el": "τραπέζι", "id": "meja", "vi": "bàn", "zh": "桌",
    "ja": "テーブル 机", "ko": "테이블 탁자 책상",
}
# words before a noun that make it a destination or a landmark, not the thing moved ("in the bowl", "from
# the table"), and articles, skipped on the way back from the noun (Dutch "de" is an article, elsewhere "of")
_PREPOSITIONS = set("""
in into on onto to from off of near beside next by toward towards at inside over under behind above
en a al de del sobre hacia junto cerca dentro encima debajo desde
dans sur à au aux vers près du sous par
im ins auf an am zu zur zum neben vom von aus mit über unter hinter
nel nella nello sul sulla sullo alla verso vicino da dal dalla di della su
em na no nas nos para perto ao à da do
op naar bij naast uit van aan
в во на к у из от с со под над до з від
do w we przy obok ze od
v ve k
i på till från vid til fra ved
""".split())
_ARTICLES = set("""
the a an this that el la los las un una unos unas este esta le les l un une des ce cette
der die das den dem des ein eine einen einem einer il lo gli i uno o os as um uma het een det ett en
""".split())
# words of `_PREPOSITIONS` that are articles in the command's language (Dutch "de", Portuguese "a", "as")
_ARTICLE_HERE = {"nl": {"de"}, "pt": {"a", "as"}}
# the fixed object as the grammatical object in the scripts without spaces: Chinese 把 X, Japanese X を,
# Korean X 을/를
_OBJECT_MARKED = re.compile(
    r"把(?:这个|那个|这|那|这只|那只)?(碗|盘子|盘|碟子|碟|桌子|桌)"
    r"|(ボウル|お椀|お碗|椀|お皿|皿|プレート|テーブル|机)を"
    r"|(그릇|볼|사발|접시|테이블|탁자|책상)(?:을|를)"
)


# verbs (and verb phrases) of picking up, lifting or grabbing: with one block colour and no place named,
# the command is a pick-up ("lève le bloc rouge"); without such a verb the words do not settle it ("push
# the red block" names no direction; "move the red block" no destination)
_LIFT: dict[str, str] = {
    "en": "lift pick grab raise take hold", "es": "levanta recoge coge toma agarra alza sube levantar recoger coger "
    "tomar agarrar alzar", "fr": "lève soulève prends saisis ramasse attrape lever soulever prendre saisir ramasser "
    "attraper", "de": "heb hebe heben nimm nehmen greif greife greifen pack hochheben aufheben",
    "it": "alza solleva prendi afferra raccogli alzare sollevare prendere afferrare raccogliere",
    "pt": "pegue pega levante apanhe agarre erga pegar levantar apanhar agarrar erguer",
    "nl": "pak til neem pakken tillen optillen oppakken nemen", "pl": "podnieś weź chwyć złap podnieść wziąć chwycić "
    "złapać podnieśc", "ru": "подними возьми схвати поднять взять схватить поднимите возьмите",
    "uk": "підніми візьми підняти взяти", "cs": "zvedni vezmi zvednout vzít zvedněte vezměte",
    "sv": "lyft ta plocka lyfta", "da": "løft tag løfte tage", "nb": "løft ta løfte", "fi": "nosta ota nostaa ottaa",
    "tr": "kaldır al kaldırır kaldırabilir kaldırın alır alabilir", "hu": "emeld vedd emelj emelnéd vennéd",
    "ro": "ridică ridica ia ridici iei lua", "el": "σήκωσε πιάσε πάρε σηκώσεις πάρεις", "id": "angkat ambil",
    "vi": "nhấc lấy cầm", "zh": "拿起 捡起 抓起 举起 提起", "ja": "持ち上げ 取って つかんで 掴んで 拾って",
    "ko": "집어 들어 잡아",
}
_LIFT_PHRASES = ("tira su",)
# English "right" alone is also "correct" or "at once": only "to/toward(s) the right" counts
_EN_RIGHT = re.compile(r"\b(?:to|towards?|on) (?:the|your|its) right\b")
_WORD = re.compile(r"[\w\u0900-\u097f]+", re.UNICODE)
_PLACE_NAMES = frozenset(_PLACES)
_PLACES = merged(_PLACES, more_words.PLACES)  # 14 more languages (`core.language.more_words`)
_LIFT = {**_LIFT, **more_words.LIFT}
_TABLE = {**_TABLE, **more_words.TABLE}
# words that put a block inside something ("into the blue block"), and words for "itself"; not the bare
# "in" of en/de/nl/it, which is also Italian "in cima" (on top)
_INSIDE: dict[str, str] = {
    "en": "into inside within", "es": "dentro", "fr": "dans dedans intérieur", "de": "hinein innen ins",
    "it": "dentro", "pt": "dentro", "nl": "binnen", "pl": "środka wewnątrz", "ru": "внутрь", "uk": "всередину",
    "cs": "dovnitř uvnitř", "sv": "inuti", "da": "ind indeni", "nb": "inn inni", "fi": "sisään sisälle",
    "tr": "içine içerisine", "hu": "belé bele", "ro": "înăuntrul inauntrul", "el": "μέσα", "id": "dalam",
    "vi": "trong", "zh": "里 里面 内", "ja": "中 入れ", "ko": "안에 속에 안으로 넣",
}
_ITSELF = ("itself", "zichzelf", "selbst", "mismo", "misma", "même", "stesso", "stessa", "mesmo", "mesma", "себя",
           "siebie", "sebe", "sig selv", "seg selv", "sig själv", "kendisi", "önmagára", "自己", "自身", "それ自体",
           "자기 자신", "자신")
_LISTS = WordLists({**_PLACES, "lift": _LIFT, "table": _TABLE, "inside": _INSIDE})


@dataclass(frozen=True)
class Cues:
    """The places (`bowl`, `plate`, `left`, `right`, `forward`) and block colours a command's words name."""

    places: frozenset[str]
    blocks: tuple[str, ...]  # block colours, in order of mention
    lift: bool = False  # a verb of picking up (`_LIFT`)
    inside: bool = False  # a word for into/inside (`_INSIDE`)


@lru_cache(maxsize=4096)
def cues(text: str) -> Cues:
    low = text.lower()
    found: set[str] = set()
    for w in _WORD.findall(low):
        found.update(_LISTS.labels(w))
    found.update(label for _, label in _LISTS.substrings(low))
    if _EN_RIGHT.search(low):
        found.add("right")
    lift = "lift" in found or any(p in low for p in _LIFT_PHRASES)
    blocks = tuple(c for c in colors_in(text) if c in BLOCK_COLORS)
    return Cues(frozenset(found & _PLACE_NAMES), blocks, lift, "inside" in found)


def kinds_allowed(c: Cues) -> frozenset[str] | None:
    """The task kinds the words leave open, or None when they do not settle it: exactly one place named -
    the bowl: put-in; the plate: put-on; one direction: that push; no place at all - a verb of picking up
    and one block colour: a pick-up; two block colours and no such verb: a stack. Otherwise (two places,
    "push it right, next to the bowl"; no verb the lists know; a language they do not cover): None."""
    if len(c.places) > 1:
        return None
    if c.places:
        (place,) = tuple(c.places)
        return frozenset({{"bowl": "put_in", "plate": "put_on"}.get(place, f"push_{place}")})
    if c.lift and len(c.blocks) == 1:
        return frozenset({"pick"})
    if not c.lift and len(c.blocks) >= 2:
        return frozenset({"stack"})
    return None


def consistent(instruction: str, c: Cues) -> bool | None:
    """Does a built-in task instruction agree with the command's words? None for an instruction that is not
    a built-in task (a lab's own: the lists know nothing of its objects). It agrees when its kind is one the
    words allow (`kinds_allowed`, when they settle it) and, when the words name block colours, it moves a
    block of one of them (and, for a stack onto a named colour, the other is named too)."""
    try:
        task = task_from_instruction(instruction)
    except TaskError:
        return None
    allowed = kinds_allowed(c)
    if allowed is not None and task.kind not in allowed:
        return False
    if c.blocks:
        colors = [task.obj.split()[0]]
        if task.target and task.target.endswith("block"):
            colors.append(task.target.split()[0])
        if not all(col in c.blocks for col in colors[: len(c.blocks)]):
            return False
    return True


def agreeing(ranked: list[tuple[str, float]], text: str) -> list[tuple[str, float]]:
    """The ranked answers whose built-in task instructions agree with the command's words (`consistent`;
    answers that are not built-in tasks are kept), in their order; the whole ranking when no task answer
    agrees (the words are wrong or unknown: the restater's choice stands)."""
    keep = _agreeing(text, tuple(a for a, _ in ranked))
    return list(ranked) if keep is None else [(a, s) for a, s in ranked if a in keep]


@lru_cache(maxsize=65536)
def _agreeing(text: str, answers: tuple[str, ...]) -> frozenset[str] | None:
    c = cues(text)
    if not c.places and not c.blocks:
        return None
    verdicts = {a: consistent(a, c) for a in answers}
    if not any(verdicts.values()):
        return None
    return frozenset(a for a, v in verdicts.items() if v is not False)


def _fixture_of(word: str) -> str | None:
    """"bowl", "plate" or "table" for a word that names one of them (the word lists above, a no-space form
    too), else None."""
    labels = _LISTS.labels(word) + [label for _, label in _LISTS.substrings(word)]
    return next((f for f in ("bowl", "plate", "table") if f in labels), None)


@lru_cache(maxsize=4096)
def moved_fixture(text: str, lang: str = "") -> str | None:
    """The fixed object ("bowl", "plate", "table") the command would have the robot move, or None.

    Scripts without spaces: the object marked as such (Chinese 把 X, Japanese X を, Korean X 을/를). Other
    scripts: the first word naming a fixed object comes before any block colour, and the word before it
    (articles and colour words skipped) is not a preposition - "put the bowl on the red block", "soulève la table", but not
    "put the red block in the bowl" or "into the bowl, put the green block". `lang` "nl" reads "de" as an
    article, "pt" "a" and "as"."""
    m = _OBJECT_MARKED.search(text)
    if m:
        return _fixture_of(next(g for g in m.groups() if g))
    if NO_SPACES.search(text):
        return None

    tokens = _WORD.findall(text.lower())
    # a word that is an article in one language and a preposition in another ("en", "a", "de") counts as a
    # preposition: the safe reading (no refusal), except in a language where it is an article
    prepositions = _PREPOSITIONS - _ARTICLE_HERE.get(lang, set())
    articles = _ARTICLES - prepositions
    for i, tok in enumerate(tokens):
        if word_color(tok) in BLOCK_COLORS:
            return None  # a block colour first: the block is what moves
        fixture = _fixture_of(tok)
        if fixture is None:
            continue
        j = i - 1
        while j >= 0 and (tokens[j] in articles or word_color(tokens[j]) is not None):  # "on the white plate"
            j -= 1
        if j >= 0 and tokens[j] in prepositions:
            return None
        return fixture
    return None


@lru_cache(maxsize=4096)
def fixture_colors(text: str) -> frozenset[str]:
    """The colours the command gives the bowl, the plate or the table rather than a block: a colour word
    right before one of them ("the white plate", "白い皿", "白色的盘子", "흰 접시") or right after it ("el
    plato blanco"). `core.language.understand` does not hold these against the scene's blocks."""
    low = text.lower()
    spans = [(m.start(), m.end()) for m in _WORD.finditer(low)
             if not NO_SPACES.search(m.group(0)) and _fixture_of(m.group(0)) is not None]
    spans += [(a, b) for a, b, label in _LISTS.spans(low) if label in ("bowl", "plate", "table")]
    return frozenset(c for a, b, c in color_spans(text)
                     if any(0 <= fa - b <= 2 or (a - fb == 1 and low[fb].isspace()) for fa, fb in spans))


@lru_cache(maxsize=4096)
def impossible(text: str) -> str | None:
    """A block task no robot can do, from the words alone: "itself" (a block stacked on itself: one block
    colour named twice, or with a word for itself, and nothing else) or "inside" (a block put inside another
    block: two block colours and a word for into/inside, no bowl or plate); None otherwise."""
    c = cues(text)
    if c.places:  # a place or a direction: not a block on or in another
        return None
    mentions = [col for _, _, col in color_spans(text) if col in BLOCK_COLORS]
    if len(set(mentions)) == 1 and not c.lift and (len(mentions) >= 2 or any(w in text.lower() for w in _ITSELF)):
        return "itself"
    if len(set(mentions)) >= 2 and c.inside:
        return "inside"
    return None


__all__ = ["Cues", "agreeing", "consistent", "cues", "fixture_colors", "impossible", "kinds_allowed", "moved_fixture"]
