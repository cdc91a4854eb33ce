"""Word lists in many languages, read one way (pure): the colour lexicon (`core.language.colors`) and the
word cues (`core.language.cues`) are both {label: {language: "forms"}}.

A form is a whole word (lower case); a form ending in "-" is a stem: a word that starts with it and has at
most `STEM_TAIL` more letters; a form ending in "~" is a Slavic adjective stem: the rest of the word must be
one of `SLAVIC_ENDINGS` (so Russian "сер~", grey, takes серый and серого but not сердце). A form in a
script written without spaces (Thai, CJK, kana, hangul) is matched as a substring of the text.
"""

from __future__ import annotations

import re

STEM_TAIL = 5
# adjective endings of Polish, Russian, Ukrainian, Czech and Slovak
SLAVIC_ENDINGS = frozenset(
    "y a e ego ej emu ą ym ych ymi i "  # pl
    "ый ий ой ая яя ое ее ые ие ого его ому ему ую юю ым им ом ем ых их ыми ими "  # ru
    "ій а е і ого ому у ою ім их ими ий ої "  # uk
    "ý á é ého ému ém ým ých ými í ou "  # cs
    "ú om".split()  # sk
)
NO_SPACES = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")  # Thai, CJK, kana, hangul


class WordLists:
    """{label: {language: "form form stem- slavic~"}} as lookups. `labels(word)`: every label of a word (its
    whole-word labels in list order, then the stems', longest stem first); `substrings(text)`: the labels of
    the no-space forms found in `text`, longest form first, never two over the same characters."""

    def __init__(self, lists: dict[str, dict[str, str]]) -> None:
        self.words: dict[str, list[str]] = {}
        stems: list[tuple[str, str, str]] = []
        subs: list[tuple[str, str]] = []
        for label, langs in lists.items():
            for forms in langs.values():
                for f in forms.lower().split():
                    if f[-1] in "-~":
                        stems.append((f[:-1], label, f[-1]))
                    elif NO_SPACES.search(f):
                        subs.append((f, label))
                    elif label not in self.words.setdefault(f, []):
                        self.words[f].append(label)
        self.stems = sorted(stems, key=lambda s: -len(s[0]))
        self.subs = sorted(subs, key=lambda s: -len(s[0]))

    def labels(self, word: str) -> list[str]:
        out = list(self.words.get(word, ()))
        for stem, label, how in self.stems:
            if not word.startswith(stem) or label in out:
                continue
            tail = word[len(stem):]
            if (how == "-" and len(tail) <= STEM_TAIL) or (how == "~" and tail in SLAVIC_ENDINGS):
                out.append(label)
        return out

    def first(self, word: str) -> str | None:
        found = self.labels(word)
        return found[0] if found else None

    def substrings(self, text: str, skip: tuple[str, ...] = ()) -> list[tuple[int, str]]:
        """(position, label) of the no-space forms in `text`; `skip`: words whose characters are no form."""
        return [(start, label) for start, _, label in self.spans(text, skip)]

    def spans(self, text: str, skip: tuple[str, ...] = ()) -> list[tuple[int, int, str]]:
        """(start, end, label) of the no-space forms in `text`, as `substrings`."""
        if not NO_SPACES.search(text):
            return []
        taken = [(m.start(), m.end()) for s in skip for m in re.finditer(re.escape(s), text)]
        out = []
        for sub, label in self.subs:
            for m in re.finditer(re.escape(sub), text):
                if any(a < m.end() and m.start() < b for a, b in taken):
                    continue
                taken.append((m.start(), m.end()))
                out.append((m.start(), m.end(), label))
        return out


__all__ = ["NO_SPACES", "SLAVIC_ENDINGS", "STEM_TAIL", "WordLists"]
