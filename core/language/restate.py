"""Restating a command as one of the robot's canonical English instructions: the multilingual step.

A visitor types "recoge el bloque rojo"; the action adapter knows "pick up the red block". Between the
two sits one question to the model, answered by a small LoRA of its own (the restater, switched in for
that call only): "Say this robot command in English: ..." -> one of the canonical instructions, chosen
by ranking all of them. The restater is trained on English rewordings only (`core.language.paraphrase`);
every other language stays zero-shot, as in the paper, and rides on the base model's multilingual
knowledge, which a LoRA this small keeps.

Pure data (no torch): the prompt, the candidates and the training pairs.
"""

from __future__ import annotations

import hashlib

from core.language.paraphrase import all_wordings
from core.robot.tasks import TaskError, all_tasks, task_from_instruction

PROMPT = "Say this robot command in English, as one of the robot's commands: {command}"
# Contextual calibration (Zhao et al., 2021): an answer's score is its log-probability for the command
# minus PRIOR_WEIGHT x its log-probability for a content-free command. Without it the restater falls back
# on the shortest instruction ("pick up the ... block") whenever it does not understand the verb.
NEUTRAL_COMMAND = "N/A"
PRIOR_WEIGHT = 0.5


def restate_prompt(command: str) -> str:
    text = " ".join(command.split())
    if not text:
        raise ValueError("an empty command cannot be restated")
    return PROMPT.format(command=text)


def calibrated(scores: dict[str, float], prior: dict[str, float] | None, weight: float = PRIOR_WEIGHT
               ) -> list[tuple[str, float]]:
    """(answer, score - weight x prior score), best first; `prior` None leaves the scores as they are."""
    if prior is not None and set(prior) != set(scores):
        raise ValueError("the prior scores other answers than the command")
    out = [(a, s - (weight * prior[a] if prior is not None else 0.0)) for a, s in scores.items()]
    return sorted(out, key=lambda x: -x[1])


def instructions() -> list[str]:
    """Every canonical English instruction (the restater's candidate answers), sorted."""
    return sorted({t.instruction for t in all_tasks()})


def canonical(command: str) -> str | None:
    """The canonical instruction `command` already is (case, spaces and a final period ignored), or None."""
    try:
        return task_from_instruction(command).instruction
    except TaskError:
        return None


def _held_out(wording: str, share: float) -> bool:
    h = int.from_bytes(hashlib.sha256(wording.encode()).digest()[:4], "big")
    return h / 2**32 < share


def restate_pairs(held_out_share: float = 0.15) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(training, held-out) lists of (English command, canonical instruction).

    Training holds every canonical instruction (restated as itself) and most rewordings; a fixed share of
    rewordings, chosen by a hash of their text, is held out to measure the restater on English it never saw.
    """
    if not 0.0 <= held_out_share < 1.0:
        raise ValueError("held_out_share must be in [0, 1)")
    train: list[tuple[str, str]] = []
    held: list[tuple[str, str]] = []
    for task in all_tasks():
        train.append((task.instruction, task.instruction))
        for w in all_wordings(task):
            (held if _held_out(w, held_out_share) else train).append((w, task.instruction))
    return train, held
