"""Prompt/target templates for training samples and for the autonomous loop.

The paper factorises a step as p(l | o, L) · p(m | l, o) · p(a | m, l, o): subtasks l from the
instruction L and the image o, a motion plan m for the current subtask, then the actions a. Each factor
is a separate question/answer turn here, plus two augmentations: "is the subtask complete?" (yes/no,
the verifier) and "which way does the gripper move?" (direction words). The image is attached by the
model code; `Sample.step` says which recorded frame it is.

Adapters trained with the robot's state (`state_text`: where the gripper is and whether it is open) get
it in the plan, action and "done?" questions, as a line before the question; the loop then writes the
live state into the same place. The image alone does not say how high the gripper is or whether it
already holds something, and that decides the next phase (approach, go down, close, lift).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.language.plan import direction_words, motion_plan
from core.language.render import render_list
from core.language.spec import OPEN_ABOVE, Chunk
from core.language.verbalize import Verbalization
from core.types import Vec3

KINDS = ("subtasks", "plan", "actions", "done", "direction")
# Action entries per closed-loop cycle: the loop asks for at most this many, then looks again and
# re-plans (about 16 cm of travel at the expert's 2 cm per entry). Training jobs split a subtask's actions
# into windows of the same size by default (the shipped default adapter was trained on 16-entry windows).
CHUNK_ENTRIES = 8

ACTION_FORMAT = (
    "Answer with a list of [dx, dy, dz, gripper] entries in centimetres "
    "(+x forward, +y left, +z up; gripper 1 open, 0 closed)."
)


@dataclass(frozen=True)
class Sample:
    """One question/answer turn. `step` is the index of the frame shown with the prompt."""

    kind: str
    prompt: str
    target: str
    step: int = 0


# ---- the robot's state ------------------------------------------------------------------------------
def state_text(ee_pos: Vec3, gripper: float) -> str:
    """The gripper's place (base frame, centimetres, the action language's axes) and opening, as a line
    of the prompt: "Gripper: x 34.0, y -2.5, z 18.0 cm, open."."""
    x, y, z = (round(100.0 * float(v), 1) + 0.0 for v in ee_pos[:3])  # + 0.0: no "-0.0"
    return f"Gripper: x {x:.1f}, y {y:.1f}, z {z:.1f} cm, {'open' if gripper > OPEN_ABOVE else 'closed'}."


def _with_state(question: str, state: str | None) -> str:
    return f"{state.strip()} {question}" if state else question


# ---- the three factors ------------------------------------------------------------------------------
def subtasks_prompt(instruction: str) -> str:
    return f"The robot's task: {instruction.strip()}. Which subtasks should the robot do, in order?"


def subtasks_target(subtasks: Sequence[str]) -> str:
    """Numbered lines: "1. grasp the red block\\n2. place it in the bowl" (read back by `parse_subtasks`)."""
    return "\n".join(f"{i}. {s}" for i, s in enumerate(subtasks, 1))


def plan_prompt(subtask: str, state: str | None = None) -> str:
    return f"Current subtask: {subtask.strip()}. " + _with_state("What is the motion plan for the gripper?", state)


def actions_prompt(subtask: str, plan: str, yaw: bool = False, state: str | None = None) -> str:
    fmt = ACTION_FORMAT.replace("gripper]", "gripper, yaw] (yaw in degrees, + turns left)") if yaw else ACTION_FORMAT
    return (f"Current subtask: {subtask.strip()}. Plan: {plan.strip()}. "
            + _with_state(f"What are the next actions? {fmt}", state))


def subtasks_sample(instruction: str, subtasks: Sequence[str], step: int = 0) -> Sample:
    return Sample("subtasks", subtasks_prompt(instruction), subtasks_target(subtasks), step)


def plan_sample(subtask: str, plan: str, step: int = 0, state: str | None = None) -> Sample:
    return Sample("plan", plan_prompt(subtask, state), plan, step)


def actions_sample(subtask: str, plan: str, chunks: Sequence[Chunk], step: int = 0, state: str | None = None) -> Sample:
    yaw = any(c.yaw is not None for c in chunks)
    return Sample("actions", actions_prompt(subtask, plan, yaw, state), render_list(chunks), step)


# ---- augmentations ----------------------------------------------------------------------------------
def done_prompt(subtask: str, state: str | None = None) -> str:
    return (f"The robot is working on the subtask: {subtask.strip()}. "
            + _with_state("Is this subtask complete? Answer yes or no.", state))


def done_sample(subtask: str, done: bool, step: int = 0, state: str | None = None) -> Sample:
    return Sample("done", done_prompt(subtask, state), "yes" if done else "no", step)


def direction_prompt(chunks: Sequence[Chunk]) -> str:
    return f"The robot executes these actions: {render_list(chunks)}. In which direction does the gripper move overall?"


def direction_sample(chunks: Sequence[Chunk], step: int = 0) -> Sample | None:
    """None when the entries add up to no visible motion."""
    net = [sum(c.dx for c in chunks), sum(c.dy for c in chunks), sum(c.dz for c in chunks)]
    words = direction_words(net)
    if not words or sum(abs(v) for v in net) < 0.5:
        return None
    return Sample("direction", direction_prompt(chunks), words, step)


# ---- a whole episode --------------------------------------------------------------------------------
MIN_REST_CM = 0.5  # a rest of an entry shorter than this on every axis is not asked for


def remaining_entry(entry: Chunk, positions: Sequence[Vec3], step: int) -> Chunk | None:
    """What is left of a recorded motion `entry` at `step` (inside its step range): the end effector's
    way from its place at `step` to the entry's end, per axis (an axis already past its goal: 0); None
    when the rest is under `MIN_REST_CM` on every axis, or for an entry read from text."""
    if entry.steps is None or entry.yaw is not None:
        return None
    stop = min(entry.steps[1], len(positions) - 1)
    rest = []
    for axis, total in enumerate((entry.dx, entry.dy, entry.dz)):
        left = 100.0 * (positions[stop][axis] - positions[step][axis])
        if left * total > 0 and abs(total) >= 0.05:  # still on its way along this axis
            rest.append(math.copysign(round(min(abs(left), abs(total)), 1), total) + 0.0)  # no -0.0
        else:
            rest.append(0.0)
    if max(abs(v) for v in rest) < MIN_REST_CM:
        return None
    return Chunk(rest[0], rest[1], rest[2], entry.gripper, steps=(step, entry.steps[1]))


def inner_windows(entry: Chunk, positions: Sequence[Vec3], n: int) -> list[tuple[int, Chunk]]:
    """(step, `remaining_entry`) at `n` evenly spaced steps strictly inside `entry`'s step range."""
    if entry.steps is None:
        return []
    a, b = entry.steps
    out = []
    for k in sorted({a + round(j * (b - a) / (n + 1)) for j in range(1, n + 1)}):
        if a < k < b and k < len(positions) and (rest := remaining_entry(entry, positions, k)) is not None:
            out.append((k, rest))
    return out


def episode_samples(
    verbalization: Verbalization, instruction: str | None = None, *, max_entries: int | None = None,
    states: Sequence[tuple[Vec3, float]] | None = None, stride: int | None = None,
    lines: Callable[[int, str], str | None] | None = None, mid_entries: int = 0,
    positions: Sequence[Vec3] | None = None,
) -> list[Sample]:
    """Every training turn of one verbalized episode.

    With `max_entries`, a subtask's actions are split into cycles of at most that many entries, each
    with its own plan (what the closed loop asks for per cycle); otherwise one cycle per subtask.
    `stride`: a cycle starts every this many entries, so overlapping windows also teach the cycles that
    start part-way, as the loop's do after a short chunk or a drift; each window's plan is written from
    its own entries. Default (or a stride longer than a window): where the previous one ended, so no
    entry is left out.
    With `states` (the recorded (end-effector position, gripper opening) of every step), the plan,
    action and "done?" questions carry the state of the frame they show (`state_text`).
    `lines(step, subtask)`, instead, gives those questions' first line (e.g. a grounding line,
    `core.language.grounding`).
    `mid_entries` (one-entry windows, with `positions`, the end effector's place at every step): also
    ask from this many evenly spaced steps inside each motion entry, answered with the rest of that
    entry (`remaining_entry`). Windows otherwise start only where entries start, so the states a closed
    loop meets after a chunk that fell short (a few cm beside the object) are rare in the questions.
    """
    v = verbalization

    def at(step: int, subtask: str) -> str | None:
        if lines is not None:
            return lines(step, subtask)
        if not states:
            return None
        pos, opening = states[min(max(step, 0), len(states) - 1)]
        return state_text(pos, opening)

    instruction = instruction or v.instruction
    out: list[Sample] = []
    if instruction and v.subtasks:
        out.append(subtasks_sample(instruction, [s.text for s in v.subtasks], v.subtasks[0].steps[0]))
    for sub in v.subtasks:
        size = max_entries if max_entries and max_entries > 0 else max(1, len(sub.chunks))
        for k in range(0, len(sub.chunks), min(stride, size) if stride and stride > 0 else size):
            window = sub.chunks[k : k + size]
            grip = sub.chunks[k - 1].gripper if k else sub.initial_gripper
            step = window[0].steps[0] if window[0].steps else sub.steps[0]
            plan = sub.plan if k == 0 and size >= len(sub.chunks) else motion_plan(window, grip)
            out.append(plan_sample(sub.text, plan, step, at(step, sub.text)))
            out.append(actions_sample(sub.text, plan, window, step, at(step, sub.text)))
            if (d := direction_sample(window, step)) is not None:
                out.append(d)
            if size == 1 and mid_entries > 0 and positions and window[0].gripper == grip:
                for at_step, rest in inner_windows(window[0], positions, mid_entries):
                    rest_plan = motion_plan([rest], grip)
                    out.append(plan_sample(sub.text, rest_plan, at_step, at(at_step, sub.text)))
                    out.append(actions_sample(sub.text, rest_plan, [rest], at_step, at(at_step, sub.text)))
        out.append(done_sample(sub.text, False, sub.steps[0], at(sub.steps[0], sub.text)))
        out.append(done_sample(sub.text, True, sub.steps[1], at(sub.steps[1], sub.text)))
    return out


__all__ = [
    "ACTION_FORMAT",
    "CHUNK_ENTRIES",
    "KINDS",
    "Sample",
    "actions_prompt",
    "actions_sample",
    "direction_prompt",
    "direction_sample",
    "done_prompt",
    "done_sample",
    "episode_samples",
    "inner_windows",
    "plan_prompt",
    "plan_sample",
    "remaining_entry",
    "state_text",
    "subtasks_prompt",
    "subtasks_sample",
    "subtasks_target",
]
