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
from core.control.safety import Limits
from core.control.verify import grasp_before, sim_verify, subject
from core.language.grounding import is_placing
from core.language.parse import ParseError, parse, parse_subtasks
from core.language.spec import GRIPPER_CLOSED, GRIPPER_OPEN
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
    max_regrasps: int = 1  # a release that misses goes back to the grasp before it this many times per command


@dataclass(frozen=True)
class AutoEvent:
    kind: str  # restate | subtasks | plan | actions | limit | verify | retry | regrasp | malformed | hold | done | cancelled | error | refuse | ask
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
        it: str | None = None
        i, regrasps = 0, 0
        while i < len(subtasks):
            subtask = subtasks[i]
            it = subject(subtask) or it
            outcome = self._work_on(subtask, self._frame().scene, it)
            if outcome == "done":
                i += 1
                continue
            back = grasp_before(subtasks, i) if outcome == "missed" else None
            if back is not None and regrasps < self.config.max_regrasps:
                regrasps += 1
                self._emit("regrasp", f"the release missed: back to '{subtasks[back]}' (try {regrasps} of "
                           f"{self.config.max_regrasps})", subtask)
                i = back
                continue
            if self.result is not None or self._cancel.is_set():
                return
            if outcome == "unusable":
                self._finish("failed", f"the model kept writing unusable text for '{subtask}'; holding")
            elif outcome == "missed":
                self._finish("failed", f"the release for '{subtask}' missed and no grasp is left to retry; holding")
            else:
                self._finish("failed", f"gave up on '{subtask}' after {self.config.max_cycles} cycles; holding")
            return

    def _work_on(self, subtask: str, start: SceneState | None, it: str | None) -> str:
        """Plan + action cycles on one subtask until it is verified: "done", "gave up" (out of cycles),
        "unusable" (no usable text), "missed" (a placing subtask opened the gripper and is not done: the
        block fell beside its target) or "cancelled"."""
        p = self.policy
        for cycle in range(self.config.max_cycles):
            if self._cancel.is_set():
                return "cancelled"
            obs = self._frame()
            img, kw = self._image(obs), self._state(obs, subtask)
            plan = self._ask("plan", lambda img=img, s=subtask, kw=kw: p.plan(img, self.instruction, s, self._stream, **kw),
                             _non_empty, subtask, **kw)
            if plan is None:
                return "cancelled" if self._cancel.is_set() else "unusable"
            chunks = self._ask(
                "actions",
                lambda img=img, s=subtask, m=plan, kw=kw: p.actions(img, self.instruction, s, m, self._stream, **kw),
                lambda t, g=commanded_gripper(obs.gripper): parse(t, initial_gripper=g), subtask,
            )
            if chunks is None:
                return "cancelled" if self._cancel.is_set() else "unusable"
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
            released = commanded_gripper(obs.gripper) == GRIPPER_CLOSED and chunks[-1].gripper == GRIPPER_OPEN
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
        by_model = None
        if by_sim is None or self.config.ask_model_to_verify:
            by_model = self.policy.is_done(self._image(obs), subtask, **self._state(obs, subtask))
        self.verifications.append((by_sim, by_model))
        verdict = by_sim if by_sim is not None else by_model
        if verdict is None:
            verdict = True  # nothing can judge it: the entries were executed, move on
        source = "simulator" if by_sim is not None else ("model" if by_model is not None else "none")
        self._emit("verify", f"{'done' if verdict else 'not done'} (judged by {source})", subtask,
                   simulator=by_sim, model=by_model)
        return verdict


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
