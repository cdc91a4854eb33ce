"""English rewordings of the task instructions (training data for the subtask question)."""

from __future__ import annotations

import pytest

from core.language.paraphrase import all_wordings, paraphrases
from core.robot.tasks import all_tasks


@pytest.mark.parametrize("task", all_tasks(), ids=lambda t: t.instruction)
def test_every_task_has_rewordings_that_keep_its_colour_and_target(task):
    words = all_wordings(task)
    assert len(words) >= 8 and task.instruction not in words and len(set(words)) == len(words)
    color = task.obj.split()[0]
    assert all(color in w for w in words)
    if task.target:
        assert all(task.target.split()[0] in w for w in words)
    others = {t.obj.split()[0] for t in all_tasks()} - {color} - set((task.target or "").split()[:1])
    assert not any(o in w.split() for w in words for o in others)


def test_paraphrases_are_deterministic_distinct_and_seeded():
    a = paraphrases("pick up the red block", 3, "episode-1")
    assert a == paraphrases("pick up the red block", 3, "episode-1")
    assert len(a) == len(set(a)) == 3 and "pick up the red block" not in a
    seen = {tuple(paraphrases("pick up the red block", 2, f"ep{i}")) for i in range(20)}
    assert len(seen) > 5  # different episodes get different wordings


def test_free_wording_and_zero_are_left_alone():
    assert paraphrases("tidy up the table", 2) == []
    assert paraphrases("pick up the red block", 0) == []
    assert paraphrases("Pick up the red block.", 1)  # canonical up to case and a full stop
