"""Questions and exact answers about a tabletop scene, computed from simulator ground truth.

Pure Python (no torch, no numpy): used to build the vision training data, the held-out scene-VQA
set that guards against forgetting, and the targets of the vision tower's pretraining.
Left/right are the robot's (+y is left), which is also image-left in the front camera.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from core.types import SceneState

COLORS = ("red", "green", "blue", "yellow")
CONTAINER_RADIUS = 0.06  # a block whose centre is this close (xy) to a container's centre is "in"/"on" it
MARGIN = 0.04  # relations closer than this are ambiguous to the eye and are not asked
QUESTION_KINDS = (
    "present",
    "count",
    "colors",
    "leftmost",
    "rightmost",
    "nearest",
    "bowl_nearest",
    "side",
    "in_bowl",
    "on_plate",
)
NUMBER_WORDS = {"zero": "0", "none": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5"}


@dataclass(frozen=True)
class QA:
    kind: str
    question: str
    answer: str


@dataclass(frozen=True)
class SceneFacts:
    """Ground truth in the form the questions need. Positions are (x, y) in metres."""

    blocks: dict[str, tuple[float, float]]  # colour -> xy, blocks on the table only
    bowl: tuple[float, float]
    plate: tuple[float, float]
    in_bowl: str | None  # colour of the block in the bowl (at most one is reported)
    on_plate: str | None
    held: str | None


def _xy_dist(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def on_table(pos: tuple[float, float, float]) -> bool:
    """Whether a position is on (or just above) the table top, i.e. visible in the scene."""
    return 0.0 <= pos[0] <= 0.9 and abs(pos[1]) <= 0.5 and -0.01 <= pos[2] <= 0.3


def scene_facts(scene: SceneState) -> SceneFacts:
    blocks = {o.color: (o.pos[0], o.pos[1]) for o in scene.objects if o.kind == "block" and on_table(o.pos)}
    bowl = scene.get("bowl").pos[:2]
    plate = scene.get("plate").pos[:2]
    in_bowl = [c for c in COLORS if c in blocks and _xy_dist(blocks[c], bowl) < CONTAINER_RADIUS]
    on_plate = [c for c in COLORS if c in blocks and _xy_dist(blocks[c], plate) < CONTAINER_RADIUS]
    return SceneFacts(
        blocks=blocks,
        bowl=(bowl[0], bowl[1]),
        plate=(plate[0], plate[1]),
        in_bowl=in_bowl[0] if in_bowl else None,
        on_plate=on_plate[0] if on_plate else None,
        held=scene.held.split()[0] if scene.held else None,
    )


def _extreme(values: dict[str, float], largest: bool) -> str | None:
    """The key with the largest (or smallest) value, if it wins by at least MARGIN."""
    if len(values) < 2:
        return None
    order = sorted(values, key=values.get, reverse=largest)
    if abs(values[order[0]] - values[order[1]]) < MARGIN:
        return None
    return order[0]


def _list_words(colors: list[str]) -> str:
    if len(colors) == 1:
        return colors[0]
    return ", ".join(colors[:-1]) + " and " + colors[-1]


def answers(facts: SceneFacts) -> dict[str, str | dict[str, str]]:
    """Every answer the scene supports, by question kind; colour-parameterised kinds map colour -> answer."""
    out: dict[str, str | dict[str, str]] = {}
    b = facts.blocks
    out["present"] = {c: ("yes" if c in b else "no") for c in COLORS}
    out["count"] = str(len(b))
    if b:
        out["colors"] = _list_words([c for c in COLORS if c in b])
    free = {c: xy for c, xy in b.items() if c not in (facts.in_bowl, facts.on_plate)}
    for kind, key, largest in (("leftmost", 1, True), ("rightmost", 1, False), ("nearest", 0, False)):
        win = _extreme({c: xy[key] for c, xy in b.items()}, largest)
        if win:
            out[kind] = win
    win = _extreme({c: _xy_dist(xy, facts.bowl) for c, xy in free.items()}, largest=False)
    if win:
        out["bowl_nearest"] = win
    side = {c: ("left" if xy[1] > facts.bowl[1] else "right") for c, xy in free.items()
            if abs(xy[1] - facts.bowl[1]) >= MARGIN}
    if side:
        out["side"] = side
    out["in_bowl"] = facts.in_bowl or "nothing"
    out["on_plate"] = facts.on_plate or "nothing"
    return out


_TEMPLATES = {
    "present": "Is there a {c} block?",
    "count": "How many blocks are there?",
    "colors": "What colors are the blocks?",
    "leftmost": "Which block is furthest to the left?",
    "rightmost": "Which block is furthest to the right?",
    "nearest": "Which block is closest to the robot?",
    "bowl_nearest": "Which block is closest to the bowl?",
    "side": "Is the {c} block left or right of the bowl?",
    "in_bowl": "What is in the bowl?",
    "on_plate": "What is on the plate?",
}


def questions(scene: SceneState, rng: random.Random | None = None, per_color: int = 1) -> list[QA]:
    """One question per supported kind (colour kinds: `per_color` colours, balanced yes/no for
    "present"), in a fixed order unless `rng` is given, in which case colours and order are random."""
    ans = answers(scene_facts(scene))
    out: list[QA] = []
    for kind in QUESTION_KINDS:
        if kind not in ans:
            continue
        a = ans[kind]
        if isinstance(a, dict):
            colors = list(a)
            if kind == "present":  # pair one present with one absent colour when possible
                yes = [c for c in colors if a[c] == "yes"]
                no = [c for c in colors if a[c] == "no"]
                if rng:
                    rng.shuffle(yes)
                    rng.shuffle(no)
                colors = [c for pair in zip(yes, no, strict=False) for c in pair] + yes[len(no):] + no[len(yes):]
                colors = colors[: max(per_color, 2)]
            elif rng:
                rng.shuffle(colors)
                colors = colors[:per_color]
            else:
                colors = colors[:per_color]
            out.extend(QA(kind, _TEMPLATES[kind].format(c=c), a[c]) for c in colors)
        else:
            out.append(QA(kind, _TEMPLATES[kind], a))
    if rng:
        rng.shuffle(out)
    return out


def describe(facts: SceneFacts) -> str:
    """A one-or-two sentence caption of the scene (used for chat training; not part of the VQA set)."""
    colors = [c for c in COLORS if c in facts.blocks]
    if not colors:
        text = "I see a bowl and a plate, and no blocks."
    elif len(colors) == 1:
        text = f"I see a bowl, a plate and one block: {colors[0]}."
    else:
        text = f"I see a bowl, a plate and {len(colors)} blocks: {_list_words(colors)}."
    if facts.in_bowl:
        text += f" The {facts.in_bowl} block is in the bowl."
    if facts.on_plate:
        text += f" The {facts.on_plate} block is on the plate."
    return text


DESCRIBE_QUESTION = "Describe the scene."


def normalize_answer(text: str) -> str:
    """Lower-case, strip punctuation and articles, map number words to digits; lists become sorted."""
    t = text.strip().lower()
    t = t.split("\n")[0]
    for ch in ".,!?;:\"'()[]":
        t = t.replace(ch, " ")
    words = [NUMBER_WORDS.get(w, w) for w in t.split() if w not in ("a", "an", "the", "and", "block", "blocks")]
    return " ".join(words)


def is_correct(prediction: str, gold: str) -> bool:
    """Normalised exact match; list answers ("red, green and blue") match in any order."""
    p, g = normalize_answer(prediction), normalize_answer(gold)
    if "," in gold or " and " in gold:
        return sorted(p.split()) == sorted(g.split())
    return p == g
