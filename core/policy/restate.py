"""The restater: a command in any language -> the canonical English instruction the model ranks first.

Text only (the command's meaning does not depend on the frame), answered with the restater side adapter
(built by `python -m recipes.restater`) switched in for this call (`core.model.adapters.adapter_switched`). The
ranking is calibrated against a content-free command (the *restate prior*) and gets the *colour glosses* of
the command's words (`core.language.restate`), each one more short ranking with the same adapter.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.language.restate import (
    NEUTRAL_COMMAND,
    NEUTRAL_WORD,
    PALETTE,
    PRIOR_WEIGHT,
    answers,
    calibrated,
    color_evidence,
    gloss_prompt,
    gloss_words,
    instructions,
    named_colors,
    restate_prompt,
    with_colors,
)
from core.model.adapters import adapter_switched
from core.model.rank import Ranked, rank_answers

log = logging.getLogger(__name__)


def text_messages(prompt: str, answer: str | None = None) -> list[dict]:
    """A text-only user turn (and the assistant's answer), in the Hugging Face chat format."""
    msgs: list[dict] = [{"role": "user", "content": [{"type": "text", "text": prompt}]}]
    if answer is not None:
        msgs.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
    return msgs


def text_inputs(model: Any, processor: Any, prompt: str) -> dict[str, Any]:
    """Chat-templated, text-only inputs for one user turn (no image)."""
    tok = getattr(processor, "tokenizer", processor)
    text = processor.apply_chat_template(text_messages(prompt), add_generation_prompt=True, tokenize=False)
    device = next(model.parameters()).device
    return {k: v.to(device) for k, v in tok(text, add_special_tokens=False, return_tensors="pt").items()}


def rank_instructions(model: Any, processor: Any, command: str,
                      candidates: Sequence[str] | None = None) -> list[Ranked]:
    """The candidate instructions (default: the built-in canonical ones; the app passes its task catalogue's),
    most likely restatement of `command` first (with the active weights)."""
    tok = getattr(processor, "tokenizer", processor)
    answers = list(candidates) if candidates is not None else instructions()
    ranked, _ = rank_answers(model, tok, text_inputs(model, processor, restate_prompt(command)), answers)
    return ranked


@dataclass(frozen=True)
class RestatePrior:
    """The scores of content-free inputs (the calibration; they do not depend on the command, so they are
    computed once per loaded restater): each instruction for a content-free command, each colour for a
    content-free word."""
    instructions: dict[str, float]
    colors: dict[str, float]


def rank_colors(model: Any, processor: Any, word: str) -> dict[str, float]:
    """Each colour's log-probability as the English meaning of `word` (with the active weights), over
    `PALETTE`: the block colours and the other basic colour terms."""
    tok = getattr(processor, "tokenizer", processor)
    ranked, _ = rank_answers(model, tok, text_inputs(model, processor, gloss_prompt(word)), list(PALETTE))
    return {r.text: r.logprob for r in ranked}


def restate_prior(model: Any, processor: Any, candidates: Sequence[str] | None = None) -> RestatePrior:
    return RestatePrior({r.text: r.logprob for r in rank_instructions(model, processor, NEUTRAL_COMMAND, candidates)},
                        rank_colors(model, processor, NEUTRAL_WORD))


def restate(model: Any, processor: Any, command: str, prior: RestatePrior | None, gloss: bool = True,
            candidates: Sequence[str] | None = None, weight: float = PRIOR_WEIGHT) -> list[Ranked]:
    """The calibrated ranking (`core.language.restate.calibrated`), plus each word's colour gloss
    (`with_colors`; skipped with `gloss` False, without a prior, or for a command without spaces):
    best restatement of `command` first."""
    scores = {r.text: r.logprob for r in rank_instructions(model, processor, command, candidates)}
    ranked = calibrated(scores, prior.instructions if prior is not None else None, weight)
    if gloss and prior is not None:
        ranked = with_colors(ranked, gloss_evidence(model, processor, command, prior))
    return [Ranked(a, s) for a, s in ranked]


def gloss_evidence(model: Any, processor: Any, command: str, prior: RestatePrior) -> dict[str, float] | None:
    """`core.language.restate.color_evidence` from glossing each word of `command` alone; None for a
    command without spaces between words."""
    glosses = word_glosses(model, processor, command)
    return None if glosses is None else color_evidence(glosses, prior.colors)


def word_glosses(model: Any, processor: Any, command: str) -> dict[str, dict[str, float]] | None:
    """Each word of `command` glossed alone over `PALETTE` (`rank_colors`); None for a command without spaces
    between words."""
    words = gloss_words(command)
    if not words:
        return None
    return {w: rank_colors(model, processor, w) for w in words}


@dataclass
class Restater:
    """A restater side adapter loaded on a model (`name`) and its calibration prior (computed on first use
    when not given; it depends only on the adapter, so once per loaded restater). `refuses`: it also ranks
    the open instructions and `NONE_ANSWER` (`core.language.restate.answers`), so the policy may ask which
    block or refuse (`core.language.understand`); False: the task instructions only (the command is always
    acted on, as before)."""

    name: str
    prior: RestatePrior | None = None
    refuses: bool = True
    prior_weight: float = PRIOR_WEIGHT  # the calibration weight this build was measured with (its card)

    def candidates(self, tasks: Sequence[str] | None = None) -> list[str]:
        """What this restater ranks: the task instructions (default: the built-in ones), plus the open
        instructions and `NONE_ANSWER` when it refuses."""
        base = list(tasks) if tasks is not None else instructions()
        return answers(base) if self.refuses else base

    def prepare(self, model: Any, processor: Any) -> RestatePrior:
        """Compute the prior now (a few seconds), so the first restated command does not wait for it."""
        with adapter_switched(model, self.name):
            if self.prior is None:
                self.prior = restate_prior(model, processor, self.candidates())
        return self.prior

    def pick(self, model: Any, processor: Any, command: str, candidates: Sequence[str]) -> list[Ranked]:
        """The best of `candidates` (a subset of this restater's answers, e.g. one kind's instructions) for
        `command`, calibrated with the full prior and with the colour glosses: the answer to "which block?"."""
        self.prepare(model, processor)
        assert self.prior is not None
        sub = RestatePrior({a: self.prior.instructions[a] for a in candidates if a in self.prior.instructions},
                           self.prior.colors)
        if set(sub.instructions) != set(candidates):
            raise ValueError("candidates outside the restater's answers")
        with adapter_switched(model, self.name):
            return restate(model, processor, command, sub, candidates=list(candidates), weight=self.prior_weight)

    def rank(self, model: Any, processor: Any, command: str, candidates: Sequence[str] | None = None,
             gloss: bool = True) -> list[Ranked]:
        """`restate` with this adapter switched in for the call: best restatement of `command` first, among
        `candidates` (default: the built-in instructions; a refusing restater adds its open instructions and
        `NONE_ANSWER`, `candidates`); the prior is computed again for a new candidate set. `gloss` False:
        calibrated only (what the command reader's verdict reads)."""
        answers_ = self.candidates(candidates)
        with adapter_switched(model, self.name):
            if self.prior is None or set(answers_) != set(self.prior.instructions):
                self.prior = restate_prior(model, processor, answers_)
            return restate(model, processor, command, self.prior, gloss=gloss, candidates=answers_,
                           weight=self.prior_weight)

    def glossed(self, model: Any, processor: Any, ranked: Sequence[Ranked],
                glosses: dict[str, dict[str, float]] | None) -> list[Ranked]:
        """`ranked` (a calibrated ranking) with the colour evidence of the command's word `glosses` added
        (`self.glosses`; None, a command without spaces: `ranked` as it is, sorted)."""
        self.prepare(model, processor)
        assert self.prior is not None
        evidence = color_evidence(glosses, self.prior.colors) if glosses else None
        return [Ranked(a, s) for a, s in with_colors([(r.text, r.logprob) for r in ranked], evidence)]

    def glosses(self, model: Any, processor: Any, command: str) -> dict[str, dict[str, float]] | None:
        """Each word of `command` glossed over `PALETTE` with this adapter switched in (`word_glosses`)."""
        with adapter_switched(model, self.name):
            return word_glosses(model, processor, command)

    def named(self, glosses: dict[str, dict[str, float]] | None, min_gain: float) -> list[str] | None:
        """The colours `glosses` say the command names (`core.language.restate.named_colors`, calibrated with
        this restater's content-free word); None without glosses (a script without spaces)."""
        if not glosses or self.prior is None:
            return None
        return named_colors(glosses, self.prior.colors, min_gain)


__all__ = ["PALETTE", "Restater", "RestatePrior", "gloss_evidence", "rank_colors", "rank_instructions", "restate",
           "restate_prior", "text_inputs", "text_messages", "word_glosses"]
