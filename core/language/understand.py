"""What the robot makes of a command before it moves: act on it, ask which block, or refuse (pure logic).

The restater ranks a command against every answer it knows (`core.language.restate.answers`): the task
instructions, the *open* instructions (a task whose block the command does not name) and `NONE_ANSWER`
(nothing the robot can do). `decide` turns that ranking, the scene and the command into an `Understanding`:

1. **refuse** (the three refusals the words settle - a fixed object, not here by its words, impossible -
   come first, so a command the ranking rejects too is told what is wrong with it, e.g. "I see no “tasse”");
   **refuse, no task**: `NONE_ANSWER` scores less than `none_margin` below the best other answer (a
   larger margin refuses more; a question-like command — `looks_like_question` — uses `question_margin`,
   so a question sent with "Do it" is refused more readily), or when neither the best task nor the best
   open instruction scores `task_floor` (the restater is sure of nothing);
   **refuse, a fixed object**: the command's words make the bowl, the plate or the table the thing moved
   (`core.language.cues.moved_fixture`: "put the bowl on the red block", "把盘子叠在红色方块上"); the answer
   says the object stays where it is and what the robot can do;
   **refuse, not here by its words** (`not_here`, when the scene is known): the command names an everyday
   thing that is not a block (`core.language.objects`: "coge la pelota roja", "mets la pomme dans le bol"),
   quoted in the answer, or a colour of the lexicon that no block has and that is not the bowl's or the
   plate's ("ta det vita blocket"; "the white plate" is not a white block) - before any question back;
   **refuse, impossible** (`core.language.cues.impossible`): a block on itself, or inside another block;
2. **ask**: the best open instruction beats the best task instruction by more than `open_margin`; the
   question lists the blocks in the scene;
3. **refuse, not here**: the best task instruction names an object the scene does not hold (`missing`),
   or the command's words name a colour (`named`, from the word glosses over the basic colour terms,
   `core.language.restate.named_colors` with `COLOR_GAIN`, and from the colour lexicon,
   `core.language.colors.colors_in`) that no block in the scene has, and none of the colours the chosen
   instruction names ("pick up the purple block" is not "pick up the red block");
4. **act** on the best task instruction that the command's words agree with (`core.language.cues`: no
   destination, direction or block colour the words do not name; the restater's best when none agrees).

The margins are chosen on the dev set only (`bench/data/dev_refusal.py`, `bench/eval/refusal.py --dev`;
docs/training.md); the held-out refusal set is measured once with them. The chat's answer is written in
the command's language where this module has the words (`language_of`, `core.language.replies`), in
English otherwise. No torch here: the ranking comes in as (answer, score) pairs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from core.language import more_words
from core.language.catalogue import subtask_objects
from core.language.colors import colors_in
from core.language.cues import agreeing, consistent, cues, fixture_colors, impossible, kinds_allowed, moved_fixture
from core.language.objects import others_in
from core.language.replies import ask_message, fixed_message, impossible_message, refuse_message
from core.language.restate import NONE_ANSWER, OPEN_INSTRUCTIONS, is_task_answer, open_kind
from core.robot.tasks import BLOCK_COLORS, TaskError, task_from_instruction

# Chosen on the dev set (`python bench/eval/refusal.py --dev`, docs/training.md "Refusal") for the shipped
# restater, which is trained to answer `NONE_ANSWER` and the open instructions: refuse when `NONE_ANSWER`
# comes within 4 of the best other answer (8 for a question-like command), ask when an open instruction
# beats every task, no floor (with its calibration weight, `core.language.restate.PRIOR_WEIGHT`). See `decide`.
NONE_MARGIN = 4.0
QUESTION_MARGIN = 8.0
OPEN_MARGIN = 0.0
TASK_FLOOR = float("-inf")
# How clearly a word must name one colour (its calibrated gloss over every other colour's) to count as
# naming it (`core.language.restate.named_colors`); chosen on the dev set with the margins.
COLOR_GAIN = 3.0

_QUESTION_START = re.compile(
    r"^(what|which|where|how|is|are|does|do|can|could|who|why|when|qu[eé]|cu[aá]l|d[oó]nde|c[oó]mo|hay|est[aá]|"
    r"quel|quelle|o[uù]|combien|est-ce|y a-t-il|was|welche|welcher|wo|wie|gibt|ist|sind)\b",
    re.IGNORECASE,
)


# a request put as a question ("could you ...?"): its opening words in the Latin, Greek and Cyrillic
# scripts, its ending in Turkish, Japanese and Korean, its opening in Chinese; or a word of politeness
# anywhere ("please", "bitte", "por favor", ...)
_REQUEST = re.compile(
    r"^(?:please\s+)?(?:can|could|would|will)\s+(?:you|u)\b|^would you mind\b"
    r"|^(?:¿\s*)?(?:me\s+)?(?:puedes|podr[ií]as|puede|podr[ií]a)\b"
    r"|^(?:peux-tu|pourrais-tu|pouvez-vous|pourriez-vous|tu peux|tu pourrais|vous pouvez)\b"
    r"|^(?:kannst du|k[öo]nntest du|k[öo]nnen sie|k[öo]nnten sie|w[üu]rdest du)\b"
    r"|^(?:mi\s+)?(?:puoi|potresti|pu[oò]i|potrebbe)\b|^(?:voc[eê] )?(?:pode|poderia|podes)\b"
    r"|^(?:kun je|kan je|kunt u|zou je|wil je)\b|^(?:czy )?(?:mo[zż]esz|m[oó]g[lł]by[sś]|mo[zż]e pan|mo[zż]e pani)\b"
    r"|^(?:можешь|можете|не могли бы|не мог бы|можеш)\b"
    r"|^(?:kan du|kunne du|skulle du kunna|vil du|kunde du)\b|^(?:voisitko|voitko|voisitteko|voitteko)\b"
    r"|^(?:můžeš|mohl bys|mohla bys|mohli byste|můžete)\b|^(?:tudn[áa]d|tudn[áa]|tudsz)\b"
    r"|^(?:po[țt]i|pute[țt]i|ai putea)\b|^(?:μπορείς|μπορείτε)\b|^(?:bisakah|bisa|dapatkah)\b"
    r"|^(?:b[ạa]n c[óo] th[ểe])\b|^(?:क्या आप)|^(?:هل يمكنك|هل تستطيع)"
    r"|\bm[ıi]s[ıi]n(?:[ıi]z)?\s*\??$"
    r"|^(?:请你?|你能|你可以|能不能|可以)"
    r"|(?:てくれ(?:る|ます)か?|てもらえ(?:る|ます)か?|ていただけ(?:る|ます)か?)[？?]?$"
    r"|(?:줄래|줄 수 있어|주시겠어요|줄래요|주실래요|주세요)[？?]?$"
    r"|\b(?:please|pls|bitte|por favor|s'il (?:te|vous) pla[iî]t|per favore|per piacere|alsjeblieft|alstublieft"
    r"|prosz[eę]|пожалуйста|будь ласка|snälla|vær så snill|venligst|lütfen|k[ée]rlek|te rog|v[ăa] rog|prosím"
    r"|παρακαλώ|tolong|làm ơn|vui lòng|कृपया|من فضلك)\b"
    # the fourteen languages of `core.language.more_words`
    "|^(?:" + "|".join(map(re.escape, more_words.REQUEST_OPENINGS)) + ")"
    "|(?:" + "|".join(map(re.escape, more_words.POLITE)) + ")",
    re.IGNORECASE,
)


@lru_cache(maxsize=4096)
def looks_like_question(text: str) -> bool:
    """A question mark (any script) or a question word at the start in a few languages, unless it is a
    request (`looks_like_request`). It routes the chat's Send button (`core.conversation`) and raises the bar
    for acting on a command (`decide`)."""
    t = text.strip()
    if not t or looks_like_request(t):
        return False
    if t[-1] in "?？؟" or t.startswith("¿") or t.endswith("吗") or t.endswith("か"):
        return True
    return bool(_QUESTION_START.match(t))


@lru_cache(maxsize=4096)
def looks_like_request(text: str) -> bool:
    """A task asked for as a question: a request's opening ("could you", "kannst du", "请", "...てくれる？")
    and words that settle a task ("could you grab the red cube for me?"); "can you see the red block?" is
    a question (no task in its words)."""
    t = text.strip()
    return bool(_REQUEST.search(t)) and words_settle(t)


def words_settle(command: str, answers: Iterable[str] | None = None) -> bool:
    """Do the command's words alone name one task kind and its block colours (`core.language.cues`)? With
    `answers`: and one of those task answers agrees with them."""
    c = cues(command)
    allowed = kinds_allowed(c)
    if allowed is None or len(allowed) != 1 or not c.blocks:
        return False
    return answers is None or any(is_task_answer(a) and consistent(a, c) for a in answers)


_STOPWORDS = {
    "es": "el la los las un una en del al con sobre hacia izquierda derecha bloque cubo pieza y por favor pon coge",
    "fr": "le la les un une dans sur vers du au et gauche droite bloc cube pièce mets prends pousse l",
    "de": "der die das den dem ein einen eine in auf nach und links rechts block würfel klotz leg nimm schieb",
    "it": "il lo la gli le un una nel nella sul sulla verso e sinistra destra blocco cubo metti prendi spingi",
    "pt": "o a os as um uma na no em sobre para e esquerda direita bloco cubo coloque pegue empurre",
    "nl": "de het een in op naar en links rechts blok blokje kubus leg pak duw zet",
    "pl": "na do w z i lewo prawo klocek kostkę połóż podnieś przesuń włóż",
}
_STOP = {lang: set(words.split()) for lang, words in _STOPWORDS.items()}


@lru_cache(maxsize=4096)
def language_of(text: str) -> str:
    """The command's language, roughly: by script (ja, ko, zh, ru), else by the most common function and
    task words of a few Latin-script languages; "en" when none wins."""
    if re.search(r"[\u3040-\u30ff]", text):
        return "ja"
    if re.search(r"[\uac00-\ud7af]", text):
        return "ko"
    if re.search(r"[\u4e00-\u9fff]", text):
        return "zh"
    if re.search(r"[\u0400-\u04ff]", text):
        return "ru"
    words = [w.strip(".,;:!?¡¿'\"") for w in re.split(r"[\s'’]+", text.lower())]
    english = sum(w in {"the", "a", "in", "on", "to", "block", "put", "pick", "push", "up", "and", "please", "it"}
                  for w in words)
    scores = {lang: sum(w in stop for w in words) for lang, stop in _STOP.items()}
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] > english else "en"


def instruction_objects(instruction: str) -> list[str]:
    """The objects an instruction names ("stack the red block on the blue block" -> red block, blue block)."""
    return subtask_objects(instruction)


def scene_blocks(present: Iterable[str]) -> list[str]:
    """The block colours among the scene's object names, in the built-in colour order."""
    names = set(present)
    return [c for c in BLOCK_COLORS if f"{c} block" in names]


@dataclass(frozen=True)
class Understanding:
    """`verdict`: "act" (do `instruction`), "ask" (`instruction` is the open instruction; `candidates` the
    blocks to choose from) or "refuse" (`reason`: "no task" or "not in the scene", `missing` the object).
    `message`: what the chat says for "ask" and "refuse" (in `lang` where there are words for it)."""

    verdict: str
    command: str
    instruction: str | None = None
    kind: str | None = None
    reason: str = ""
    missing: str | None = None
    candidates: tuple[str, ...] = ()
    lang: str = "en"
    message: str = ""
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def acts(self) -> bool:
        return self.verdict == "act"


def margins(ranked: Sequence[tuple[str, float]]) -> dict[str, float]:
    """The ranking's three figures the rule reads: the best task answer's score ("task"), the best open
    instruction's ("open") and `NONE_ANSWER`'s ("none"); -inf for one that is not ranked."""
    out = {"task": float("-inf"), "open": float("-inf"), "none": float("-inf")}
    for answer, score in ranked:
        key = "none" if answer == NONE_ANSWER else ("open" if open_kind(answer) else "task")
        out[key] = max(out[key], score)
    return out


def decide(command: str, ranked: Sequence[tuple[str, float]], present: Iterable[str] | None = None, *,
           skills: Sequence[str] = (), none_margin: float = NONE_MARGIN, question_margin: float = QUESTION_MARGIN,
           open_margin: float = OPEN_MARGIN, task_floor: float = TASK_FLOOR,
           pick: Sequence[tuple[str, float]] | None = None, named: Sequence[str] | None = None) -> Understanding:
    """The rule of the module docstring. `ranked`: (answer, score) from the restater, any order (the app
    passes the calibrated ranking, without colour glosses). `present`: the object names in the scene (None:
    unknown, e.g. a real robot without a scene model; then only the ranking decides). `skills`: the lab's
    own task instructions (named in the refusal's "I can ..."). `pick`: the ranking that chooses the task
    instruction once the verdict is to act (the app: with the colour glosses; default `ranked`). `named`: the
    colours the command's words name (None: not known, e.g. a script without spaces)."""
    if not ranked:
        raise ValueError("nothing ranked")
    lang = language_of(command)
    m = margins(ranked)
    best_task = max(((a, s) for a, s in ranked if is_task_answer(a)), key=lambda x: x[1], default=(None, float("-inf")))
    best_open = max(((a, s) for a, s in ranked if open_kind(a)), key=lambda x: x[1], default=(None, float("-inf")))
    names = None if present is None else sorted(set(present))
    blocks = scene_blocks(names) if names is not None else list(BLOCK_COLORS)
    margin = question_margin if looks_like_question(command) else none_margin
    unsure = max(m["task"], m["open"]) < task_floor  # no answer the restater is sure enough of
    doubted = m["none"] > max(m["task"], m["open"]) - margin
    if doubted and margin == none_margin and words_settle(command, (a for a, _ in ranked)):
        doubted = False  # the words name the task and its blocks: they outweigh the restater's doubt
    # what the words alone rule out comes first, so a command the ranking rejects too gets the reason that
    # names what is wrong with it ("I see no “tasse”") rather than the general one
    specific = _by_the_words(command, names, blocks, skills, lang, m)
    if specific is not None:
        return specific
    if doubted or unsure or best_task[0] is None and best_open[0] is None:
        return Understanding("refuse", command, reason="no task", lang=lang, scores=m,
                             message=refuse_message(lang, command, None, None, skills, blocks))
    if best_open[0] is not None and best_open[1] - best_task[1] > open_margin and not cues(command).blocks:
        kind = open_kind(best_open[0])
        return Understanding("ask", command, best_open[0], kind, reason="which block", candidates=tuple(blocks),
                             lang=lang, scores=m, message=ask_message(lang, kind or "", blocks))
    # the block and the kind: the best task answer the command's own words agree with (`core.language.cues`)
    chosen = agreeing(list(pick if pick is not None else ranked), command)
    best_task = max(((a, s) for a, s in chosen if is_task_answer(a)), key=lambda x: x[1], default=best_task)
    instruction = best_task[0]
    kind = _kind(instruction)
    if names is not None:
        missing = next((o for o in instruction_objects(instruction) if o not in names), None)
        if missing is not None:
            return Understanding("refuse", command, instruction, kind, reason="not in the scene", missing=missing,
                                 lang=lang, scores=m,
                                 message=refuse_message(lang, command, instruction, missing, skills, blocks))
    absent = absent_color(_with_lexicon(named, command), blocks, instruction)
    if absent is not None:
        text = " ".join(command.split())
        return Understanding("refuse", command, instruction, kind, reason="not in the scene", missing=absent,
                             lang=lang, scores=m, message=refuse_message(lang, command, text, absent, skills, blocks))
    return Understanding("act", command, instruction, kind, lang=lang, scores=m)


def _by_the_words(command: str, names: Sequence[str] | None, blocks: Sequence[str], skills: Sequence[str], lang: str,
                  m: dict[str, float]) -> Understanding | None:
    """The refusals the command's own words settle, whatever the ranking says: a fixed object moved
    (`moved_fixture`), a block on itself or inside another (`impossible`), a thing or a colour the scene
    does not hold (`not_here`, when the scene is known); None when the words rule out nothing."""
    fixture = moved_fixture(command, lang)
    if fixture is not None and not any(fixture in own for own in skills):  # a lab's task may move its own bowl
        return Understanding("refuse", command, reason="moves a fixed object", missing=fixture, lang=lang, scores=m,
                             message=fixed_message(lang, command, fixture, skills, blocks))
    cannot = impossible(command)
    if cannot is not None and not skills:  # a lab's own tasks may put things inside others
        return Understanding("refuse", command, reason=f"impossible: {cannot}", lang=lang, scores=m,
                             message=impossible_message(lang, command, cannot, skills, blocks))
    stray = not_here(command, names, blocks) if names is not None else None
    if stray is None:
        return None
    what, word = stray
    return Understanding("refuse", command, None, None, reason="not in the scene", missing=what, lang=lang,
                         scores=m, message=refuse_message(lang, command, " ".join(command.split()), what,
                                                          skills, blocks, word=word))


def not_here(command: str, names: Sequence[str], blocks: Sequence[str]) -> tuple[str, str | None] | None:
    """What the command's own words name that the scene does not hold, before any ranking is read: an
    everyday object that is not a block (`core.language.objects`: ("ball", "pelota")), unless a scene object's
    name holds it; else a colour of the lexicon that no block here has and that is not the bowl's or the
    plate's (`core.language.cues.fixture_colors`: "the white plate" is no white block) nor any scene object's
    as ("white object", None) ("green block" for a built-in block colour this scene lacks). None when the
    words name nothing missing."""
    words = {w for n in names for w in n.lower().split()}  # a lab's scene: "blue cup", "shelf"
    for label, word in others_in(command):
        if label not in words and word not in words:
            return label, word
    here = set(blocks) | words | fixture_colors(command)
    absent = [c for c in colors_in(command) if c not in here]
    if not absent:
        return None
    return (f"{absent[0]} block" if absent[0] in BLOCK_COLORS else f"{absent[0]} object"), None


def absent_color(named: Sequence[str] | None, blocks: Sequence[str], instruction: str) -> str | None:
    """"<colour> object" for the first colour the command names that no block in the scene has, when the
    command names none of the colours in `instruction` (the restater mapped an unknown colour onto a known
    block); else None. "put the red block on the white plate" names red: acted on."""
    if not named:
        return None
    words = set(re.findall(r"[a-z]+", instruction.lower()))
    if any(c in words for c in named):
        return None
    absent = [c for c in named if c not in blocks]
    return f"{absent[0]} object" if absent else None


def _with_lexicon(named: Sequence[str] | None, command: str) -> list[str]:
    """The colours the glosses name, then those the colour lexicon (`core.language.colors`) finds that they
    missed; not the bowl's or the plate's (`fixture_colors`: "the white plate" names no white block)."""
    own = fixture_colors(command)
    out = [c for c in (named or []) if c not in own]
    return out + [c for c in colors_in(command) if c not in out and c not in own]


def _kind(instruction: str) -> str | None:
    try:
        return task_from_instruction(instruction).kind
    except TaskError:
        return None


def completions(kind: str, blocks: Sequence[str]) -> list[str]:
    """The task instructions of `kind` over the given block colours: what an answer to "which block?" may
    complete an open instruction to (stack: every ordered pair of two different blocks)."""
    from core.robot.tasks import all_tasks

    have = set(blocks)
    out = []
    for t in all_tasks():
        if t.kind != kind or t.obj.split()[0] not in have:
            continue
        if t.target and t.target.endswith("block") and t.target.split()[0] not in have:
            continue
        out.append(t.instruction)
    return sorted(set(out))


def followup_command(pending: Understanding, reply: str) -> str:
    """The text the restater ranks for a reply to "which block?": the open command and the reply together
    ("pick up the block: the red one"), so the reply's colour completes the kind the command asked for."""
    return f"{pending.command.rstrip(' .!?。！？')}: {reply.strip()}"


__all__ = ["NONE_MARGIN", "OPEN_INSTRUCTIONS", "OPEN_MARGIN", "QUESTION_MARGIN", "TASK_FLOOR", "Understanding", "completions",
           "decide", "followup_command", "instruction_objects", "language_of", "looks_like_question", "looks_like_request",
           "margins", "not_here", "words_settle",
           "scene_blocks"]
