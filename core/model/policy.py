"""The VLM as a policy for the autonomous loop: the paper's three questions, each decoded under a grammar.

- subtasks: one of the valid subtask lists of the known tasks (a prefix-set grammar); this is where a
  command in any language is restated as English subtasks;
- plan: words of the motion-plan vocabulary;
- actions: the canonical action list, so every answer parses;
- is the subtask done: "yes" or "no".
Prompts are the training templates of `core.language.prompts`, so the fine-tuned adapter sees the same
questions at run time as in training.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from core.language.grammar import ActionListAcceptor, LexiconAcceptor, PrefixSetAcceptor, plan_lexicon
from core.language.prompts import actions_prompt, done_prompt, plan_prompt, subtasks_prompt, subtasks_target
from core.model.chat import prepare_inputs
from core.model.constrained import DecodeResult, TokenConstraint, constrained_generate, make_constraint
from core.model.loader import LoadedModel
from core.robot.tasks import all_tasks

log = logging.getLogger(__name__)


def valid_subtask_lists() -> list[str]:
    return sorted({subtasks_target(t.subtasks) for t in all_tasks()})


class VLMPolicy:
    """Implements `core.control.autonomous.Policy` with a loaded VLM (and its active adapter)."""

    def __init__(self, loaded: LoadedModel, *, max_entries: int = 16, restrict_head: bool = True,
                 subtask_lists: Sequence[str] | None = None, lock: threading.Lock | None = None) -> None:
        self.loaded = loaded
        self.name = loaded.name
        self.restrict_head = restrict_head
        self.lock = lock or threading.Lock()  # one generation at a time on this model
        tok = getattr(loaded.processor, "tokenizer", loaded.processor)
        self.tokenizer = tok
        self._c: dict[str, TokenConstraint] = {
            "subtasks": make_constraint(tok, PrefixSetAcceptor(subtask_lists or valid_subtask_lists())),
            "plan": make_constraint(tok, LexiconAcceptor(plan_lexicon())),
            "actions": make_constraint(tok, ActionListAcceptor(max_entries=max_entries)),
            "done": make_constraint(tok, PrefixSetAcceptor(["yes", "no"])),
        }
        self.last: dict[str, DecodeResult] = {}

    def _gen(self, kind: str, image: Any, prompt: str, max_new_tokens: int,
             on_text: Callable[[str], None] | None) -> str:
        c = self._c[kind]
        with self.lock:
            inputs = prepare_inputs(self.loaded, image, prompt)
            res = constrained_generate(self.loaded.model, self.tokenizer, inputs, c.acceptor,
                                       max_new_tokens=max_new_tokens, restrict_head=self.restrict_head,
                                       on_text=on_text, constraint=c)
        self.last[kind] = res
        return res.text

    def subtasks(self, image: Any, instruction: str, on_text: Callable[[str], None] | None = None) -> str:
        return self._gen("subtasks", image, subtasks_prompt(instruction), 48, on_text)

    def plan(self, image: Any, instruction: str, subtask: str, on_text: Callable[[str], None] | None = None) -> str:
        return self._gen("plan", image, plan_prompt(subtask), 64, on_text)

    def actions(self, image: Any, instruction: str, subtask: str, plan: str,
                on_text: Callable[[str], None] | None = None) -> str:
        return self._gen("actions", image, actions_prompt(subtask, plan), 400, on_text)

    def is_done(self, image: Any, subtask: str) -> bool | None:
        text = self._gen("done", image, done_prompt(subtask), 3, None)
        return {"yes": True, "no": False}.get(text.strip())
