"""Which entries of an action list are decisions, and where they are in its text.

Most entries of a list repeat the one before, give or take the rounding of the measured motion
(`[1.9, -0.6, -0.3, 1], [2.0, -0.6, -0.3, 1], ...`). The entries that carry the policy are those where the
motion changes: the first entry, every entry whose direction or gripper differs from the previous
one, and the list's closing bracket (where the list stops). Training weighs their tokens more
(`core.training.collate`); otherwise the few tokens that say "forward, not down" are drowned by
hundreds of rounding digits.

Pure Python: no torch, no numpy.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.language.parse import ParseError, parse_list
from core.language.spec import Chunk

MOVING_CM = 0.5  # an axis below this is "not moving" for the direction signature


def signature(ch: Chunk) -> tuple:
    """Direction per axis (-1, 0, +1; |v| < MOVING_CM counts as 0) and the gripper."""
    return tuple(0 if abs(v) < MOVING_CM else (1 if v > 0 else -1) for v in ch.translation) + (ch.gripper,)


def decision_entries(chunks: Sequence[Chunk]) -> list[bool]:
    """True for the first entry and for each entry whose signature differs from the previous one."""
    out, prev = [], None
    for ch in chunks:
        sig = signature(ch)
        out.append(sig != prev)
        prev = sig
    return out


def entry_spans(text: str) -> list[tuple[int, int]]:
    """Character spans `[start, end)` of each `[...]` entry inside a list `[[...], [...]]`."""
    spans, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c == "[":
            depth += 1
            if depth == 2:
                start = i
        elif c == "]":
            if depth == 2:
                spans.append((start, i + 1))
            depth -= 1
    return spans


def decision_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the decision entries of an action list and of its closing bracket; [] when
    `text` is not an action list."""
    try:
        chunks = parse_list(text)
    except ParseError:
        return []
    spans = entry_spans(text)
    if len(spans) != len(chunks):
        return []
    end = text.rstrip().rfind("]")
    return [s for s, d in zip(spans, decision_entries(chunks)) if d] + [(end, end + 1)]


__all__ = ["MOVING_CM", "decision_entries", "decision_spans", "entry_spans", "signature"]
