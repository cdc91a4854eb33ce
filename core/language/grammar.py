"""Character-level acceptors for constrained decoding (pure Python, hashable states).

An acceptor says, character by character, whether a text can still become valid output. The model
side (`core.model.constrained`) lifts this to tokens: a token is allowed when every character of it
keeps the acceptor alive, and end-of-text is allowed only in an accepting state. States are small
hashable values so the allowed-token set of a state can be cached.

- `ActionListAcceptor`: the canonical list form `[[dx, dy, dz, g], ...]` written by `render_list`
  (one decimal, |v| <= 10.0 cm, gripper 0/1, single spaces after commas). Everything it accepts parses.
- `PrefixSetAcceptor`: exactly one of a fixed set of strings (subtask lists of the known tasks).
- `LexiconAcceptor`: words from a fixed lexicon separated by single spaces or ", " (motion plans).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Protocol

from core.language.spec import MAX_AXIS_CM

State = Hashable
DEAD = None


class Acceptor(Protocol):
    alphabet: frozenset[str]

    def start(self) -> State: ...

    def step(self, state: State, ch: str) -> State | None: ...

    def accepting(self, state: State) -> bool: ...


def feed(acc: Acceptor, state: State, text: str) -> State | None:
    """Run `text` from `state`; None as soon as it cannot continue to valid output."""
    for ch in text:
        if state is DEAD:
            return DEAD
        state = acc.step(state, ch)
    return state


def accepts(acc: Acceptor, text: str) -> bool:
    s = feed(acc, acc.start(), text)
    return s is not DEAD and acc.accepting(s)


# ---- numbers: -?(10.0|[0-9].[0-9]) ------------------------------------------------------------------
_DIGITS = "0123456789"
_RULES = ("free", "+", "-", "++", "--", "small")


def _num_step(sub: str, ch: str) -> str | None:
    if sub == "S":
        return "M" if ch == "-" else ("D1" if ch == "1" else "D" if ch in _DIGITS else None)
    if sub == "M":
        return "D1" if ch == "1" else "D" if ch in _DIGITS else None
    if sub == "D1":
        return "D10" if ch == "0" else "P" if ch == "." else None
    if sub in ("D", ):
        return "P" if ch == "." else None
    if sub == "D10":
        return "P0" if ch == "." else None
    if sub == "P":
        return "E" if ch in _DIGITS else None
    if sub == "P0":
        return "E" if ch == "0" else None
    return None


class ActionListAcceptor:
    """`[[n, n, n, g], [n, n, n, g]]` with at most `max_entries` entries.

    The first entry can be held to the plan the model just wrote (`core.language.plan.first_entry_rule`):
    `first_rule` gives per axis (dx, dy, dz) "++" / "--" (at least 1.0 cm that way), "+" / "-" (strictly
    that way), "small" (under 1.0 cm either way) or "free"; `first_gripper` fixes its gripper value.
    """

    alphabet = frozenset("[]0123456789.,- ")

    def __init__(self, max_entries: int = 16, first_rule: tuple[str, str, str] = ("free", "free", "free"),
                 first_gripper: int | None = None) -> None:
        if MAX_AXIS_CM < 10.0:
            raise ValueError("the number grammar assumes entries up to 10.0 cm")
        self.max_entries = max_entries
        if len(first_rule) != 3 or not set(first_rule) <= set(_RULES):
            raise ValueError(f"first_rule must be 3 of {_RULES}, got {first_rule!r}")
        self.first_rule = tuple(first_rule)
        self.first_gripper = first_gripper

    def start(self) -> State:
        return ("open", 0)

    def accepting(self, state: State) -> bool:
        return state == ("end",)

    def _num(self, state: tuple, ch: str) -> State | None:
        _, n, k, sub = state[:4]
        if sub == "E":
            return ("sp", n, k) if ch == "," else DEAD
        want = self.first_rule[k] if n == 1 else "free"
        if sub == "S" and ((want in ("+", "++") and ch == "-") or (want in ("-", "--") and ch != "-")):
            return DEAD
        if sub in ("S", "M") and ch in _DIGITS and (
                (want in ("++", "--") and ch == "0") or (want == "small" and ch != "0")):
            return DEAD  # the integer part says whether the entry moves at least 1 cm along this axis
        nxt = _num_step(sub, ch)
        if nxt is None:
            return DEAD
        if want not in ("+", "-"):
            return ("num", n, k, nxt)
        nonzero = (len(state) > 4 and state[4]) or ch in "123456789"
        if nxt == "E" and not nonzero:
            return DEAD  # "0.0" / "-0.0" is no motion along an axis the plan names
        return ("num", n, k, nxt, nonzero)

    def step(self, state: State, ch: str) -> State | None:  # noqa: C901 - a flat state table
        kind = state[0]
        if kind == "open":
            if ch != "[":
                return DEAD
            return ("open", 1) if state[1] == 0 else ("num", 1, 0, "S")
        if kind == "num":
            return self._num(state, ch)
        if kind == "sp":
            _, n, k = state
            if ch != " ":
                return DEAD
            return ("num", n, k + 1, "S") if k < 2 else ("grip", n)
        if kind == "grip":
            if state[1] == 1 and self.first_gripper is not None and ch != str(self.first_gripper):
                return DEAD
            return ("gripped", state[1]) if ch in "01" else DEAD
        if kind == "gripped":
            return ("after", state[1]) if ch == "]" else DEAD
        if kind == "after":
            n = state[1]
            if ch == "]":
                return ("end",)
            return ("comma", n) if ch == "," and n < self.max_entries else DEAD
        if kind == "comma":
            return ("bracket", state[1]) if ch == " " else DEAD
        if kind == "bracket":
            return ("num", state[1] + 1, 0, "S") if ch == "[" else DEAD
        return DEAD


class SameGripperAcceptor:
    """An action list (`ActionListAcceptor`) whose entries all keep the first entry's gripper value: what
    a plan that says nothing of the gripper allows (`core.language.plan.motion_plan` names every gripper
    change, so no expert window breaks this)."""

    def __init__(self, inner: ActionListAcceptor) -> None:
        self.inner = inner
        self.alphabet = inner.alphabet

    def start(self) -> State:
        return (self.inner.start(), "")

    def accepting(self, state: State) -> bool:
        return self.inner.accepting(state[0])

    def step(self, state: State, ch: str) -> State | None:
        inner, grip = state
        nxt = self.inner.step(inner, ch)
        if nxt is DEAD:
            return DEAD
        if inner[0] == "grip":
            if grip and ch != grip:
                return DEAD
            grip = ch
        return (nxt, grip)


class PrefixSetAcceptor:
    """Exactly one string of a fixed set (e.g. every valid subtask list)."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.texts = frozenset(texts)
        if not self.texts:
            raise ValueError("PrefixSetAcceptor needs at least one string")
        self._prefixes = frozenset(t[:i] for t in self.texts for i in range(len(t) + 1))
        self.alphabet = frozenset("".join(self.texts))

    def start(self) -> State:
        return ""

    def step(self, state: State, ch: str) -> State | None:
        nxt = state + ch  # type: ignore[operator]
        return nxt if nxt in self._prefixes else DEAD

    def accepting(self, state: State) -> bool:
        return state in self.texts


class LexiconAcceptor:
    """Words of `lexicon`, separated by one space or ", ", at most `max_words` words, non-empty."""

    def __init__(self, lexicon: Iterable[str], max_words: int = 80) -> None:
        self.words = frozenset(w for w in lexicon if w)
        if not self.words:
            raise ValueError("LexiconAcceptor needs at least one word")
        self._prefixes = frozenset(w[:i] for w in self.words for i in range(1, len(w) + 1))
        self.alphabet = frozenset("".join(self.words)) | {" ", ","}
        self.max_words = max_words

    def start(self) -> State:
        return ("", 0, "")  # (partial word, words done, pending separator)

    def step(self, state: State, ch: str) -> State | None:
        word, n, sep = state  # type: ignore[misc]
        if ch == ",":
            return (("", n + 1, ",") if word in self.words and not sep and n + 1 < self.max_words else DEAD)
        if ch == " ":
            if sep == ",":
                return ("", n, " ")
            return ("", n + 1, " ") if word in self.words and n + 1 < self.max_words else DEAD
        if sep == ",":
            return DEAD  # "," must be followed by a space
        nxt = word + ch
        return (nxt, n, "") if nxt in self._prefixes else DEAD

    def accepting(self, state: State) -> bool:
        word, _, sep = state  # type: ignore[misc]
        return word in self.words and not sep


def plan_lexicon() -> frozenset[str]:
    """Every word `core.language.plan.motion_plan` can write."""
    from core.language.plan import AXIS_WORDS

    words = {w for pair in AXIS_WORDS for w in pair}
    words |= {"move", "slightly", "and", "then", "close", "open", "the", "gripper", "stay", "still", "more"}
    words |= {"rotate", "left", "right"}
    return frozenset(words)
