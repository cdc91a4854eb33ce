"""The task catalogue: the instructions, subtask lists and object names the policy chooses from.

The restater ranks a command against the catalogue's instructions; the subtask step ranks the subtask lists.
The built-in scene's tasks (`core.robot.tasks.all_tasks`) are always in it; a lab's own tasks come in from
its verbalized episodes (`from_episodes`: each distinct instruction with the subtask lists its episodes were
verbalized into, corrections included), so a robot with other objects and other tasks works end to end
after the lab records it. `merged` keeps the built-in entries and adds the recorded ones.

Pure data (no torch, no store): `core.policy.catalogue` reads the store and keeps the running app's copy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from core.language.prompts import subtasks_target


def normal(text: str) -> str:
    """Lower case, single spaces, no final period: how instructions and subtasks are compared."""
    return " ".join(str(text).lower().strip().rstrip(".!").split())


def subtask_objects(subtask: str) -> list[str]:
    """The objects a subtask text names: "stack it on the blue block" -> ["blue block"],
    "push the red block to the left" -> ["red block"], "place it in the bowl" -> ["bowl"]."""
    out = []
    for m in re.finditer(r"\bthe ([a-z]+(?: [a-z]+)?)", normal(subtask)):
        words = m.group(1).split()
        if len(words) == 2 and words[1] in ("to", "forward", "backward", "left", "right"):
            words = words[:1]
        name = " ".join(words)
        if name not in ("left", "right", "near side", "near") and name not in out:
            out.append(name)
    return out


@dataclass(frozen=True)
class Entry:
    instruction: str  # normalised
    subtask_lists: tuple[tuple[str, ...], ...]  # each as its episodes were verbalized (most common first)
    episodes: int = 0  # recorded episodes behind it (0: built in)


@dataclass(frozen=True)
class TaskCatalogue:
    """Instruction -> its subtask lists; `objects` are the names those subtasks use."""

    entries: tuple[Entry, ...] = ()
    version: int = 0  # changes whenever the content does (the policy rebuilds its grammars then)
    sources: dict[str, int] = field(default_factory=dict)  # "built-in" / "recorded" -> number of instructions

    def instructions(self) -> list[str]:
        """The restater's candidate answers, sorted."""
        return sorted(e.instruction for e in self.entries)

    def subtask_lists(self) -> list[str]:
        """The subtask step's candidate answers ("1. grasp the red block\\n2. lift the red block"), sorted."""
        return sorted({subtasks_target(s) for e in self.entries for s in e.subtask_lists})

    def subtasks_for(self, instruction: str) -> tuple[str, ...] | None:
        """The most common subtask list of an instruction, or None when it is not in the catalogue."""
        want = normal(instruction)
        return next((e.subtask_lists[0] for e in self.entries if e.instruction == want and e.subtask_lists), None)

    def objects(self) -> list[str]:
        """Every object name the subtasks use, sorted."""
        return sorted({o for e in self.entries for s in e.subtask_lists for sub in s for o in subtask_objects(sub)})

    def __contains__(self, instruction: object) -> bool:
        return isinstance(instruction, str) and any(e.instruction == normal(instruction) for e in self.entries)


def built_in() -> TaskCatalogue:
    """The built-in scene's tasks: every canonical instruction with the subtasks its expert demos show."""
    from core.robot.tasks import all_tasks

    entries = {normal(t.instruction): Entry(normal(t.instruction), (tuple(t.subtasks),)) for t in all_tasks()}
    return TaskCatalogue(tuple(entries[k] for k in sorted(entries)), 0, {"built-in": len(entries)})


def from_episodes(episodes: Iterable[tuple[str, Sequence[str]]]) -> TaskCatalogue:
    """A catalogue of recorded episodes: (instruction, its verbalized subtask texts) pairs. Episodes without
    an instruction or without subtasks are left out; an instruction's lists are ordered by how many of its
    episodes have them (ties: first seen first)."""
    counts: dict[str, dict[tuple[str, ...], int]] = {}
    for instruction, subtasks in episodes:
        text = normal(instruction or "")
        subs = tuple(normal(s) for s in subtasks if normal(s))
        if not text or not subs:
            continue
        lists = counts.setdefault(text, {})
        lists[subs] = lists.get(subs, 0) + 1
    entries = tuple(
        Entry(k, tuple(sorted(v, key=lambda s: -v[s])), sum(v.values())) for k, v in sorted(counts.items())
    )
    return TaskCatalogue(entries, 0, {"recorded": len(entries)})


def merged(base: TaskCatalogue, recorded: TaskCatalogue, version: int = 0) -> TaskCatalogue:
    """`base`'s entries, each with the recorded lists of the same instruction added after its own, and the
    recorded instructions it does not have."""
    rec = {e.instruction: e for e in recorded.entries}
    out = []
    for e in base.entries:
        r = rec.pop(e.instruction, None)
        if r is None:
            out.append(e)
        else:
            extra = tuple(s for s in r.subtask_lists if s not in e.subtask_lists)
            out.append(Entry(e.instruction, e.subtask_lists + extra, e.episodes + r.episodes))
    out.extend(rec[k] for k in sorted(rec))
    n_base = len(base.entries)
    return TaskCatalogue(tuple(sorted(out, key=lambda e: e.instruction)), version,
                         {"built-in": n_base, "recorded": len(recorded.entries)})


__all__ = ["Entry", "TaskCatalogue", "built_in", "from_episodes", "merged", "normal", "subtask_objects"]
