"""Before and during a subtask: is it done already, what brings the robot to a state it can act from, and
is the loop getting anywhere (pure Python: no torch, no simulator).

The autonomous loop (`core.control.autonomous`) meets the robot as a person left it: after a keyboard drive
(the gripper closed 2 cm above the table), holding a block, or with the task already done. These rules
decide, from what the loop observes, what to do before the model is asked:

- `already_done(verdicts)`: the subtasks that are achieved already (from the last one back), so the loop
  skips them and says so; a command whose last subtask holds needs no motion at all.
- `prepare(subtask, now, it, offset)`: a few scripted action entries that make the subtask startable, with
  the words the chat shows: put a block down that is not the one the subtask needs; open a gripper that
  is closed on nothing before a grasp; close an open gripper before a push's approach (the expert pushes
  with it closed: an open finger coming down beside the block can knock it away); rise from low over the
  table before travelling.
- `needs_grasp(subtask, held, it)`: a placing or lifting subtask with the block not in the gripper: the
  loop goes back to the grasp.
- `approach_reached(subtask, line)`: a push's approach ("move to the right of the red block") is done when
  its grounding line says the closed gripper is down beside the block.
- `Progress`: per subtask, whether the cycles get anywhere (the distance on the grounding line shrinks, or
  the gripper changes as asked); `observe` returns, in plain words, why to stop when they do not.
- `fresh_start(subtask, now, why)`: once per command, a stalled subtask starts again from travel height
  with its objects looked for afresh, before the loop gives up.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.language.grounding import is_placing, push_phase, read_line
from core.language.spec import GRIPPER_CLOSED, GRIPPER_OPEN, LONG_AXIS_CUT_CM, OPEN_ABOVE, Chunk
from core.types import Vec3

# A closed gripper with nothing between the fingers reads about 0; one holding a 5 cm block about 0.55.
EMPTY_BELOW = 0.2
LOW_Z = 0.06  # below this the fingers are among the blocks (5 cm tall): rise before travelling
TRAVEL_Z = 0.10  # the height the loop rises to (the direct-style expert's lowest travel height)
PUT_DOWN_Z = 0.028  # gripper height that sets a held block on the table (its grasp height + 6 mm)
OVER_TARGET_CM = 2.0  # laterally this close to the subtask's object, a low gripper is where it should be
PUSH_OK_CM = 1.0  # a push's approach is done within this (sideways) of the place beside the block
PUSH_HEIGHT_OK_CM = 0.5  # ... and this (height)
PUSH_LOST_CM = 3.0  # in a push, a gripper this far off the push height has lost the block
HELD_UNKNOWN = "a block"  # held, but which one is not known (a real robot: only the opening says so)

_GRASP = re.compile(r"^(?:grasp|grab|pick up) the (?P<obj>\w+ block)$")
_LIFT = re.compile(r"^lift the (?P<obj>\w+ block)$")


def _norm(text: str) -> str:
    return " ".join(text.lower().strip().rstrip(".!").split())


def grasp_object(subtask: str) -> str | None:
    m = _GRASP.match(_norm(subtask))
    return m["obj"] if m else None


def held_block(opening: float, scene_held: str | None, scene_known: bool) -> str | None:
    """What the gripper holds: the simulator's answer when there is one, else "a block" when the measured
    opening is between closed-on-nothing and open."""
    if scene_known:
        return scene_held
    return HELD_UNKNOWN if EMPTY_BELOW < opening <= OPEN_ABOVE else None


@dataclass(frozen=True)
class RobotNow:
    """What the loop knows of the robot before a subtask. `objects`: where things stand (the simulator's
    scene; None on a real robot), used to find a clear spot to set a block down."""

    ee_pos: Vec3
    opening: float  # measured, 1 open .. 0 closed
    held: str | None = None  # `held_block`
    objects: Mapping[str, Vec3] | None = None


@dataclass(frozen=True)
class Preparation:
    entries: tuple[Chunk, ...]
    says: str  # for the chat, in plain words
    reason: str  # "put_down" | "open" | "rise"


def already_done(verdicts: Sequence[bool | None]) -> int:
    """How many leading subtasks to skip, given a verdict per subtask taken before any motion (True: the
    simulator or the grounding line says it holds now). The last subtask that holds counts for every
    subtask before it (a block in the bowl needs no grasp); 0 when none does."""
    for j in range(len(verdicts) - 1, -1, -1):
        if verdicts[j] is True:
            return j + 1
    return 0


def needs_grasp(subtask: str, held: str | None, it: str | None) -> bool:
    """A subtask that moves the block in the gripper (place, stack, lift) while that block is not held."""
    text = _norm(subtask)
    if not (is_placing(text) or _LIFT.match(text)):
        return False
    m = _LIFT.match(text)
    want = m["obj"] if m else it
    if held == HELD_UNKNOWN:
        return False
    return held is None or (want is not None and held != want)


def _push_reading(subtask: str, line: str | None, phase: str) -> tuple[str, Any] | None:
    """(gripper word, offset or None) from the grounding line when `subtask` is the `phase` ("approach" or
    "push") of a push and the line reads; None otherwise."""
    push = push_phase(subtask)
    if push is None or push[1] != phase or not line:
        return None
    try:
        _, grip, off = read_line(line)
    except ValueError:
        return None
    return grip, off


def approach_reached(subtask: str, line: str | None) -> bool | None:
    """For a push's approach: whether the grounding line says the closed gripper is down beside the block
    (None for any other subtask, or without a line)."""
    reading = _push_reading(subtask, line, "approach")
    if reading is None:
        return None
    grip, off = reading
    if off is None:
        return False
    return grip == GRIPPER_CLOSED and abs(off[2]) <= PUSH_HEIGHT_OK_CM and max(abs(off[0]), abs(off[1])) <= PUSH_OK_CM


def push_lost(subtask: str, line: str | None) -> bool:
    """In a push ("push the red block to the left"): the gripper is no longer down behind the block (open,
    or more than `PUSH_LOST_CM` off the push height), so the push has to start again from its approach."""
    reading = _push_reading(subtask, line, "push")
    if reading is None:
        return False
    grip, off = reading
    return grip == GRIPPER_OPEN or (off is not None and abs(off[2]) > PUSH_LOST_CM)


def push_ended(subtask: str, line: str | None) -> bool:
    """In a push: the gripper is down at the place where the push ends (if the block did not go far enough,
    pushing on from here does nothing)."""
    reading = _push_reading(subtask, line, "push")
    if reading is None:
        return False
    _, off = reading
    return off is not None and abs(off[2]) <= PUSH_LOST_CM and max(abs(off[0]), abs(off[1])) <= PUSH_OK_CM


def retry_from(subtasks: Sequence[str], index: int) -> int | None:
    """Where to start again when `subtasks[index]` failed in a way a second try can fix: a release that
    missed goes back to the grasp before it, a push that fell short (or lost the block) to its approach."""
    push = push_phase(subtasks[index])
    if push is not None:
        prev = push_phase(subtasks[index - 1]) if index > 0 else None
        return index - 1 if push[1] == "push" and prev is not None and prev[1] == "approach" else None
    if not is_placing(subtasks[index]):
        return None
    for k in range(index - 1, -1, -1):
        if grasp_object(subtasks[k]):
            return k
    return None


def _moves(dx: float, dy: float, dz: float, gripper: int) -> list[Chunk]:
    """A displacement (metres) as entries of at most `LONG_AXIS_CUT_CM` per axis, with one gripper state."""
    cm = [100.0 * v for v in (dx, dy, dz)]
    n = max(1, math.ceil(max(abs(v) for v in cm) / (LONG_AXIS_CUT_CM - 0.5) - 1e-9))
    if max(abs(v) for v in cm) < 0.1:
        return []
    step = [round(v / n, 1) + 0.0 for v in cm]
    return [Chunk(step[0], step[1], step[2], gripper)] * n


def clear_spot(xy: tuple[float, float], objects: Mapping[str, Vec3] | None, held: str | None,
               ) -> tuple[float, float]:
    """The nearest place to `xy` (searched on rings 4 cm apart) where a block can be set down on the table:
    away from every other block, the bowl and the plate, inside the reachable part of the table."""
    if not objects:
        return xy
    others = {k: v for k, v in objects.items() if k != held}

    def clear(p: tuple[float, float]) -> bool:
        if not (0.28 <= p[0] <= 0.62 and -0.25 <= p[1] <= 0.25):
            return False
        for name, pos in others.items():
            need = 0.13 if name == "bowl" else 0.11 if name == "plate" else 0.075
            if math.hypot(p[0] - pos[0], p[1] - pos[1]) < need:
                return False
        return True

    if clear(xy):
        return xy
    for ring in range(1, 8):
        r = 0.04 * ring
        for k in range(8 * ring):
            a = 2 * math.pi * k / (8 * ring)
            p = (xy[0] + r * math.cos(a), xy[1] + r * math.sin(a))
            if clear(p):
                return p
    return xy


def put_down(now: RobotNow) -> list[Chunk]:
    """Entries that set the held block on the table at a clear spot and leave the open gripper at travel
    height: over there at travel height (if it has to move), down, open, up."""
    x, y, z = now.ee_pos
    sx, sy = clear_spot((x, y), now.objects, now.held)
    out: list[Chunk] = []
    if math.hypot(sx - x, sy - y) > 0.005:
        if z < TRAVEL_Z:
            out += _moves(0.0, 0.0, TRAVEL_Z - z, GRIPPER_CLOSED)
            z = TRAVEL_Z
        out += _moves(sx - x, sy - y, 0.0, GRIPPER_CLOSED)
    out += _moves(0.0, 0.0, PUT_DOWN_Z - z, GRIPPER_CLOSED)
    out.append(Chunk(0.0, 0.0, 0.0, GRIPPER_OPEN))
    out += _moves(0.0, 0.0, TRAVEL_Z - PUT_DOWN_Z, GRIPPER_OPEN)
    return out


def travels_first(subtask: str) -> bool:
    """Whether a subtask begins by travelling to an object (a grasp, a push's approach): the ones `prepare`
    may get ready."""
    push = push_phase(subtask)
    return grasp_object(subtask) is not None or (push is not None and push[1] == "approach")


def prepare(subtask: str, now: RobotNow, it: str | None = None,
            offset: tuple[float, float, float] | None = None) -> Preparation | None:
    """The scripted entries that bring the robot to a state `subtask` can start from, or None when it can
    start as it is. Only subtasks that begin by travelling to an object get one (a grasp, a push's
    approach); `it` is the block the command moves; `offset` (cm, from the grounding line) where the
    subtask's object is from the gripper, when known."""
    if not travels_first(subtask):
        return None
    grasp = grasp_object(subtask)
    target = grasp or it
    x, y, z = now.ee_pos
    if now.held is not None and not (grasp is not None and now.held == grasp):
        what = "a block" if now.held == HELD_UNKNOWN else f"the {now.held}"
        verb = f"grasp the {grasp}" if grasp else f"push the {target}" if target else "push"
        # put down, the gripper ends open at travel height with nothing held; the rules below then apply
        # from there (where over the table does not matter to them): a push closes it
        then = prepare(subtask, RobotNow((x, y, TRAVEL_Z), 1.0, None, now.objects), it)
        closing = " with the gripper closed" if then is not None and then.reason == "close" else ""
        return Preparation(tuple(put_down(now)) + (then.entries if then else ()), f"The gripper holds {what}, not "
                           f"what this command needs: setting it down first, then I {verb}{closing}.", "put_down")
    if now.held is not None:
        return None  # the block to grasp is in the gripper already: the grasp is judged done
    over = offset is not None and max(abs(offset[0]), abs(offset[1])) <= OVER_TARGET_CM
    low = z < LOW_Z and not over
    entries: list[Chunk] = []
    closed = now.opening <= OPEN_ABOVE
    rising = f"rising to {100 * TRAVEL_Z:.0f} cm and " if low else ""
    if low:
        entries += _moves(0.0, 0.0, TRAVEL_Z - z, GRIPPER_CLOSED if closed else GRIPPER_OPEN)
    if grasp is not None and closed:
        entries.append(Chunk(0.0, 0.0, 0.0, GRIPPER_OPEN))
        return Preparation(tuple(entries), f"The gripper is closed and holds nothing: {rising}opening it before the "
                           "grasp.", "open")
    if push_phase(subtask) is not None and not closed:  # the expert pushes with the gripper closed
        entries.append(Chunk(0.0, 0.0, 0.0, GRIPPER_CLOSED))
        return Preparation(tuple(entries), f"The gripper is open and a push is made with it closed: {rising}closing it "
                           f"before moving, so that an open finger does not knock the {target or 'block'} away.", "close")
    if low:
        return Preparation(tuple(entries), f"The gripper is low ({100 * z:.1f} cm above the table): rising to "
                           f"{100 * TRAVEL_Z:.0f} cm before moving, to clear the blocks.", "rise")
    return None


def fresh_start(subtask: str, now: RobotNow, why: str) -> Preparation:
    """After `subtask`'s cycles stalled (`Progress`, `why` in plain words): the entries that rise to travel
    height with the gripper as it is, from where the subtask starts once more with its objects looked for
    afresh (the loop forgets where it saw them: a place remembered from afar is kept while the gripper is
    near it, so a block that moved since stays where the line says it was). Near the object, low, is off
    the expert's path; high over it is on it. A grasp's closed gripper is opened by `prepare` on the way in."""
    z = now.ee_pos[2]
    grip = GRIPPER_CLOSED if now.opening <= OPEN_ABOVE else GRIPPER_OPEN
    entries = _moves(0.0, 0.0, TRAVEL_Z - z, grip) if z < TRAVEL_Z - 0.005 else []
    rising = f"rising to {100 * TRAVEL_Z:.0f} cm, " if entries else ""
    return Preparation(tuple(entries), f"No progress on '{subtask}' ({why}): {rising}looking for the objects again "
                       "and starting this step once more.", "fresh_start")


@dataclass
class Progress:
    """Whether a subtask's cycles get anywhere. Call `observe` at the start of every cycle after the first
    with what the loop sees then, and `acted` after each chunk with what it asked for.

    A cycle made progress when the distance to the subtask's object on the grounding line shrank by at
    least `min_gain_cm` below the best so far, or (without a line) the gripper moved at least that far, or
    the gripper opened or closed (twice at most without getting closer). `observe` returns why to stop, in plain words, after `patience` cycles
    in a row without progress, or when the gripper stayed as it was after being asked twice to change."""

    patience: int = 3
    min_gain_cm: float = 0.5
    best: float | None = None
    last_pos: Vec3 | None = None
    last_grip: int | None = None
    stalled: int = 0
    asked_grip: int | None = None
    ignored: int = 0
    flips: int = 0
    chunks: list[str] = field(default_factory=list)

    def acted(self, chunk_text: str, asked_gripper: int | None) -> None:
        self.chunks.append(" ".join(chunk_text.split()))
        self.asked_grip = asked_gripper

    def observe(self, ee_pos: Vec3, grip: int, line: str | None = None, what: str = "the target") -> str | None:
        dist = None
        if line:
            try:
                _, _, off = read_line(line)
            except ValueError:
                off = None
            if off is not None:
                dist = math.sqrt(sum(v * v for v in off))
        moved = self.last_pos is not None and 100 * math.dist(ee_pos, self.last_pos) >= self.min_gain_cm
        gripped = self.last_grip is not None and grip != self.last_grip
        first = self.last_pos is None
        if dist is not None:
            gained = self.best is None or dist <= self.best - self.min_gain_cm
            self.best = dist if self.best is None else min(self.best, dist)
        else:
            gained = moved
        if self.asked_grip is not None and self.last_grip is not None and self.asked_grip != self.last_grip:
            self.ignored = 0 if gripped else self.ignored + 1
        self.last_pos, self.last_grip = ee_pos, grip
        if first:
            return None
        if self.ignored >= 2:
            return (f"the gripper stayed {'closed' if grip == GRIPPER_CLOSED else 'open'} although the last "
                    f"{self.ignored} chunks asked to {'open' if grip == GRIPPER_CLOSED else 'close'} it")
        if gained:
            self.flips = 0
        elif gripped:
            self.flips += 1  # opening and closing counts as progress twice, not forever
        self.stalled = 0 if (gained or (gripped and self.flips <= 2)) else self.stalled + 1
        if self.stalled < self.patience:
            return None
        where = f": still {dist:.1f} cm from {what}" if dist is not None else ": the gripper is not getting anywhere"
        recent = self.chunks[-self.patience:]
        same = len(recent) == self.patience and len(set(recent)) == 1
        return (f"no progress in the last {self.patience} cycles{where}"
                + (f" (the same action {recent[0]} each time)" if same else ""))


__all__ = ["EMPTY_BELOW", "HELD_UNKNOWN", "Preparation", "Progress", "RobotNow", "already_done",
           "approach_reached", "clear_spot", "fresh_start", "grasp_object", "held_block", "needs_grasp", "prepare", "push_ended",
           "push_lost", "put_down", "retry_from", "travels_first"]
