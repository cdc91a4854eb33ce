"""A fixed servoing rule on grounding lines, and a policy that follows it (no language model).

`servo_entry(line, placing)` reads one grounding line (`core.language.grounding`: the gripper's height and
where the subtask's object is relative to it) and writes the next action entry the way the direct-style
expert moves (`core.control.expert.Expert`, long entries): sideways at travel height until the object is
close, then down to it, then close (or open, when placing).

`ServoPolicy` is a `core.control.policy.Policy` that writes that entry every cycle. Two uses:
- the ceiling of grounded servoing (`bench/eval/grounded_oracle.py`): what the locator, the calibration and the
  loop allow, without a learned model;
- a DART-style teacher for training (`core.training.corrections`): with `noise` > 0 it executes, in that
  share of the cycles, a perturbed entry instead of its own (off sideways, too low, too high), and records
  every cycle's frame and line with the entry the rule writes there. A learned policy drifts into such
  states; the recorded cycles show it the way back.
Pure Python (the locator comes in as the `line` function).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.control.policy import PolicyBase
from core.robot.heights import DIRECT_Z

_GRIPPER = re.compile(r"Gripper (?P<h>[\d.]+) cm above the table, (?P<g>open|closed)\.")
_OBJECT = re.compile(r": (?P<x>[\d.]+) cm (?P<xs>forward|back), (?P<y>[\d.]+) cm (?P<ys>left|right), "
                     r"(?P<z>[\d.]+) cm (?P<zs>up|down)\.")
CLAMP_CM = 9.3  # what a long entry reaches before the chunker's cut, in the expert's demos
LATERAL_OK_CM = 0.6  # go down once the object is this close sideways
# at the reach height the fingers hide part of the block and the locator drifts by 1 cm or so; the expert's
# demos close there all the same
LATERAL_OK_LOW_CM = 2.0
TRAVEL_CM = 100 * DIRECT_Z[0]  # the direct expert's lowest travel height
Entry = tuple[float, float, float, int]  # dx, dy, dz (cm), gripper (1 open, 0 closed)


def _clamp(v: float) -> float:
    return round(max(-CLAMP_CM, min(CLAMP_CM, v)), 1) + 0.0


def _gripper_part(line: str) -> tuple[float, int]:
    """The gripper's height (cm) and state (1 open, 0 closed) a grounding line states."""
    g = _GRIPPER.search(line)
    if g is None:
        raise ValueError(f"not a grounding line: {line!r}")
    return float(g["h"]), 1 if g["g"] == "open" else 0


def line_gripper(line: str) -> int:
    """The gripper state a grounding line states: 1 open, 0 closed."""
    return _gripper_part(line)[1]


def entry_plan(entry: Entry, grip: int) -> str:
    """The motion plan that goes with one entry, from gripper state `grip` ("hold" for no motion)."""
    from core.language.plan import motion_plan
    from core.language.spec import Chunk

    return motion_plan([Chunk(*entry)], grip) or "hold"


def servo_entry(line: str, placing: bool) -> Entry:
    """The next [dx, dy, dz, gripper] entry for a grounding line (see the module doc)."""
    height, grip = _gripper_part(line)
    o = _OBJECT.search(line)
    if o is None:  # a lift (no object named), or the object is not in view: go up to travel height
        return (0.0, 0.0, _clamp(max(0.0, TRAVEL_CM + 2.0 - height)), grip)
    fx = float(o["x"]) * (1 if o["xs"] == "forward" else -1)
    ly = float(o["y"]) * (1 if o["ys"] == "left" else -1)
    dz = float(o["z"]) * (1 if o["zs"] == "up" else -1)
    at_height = abs(dz) <= 0.5
    if max(abs(fx), abs(ly)) > (LATERAL_OK_LOW_CM if at_height else LATERAL_OK_CM):
        return (_clamp(fx), _clamp(ly), _clamp(max(0.0, TRAVEL_CM - height)), grip)
    if not at_height:
        return (0.0, 0.0, _clamp(dz), grip)
    return (0.0, 0.0, 0.0, 1 if placing else 0)


def perturbed(entry: Entry, grip: int, rng: random.Random, scale_cm: float) -> Entry:
    """`entry` pushed off by up to `scale_cm` on each axis. A gripper change is never perturbed (a grasp
    or release in the wrong place ends the task rather than showing a way back): it is returned as is."""
    dx, dy, dz, g = entry
    if g != grip:
        return entry
    return (_clamp(dx + rng.uniform(-scale_cm, scale_cm)), _clamp(dy + rng.uniform(-scale_cm, scale_cm)),
            _clamp(dz + rng.uniform(-scale_cm, scale_cm)), g)


@dataclass
class Visit:
    """One cycle of a `ServoPolicy` run: what it saw and the entry the rule writes there."""

    image: Any
    subtask: str
    line: str
    entry: Entry
    gripper: int  # the gripper's state in the line
    perturbed: bool = False


@dataclass
class ServoPolicy(PolicyBase):
    """A `core.control.policy.Policy` writing `servo_entry` for each cycle's grounding line.

    `line(image, subtask, ee_pos, gripper, seen)` writes the line (e.g. `core.policy.grounding.Grounder.line`).
    `noise`: the share of cycles that execute `perturbed` (up to `noise_cm` per axis) instead; `seed`
    makes them reproducible. Every cycle is appended to `visits`. Subtasks come from the task's canonical
    English instruction (`instructions`: extra wordings -> the canonical one).
    """

    line: Callable[..., str]
    noise: float = 0.0
    noise_cm: float = 4.0
    seed: int = 0
    name: str = "grounded-oracle"
    camera: str = "front"
    visits: list[Visit] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not 0.0 <= self.noise <= 1.0:
            raise ValueError(f"noise is a share of the cycles, in [0, 1]; got {self.noise}")
        self._rng = random.Random(self.seed)
        self._entry: Entry | None = None

    def context(self, image: Any, subtask: str, ee_pos: Any, gripper: float, seen: dict | None = None) -> str:
        return self.line(image, subtask, ee_pos, gripper, seen)

    def subtasks(self, image: Any, instruction: str, on_text: Any = None) -> str:
        from core.language.prompts import subtasks_target
        from core.robot.tasks import all_tasks

        task = next((t for t in all_tasks() if t.instruction == instruction), None)
        if task is None:
            raise ValueError(f"the servo rule knows only the canonical English instructions, not {instruction!r}")
        return subtasks_target(task.subtasks)

    def plan(self, image: Any, instruction: str, subtask: str, on_text: Any = None, state: str | None = None) -> str:
        from core.language.grounding import is_placing

        if state is None:
            raise ValueError("the servo rule reads the grounding line (state=)")
        grip = line_gripper(state)
        entry = servo_entry(state, is_placing(subtask))
        shaken = self.noise > 0 and self._rng.random() < self.noise
        self.visits.append(Visit(image, subtask, state, entry, grip, shaken))
        self._entry = perturbed(entry, grip, self._rng, self.noise_cm) if shaken else entry
        return entry_plan(self._entry, grip)

    def actions(self, image: Any, instruction: str, subtask: str, plan: str, on_text: Any = None,
                state: str | None = None) -> str:
        from core.language.render import render_list
        from core.language.spec import Chunk

        if self._entry is None:
            raise RuntimeError("actions asked before a plan")
        return render_list([Chunk(*self._entry)])

    def is_done(self, image: Any, subtask: str, state: str | None = None) -> bool | None:
        return None
