"""The VLM as a policy for the autonomous loop: the paper's three questions, each decoded under a grammar.

- restate (with a restater side adapter loaded, `core.policy.restate`): a command in other words or another
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
- context: the first line of a cycle's questions when the adapter was trained with one (`PolicyConfig.inputs`):
  a grounding line (`core.policy.grounding`) or the robot's state.
Prompts are the training templates of `core.language.prompts`, so the fine-tuned adapter sees the same
questions at run time as in training. `VLMPolicy(loaded, PolicyConfig.from_card(card))` is the policy for an
adapter; the app builds it in `core.policy.service.ModelService.policy`.
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
    actions_prompt,
    done_prompt,
    plan_prompt,
    state_text,
    subtasks_prompt,
    subtasks_target,
)
from core.language.restate import canonical, is_task_answer
from core.language.understand import (
    COLOR_GAIN,
    Understanding,
    completions,
    decide,
    followup_command,
    scene_blocks,
)
from core.model.chat import prepare_inputs
from core.model.constrained import DecodeResult, TokenConstraint, constrained_generate, make_constraint
from core.model.engine import engine_view
from core.model.loader import LoadedModel
from core.model.rank import Ranked, rank_answers
from core.model.worker import run
from core.policy.config import PolicyConfig
from core.policy.restate import Restater
from core.robot.tasks import all_tasks

log = logging.getLogger(__name__)


def valid_subtask_lists() -> list[str]:
    return sorted({subtasks_target(t.subtasks) for t in all_tasks()})


class VLMPolicy:
    """Implements `core.control.policy.Policy` with a loaded VLM (and its active adapter).

    `config`: what the adapter reads and how to decode (`PolicyConfig`). `lock`: one generation at a time on
    this model (the app's generation lock). `restater`: a restater side adapter loaded on the model (None:
    commands go to the subtask step as typed). `grounder` writes the grounding lines of a grounded adapter
    (`core.policy.grounding.Grounder`; giving one makes the policy grounded); without one, the simulator
    camera's calibration with `locator` (an already loaded object locator; None: the shipped one, loaded on
    first use). `subtask_lists`: the answers the subtask step ranks (default: those of the known tasks).
    `catalogue`: where the candidates come from instead (`core.policy.catalogue.CatalogueSource`: the
    built-in tasks plus the lab's recorded ones), asked before each restatement and subtask ranking.
    """

    def __init__(self, loaded: LoadedModel, config: PolicyConfig | None = None, *,
                 lock: threading.Lock | None = None, restater: Restater | None = None, grounder: Any = None,
                 locator: Any = None, subtask_lists: Sequence[str] | None = None, catalogue: Any = None) -> None:
        self.loaded = loaded
        self.config = config or PolicyConfig()
        self.restater = restater
        self.last_restatement: list[Ranked] = []
        self.camera = self.config.camera  # the camera the active adapter was trained on: the loop shows it this one
        self.robot_state = self.config.robot_state  # the adapter was trained with the robot's state in its questions
        # an adapter trained with grounding lines: `grounder` writes them; without one, the simulator camera's
        # calibration is used (a real camera needs its own grounder)
        self.grounded = self.config.grounded or grounder is not None
        self.grounder = grounder
        self.locator = locator
        self.name = loaded.name
        self.restrict_head = self.config.restrict_head
        self.max_entries = max_entries = self.config.max_entries
        self.follow_plan = self.config.follow_plan
        self.rank_subtasks = self.config.rank_subtasks
        self.catalogue = catalogue
        self._catalogue_version: int | None = None
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
        self._sync_catalogue()
        # the last answer of each kind: the decoder's first guess for the next one (consecutive action
        # chunks look alike); it only saves passes, the output is what greedy decoding writes anyway
        self._prior: dict[str, list[int]] = {}

    def _sync_catalogue(self) -> Any:
        """The catalogue's current content (None without one); the subtask grammar follows its lists."""
        if self.catalogue is None:
            return None
        cat = self.catalogue.current()
        if cat.version != self._catalogue_version:
            self.subtask_lists = cat.subtask_lists()
            self._c["subtasks"] = make_constraint(self.tokenizer, PrefixSetAcceptor(self.subtask_lists))
            self._catalogue_version = cat.version
        return cat

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
            from core.policy.grounding import sim_grounder

            robot = self.config.inputs.robot  # the given locator is the built-in scene's
            self.grounder = sim_grounder(camera=self.camera, locator=self.locator if robot == "sim" else None,
                                         robot=robot)
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
        cat = self._sync_catalogue()
        if self.restater is None or canonical(instruction) is not None or (cat is not None and instruction in cat):
            return None
        restater, model, proc = self.restater, self.loaded.model, self.loaded.processor
        candidates = cat.instructions() if cat is not None else None
        ranked = [r for r in self._call(lambda: restater.rank(model, proc, instruction, candidates))
                  if is_task_answer(r.text)]  # a refusing restater's other answers are `understand`'s
        self.last_restatement = ranked
        log.info("restated %r as %r (%.2f) over %r (%.2f)", instruction, ranked[0].text, ranked[0].logprob,
                 ranked[1].text if len(ranked) > 1 else "-", ranked[1].logprob if len(ranked) > 1 else 0.0)
        return ranked[0].text

    def understand(self, instruction: str, present: Sequence[str] | None = None,
                   pending: Understanding | None = None) -> Understanding | None:
        """Act, ask which block, or refuse (`core.language.understand.decide`) for `instruction`, with the
        scene's object names `present` (None: unknown). `pending`: the open command this one answers ("the
        red one" after "which block?"): the answer is ranked among the pending kind's instructions over the
        scene's blocks. None when the restater cannot refuse (an older one, or none): then `restate` decides.
        """
        cat = self._sync_catalogue()
        restater = self.restater
        if restater is None or not restater.refuses:
            return None
        model, proc = self.loaded.model, self.loaded.processor
        if pending is not None and pending.kind:
            blocks = scene_blocks(present) if present is not None else list(pending.candidates)
            options = completions(pending.kind, blocks)
            if options:
                text = followup_command(pending, instruction)
                ranked = self._call(lambda: restater.pick(model, proc, text, options))
                self.last_restatement = ranked
                # the kind is settled: the reply only picks the block (no floor, no refusal for doubt)
                return decide(text, [(r.text, r.logprob) for r in ranked], present, task_floor=float("-inf"))
        own = [i for i in cat.instructions() if canonical(i) is None] if cat is not None else []
        if canonical(instruction) is not None or (cat is not None and instruction in cat):
            ranked = [Ranked(canonical(instruction) or instruction, 0.0)]
            self.last_restatement = ranked
            return decide(instruction, [(r.text, r.logprob) for r in ranked], present, skills=own)
        candidates = cat.instructions() if cat is not None else None
        # the verdict reads the calibrated ranking; the colour glosses then choose the block (act only)
        ranked = self._call(lambda: restater.rank(model, proc, instruction, candidates, gloss=False))
        pairs = [(r.text, r.logprob) for r in ranked]
        u = decide(instruction, pairs, present, skills=own)
        if u.verdict == "act":  # the word glosses choose the block and say which colours the command names
            glosses = self._call(lambda: restater.glosses(model, proc, instruction))
            ranked = self._call(lambda: restater.glossed(model, proc, ranked, glosses))
            u = decide(instruction, pairs, present, skills=own, pick=[(r.text, r.logprob) for r in ranked],
                       named=restater.named(glosses, COLOR_GAIN))
        self.last_restatement = ranked
        log.info("understood %r: %s %s (%s)", instruction, u.verdict, u.instruction or u.reason, u.scores)
        return u

    def subtasks(self, image: Any, instruction: str, on_text: Callable[[str], None] | None = None) -> str:
        self._sync_catalogue()
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
