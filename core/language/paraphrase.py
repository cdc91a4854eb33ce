"""English rewordings of the canonical task instructions, for the subtask question in training.

The autonomous loop asks the model to restate a command (typed in any language) as the English
subtasks of a known task. Trained on one fixed wording per task ("pick up the red block"), the adapter
learns to match that string; trained on several English wordings of the same task ("grab the red
cube", "lift the red block") it has to map the meaning, which is what a command in Spanish or Japanese
needs. Only English is used here: the other languages stay zero-shot, as in the paper.
"""

from __future__ import annotations

import hashlib

from core.robot.tasks import Task, TaskError, task_from_instruction

# {o}: the object phrase ("the red block", "the red cube"); {t}: the other block for stack
TEMPLATES: dict[str, tuple[str, ...]] = {
    "pick": ("grab {o}", "lift {o}", "take {o}", "pick {o} up", "get {o}", "raise {o}", "pick up {o}, please",
             "grasp {o} and lift it"),
    "put_in": ("place {o} in the bowl", "drop {o} into the bowl", "put {o} into the bowl", "move {o} to the bowl",
               "set {o} in the bowl", "place {o} inside the bowl"),
    "put_on": ("place {o} on the plate", "put {o} onto the plate", "set {o} on the plate", "move {o} to the plate",
               "place {o} on top of the plate"),
    "push_left": ("slide {o} to the left", "shove {o} left", "push {o} left", "nudge {o} to the left"),
    "push_right": ("slide {o} to the right", "shove {o} right", "push {o} right", "nudge {o} to the right"),
    "push_forward": ("slide {o} forward", "shove {o} away", "push {o} away from you", "nudge {o} forward"),
    "stack": ("put {o} on top of the {t}", "place {o} on the {t}", "stack {o} onto the {t}", "set {o} on the {t}"),
}


def object_phrases(block: str) -> tuple[str, ...]:
    """"red block" -> ("the red block", "the red cube", "red block")."""
    color = block.split()[0]
    return (f"the {block}", f"the {color} cube", block)


def _pick(key: str, n: int) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % n


def paraphrases(instruction: str, n: int, seed: str = "") -> list[str]:
    """Up to `n` distinct English rewordings of a canonical instruction, chosen by `seed` (deterministic).

    Empty for text that is not a canonical instruction (a user's free wording is kept as recorded).
    """
    if n <= 0:
        return []
    try:
        task = task_from_instruction(instruction)
    except TaskError:
        return []
    pool = all_wordings(task)
    out: list[str] = []
    for i in range(len(pool)):
        cand = pool[_pick(f"{seed}:{instruction}:{i}", len(pool))]
        if cand not in out:
            out.append(cand)
        if len(out) == n:
            break
    return out


def all_wordings(task: Task) -> list[str]:
    """Every rewording of `task` (never the canonical instruction itself), in a fixed order."""
    words: list[str] = []
    for tpl in TEMPLATES[task.kind]:
        for o in object_phrases(task.obj):
            w = tpl.format(o=o, t=task.target or "")
            if w != task.instruction and w not in words:
                words.append(w)
    return words

