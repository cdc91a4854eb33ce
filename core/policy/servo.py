"""A fixed servoing rule on grounding lines, and a policy that follows it (no language model).

`servo_entry(line, placing)` reads one grounding line (`core.language.grounding`: the gripper's height and
where the subtask's object is relative to it) and writes the next action entry the way the direct-style
expert moves (`core.control.expert.Expert`, long entries): sideways at travel height until the object is
close, then down to it, then close (or open, when placing). `push_entry` does the same for the two
subtasks of a push (down beside the block with closed fingers, then level along), and `rule_entry(line,
subtask)` picks the one a subtask needs.

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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.control.policy import PolicyBase
from core.language.grounding import read_line
from core.robot.heights import BUILT_IN, DIRECT_Z, Heights

CLAMP_CM = 9.3  # what a long entry reaches before the chunker's cut, in the expert's demos
LATERAL_OK_CM = 0.6  # go down once the object is this close sideways
# at the reach height the fingers hide part of the block and the locator drifts by 1 cm or so; the expert's
# demos close there all the same
LATERAL_OK_LOW_CM = 2.0
TRAVEL_CM = 100 * DIRECT_Z[0]  # the direct expert's lowest travel height
PUSH_LATERAL_OK_CM = 1.0  # beside the block (approach) or at the push's end: close enough
PUSH_HEIGHT_CM = 3.0  # in a push, a height error up to this is corrected on the spot
Entry = tuple[float, float, float, int]  # dx, dy, dz (cm), gripper (1 open, 0 closed)


@dataclass(frozen=True)
class ServoRule:
    """The rule's distances (cm) for one robot's scene: the built-in arm's by default (`for_heights`: another
    robot's, from its expert's heights; the tolerances scale with its blocks, the SO-101's 3 cm against 5 cm)."""

    travel_cm: float = TRAVEL_CM
    lateral_ok_cm: float = LATERAL_OK_CM
    lateral_ok_low_cm: float = LATERAL_OK_LOW_CM
    push_lateral_ok_cm: float = PUSH_LATERAL_OK_CM
    push_height_cm: float = PUSH_HEIGHT_CM

    @classmethod
    def for_heights(cls, heights: Heights) -> ServoRule:
        """The rule for a robot whose expert works its scene with `heights` (`core.robot.heights`)."""
        if heights == BUILT_IN:
            return cls()
        k = heights.block_half / BUILT_IN.block_half
        return cls(round(100 * heights.direct_z[0], 1), LATERAL_OK_CM * k, LATERAL_OK_LOW_CM * k,
                   PUSH_LATERAL_OK_CM * k, PUSH_HEIGHT_CM * k)


BUILT_IN_RULE = ServoRule()


def _clamp(v: float) -> float:
    return round(max(-CLAMP_CM, min(CLAMP_CM, v)), 1) + 0.0


def _gripper_part(line: str) -> tuple[float, int]:
    """The gripper's height (cm) and state (1 open, 0 closed) a grounding line states."""
    height, grip, _ = read_line(line)
    return height, grip


def line_gripper(line: str) -> int:
    """The gripper state a grounding line states: 1 open, 0 closed."""
    return _gripper_part(line)[1]


def entry_plan(entry: Entry, grip: int) -> str:
    """The motion plan that goes with one entry, from gripper state `grip` ("hold" for no motion)."""
    from core.language.plan import motion_plan
    from core.language.spec import Chunk

    return motion_plan([Chunk(*entry)], grip) or "hold"


def servo_entry(line: str, placing: bool, rule: ServoRule = BUILT_IN_RULE) -> Entry:
    """The next [dx, dy, dz, gripper] entry for a grounding line (see the module doc)."""
    height, grip, off = read_line(line)
    travel = rule.travel_cm
    if off is None:  # a lift (no object named), or the object is not in view: go up to travel height
        return (0.0, 0.0, _clamp(max(0.0, travel + 2.0 - height)), grip)
    fx, ly, dz = off
    at_height = abs(dz) <= 0.5
    if max(abs(fx), abs(ly)) > (rule.lateral_ok_low_cm if at_height else rule.lateral_ok_cm):
        if placing and height < travel - 0.5:  # a held block is lifted clear first (it would sweep the table)
            return (0.0, 0.0, _clamp(travel - height), grip)
        return (_clamp(fx), _clamp(ly), _clamp(max(0.0, travel - height)), grip)
    if not at_height:
        return (0.0, 0.0, _clamp(dz), grip)
    return (0.0, 0.0, 0.0, 1 if placing else 0)


def line_offset(line: str) -> tuple[float, float, float] | None:
    """The (forward, left, up) offset in cm a grounding line states (`core.language.grounding.read_line`)."""
    return read_line(line)[2]


def push_entry(line: str, phase: str, rule: ServoRule = BUILT_IN_RULE) -> Entry:
    """The next entry in a push, whose grounding line points beside the block (`core.policy.grounding.work_point`).
    approach: close the gripper first (the expert pushes with closed fingers), then as to a grasp: sideways
    at travel height, down beside the block, and stay there; push: level along to where the push ends (a
    small height error is corrected first; one of more than `PUSH_HEIGHT_CM` is not the rule's to fix: it
    stays still, and the loop goes back to the approach)."""
    height, grip = _gripper_part(line)
    if grip == 1:
        return (0.0, 0.0, 0.0, 0)
    off = line_offset(line)
    if off is None:
        return (0.0, 0.0, _clamp(max(0.0, rule.travel_cm + 2.0 - height)), 0)
    fx, ly, dz = off
    lateral = max(abs(fx), abs(ly))
    if phase == "approach":
        if abs(dz) > 0.5 or lateral > rule.lateral_ok_low_cm:
            return servo_entry(line, False, rule)  # sideways at travel height, or down beside the block
        if lateral > rule.push_lateral_ok_cm:
            return (_clamp(fx), _clamp(ly), 0.0, 0)  # down already, a little off: level
        return (0.0, 0.0, 0.0, 0)
    if abs(dz) > rule.push_height_cm:
        return (0.0, 0.0, 0.0, 0)
    if abs(dz) > 0.5:
        return (0.0, 0.0, _clamp(dz), 0)
    if lateral <= rule.push_lateral_ok_cm:
        return (0.0, 0.0, 0.0, 0)
    return (_clamp(fx), _clamp(ly), 0.0, 0)


def rule_entry(line: str, subtask: str, rule: ServoRule = BUILT_IN_RULE) -> Entry:
    """The servo rule for any subtask of the seven tasks: `push_entry` in a push, else `servo_entry`, except
    that a grasp with the gripper already closed (a grasp that missed: a held block would have ended the
    subtask) opens it first."""
    from core.language.grounding import is_placing, push_phase

    push = push_phase(subtask)
    if push is not None:
        return push_entry(line, push[1], rule)
    placing = is_placing(subtask)
    if not placing and line_offset(line) is not None and line_gripper(line) == 0:
        return (0.0, 0.0, 0.0, 1)
    return servo_entry(line, placing, rule)


def perturbed(entry: Entry, grip: int, rng: random.Random, scale_cm: float, level: bool = False) -> Entry:
    """`entry` pushed off by up to `scale_cm` on each axis (`level`: forward and sideways only, as in a
    push, where the gripper must stay down beside the block). A gripper change is never perturbed (a grasp
    or release in the wrong place ends the task rather than showing a way back): it is returned as is."""
    dx, dy, dz, g = entry
    if g != grip:
        return entry
    return (_clamp(dx + rng.uniform(-scale_cm, scale_cm)), _clamp(dy + rng.uniform(-scale_cm, scale_cm)),
            dz if level else _clamp(dz + rng.uniform(-scale_cm, scale_cm)), g)


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
    rule: ServoRule = BUILT_IN_RULE  # the robot's distances (`ServoRule.for_heights`)
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
        from core.language.grounding import push_phase

        if state is None:
            raise ValueError("the servo rule reads the grounding line (state=)")
        grip = line_gripper(state)
        entry = rule_entry(state, subtask, self.rule)
        shaken = self.noise > 0 and self._rng.random() < self.noise
        self.visits.append(Visit(image, subtask, state, entry, grip, shaken))
        level = push_phase(subtask) is not None and push_phase(subtask)[1] == "push"  # type: ignore[index]
        self._entry = perturbed(entry, grip, self._rng, self.noise_cm, level) if shaken else entry
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
