"""Strict parsers for the action language. Every failure is a `ParseError` with the offending span.

Accepted forms (case-insensitive keywords, any whitespace between tokens):
- list:   `[[0.0, 4.2, 0.0, 1], [1.5, 0.0, -3.0, 1]]`, optionally prefixed by `Actions:`;
          every entry has 4 numbers `dx, dy, dz, gripper` or, with yaw, 5 (`..., yaw`);
- phrase: `move forward 1.5 cm and down 3.0 cm, then close the gripper`;
- block:  `Subtask: ...` / `Plan: ...` / `Actions: ...` lines (`parse_block`).

Numbers are plain decimals (`-1.5`, `2`, `0.25`: at most 3 digits before and 3 after the point; no
exponent, no `+`, no NaN/inf). Bounds: |dx|, |dy|, |dz| <= 10 cm, |yaw| <= 90 degrees, gripper 0 or 1,
1..256 entries, input up to 20,000 characters.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from core.language.spec import (
    GRIPPER_CLOSED,
    GRIPPER_OPEN,
    MAX_AXIS_CM,
    MAX_CHUNKS,
    MAX_TEXT_CHARS,
    MAX_YAW_DEG,
    Chunk,
)

log = logging.getLogger(__name__)

MAX_LABEL_CHARS = 500  # Subtask / Plan text
MAX_SUBTASKS = 32

_NUM = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_MAX_INT_DIGITS = 3
_MAX_FRAC_DIGITS = 3
_WORD = re.compile(r"[A-Za-z]+")
_PREFIX = re.compile(r"(actions|subtask|plan)[ \t]*:", re.ASCII | re.IGNORECASE)
_AXES = {"forward": (0, 1), "backward": (0, -1), "left": (1, 1), "right": (1, -1), "up": (2, 1), "down": (2, -1)}


class ParseError(ValueError):
    """Text that is not valid action language. `start`/`end` delimit the offending span of the input."""

    def __init__(self, message: str, start: int, end: int, text: str | None = None) -> None:
        self.message = message
        self.start = start
        self.end = max(start, end)
        where = f"at {self.start}" if self.end <= self.start + 1 else f"at {self.start}..{self.end}"
        excerpt = ""
        if isinstance(text, str) and self.end > self.start:
            snippet = text[self.start : min(self.end, self.start + 40)]
            excerpt = f": {snippet!r}" + ("..." if self.end - self.start > 40 else "")
        super().__init__(f"{message} ({where}{excerpt})")

    @property
    def span(self) -> tuple[int, int]:
        return (self.start, self.end)

    def __reduce__(self) -> tuple:  # picklable across processes
        return (ParseError, (self.message, self.start, self.end))


@dataclass(frozen=True)
class Block:
    """A parsed step block. `subtask`/`plan` are None when their line is absent."""

    subtask: str | None
    plan: str | None
    chunks: tuple[Chunk, ...]


# ---- entry points -----------------------------------------------------------------------------------
def parse(text: str, *, yaw: bool | None = None, initial_gripper: int = GRIPPER_OPEN) -> list[Chunk]:
    """Action entries from the list form (with or without `Actions:`) or the phrase form.

    `yaw`: None infers it (5 numbers per entry / a "rotate" clause), True requires it (phrases without
    rotation get yaw 0.0), False rejects it. `initial_gripper` is the state phrases start from.
    """
    return _guarded(lambda t: _parse_actions(t, 0, len(t), yaw, initial_gripper), text, initial_gripper)


def parse_list(text: str, *, yaw: bool | None = None) -> list[Chunk]:
    """Only the list form (optionally prefixed by `Actions:`)."""

    def run(t: str) -> list[Chunk]:
        start = _after_prefix(t, 0, len(t))
        return _List(t, start, len(t), yaw).parse()

    return _guarded(run, text)


def parse_phrase(text: str, *, yaw: bool | None = None, initial_gripper: int = GRIPPER_OPEN) -> list[Chunk]:
    """Only the phrase form."""
    return _guarded(lambda t: _Phrase(t, 0, len(t), yaw, initial_gripper).parse(), text, initial_gripper)


def parse_block(text: str, *, yaw: bool | None = None, initial_gripper: int = GRIPPER_OPEN) -> Block:
    """A `Subtask:` / `Plan:` / `Actions:` block (the first two optional, in this order)."""
    return _guarded(lambda t: _parse_block(t, yaw, initial_gripper), text, initial_gripper)


def _guarded(fn, text, initial_gripper=GRIPPER_OPEN):  # type: ignore[no-untyped-def]
    if not isinstance(text, str):
        raise ParseError(f"expected text, got {type(text).__name__}", 0, 0)
    if len(text) > MAX_TEXT_CHARS:
        raise ParseError(f"input longer than {MAX_TEXT_CHARS} characters", MAX_TEXT_CHARS, len(text))
    if initial_gripper not in (GRIPPER_OPEN, GRIPPER_CLOSED) or isinstance(initial_gripper, bool):
        raise ParseError(f"initial_gripper must be 0 or 1, got {initial_gripper!r}", 0, 0)
    try:
        return fn(text)
    except ParseError:
        raise
    except Exception as exc:  # a parser bug must still reach the caller as a ParseError
        log.exception("internal parser error")
        raise ParseError(f"internal parser error: {type(exc).__name__}", 0, len(text), text) from exc


# ---- helpers ----------------------------------------------------------------------------------------
def _skip_ws(text: str, i: int, end: int) -> int:
    while i < end and text[i].isspace():
        i += 1
    return i


def _after_prefix(text: str, start: int, end: int) -> int:
    """Position after an optional `Actions:` prefix; other labels are an error here."""
    i = _skip_ws(text, start, end)
    m = _PREFIX.match(text, i, end)
    if m is None:
        return i
    if m.group(1).lower() != "actions":
        raise ParseError(f"'{m.group(1)}:' starts a full step block; use parse_block", i, m.end(), text)
    return _skip_ws(text, m.end(), end)


def _parse_actions(
    text: str, start: int, end: int, yaw: bool | None, grip: int, prefix: bool = True
) -> list[Chunk]:
    i = _after_prefix(text, start, end) if prefix else _skip_ws(text, start, end)
    if i >= end:
        raise ParseError("no actions: the text is empty", i, end, text)
    if text[i] == "[":
        return _List(text, i, end, yaw).parse()
    return _Phrase(text, i, end, yaw, grip).parse()


def _number(text: str, i: int, end: int, what: str) -> tuple[float, int, int]:
    """(value, start, stop) of the plain decimal at `i`."""
    m = _NUM.match(text, i, end)
    if m is None:
        raise ParseError(f"expected a number for {what}", i, min(i + 1, end), text)
    s = m.group()
    whole, _, frac = s.lstrip("-").partition(".")
    if len(whole) > _MAX_INT_DIGITS or len(frac) > _MAX_FRAC_DIGITS:
        raise ParseError(f"too many digits in {what} (at most 3 before and 3 after the point)", i, m.end(), text)
    if m.end() < end and (text[m.end()] in ".eE_" or text[m.end()].isdigit()):
        raise ParseError(f"malformed number for {what}", i, m.end() + 1, text)
    return float(s) + 0.0, i, m.end()


def _check_axis(v: float, s: int, e: int, text: str, what: str) -> None:
    if abs(v) > MAX_AXIS_CM:
        raise ParseError(f"{what} {v:g} cm is out of bounds (at most {MAX_AXIS_CM:g} cm per entry)", s, e, text)


def _check_yaw(v: float, s: int, e: int, text: str) -> None:
    if abs(v) > MAX_YAW_DEG:
        raise ParseError(f"yaw {v:g} degrees is out of bounds (at most {MAX_YAW_DEG:g})", s, e, text)


def _make(vals: list[float], grip: int, yaw: float | None) -> Chunk:
    return Chunk(vals[0], vals[1], vals[2], grip, yaw)


# ---- list form --------------------------------------------------------------------------------------
class _List:
    NAMES = ("dx", "dy", "dz", "gripper", "yaw")

    def __init__(self, text: str, start: int, end: int, yaw: bool | None) -> None:
        self.t, self.i, self.end, self.yaw = text, start, end, yaw

    def _expect(self, ch: str, context: str) -> None:
        self.i = _skip_ws(self.t, self.i, self.end)
        if self.i >= self.end:
            raise ParseError(f"expected '{ch}' {context}, but the text ended", self.end, self.end, self.t)
        if self.t[self.i] != ch:
            raise ParseError(f"expected '{ch}' {context}", self.i, self.i + 1, self.t)
        self.i += 1

    def _peek(self) -> str:
        self.i = _skip_ws(self.t, self.i, self.end)
        return self.t[self.i] if self.i < self.end else ""

    def parse(self) -> list[Chunk]:
        t = self.t
        self._expect("[", "to open the action list")
        if self._peek() == "]":
            raise ParseError("the action list is empty", self.i - 1, self.i + 1, t)
        out: list[Chunk] = []
        arity: int | None = {True: 5, False: 4, None: None}[self.yaw]
        while True:
            if len(out) >= MAX_CHUNKS:
                raise ParseError(f"more than {MAX_CHUNKS} entries", self.i, self.end, t)
            out.append(self._entry(arity))
            arity = 4 if out[-1].yaw is None else 5
            nxt = self._peek()
            if nxt == ",":
                self.i += 1
                if self._peek() == "]":
                    raise ParseError("trailing ',' before ']'", self.i, self.i + 1, t)
                continue
            if nxt == "]":
                self.i += 1
                break
            if nxt == "":
                raise ParseError("the action list is not closed with ']'", self.end, self.end, t)
            raise ParseError("expected ',' or ']' after an entry", self.i, self.i + 1, t)
        rest = _skip_ws(t, self.i, self.end)
        if rest < self.end:
            raise ParseError("unexpected text after the action list", rest, self.end, t)
        return out

    def _entry(self, arity: int | None) -> Chunk:
        t = self.t
        self._expect("[", "to open an entry")
        start = self.i - 1
        vals: list[tuple[float, int, int]] = []
        while True:
            if len(vals) == 5:
                raise ParseError("an entry has at most 5 numbers (dx, dy, dz, gripper, yaw)", start, self.i, t)
            self.i = _skip_ws(t, self.i, self.end)
            if self.i >= self.end:
                raise ParseError("the entry is not closed with ']'", self.end, self.end, t)
            vals.append(_number(t, self.i, self.end, self.NAMES[len(vals)]))
            self.i = vals[-1][2]
            nxt = self._peek()
            if nxt == ",":
                self.i += 1
                continue
            if nxt == "]":
                self.i += 1
                break
            if nxt == "":
                raise ParseError("the entry is not closed with ']'", self.end, self.end, t)
            raise ParseError("expected ',' or ']' inside an entry", self.i, self.i + 1, t)
        n = len(vals)
        if n < 4:
            raise ParseError(f"an entry needs 4 numbers [dx, dy, dz, gripper], got {n}", start, self.i, t)
        if arity is not None and n != arity:
            what = "with yaw (5 numbers)" if arity == 5 else "without yaw (4 numbers)"
            raise ParseError(f"every entry must be {what}; this one has {n}", start, self.i, t)
        for k in range(3):
            _check_axis(vals[k][0], vals[k][1], vals[k][2], t, self.NAMES[k])
        g, gs, ge = vals[3]
        if g not in (0.0, 1.0):
            raise ParseError(f"gripper must be 0 (closed) or 1 (open), got {t[gs:ge]}", gs, ge, t)
        yaw = None
        if n == 5:
            _check_yaw(vals[4][0], vals[4][1], vals[4][2], t)
            yaw = vals[4][0]
        return _make([vals[0][0], vals[1][0], vals[2][0]], int(g), yaw)


# ---- phrase form ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Tok:
    kind: str  # "word" | "num" | "punct"
    value: str
    start: int
    end: int


class _Phrase:
    def __init__(self, text: str, start: int, end: int, yaw: bool | None, grip: int) -> None:
        self.t, self.end, self.yaw, self.grip = text, end, yaw, grip
        self.toks = self._tokenize(start)
        self.k = 0

    def _tokenize(self, i: int) -> list[_Tok]:
        t, end = self.t, self.end
        toks: list[_Tok] = []
        while True:
            i = _skip_ws(t, i, end)
            if i >= end:
                return toks
            c = t[i]
            if c in ",;.":
                toks.append(_Tok("punct", c, i, i + 1))
                i += 1
            elif "0" <= c <= "9":
                v, s, e = _number(t, i, end, "a distance")
                toks.append(_Tok("num", str(v), s, e))
                i = e
            elif c == "-":
                raise ParseError("distances are written without a sign; use the opposite direction", i, i + 1, t)
            elif m := _WORD.match(t, i, end):
                toks.append(_Tok("word", m.group().lower(), i, m.end()))
                i = m.end()
            else:
                raise ParseError(f"unexpected character {c!r}", i, i + 1, t)

    # token access
    def _at(self, k: int) -> _Tok | None:
        return self.toks[k] if k < len(self.toks) else None

    def _is(self, value: str, offset: int = 0) -> bool:
        tok = self._at(self.k + offset)
        return tok is not None and tok.kind != "num" and tok.value == value

    def _err(self, message: str) -> ParseError:
        tok = self._at(self.k)
        if tok is None:
            return ParseError(f"{message}, but the text ended", self.end, self.end, self.t)
        return ParseError(message, tok.start, tok.end, self.t)

    def _word(self, *options: str) -> str:
        tok = self._at(self.k)
        if tok is None or tok.kind != "word" or tok.value not in options:
            quoted = [f"'{o}'" for o in options]
            if len(quoted) > 2:
                raise self._err("expected one of " + ", ".join(quoted))
            raise self._err("expected " + " or ".join(quoted))
        self.k += 1
        return tok.value

    def _num(self) -> _Tok:
        tok = self._at(self.k)
        if tok is None or tok.kind != "num":
            raise self._err("expected a number")
        self.k += 1
        return tok

    def parse(self) -> list[Chunk]:
        if not self.toks:
            raise ParseError("no actions: the text is empty", self.end, self.end, self.t)
        entries: list[tuple[list[float], int, float | None]] = []
        rotations: list[_Tok] = []
        grip = self.grip
        while True:
            if len(entries) >= MAX_CHUNKS:
                raise self._err(f"more than {MAX_CHUNKS} clauses")
            vals, grip, yaw_tok = self._clause(grip, first=not entries)
            entries.append((vals[:3], grip, vals[3] if yaw_tok is not None else None))
            if yaw_tok is not None:
                rotations.append(yaw_tok)
            if self.k >= len(self.toks):
                break
            if self._is(".") and self.k == len(self.toks) - 1:
                break
            if self._is(",") or self._is(";"):
                self.k += 1
            self._word("then")
        if self.yaw is False and rotations:
            r = rotations[0]
            raise ParseError("rotation is not allowed here (yaw is off)", r.start, r.end, self.t)
        with_yaw = bool(rotations) or self.yaw is True
        return [_make(v, g, (y if y is not None else 0.0) if with_yaw else None) for v, g, y in entries]

    def _clause(self, grip: int, first: bool) -> tuple[list[float], int, _Tok | None]:
        if self._is("close") or self._is("open"):
            verb = self._word("close", "open")
            self._word("the")
            self._word("gripper")
            grip = GRIPPER_CLOSED if verb == "close" else GRIPPER_OPEN
            if self._is("and") and (self._is("move", 1) or self._is("rotate", 1)):
                self.k += 1
                vals, rot = self._motion()
                return vals, grip, rot
            return [0.0, 0.0, 0.0, 0.0], grip, None
        if self._is("with"):
            if not first:
                raise self._err("'with the gripper ...' can only start the first clause")
            self.k += 1
            self._word("the")
            self._word("gripper")
            grip = GRIPPER_CLOSED if self._word("open", "closed") == "closed" else GRIPPER_OPEN
            if self._is(","):
                self.k += 1
        if self._is("stay") or self._is("hold"):
            self.k += 1
            self._word("still")
            return [0.0, 0.0, 0.0, 0.0], grip, None
        if self._is("move") or self._is("rotate"):
            vals, rot = self._motion()
            return vals, grip, rot
        raise self._err("expected 'move', 'rotate', 'open the gripper', 'close the gripper' or 'stay still'")

    def _motion(self) -> tuple[list[float], _Tok | None]:
        vals = [0.0, 0.0, 0.0, 0.0]
        if self._is("rotate"):
            return vals, self._rotate(vals)
        self._word("move")
        seen: dict[int, _Tok] = {}
        while True:
            tok = self._at(self.k)
            name = self._word(*_AXES)
            axis, sign = _AXES[name]
            assert tok is not None
            if axis in seen:
                raise ParseError(f"'{name}' repeats the {('x', 'y', 'z')[axis]} axis of '{seen[axis].value}'",
                                 tok.start, tok.end, self.t)
            seen[axis] = tok
            num = self._num()
            self._word("cm")
            value = float(num.value)
            _check_axis(value, num.start, num.end, self.t, name)
            vals[axis] = sign * value + 0.0
            # another component: ", left 2.0 cm" / "and left 2.0 cm" / ", and left 2.0 cm"
            skip = 1 if self._is(",") else 0
            if self._is("and", skip):
                skip += 1
            if skip and self._at(self.k + skip) is not None:
                nxt = self.toks[self.k + skip]
                if nxt.kind == "word" and nxt.value in _AXES:
                    self.k += skip
                    continue
                if nxt.kind == "word" and nxt.value == "rotate":
                    self.k += skip
                    return vals, self._rotate(vals)
            return vals, None

    def _rotate(self, vals: list[float]) -> _Tok:
        start = self._at(self.k)
        self._word("rotate")
        sign = 1.0 if self._word("left", "right") == "left" else -1.0
        num = self._num()
        self._word("degrees", "degree", "deg")
        value = float(num.value)
        _check_yaw(value, num.start, num.end, self.t)
        vals[3] = sign * value + 0.0
        assert start is not None
        return _Tok("word", "rotate", start.start, num.end)


# ---- subtask list -----------------------------------------------------------------------------------
_ITEM = re.compile(r"([0-9]{1,3})[.)][ \t]*")


def parse_subtasks(text: str) -> list[str]:
    """Numbered subtask lines, "1. grasp the red block\n2. place it in the bowl" (numbers in order)."""

    def run(t: str) -> list[str]:
        out: list[str] = []
        i, end = 0, len(t)
        while True:
            i = _skip_ws(t, i, end)
            if i >= end:
                break
            stop = t.find("\n", i)
            stop = end if stop < 0 else stop
            m = _ITEM.match(t, i, stop)
            if m is None:
                raise ParseError(f"expected a numbered subtask like '{len(out) + 1}. ...'", i, stop, t)
            if int(m.group(1)) != len(out) + 1:
                raise ParseError(f"expected subtask number {len(out) + 1}", i, m.end(1), t)
            value = " ".join(t[m.end() : stop].split())
            if not value:
                raise ParseError("the subtask text is empty", i, stop, t)
            if len(value) > MAX_LABEL_CHARS:
                raise ParseError(f"a subtask is longer than {MAX_LABEL_CHARS} characters", i, stop, t)
            if len(out) >= MAX_SUBTASKS:
                raise ParseError(f"more than {MAX_SUBTASKS} subtasks", i, end, t)
            out.append(value)
            i = stop
        if not out:
            raise ParseError("no subtasks: the text is empty", 0, end, t)
        return out

    return _guarded(run, text)


# ---- block ------------------------------------------------------------------------------------------
def _parse_block(text: str, yaw: bool | None, grip: int) -> Block:
    fields: dict[str, str] = {}
    order = ("subtask", "plan", "actions")
    i, end = 0, len(text)
    while True:
        i = _skip_ws(text, i, end)
        if i >= end:
            raise ParseError("the block has no 'Actions:' line", end, end, text)
        m = _PREFIX.match(text, i, end)
        if m is None:
            stop = text.find("\n", i)
            raise ParseError("expected a line starting with 'Subtask:', 'Plan:' or 'Actions:'", i,
                             end if stop < 0 else stop, text)
        label = m.group(1).lower()
        if label in fields:
            raise ParseError(f"'{m.group(1)}:' appears twice", i, m.end(), text)
        if any(order.index(seen) > order.index(label) for seen in fields):
            raise ParseError(f"'{m.group(1)}:' is out of order (expected Subtask, Plan, Actions)", i, m.end(), text)
        if label == "actions":
            chunks = _parse_actions(text, m.end(), end, yaw, grip, prefix=False)
            return Block(fields.get("subtask"), fields.get("plan"), tuple(chunks))
        stop = text.find("\n", m.end())
        stop = end if stop < 0 else stop
        value = text[m.end() : stop].strip()
        if not value:
            raise ParseError(f"'{m.group(1)}:' is empty", i, stop, text)
        if len(value) > MAX_LABEL_CHARS:
            raise ParseError(f"'{m.group(1)}:' is longer than {MAX_LABEL_CHARS} characters", i, stop, text)
        fields[label] = value
        i = stop
