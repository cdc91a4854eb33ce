"""Pure logic of the in-app benchmark: which episodes run, when a command counts as refused, the control
loop's 1 s windows, and the result with exactly the keys the issues name. No torch, gradio or app here:
every function is a computation on plain records (dicts), so a killed run's records give its result.

Records (`bench/results/app_autonomous-details.json`, field "records"):
- episode: {"type": "episode", "kind", "lang", "start", "seed", "success": bool, "command_s", "cycles_s",
  "model_calls", "malformed", "hz_windows", "ticks", "missed", ...}
- refusal: {"type": "refusal", "category": "in" | "out" | "ambiguous", "refused": bool, "asked_back": bool,
  "model_calls", "malformed", "cycles_s", "hz_windows", "ticks", "missed", ...}
- quantized: {"type": "quantized", "speedup", "match_rate", ...}

The refusal rule, from what can be observed of the app (`classify_reply`): a command is *refused* when,
within `REPLY_WINDOW_S` of pressing "Do it",
1. the robot did not act: the gripper never moved more than `MOVE_CM` from where it was at the press and
   its opening never changed by more than `GRIP_CHANGE` (a grasp or a release changes it by >= 0.45), and
2. the app finished with the command and left a reply in the chat: either no command run was started and
   the chat's last message is the assistant's (not a "…" placeholder), or the run it started ended, and
3. that ending is not one of `NOT_REFUSALS`: "success" (it claims the task done), "error" (model or loop
   error), "cancelled" (stopped, e.g. by its time limit) or "toast" (the page showed an error).
So a run that ends "failed" without moving counts as a refusal (and so does an in-domain command that
fails that way, in `false_rate`). A command the app acts on is stopped at once with the page's Stop button
(it is already "not refused"); one the app neither acts on nor answers within the window is not refused.
An ambiguous command is *asked back* when it is refused and the chat's last message holds a question mark.
"""

from __future__ import annotations

import re
import statistics
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.robot.tasks import TASK_KINDS

STARTS = ("home", "after_teleop", "after_command")
RESULT_KEYS = ("success", "success_by_start", "cycle_s_p50", "command_s_p50", "loop_hz_mean", "loop_hz_min",
               "missed_tick_rate", "malformed_rate", "refusal", "quantized_speedup", "quantized_match_rate")
REFUSAL_KEYS = ("recall", "false_rate", "n_in", "n_out")

MOVE_CM = 2.0
GRIP_CHANGE = 0.3
REPLY_WINDOW_S = 60.0
NOT_REFUSALS = ("success", "error", "cancelled", "toast")
QUESTION = re.compile(r"[?？¿؟]")
FINAL_RESULTS = ("success", "failed", "cancelled", "error", "refused", "asked")


# ---- the plan -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    """One task episode: a task kind commanded in one language from one start state on one scene seed."""

    kind: str
    lang: str
    start: str
    seed: int

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.lang}/{self.start}/{self.seed}"


SCENE_STRIDE = 50  # base seeds of one run lie within this span, so that no two cells share a scene


def scene_seed(seed: int, kind: str, start: str) -> int:
    """The scene of a cell: each (kind, start state) gets its own layout from one base seed, the same in
    every language (so languages are compared on the same scenes): base seed + 50 x (7 x start + kind)."""
    return seed + SCENE_STRIDE * (len(TASK_KINDS) * STARTS.index(start) + TASK_KINDS.index(kind))


def plan_episodes(kinds: Sequence[str], langs: Sequence[str], starts: Sequence[str], seeds: Sequence[int],
                  other_seeds: int) -> list[Cell]:
    """English: every kind x start x base seed (its success is pooled over the start states and reported
    per start). Every other language: every kind on the first `other_seeds` base seeds, each from one start
    state, rotated over kinds, languages and seeds so that each start state is used about equally often.
    A cell's scene is `scene_seed(base seed, kind, start)`."""
    bad = [k for k in kinds if k not in TASK_KINDS] + [s for s in starts if s not in STARTS]
    if bad:
        raise ValueError(f"unknown task kind or start state: {', '.join(bad)} (kinds: {', '.join(TASK_KINDS)}; "
                         f"starts: {', '.join(STARTS)})")
    if not (kinds and langs and starts and seeds):
        raise ValueError("need at least one kind, language, start state and seed")
    if max(seeds) - min(seeds) >= SCENE_STRIDE or len(set(seeds)) != len(seeds):
        raise ValueError(f"base seeds must be distinct and within {SCENE_STRIDE} of each other")
    others = [x for x in langs if x != "en"]
    cells = []
    for j, seed in enumerate(seeds):  # one kind at a time in every language: a change of machine load
        for ki, kind in enumerate(kinds):  # during the run then hits all languages alike
            if "en" in langs:
                cells += [Cell(kind, "en", s, scene_seed(seed, kind, s)) for s in starts]
            if j < other_seeds:
                for li, lang in enumerate(others):
                    start = starts[(li + ki + j) % len(starts)]
                    cells.append(Cell(kind, lang, start, scene_seed(seed, kind, start)))
    return cells


def interleave(a: Sequence, b: Sequence) -> list:
    """`a` and `b` merged, each in its own order, `b`'s items spread evenly among `a`'s."""
    out, j = [], 0
    for i, x in enumerate(a):
        out.append(x)
        while j < len(b) and (j + 1) * len(a) <= (i + 1) * len(b):
            out.append(b[j])
            j += 1
    return out + list(b[j:])


def stable_index(n: int, *parts: object) -> int:
    """A deterministic choice among `n` (e.g. which wording), the same in every process."""
    return zlib.crc32("/".join(map(str, parts)).encode()) % max(1, n)


# ---- observations ---------------------------------------------------------------------------------
def hz_windows(times: Sequence[float], t0: float, t1: float, width: float = 1.0) -> list[int]:
    """Ticks counted in each full `width`-second window from `t0` up to `t1` (a partial last window is
    dropped); with `width` 1 s, each count is that second's loop rate in Hz."""
    n = int((t1 - t0) // width)
    counts = [0] * max(0, n)
    for t in times:
        i = int((t - t0) // width)
        if 0 <= i < n:
            counts[i] += 1
    return counts


def motion(samples: Iterable[tuple[float, float, float, float, float]], ref: tuple[float, float, float, float],
           ) -> tuple[float, float]:
    """(largest distance in cm of the gripper from `ref`'s place, largest change of its opening) over
    `samples` of (t, x, y, z, opening); `ref` is (x, y, z, opening) at the press."""
    moved, grip = 0.0, 0.0
    for _, x, y, z, g in samples:
        moved = max(moved, ((x - ref[0]) ** 2 + (y - ref[1]) ** 2 + (z - ref[2]) ** 2) ** 0.5 * 100)
        grip = max(grip, abs(g - ref[3]))
    return moved, grip


def acted(moved_cm: float, grip_change: float) -> bool:
    return moved_cm > MOVE_CM or grip_change > GRIP_CHANGE


def classify_reply(moved_cm: float, grip_change: float, replied: bool, outcome: str, message: str,
                   ) -> tuple[bool, bool]:
    """(refused, asked back) by the rule in this module's docstring. `replied`: the app finished with the
    command within the window; `outcome`: the run's result, "reply" (answered without a run), "toast" or
    "none"; `message`: the chat's last assistant message."""
    refused = not acted(moved_cm, grip_change) and replied and outcome not in NOT_REFUSALS
    return refused, refused and bool(QUESTION.search(message or ""))


# ---- the result -----------------------------------------------------------------------------------
def _rate(values: Sequence[bool]) -> float | None:
    return round(sum(bool(v) for v in values) / len(values), 3) if values else None


def _p50(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def summarize(records: Sequence[dict], kinds: Sequence[str], langs: Sequence[str], starts: Sequence[str],
              ) -> dict:
    """The benchmark's result, exactly `RESULT_KEYS`; a figure nothing has measured yet is None."""
    eps = [r for r in records if r.get("type") == "episode"]
    refusals = [r for r in records if r.get("type") == "refusal"]
    commands = eps + refusals
    en = [r for r in eps if r["lang"] == "en"]
    windows = [w for r in commands for w in r.get("hz_windows", [])]
    ticks = sum(r.get("ticks", 0) for r in commands)
    calls = sum(r.get("model_calls", 0) for r in commands)
    quant = next((r for r in reversed(records) if r.get("type") == "quantized"), None)
    ins = [r for r in refusals if r["category"] == "in"]
    outs = [r for r in refusals if r["category"] == "out"]
    result = {
        "success": {k: {lang: _rate([r["success"] for r in eps if r["kind"] == k and r["lang"] == lang])
                        for lang in langs} for k in kinds},
        "success_by_start": {s: {k: _rate([r["success"] for r in en if r["kind"] == k and r["start"] == s])
                                 for k in kinds} for s in starts},
        "cycle_s_p50": _p50([c for r in commands for c in r.get("cycles_s", [])]),
        "command_s_p50": {k: _p50([r["command_s"] for r in en if r["kind"] == k and r.get("command_s") is not None])
                          for k in kinds},
        "loop_hz_mean": round(statistics.fmean(windows), 2) if windows else None,
        "loop_hz_min": min(windows) if windows else None,
        "missed_tick_rate": round(sum(r.get("missed", 0) for r in commands) / ticks, 4) if ticks else None,
        "malformed_rate": round(sum(r.get("malformed", 0) for r in commands) / calls, 4) if calls else None,
        "refusal": {"recall": _rate([r["refused"] for r in outs]), "false_rate": _rate([r["refused"] for r in ins]),
                    "n_in": len(ins), "n_out": len(outs)},
        "quantized_speedup": quant.get("speedup") if quant else None,
        "quantized_match_rate": quant.get("match_rate") if quant else None,
    }
    assert tuple(result) == RESULT_KEYS and tuple(result["refusal"]) == REFUSAL_KEYS
    return result


def extras(records: Sequence[dict]) -> dict:
    """Figures beside the result (in the details file): ambiguous commands asked back, refusal by
    out-of-domain category, cycle time as the chat shows it (plan + actions), loop windows' 5th percentile,
    success per language, English command time of successful commands only, failed setups."""
    refusals = [r for r in records if r.get("type") == "refusal"]
    eps = [r for r in records if r.get("type") == "episode"]
    amb = [r for r in refusals if r["category"] == "ambiguous"]
    windows = sorted(w for r in records for w in r.get("hz_windows", []))
    langs = sorted({r["lang"] for r in eps})
    by_lang = {lang: _rate([r["success"] for r in eps if r["lang"] == lang]) for lang in langs}
    by_sub: dict[str, list[bool]] = {}
    for r in refusals:
        if r["category"] == "out":
            by_sub.setdefault(r.get("subcategory", "?"), []).append(r["refused"])
    return {
        "ambiguous_asked_back": _rate([r["asked_back"] for r in amb]),
        "ambiguous_refused": _rate([r["refused"] for r in amb]),
        "n_ambiguous": len(amb),
        "out_of_domain_recall_by_category": {k: _rate(v) for k, v in sorted(by_sub.items())},
        "plan_plus_actions_s_p50": _p50([c for r in records for c in r.get("plan_actions_s", [])]),
        "loop_hz_p05": windows[int(0.05 * (len(windows) - 1))] if windows else None,
        "hz_windows": len(windows),
        "success_by_lang": by_lang,  # pooled over kinds and start states
        # commands the app's own time limit ended, and the machine's load while they ran: on a shared
        # machine a language measured under more load loses episodes to the time limit, not to wording
        "time_limited_by_lang": {lang: _rate(["time limit" in (r.get("message") or "") for r in eps if r["lang"] == lang])
                                 for lang in langs},
        "load1_median_by_lang": {lang: _p50([r["load1"] for r in eps if r["lang"] == lang and "load1" in r])
                                 for lang in langs},
        "command_s_p50_success_en": {k: _p50([r["command_s"] for r in eps if r["kind"] == k and r["lang"] == "en"
                                              and r["success"] and r.get("command_s") is not None])
                                     for k in sorted({r["kind"] for r in eps})},
        "episodes": len(eps),
        "setups_failed": sum(r.get("type") == "setup_failed" for r in records),
    }
