"""The closed loop of the paper, made safe: subtasks -> (plan + actions -> parse -> execute -> verify)*.

An `AutonomousRun` is an `AutonomousDriver` for the control loop. The model (`core.control.policy.Policy`) runs on the
run's own worker thread; the control thread only calls `next_twist`, which never waits: while the model
thinks the robot holds still, while entries execute it follows them. Everything the model writes is
recorded as an event (and so shown) before the robot moves. Malformed output is retried, then the robot
holds and the run says why. Cancel (operator takeover, e-stop, Stop) ends it at once.

Before anything moves, a policy that can (`Policy.understand`) decides whether to act at all: a command
the robot cannot do, or one naming an object the scene does not hold, ends the run "refused" with the
reason in its last event; one that fits several blocks ends it "asked" with the question, and the run
started with the reply (`pending=` that run's `understanding`) completes it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.control.follower import ChunkFollower, commanded_gripper
from core.control.policy import Policy
from core.control.readiness import (
    LOW_Z,
    Progress,
    RobotNow,
    already_done,
    approach_reached,
    fresh_start,
    held_block,
    needs_grasp,
    prepare,
    push_ended,
    push_lost,
    retry_from,
    travels_first,
)
from core.control.safety import Limits
from core.control.verify import grasp_before, sim_verify, subject
from core.language.grounding import is_placing, push_phase, read_line, target_object
from core.language.parse import ParseError, parse, parse_subtasks
from core.language.render import render_list
from core.language.spec import GRIPPER_CLOSED, GRIPPER_OPEN, Chunk
from core.types import Observation, SceneState, Twist

log = logging.getLogger(__name__)


LIMIT_NOTE_CM = 1.0  # a chunk whose entries the workspace limit shortens by this much gets a note


@dataclass(frozen=True)
class RunConfig:
    max_retries: int = 2  # per model call that produced unusable text
    max_cycles: int = 12  # plan + action chunk cycles per subtask before the run gives up and holds
    time_limit_s: float = 180.0  # per command
    camera: str | None = None  # None: the policy's own camera (`Policy.camera`)
    ask_model_to_verify: bool = True  # also ask the model when the simulator can judge (agreement stats)
    # a release that misses goes back to the grasp before it, a push that falls short to its approach, this
    # many times per command
    max_regrasps: int = 1
    stall_cycles: int = 3  # cycles in a row without progress before a subtask stops early (`readiness.Progress`)
    prepare: bool = True  # bring the robot to a state each subtask can start from (`readiness.prepare`)
    # a subtask that stalls starts again from travel height, its objects looked for afresh, this many times per
    # command (`readiness.fresh_start`) before the run stops
    fresh_starts: int = 1


@dataclass(frozen=True)
class AutoEvent:
    kind: str  # restate | subtasks | skip | prepare | plan | actions | limit | verify | retry | regrasp | restart | malformed | hold | done | cancelled | error | refuse | ask
    text: str
    t: float
    subtask: str | None = None
    data: dict = field(default_factory=dict)


def policy_camera(policy: Policy, configured: str | None = None) -> str:
    """The camera a run shows the model: the configured one, else the policy's own."""
    return configured or policy.camera


Judge = Callable[[str, SceneState, SceneState, "str | None"], "bool | None"]


class AutonomousRun:
    def __init__(self, policy: Policy, instruction: str, *, limits: Limits | None = None, dt: float = 1 / 30,
                 config: RunConfig | None = None, judge: Judge | None = sim_verify,
                 clock: Callable[[], float] = time.monotonic, pending: Any = None) -> None:
        if not instruction or not instruction.strip():
            raise ValueError("an autonomous run needs an instruction")
        self.policy, self.instruction = policy, instruction.strip()
        self.pending = pending  # the asked-back command this instruction answers (an `Understanding`)
        self.understanding: Any = None  # what `Policy.understand` made of the command (None: not asked)
        self.limits, self.dt = limits or Limits(), dt
        self.config = config or RunConfig()
        self.judge = judge
        self._clock = clock
        self.events: list[AutoEvent] = []
        self.state = "starting"
        self.result: str | None = None  # "success" | "failed" | "cancelled" | "error" | "refused" | "asked"
        self.partial = ""  # text being generated right now
        self._obs: Observation | None = None
        self._obs_ready = threading.Event()
        self._follower: ChunkFollower | None = None
        self._moved = threading.Event()
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._t0 = clock()
        self._thread = threading.Thread(target=self._work, name="autonomous", daemon=True)
        self.verifications: list[tuple[bool | None, bool | None]] = []  # (simulator, model)
        self._seen: dict = {}  # the policy's memory for this run (see `Policy`)
        self._why = ""  # why the last subtask stopped early (`readiness.Progress`)

    # ---- driver contract (control thread) -------------------------------------------------------
    def start(self) -> AutonomousRun:
        self._thread.start()
        return self

    def next_twist(self, obs: Observation) -> Twist | None:
        self._obs = obs
        self._obs_ready.set()
        if self.result is not None:
            return None
        if self._clock() - self._t0 > self.config.time_limit_s:
            self.cancel(f"time limit of {self.config.time_limit_s:.0f} s reached")
            return None
        follower = self._follower
        if follower is None:
            return Twist()  # hold while the model thinks
        tw = follower.next_twist(obs.ee_pos, obs.ee_yaw)
        if tw is None:
            self._follower = None
            self._moved.set()
            return Twist()
        return tw

    def cancel(self, reason: str) -> None:
        if self._cancel.is_set():
            return
        self._cancel.set()
        self._follower = None
        self._moved.set()
        if self.result is None:
            self._finish("cancelled", f"stopped: {reason}")

    @property
    def finished(self) -> bool:
        return self.result is not None

    def wait(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # ---- worker ---------------------------------------------------------------------------------
    def _emit(self, kind: str, text: str, subtask: str | None = None, **data: Any) -> None:
        with self._lock:
            self.events.append(AutoEvent(kind, text, self._clock() - self._t0, subtask, data))
        log.info("autonomous %s: %s", kind, text)

    def _finish(self, result: str, text: str) -> None:
        with self._lock:
            if self.result is not None:
                return
            self.result = result
            self.state = result
        self._emit({"success": "done", "failed": "hold", "cancelled": "cancelled", "error": "error", "refused": "refuse",
                    "asked": "ask"}[result], text)

    def _stream(self, text: str) -> None:
        self.partial = text

    def _frame(self) -> Observation:
        self._obs_ready.wait()
        assert self._obs is not None
        return self._obs

    @property
    def camera(self) -> str:
        return policy_camera(self.policy, self.config.camera)

    def _image(self, obs: Observation) -> Any:
        try:
            return obs.images[self.camera]
        except KeyError:
            raise RuntimeError(f"the robot has no camera {self.camera!r} (the model looks at it)") from None

    def _state(self, obs: Observation, subtask: str) -> dict[str, str]:
        """`state=` for a policy whose adapter reads a first line (its `context`, see `Policy`), else nothing."""
        line = self.policy.context(self._image(obs), subtask, obs.ee_pos, obs.gripper, self._seen)
        return {"state": line} if line else {}

    def _ask(self, what: str, fn: Callable[[], str], check: Callable[[str], Any], subtask: str | None,
             **data: Any) -> Any:
        """Call the model up to 1 + max_retries times until `check` accepts its text; None if it never does.
        `data` goes with the accepted text's event (e.g. the state line the model was given)."""
        for attempt in range(self.config.max_retries + 1):
            if self._cancel.is_set():
                return None
            self.state = f"writing {what}"
            self.partial = ""
            t0 = time.perf_counter()
            text = fn()
            seconds = time.perf_counter() - t0
            self.partial = ""
            if self._cancel.is_set():
                return None
            try:
                value = check(text)
            except ParseError as exc:
                self._emit("malformed", f"{what}: {exc}", subtask, output=text, attempt=attempt)
                continue
            self._emit(what, text, subtask, seconds=seconds, **data)
            return value
        return None

    def _work(self) -> None:
        try:
            self._run()
            if self.result is None:
                self._finish("success", "all subtasks done")
        except Exception as exc:  # the robot holds; the app stays up and says why
            log.exception("autonomous run failed")
            self._finish("error", f"model or loop error: {exc}")

    def _restated(self, obs: Observation) -> str | None:
        """The instruction in the robot's English: the policy's understanding (`Policy.understand`; None when
        it refused or asked back, the run then finished), else its restatement (None when it has nothing
        to restate) or the instruction as typed."""
        self.state = "restating the command"
        t0 = time.perf_counter()
        understand = getattr(self.policy, "understand", None)
        present = [o.name for o in obs.scene.objects] if obs.scene is not None else None
        u = understand(self.instruction, present, self.pending) if understand is not None else None
        if u is not None:
            self.understanding = u
            if u.verdict != "act":
                self._emit("restate", u.instruction or "(none of the robot's tasks)", None,
                           seconds=time.perf_counter() - t0, command=self.instruction)
                self._finish("asked" if u.verdict == "ask" else "refused", u.message)
                return None
            english = u.instruction
        else:
            english = self.policy.restate(self.instruction)
        if not english or english == self.instruction:
            return self.instruction
        self._emit("restate", english, None, seconds=time.perf_counter() - t0, command=self.instruction)
        return english

    def _run(self) -> None:
        p = self.policy
        obs = self._frame()
        instruction = self._restated(obs)
        if instruction is None or self._cancel.is_set():
            return
        subtasks = self._ask(
            "subtasks", lambda: p.subtasks(self._image(obs), instruction, self._stream), _subtask_list, None
        )
        if subtasks is None:
            if not self._cancel.is_set():
                self._finish("failed", "the model did not write a usable subtask list; holding")
            return
        it: str | None = next((b for b in map(subject, subtasks) if b), None)
        i = self._skip_done(subtasks, it)
        if i >= len(subtasks):
            self._finish("success", "the command is already done: nothing to do")
            return
        retries = fresh = 0
        push_from: dict[str, SceneState] = {}  # per push, the scene when its first try began
        while i < len(subtasks):
            if self._cancel.is_set() or self.result is not None:
                return
            subtask = subtasks[i]
            it = subject(subtask) or it
            back = self._ready(subtasks, i, it)
            if back is not None:
                if back < 0 or retries >= self.config.max_regrasps:
                    if self.result is None and not self._cancel.is_set():
                        self._finish("failed", f"the {it or 'block'} is not in the gripper for '{subtask}' and no "
                                     "grasp is left to retry; holding")
                    return
                retries += 1
                self._emit("regrasp", f"the {it or 'block'} is not in the gripper: back to '{subtasks[back]}'", subtask)
                i = back
                continue
            start = self._frame().scene
            push = push_phase(subtask)
            if push is not None and push[1] == "push" and start is not None:
                # a push tried again is judged from where its first try began: the block's whole way counts
                start = push_from.setdefault(subtask, start)
            outcome = self._work_on(subtask, start, it)
            if outcome == "done":
                i += 1
                continue
            back = retry_from(subtasks, i) if outcome in ("missed", "stalled") else None
            if outcome == "stalled" and push is None:
                back = None  # only a push that got stuck at its end is worth a second run-up
            if back is not None and retries < self.config.max_regrasps:
                retries += 1
                what = "the push fell short" if push else "the release missed"
                if push:
                    self._seen.clear()  # the block moved: the policy looks for it afresh
                self._emit("regrasp", f"{what}: back to '{subtasks[back]}' (try {retries} of "
                           f"{self.config.max_regrasps})", subtask)
                i = back
                continue
            if self.result is not None or self._cancel.is_set():
                return
            if outcome == "stalled" and fresh < self.config.fresh_starts:
                fresh += 1
                i = self._start_afresh(subtasks, i)
                continue
            if outcome == "unusable":
                self._finish("failed", f"the model kept writing unusable text for '{subtask}'; holding")
            elif outcome == "missed" and push:
                self._finish("failed", f"the push '{subtask}' fell short and no try is left; holding")
            elif outcome == "missed":
                self._finish("failed", f"the release for '{subtask}' missed and no grasp is left to retry; holding")
            elif outcome == "stalled":
                self._finish("failed", f"stopped early on '{subtask}': {self._why}; holding")
            else:
                self._finish("failed", f"gave up on '{subtask}' after {self.config.max_cycles} cycles; holding")
            return

    # ---- before a subtask (`core.control.readiness`) ---------------------------------------------------
    def _line(self, obs: Observation, subtask: str) -> str | None:
        return self._state(obs, subtask).get("state")

    def _skip_done(self, subtasks: list[str], it: str | None) -> int:
        """How many leading subtasks hold already (judged before any motion by the simulator, or for a push's
        approach by the grounding line); says which it skips."""
        obs = self._frame()
        verdicts: list[bool | None] = []
        for sub in subtasks:
            v = None
            if self.judge is not None and obs.scene is not None:
                v = self.judge(sub, obs.scene, obs.scene, it)
            if v is None and push_phase(sub) is not None:
                v = approach_reached(sub, self._line(obs, sub))
            verdicts.append(v)
        n = already_done(verdicts)
        if n:
            names = ", ".join(f"'{s}'" for s in subtasks[:n])
            self._emit("skip", f"already done: {names} (judged by {'the simulator' if obs.scene else 'the grounding line'})"
                       + ("; nothing to do" if n == len(subtasks) else "; going on from there"), subtasks[n - 1])
        return n

    def _ready(self, subtasks: list[str], i: int, it: str | None) -> int | None:
        """Bring the robot to a state `subtasks[i]` can start from (`readiness.prepare`). Returns where to go
        back to when it cannot start at all (a place without the block: its grasp; -1 when there is none)."""
        if not self.config.prepare:
            return None
        subtask = subtasks[i]
        obs = self._frame()
        held = self._held(obs)
        if needs_grasp(subtask, held, it):
            back = grasp_before(subtasks, i)
            return -1 if back is None else back
        offset = None
        if obs.ee_pos[2] < LOW_Z and travels_first(subtask):  # does it matter whether it is over its object?
            line = self._line(obs, subtask)
            offset = _offset(line)
        objects = {o.name: o.pos for o in obs.scene.objects} if obs.scene else None
        prep = prepare(subtask, RobotNow(obs.ee_pos, obs.gripper, held, objects), it, offset)
        if prep is None:
            return None
        self._emit("prepare", prep.says, subtask, actions=render_list(list(prep.entries)), reason=prep.reason)
        self._execute(list(prep.entries), obs)
        return None

    def _start_afresh(self, subtasks: list[str], i: int) -> int:
        """After subtask `i` stalled: rise to travel height, forget where the objects were seen, and return
        where to start again (the subtask itself; a push, from its approach)."""
        subtask = subtasks[i]
        obs = self._frame()
        prep = fresh_start(subtask, RobotNow(obs.ee_pos, obs.gripper, self._held(obs)), self._why)
        self._emit("restart", prep.says, subtask, actions=render_list(list(prep.entries)), reason=prep.reason)
        if prep.entries:
            self._execute(list(prep.entries), obs)
        self._seen.clear()
        back = retry_from(subtasks, i) if push_phase(subtask) is not None else None  # a push's own phase: its approach
        return i if back is None else back

    @staticmethod
    def _held(obs: Observation) -> str | None:
        """What the gripper holds (`readiness.held_block`: the simulator's scene, else the measured opening)."""
        return held_block(obs.gripper, obs.scene.held if obs.scene else None, obs.scene is not None)

    def _execute(self, chunks: list[Chunk], obs: Observation) -> None:
        """Hand `chunks` to the control thread (from the robot's state in `obs`) and wait until they ran."""
        self.state = "moving"
        self._moved.clear()
        self._follower = ChunkFollower(chunks, obs.ee_pos, obs.ee_yaw, obs.gripper, self.limits, self.dt)
        self._moved.wait()

    # ---- one subtask ---------------------------------------------------------------------------------
    def _work_on(self, subtask: str, start: SceneState | None, it: str | None) -> str:
        """Plan + action cycles on one subtask until it is verified: "done", "gave up" (out of cycles),
        "unusable" (no usable text), "missed" (a placing subtask opened the gripper and is not done: the
        block fell beside its target; a push ended short or lost the block), "stalled" (no progress:
        `readiness.Progress`, the reason in `self._why`) or "cancelled"."""
        p = self.policy
        progress = Progress(patience=self.config.stall_cycles)
        what = _target_words(subtask)
        for cycle in range(self.config.max_cycles):
            if self._cancel.is_set():
                return "cancelled"
            obs = self._frame()
            img, kw = self._image(obs), self._state(obs, subtask)
            line = kw.get("state")
            grip = commanded_gripper(obs.gripper)
            why = progress.observe(obs.ee_pos, grip, _grounding(line), what)
            if push_lost(subtask, _grounding(line)) or (cycle > 0 and push_ended(subtask, _grounding(line))):
                return "missed"
            if cycle > 0 and is_placing(subtask) and needs_grasp(subtask, self._held(obs), it):
                return "missed"  # the block left the gripper on the way (dropped or let go): back to its grasp
            if why:
                self._why = why
                return "stalled"
            plan = self._ask("plan", lambda img=img, s=subtask, kw=kw: p.plan(img, self.instruction, s, self._stream, **kw),
                             _non_empty, subtask, **kw)
            if plan is None:
                return "cancelled" if self._cancel.is_set() else "unusable"
            chunks = self._ask(
                "actions",
                lambda img=img, s=subtask, m=plan, kw=kw: p.actions(img, self.instruction, s, m, self._stream, **kw),
                lambda t, g=grip: parse(t, initial_gripper=g), subtask,
            )
            if chunks is None:
                return "cancelled" if self._cancel.is_set() else "unusable"
            progress.acted(render_list(chunks), chunks[-1].gripper)
            self.state = "moving"
            self._moved.clear()
            self._follower = ChunkFollower(chunks, obs.ee_pos, obs.ee_yaw, obs.gripper, self.limits, self.dt)
            if self._follower.cut_cm >= LIMIT_NOTE_CM:
                self._emit("limit", f"the workspace limit cuts {self._follower.cut_cm:.1f} cm of this chunk's "
                           "motion", subtask, cut_cm=round(self._follower.cut_cm, 1))
            self._moved.wait()
            if self._cancel.is_set():
                return "cancelled"
            if self._verify(subtask, start, it):
                return "done"
            released = grip == GRIPPER_CLOSED and chunks[-1].gripper == GRIPPER_OPEN
            if released and is_placing(subtask):
                return "missed"
            if cycle + 1 < self.config.max_cycles:
                self._emit("retry", f"subtask not done yet (cycle {cycle + 1} of {self.config.max_cycles})", subtask)
        return "gave up"

    def _verify(self, subtask: str, start: SceneState | None, it: str | None) -> bool:
        self.state = "verifying"
        obs = self._frame()
        by_sim = None
        if self.judge is not None and start is not None and obs.scene is not None:
            by_sim = self.judge(subtask, start, obs.scene, it)
        kw: dict[str, str] | None = None
        by_line = None
        if by_sim is None and push_phase(subtask) is not None:
            kw = self._state(obs, subtask)
            by_line = approach_reached(subtask, _grounding(kw.get("state")))
        by_model = None
        if (by_sim is None and by_line is None) or self.config.ask_model_to_verify:
            kw = self._state(obs, subtask) if kw is None else kw
            by_model = self.policy.is_done(self._image(obs), subtask, **kw)
        self.verifications.append((by_sim, by_model))
        verdict = by_sim if by_sim is not None else by_line if by_line is not None else by_model
        if verdict is None:
            verdict = True  # nothing can judge it: the entries were executed, move on
        source = ("simulator" if by_sim is not None else "grounding line" if by_line is not None
                  else "model" if by_model is not None else "none")
        self._emit("verify", f"{'done' if verdict else 'not done'} (judged by {source})", subtask,
                   simulator=by_sim, model=by_model)
        return verdict


def _grounding(line: str | None) -> str | None:
    """`line` if it is a grounding line (the readiness rules read it), else None (a robot-state line)."""
    if not line:
        return None
    try:
        read_line(line)
    except ValueError:
        return None
    return line


def _offset(line: str | None) -> tuple[float, float, float] | None:
    line = _grounding(line)
    return read_line(line)[2] if line else None


def _target_words(subtask: str) -> str:
    """What the subtask's grounding line measures the distance to, in words."""
    push = push_phase(subtask)
    obj = target_object(subtask)
    if push is not None:
        return f"the place beside the {obj}" if push[1] == "approach" else "the end of the push"
    return f"the {obj}" if obj else "the target"


def _subtask_list(text: str) -> list[str]:
    subs = parse_subtasks(text)
    if not subs:
        raise ParseError("no subtasks in the text", 0, len(text), text)
    return subs


def _non_empty(text: str) -> str:
    t = text.strip()
    if not t:
        raise ParseError("empty plan", 0, 0, text)
    return t


def verifier_agreement(runs: list[AutonomousRun]) -> float | None:
    """How often the model's yes/no matched the simulator's verdict, over runs where both answered."""
    pairs = [(s, m) for r in runs for s, m in r.verifications if s is not None and m is not None]
    if not pairs:
        return None
    return sum(s == m for s, m in pairs) / len(pairs)
