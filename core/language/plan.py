"""Motion plans in words: "move left and slightly forward, then down, then close the gripper"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.language.spec import GRIPPER_OPEN, Chunk

AXIS_WORDS = (("forward", "backward"), ("left", "right"), ("up", "down"))
MINOR = 0.3  # an axis below this fraction of the largest one is not mentioned
SLIGHT = 0.6  # ... below this fraction it is "slightly"
MIN_PHASE_CM = 0.5  # phases with less net motion (L1) are left out of the plan
MAX_PHASES = 8  # longer plans merge their smallest motion phases into a neighbour
MAX_PLAN_CHARS = 300


def direction_words(v: Sequence[float]) -> str:
    """Words for a displacement (x, y, z): "left and slightly forward"; "" for no motion."""
    mags = [abs(c) for c in v[:3]]
    top = max(mags)
    if top <= 0.0:
        return ""
    order = sorted(range(3), key=lambda a: -mags[a])
    words = []
    for a in order:
        if mags[a] < MINOR * top or mags[a] < 0.05:
            continue
        w = AXIS_WORDS[a][0 if v[a] > 0 else 1]
        words.append(f"slightly {w}" if mags[a] < SLIGHT * top else w)
    return _join(words)


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _signature(v: Sequence[float]) -> frozenset[tuple[int, int]]:
    """Dominant axes and their signs."""
    mags = [abs(c) for c in v[:3]]
    top = max(mags)
    if top <= 0.0:
        return frozenset()
    return frozenset((a, 1 if v[a] > 0 else -1) for a in range(3) if mags[a] >= 0.5 * top)


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    na = sum(c * c for c in a) ** 0.5
    nb = sum(c * c for c in b) ** 0.5
    return sum(x * y for x, y in zip(a, b)) / (na * nb) if na and nb else -1.0


@dataclass
class _Phase:
    vec: list[float] | None  # None for a gripper action
    words: str = ""
    n: int = 1


def _merge_blends(phases: list[_Phase]) -> list[_Phase]:
    """Fold single-entry phases that only blend their neighbours' directions (a rounded corner between
    "forward" and "down" reads "forward and down") into the neighbour they resemble most."""
    changed = True
    while changed:
        changed = False
        for i, p in enumerate(phases):
            if p.vec is None or p.n != 1:
                continue
            near = [j for j in (i - 1, i + 1) if 0 <= j < len(phases) and phases[j].vec is not None]
            if not near:
                continue
            union = frozenset().union(*(_signature(phases[j].vec or []) for j in near))
            if not _signature(p.vec) <= union:
                continue
            j = max(near, key=lambda j: _cosine(p.vec or [], phases[j].vec or []))
            q = phases[j]
            assert q.vec is not None
            q.vec = [a + b for a, b in zip(q.vec, p.vec)]
            q.n += 1
            del phases[i]
            changed = True
            break
    return phases


def _limit(phases: list[_Phase]) -> list[_Phase]:
    """Merge the smallest motion phase into its most similar adjacent motion phase until short enough."""
    while len(phases) > MAX_PHASES:
        best: tuple[float, int, int] | None = None
        for i, p in enumerate(phases):
            if p.vec is None:
                continue
            near = [j for j in (i - 1, i + 1) if 0 <= j < len(phases) and phases[j].vec is not None]
            if near:
                j = max(near, key=lambda j: _cosine(p.vec or [], phases[j].vec or []))
                size = sum(abs(c) for c in p.vec)
                if best is None or size < best[0]:
                    best = (size, i, j)
        if best is None:
            break
        _, i, j = best
        q, p = phases[j], phases[i]
        assert q.vec is not None and p.vec is not None
        q.vec = [a + b for a, b in zip(q.vec, p.vec)]
        q.n += p.n
        del phases[i]
    return phases


def motion_plan(chunks: Sequence[Chunk], initial_gripper: int = GRIPPER_OPEN) -> str:
    """A short plan for a list of entries: motion phases and gripper actions, joined by ", then "."""
    phases: list[_Phase] = []
    grip = initial_gripper
    for ch in chunks:
        if ch.gripper != grip:
            phases.append(_Phase(None, "close the gripper" if ch.gripper == 0 else "open the gripper"))
            grip = ch.gripper
        if ch.is_still():
            continue
        v = [ch.dx, ch.dy, ch.dz]
        last = phases[-1] if phases else None
        if last is not None and last.vec is not None and _signature(last.vec) == _signature(v):
            last.vec = [a + b for a, b in zip(last.vec, v)]
            last.n += 1
        else:
            phases.append(_Phase(v))
    words: list[str] = []
    moving_before = False
    for p in _limit(_merge_blends(phases)):
        if p.vec is not None:
            if sum(abs(c) for c in p.vec) < MIN_PHASE_CM:
                continue
            w = direction_words(p.vec)
            if not w or (moving_before and words[-1].removeprefix("move ") == w):
                continue
            words.append(w if moving_before else f"move {w}")
            moving_before = True
        else:
            words.append(p.words)
            moving_before = False
    text = ", then ".join(words) if words else "stay still"
    if len(text) > MAX_PLAN_CHARS:  # only with pathological gripper toggling
        text = text[: text.rfind(", then ", 0, MAX_PLAN_CHARS - 10)] + ", then more"
    return text


def first_entry_rule(plan: str) -> tuple[tuple[str, str, str], int | None] | None:
    """What the plan's first phase asks of an action list's first entry, for `ActionListAcceptor`.

    Per axis (dx, dy, dz): "++" / "--" at least 1 cm that way (a direction the phase states firmly),
    "+" / "-" some motion that way (a "slightly" direction), "small" under 1 cm (an axis the phase does
    not name); a phase "close/open the gripper" makes every axis "small" and fixes the gripper (0 / 1).
    None for "stay still" or a plan with no phase. 94% of the scripted expert's first entries follow
    this rule (225 of 239 first action questions of 80 demos); the rest are phases shorter than 1 cm.

    "move forward and slightly left, then down" -> (("++", "+", "small"), None).
    """
    first = plan.split(", then ")[0].strip()
    if first.endswith("the gripper") and first.split()[0] in ("open", "close"):
        return ("small", "small", "small"), (GRIPPER_OPEN if first.startswith("open") else 0)
    rule = ["small", "small", "small"]
    named = False
    for w in first.removeprefix("move ").replace(" and ", ", ").split(", "):
        slight = w.startswith("slightly ")
        w = w.removeprefix("slightly ")
        for axis, (pos, neg) in enumerate(AXIS_WORDS):
            if w in (pos, neg):
                rule[axis] = ("+" if w == pos else "-") if slight else ("++" if w == pos else "--")
                named = True
    return ((rule[0], rule[1], rule[2]), None) if named else None
