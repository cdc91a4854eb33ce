"""The word checks on every task wording of the in-app benchmark (pure, seconds): bench/results/cues.json.

For each wording of each task kind (`bench.data.dev_commands.DEV_WORDINGS`, `bench.data.held_out_commands.
WORDINGS`), rendered for every built-in task of its kind, `core.language.cues` reads the command's words:
- `excluded`: the right instruction is one the words disagree with (the check would steer the restatement
  away from it): the figure that must stay 0;
- `settled`: the words settle the kind (`kinds_allowed` is not None): how often the check can correct a
  restatement with the wrong verb;
- `fixture_refusals`: commands refused as moving a fixed object (all of these are valid commands: 0);
- `not_here_refusals`: commands refused because their words name a thing or a colour the scene does not
  hold (`core.language.understand.not_here`, the scene's four blocks, bowl and plate) or a block on itself
  or inside another (`core.language.cues.impossible`): also 0.

A measurement only: the word lists are not chosen by looking at it (the held-out wordings' header).

    python bench/eval/cues.py
"""

from __future__ import annotations

import sys

from bench.common import write_result


def measure(table: dict, colours: dict) -> dict:
    from bench.data import render
    from core.language.cues import consistent, cues, impossible, kinds_allowed, moved_fixture
    from core.language.understand import language_of, not_here
    from core.robot.tasks import BLOCK_COLORS, all_tasks

    by_kind: dict[str, list] = {}
    for t in all_tasks():
        by_kind.setdefault(t.kind, []).append(t)
    names = [f"{c} block" for c in BLOCK_COLORS] + ["bowl", "plate"]
    n = excluded = settled = fixture = stray = 0
    examples: list[list[str]] = []
    per_lang: dict[str, dict[str, int]] = {}
    for lang, kinds in table.items():
        row = per_lang.setdefault(lang, {"commands": 0, "settled": 0, "excluded": 0})
        for kind, options in kinds.items():
            for opt in options:
                for t in by_kind[kind]:
                    target = t.target.split()[0] if t.target and t.target.endswith("block") else None
                    text = render(opt, colours[lang], t.obj.split()[0], target)
                    c = cues(text)
                    n += 1
                    row["commands"] += 1
                    if consistent(t.instruction, c) is False:
                        excluded += 1
                        row["excluded"] += 1
                        examples.append([lang, text, t.instruction])
                    if kinds_allowed(c) is not None:
                        settled += 1
                        row["settled"] += 1
                    if moved_fixture(text, language_of(text)):
                        fixture += 1
                        examples.append([lang, text, "refused: a fixed object"])
                    missing = not_here(text, names, BLOCK_COLORS)
                    if missing is not None:
                        stray += 1
                        examples.append([lang, text, f"refused: no {missing[1] or missing[0]} here"])
                    why = impossible(text)
                    if why:
                        stray += 1
                        examples.append([lang, text, f"refused: impossible ({why})"])
    return {"commands": n, "excluded": excluded, "settled": round(settled / n, 3), "fixture_refusals": fixture,
            "not_here_refusals": stray,
            "by_language": per_lang, "examples": examples[:20]}


def main() -> int:
    from bench.data.dev_commands import DEV_WORDINGS
    from bench.data.held_out_commands import COLOURS, WORDINGS

    result = {"dev": measure(DEV_WORDINGS, COLOURS), "held_out": measure(WORDINGS, COLOURS)}
    path = write_result("cues", result)
    d, h = result["dev"], result["held_out"]
    print(f"cues: dev {d['commands']} commands, right instruction excluded {d['excluded']}, kind settled "
          f"{d['settled']}, fixed-object refusals {d['fixture_refusals']}, not-here refusals {d['not_here_refusals']}; "
          f"held-out {h['commands']}: excluded {h['excluded']}, settled {h['settled']}, fixed-object refusals "
          f"{h['fixture_refusals']}, not-here refusals {h['not_here_refusals']} -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
