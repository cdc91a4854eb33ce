"""Free text people type (instructions, tags, corrections, names, chat) without invisible control characters.

A NUL, an ESC sequence or a right-to-left override in an instruction is stored, shown to every viewer
and fed to the model: it can hide or reorder what the text says (bidi spoofing), break terminals that
print the audit log, and no one typed it on purpose. `strip_controls` removes them:

- C0 and C1 control characters (U+0000-U+001F, U+007F-U+009F), except tab and newline in multi-line
  text (a carriage return becomes a newline);
- the Unicode bidirectional formatting characters (U+202A-U+202E embeddings and overrides, U+2066-U+2069
  isolates, U+200E/U+200F/U+061C marks);
- line and paragraph separators (U+2028, U+2029), which become newlines (or spaces in one line);
- U+FEFF (byte order mark) and the interlinear annotation characters U+FFF9-U+FFFB.

Zero-width joiners stay (emoji sequences and several scripts need them). Pure: no store imports.
"""

from __future__ import annotations

import re

_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_OTHER = "\ufeff\ufff9\ufffa\ufffb"
_DROP = re.compile(f"[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f{_BIDI}{_OTHER}]")
_NEWLINES = re.compile("\r\n|[\r\u2028\u2029]")


def strip_controls(text: str, *, multiline: bool = True) -> str:
    """`text` without control and bidi formatting characters; one line (newlines and tabs become
    spaces) unless `multiline`."""
    if not text:
        return text
    out = _DROP.sub("", _NEWLINES.sub("\n", text))
    if not multiline:
        out = out.replace("\n", " ").replace("\t", " ")
    return out


def clean_json(value: object) -> object:
    """Every string inside a JSON-like value (dicts, lists, keys too) with `strip_controls` applied."""
    if isinstance(value, str):
        return strip_controls(value)
    if isinstance(value, dict):
        return {clean_json(k) if isinstance(k, str) else k: clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v) for v in value]
    return value
