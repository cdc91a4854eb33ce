"""The VLM as a policy for the autonomous loop: the paper's three questions, each decoded under a grammar.

- restate (with a restater adapter loaded, `core.model.restate`): a command in other words or another
  language -> the canonical English instruction the restater ranks first (text only, restater switched
  in for this one call);
- subtasks: one of the valid subtask lists of the known tasks, the one the model finds most likely as
  a whole (`core.model.rank`; or greedy under a prefix-set grammar with `rank_subtasks=False`);
- plan: words of the motion-plan vocabulary;
- actions: the canonical action list, so every answer parses; its first entry does what the plan's
  first phase says (`first_entry_rule`: at least 1 cm along each direction it names firmly, some motion
  along each "slightly" one, under 1 cm along the others, the gripper it opens or closes), so the chunk
  cannot contradict the plan just written;
- is the subtask done: "yes" or "no".
Prompts are the training templates of `core.language.prompts`, so the fine-tuned adapter sees the same
questions at run time as in training.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from core.language.grammar import (
    ActionListAcceptor,
    LexiconAcceptor,
    PrefixSetAcceptor,
    SameGripperAcceptor,
    plan_lexicon,
)
from core.language.plan import first_entry_rule
from core.language.prompts import (
    CHUNK_ENTRIES,
    actions_prompt,
    done_prompt,
    plan_prompt,
    state_text,
    subtasks_prompt,
    subtasks_target,
)
from core.language.restate import canonical
from core.model.chat import prepare_inputs
from core.model.constrained import DecodeResult, TokenConstraint, constrained_generate, make_constraint
from core.model.engine import engine_view
from core.model.loader import LoadedModel
from core.model.rank import Ranked, rank_answers
from core.model.restate import RestatePrior, adapter_switched, restate, restate_prior
from core.model.worker import run
from core.robot.tasks import all_tasks

log = logging.getLogger(__name__)


def valid_subtask_lists() -> list[str]:
    return sorted({subtasks_target(t.subtasks) for t in all_tasks()})


class VLMPolicy:
    """Implements `core.control.autonomous.Policy` with a loaded VLM (and its active adapter)."""

    def __init__(self, loaded: LoadedModel, *, max_entries: int = CHUNK_ENTRIES, restrict_head: bool = True,
                 subtask_lists: Sequence[str] | None = None, lock: threading.Lock | None = None,
                 follow_plan: bool = True, rank_subtasks: bool = True, camera: str = "front",
                 robot_state: bool = False, grounded: bool = False, grounder: Any = None,
                 restater: str | None = None, restate_prior: RestatePrior | None = None,
                 locator: Any = None) -> None:
        self.loaded = loaded
        self.restater = restater  # name of a loaded restater adapter (None: commands go to the subtasks as typed)
        self.last_restatement: list[Ranked] = []
        # the restater's calibration prior (`core.model.restate.restate_prior`): given, or computed on first use
        self._restate_prior: RestatePrior | None = restate_prior
        self.camera = camera  # the camera the active adapter was trained on: the loop shows it this one
        self.robot_state = robot_state  # the adapter was trained with the robot's state in its questions
        # an adapter trained with grounding lines: `grounder` (core.model.grounding.Grounder) writes them;
        # without one, the simulator camera's calibration is used (a real camera needs its own grounder)
        self.grounded = grounded or grounder is not None
        self.grounder = grounder
        self.locator = locator  # an already loaded object locator for the default grounder (None: load one)
        self.name = loaded.name
        self.restrict_head = restrict_head
        self.max_entries = max_entries
        self.follow_plan = follow_plan
        self.rank_subtasks = rank_subtasks
        self.subtask_lists = list(subtask_lists or valid_subtask_lists())
        self.last_ranking: list[Ranked] = []
        self.lock = lock or threading.Lock()  # one generation at a time on this model
        tok = getattr(loaded.processor, "tokenizer", loaded.processor)
        self.tokenizer = tok
        self._c: dict[str, TokenConstraint] = {
            "subtasks": make_constraint(tok, PrefixSetAcceptor(self.subtask_lists)),
            "plan": make_constraint(tok, LexiconAcceptor(plan_lexicon())),
            "actions": make_constraint(tok, ActionListAcceptor(max_entries=max_entries)),
            "done": make_constraint(tok, PrefixSetAcceptor(["yes", "no"])),
        }
        self.last: dict[str, DecodeResult] = {}
        # the last answer of each kind: the decoder's first guess for the next one (consecutive action
        # chunks look alike); it only saves passes, the output is what greedy decoding writes anyway
        self._prior: dict[str, list[int]] = {}

    def _action_constraint(self, plan: str) -> str:
        """The constraint key for an action chunk that follows `plan` (built once per rule)."""
        if not self.follow_plan:
            return "actions"
        rule = first_entry_rule(plan)
        keep = "the gripper" not in plan  # a plan that names no gripper change: no entry changes it
        if not rule and not keep:
            return "actions"
        axes, grip = rule or (("free", "free", "free"), None)
        key = f"actions{axes}{'' if grip is None else grip}{' same gripper' if keep else ''}"
        if key not in self._c:
            acc = ActionListAcceptor(self.max_entries, first_rule=axes, first_gripper=grip)
            self._c[key] = make_constraint(self.tokenizer, SameGripperAcceptor(acc) if keep else acc)
        return key

    def _state(self, state: str | None) -> str | None:
        """The state line for a prompt: only for an adapter trained with it (it would confuse one without)."""
        return state if self.robot_state or self.grounded else None

    def context(self, image: Any, subtask: str, ee_pos: Any, gripper: float, seen: dict | None = None) -> str | None:
        """The first line of this cycle's questions, as the adapter was trained: the grounding line
        (grounded adapter; `seen`: the run's memory of where objects were last seen), the robot-state
        line (state adapter), or None."""
        if self.grounded:
            return run(self._grounding_line, image, subtask, ee_pos, gripper, seen)  # the locator is a torch model
        if self.robot_state:
            return state_text(ee_pos, gripper)
        return None

    def _call(self, fn: Callable[[], Any]) -> Any:
        """`fn()` on the model thread (`core.model.worker`), one generation at a time on this model."""
        with self.lock:
            return run(fn)

    def _grounding_line(self, image: Any, subtask: str, ee_pos: Any, gripper: float, seen: dict | None) -> str:
        if self.grounder is None:
            from core.model.grounding import sim_grounder

            self.grounder = sim_grounder(camera=self.camera, locator=self.locator)
        return self.grounder.line(image, subtask, ee_pos, gripper, seen)

    def _gen(self, kind: str, image: Any, prompt: str, max_new_tokens: int,
             on_text: Callable[[str], None] | None, constraint: str | None = None) -> str:
        c = self._c[constraint or kind]

        def work() -> DecodeResult:
            loaded = engine_view(self.loaded)  # a quantized engine's copy of the LM, if the precision has one
            inputs = prepare_inputs(loaded, image, prompt)
            return constrained_generate(loaded.model, self.tokenizer, inputs, c.acceptor,
                                        max_new_tokens=max_new_tokens, restrict_head=self.restrict_head,
                                        on_text=on_text, constraint=c, prior=self._prior.get(kind, ()))

        res = self._call(work)
        self.last[kind] = res
        self._prior[kind] = res.token_ids
        return res.text

    def restate(self, instruction: str) -> str | None:
        """The canonical English instruction the restater ranks first for `instruction` (calibrated against a
        content-free command); None when there is no restater or the instruction already is canonical."""
        if self.restater is None or canonical(instruction) is not None:
            return None
        model, proc = self.loaded.model, self.loaded.processor

        def work() -> list[Ranked]:
            with adapter_switched(model, self.restater):
                if self._restate_prior is None:
                    self._restate_prior = restate_prior(model, proc)
                return restate(model, proc, instruction, self._restate_prior)

        ranked = self._call(work)
        self.last_restatement = ranked
        log.info("restated %r as %r (%.2f) over %r (%.2f)", instruction, ranked[0].text, ranked[0].logprob,
                 ranked[1].text if len(ranked) > 1 else "-", ranked[1].logprob if len(ranked) > 1 else 0.0)
        return ranked[0].text

    def subtasks(self, image: Any, instruction: str, on_text: Callable[[str], None] | None = None) -> str:
        if not self.rank_subtasks:
            return self._gen("subtasks", image, subtasks_prompt(instruction), 48, on_text)

        def work() -> tuple[list[Ranked], float]:
            inputs = prepare_inputs(self.loaded, image, subtasks_prompt(instruction))
            return rank_answers(self.loaded.model, self.tokenizer, inputs, self.subtask_lists)

        ranked, seconds = self._call(work)
        self.last_ranking = ranked
        log.info("subtasks ranked in %.2f s: %s (%.2f) over %s (%.2f)", seconds, ranked[0].text.replace("\n", " / "),
                 ranked[0].logprob, ranked[1].text.replace("\n", " / ") if len(ranked) > 1 else "-",
                 ranked[1].logprob if len(ranked) > 1 else 0.0)
        if on_text is not None:
            on_text(ranked[0].text)
        return ranked[0].text

    def plan(self, image: Any, instruction: str, subtask: str, on_text: Callable[[str], None] | None = None,
             state: str | None = None) -> str:
        return self._gen("plan", image, plan_prompt(subtask, self._state(state)), 64, on_text)

    def actions(self, image: Any, instruction: str, subtask: str, plan: str,
                on_text: Callable[[str], None] | None = None, state: str | None = None) -> str:
        return self._gen("actions", image, actions_prompt(subtask, plan, state=self._state(state)), 400, on_text,
                         self._action_constraint(plan))

    def is_done(self, image: Any, subtask: str, state: str | None = None) -> bool | None:
        text = self._gen("done", image, done_prompt(subtask, self._state(state)), 3, None)
        return {"yes": True, "no": False}.get(text.strip())
