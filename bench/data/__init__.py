"""Hand-written command sets of the in-app benchmark (`bench/eval/app_autonomous.py`).

- `held_out_commands`, `held_out_refusal`: the benchmark's test sets. NEVER train on them, never use them
  to choose a setting (a threshold, a weight, a prompt, a checkpoint): they are what the work is judged on.
- `dev_commands`: separate wordings and refusal items in the dev languages only, for tuning.

`render(wordings, colours, lang, kind, colour, target)` fills a wording's colour slots: `{c}` / `{t}` is
the moved / target block's colour in the language's default form, `{c_f}` / `{t_f}` etc. another form
(`colours[lang][form][colour]`, e.g. the feminine or a case).
"""

from __future__ import annotations

import string


def refusal_items(ins: tuple, outs: tuple, ambiguous: tuple) -> list[dict]:
    """Refusal items as {"category", "subcategory", "lang", "text"} from (lang, text) in-domain pairs,
    (lang, subcategory, text) out-of-domain triples and (lang, text) ambiguous pairs, in that order."""
    out = [{"category": "in", "subcategory": "task", "lang": lang, "text": t} for lang, t in ins]
    out += [{"category": "out", "subcategory": sub, "lang": lang, "text": t} for lang, sub, t in outs]
    out += [{"category": "ambiguous", "subcategory": "which block", "lang": lang, "text": t} for lang, t in ambiguous]
    return out


def slots(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def render(template: str, colours: dict[str, dict[str, str]], colour: str, target: str | None = None) -> str:
    """`template` with `{c...}` filled from `colour` and `{t...}` from `target` ("red", "green", ...)."""
    values: dict[str, str] = {}
    for form, words in colours.items():
        suffix = f"_{form}" if form else ""
        values["c" + suffix] = words[colour]
        if target is not None:
            values["t" + suffix] = words[target]
    return template.format(**values)
