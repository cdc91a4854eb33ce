"""The task catalogue: the built-in tasks plus the lab's recorded ones, as the restater's instructions and
the subtask step's lists (core.language.catalogue, core.policy.catalogue, VLMPolicy's candidates)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.language.catalogue import built_in, from_episodes, merged, subtask_objects
from core.language.prompts import subtasks_target
from core.language.spec import SPEC_VERSION, Chunk
from core.language.verbalize import Subtask, Verbalization
from core.model.rank import Ranked
from core.policy.catalogue import CatalogueSource
from core.recording import Recorder, RecorderConfig
from core.recording.synthetic import synthetic_tick
from core.robot.tasks import all_tasks
from core.store import StoreConfig, open_store
from core.store.verbalizations import add_verbalization

CUP = ("grasp the blue cup", "place it on the shelf")


@pytest.fixture
def store(tmp_path):
    s = open_store(StoreConfig(recordings_dir=tmp_path / "rec"))
    yield s
    s.close()


def _record(store, instruction: str, subtasks: tuple[str, ...] | None, success: bool | None = True) -> int:
    rec = Recorder(store, RecorderConfig(flush_interval_s=0.1, min_free_bytes=1))
    eid = rec.start(instruction, operator="ana", seed=1, robot="so101-sim", cameras=("front",))
    for i in range(12):
        rec.on_tick(*synthetic_tick(i, cameras=("front",), size=32))
    assert rec.stop(success=success).ok
    if subtasks is not None:
        subs = tuple(Subtask(t, "move forward", (Chunk(1.0, 0.0, 0.0, 1, steps=(2 * k, 2 * k + 2)),), (2 * k, 2 * k + 2), 1)
                     for k, t in enumerate(subtasks))
        add_verbalization(store, eid, SPEC_VERSION, Verbalization(SPEC_VERSION, instruction, subs, False, 12).to_dict())
    return eid


def test_the_built_in_catalogue_is_the_built_in_tasks():
    from core.policy.vlm import valid_subtask_lists

    cat = built_in()
    assert cat.instructions() == sorted(t.instruction for t in all_tasks()) and len(cat.instructions()) == 36
    assert cat.subtask_lists() == valid_subtask_lists()
    assert cat.subtasks_for("Pick up the red block.") == ("grasp the red block", "lift the red block")
    assert {"red block", "yellow block", "bowl", "plate"} <= set(cat.objects())


def test_recorded_tasks_join_the_built_in_ones():
    rec = from_episodes([("Put the blue cup on the shelf.", list(CUP)), ("put the blue cup on the shelf", list(CUP)),
                         ("put the blue cup on the shelf", ["grasp the blue cup", "lift it", "place it on the shelf"]),
                         ("pick up the red block", ["grasp the red block", "lift it"]),
                         ("", ["grasp x"]), ("wave", [])])  # no instruction / no subtasks: left out
    assert rec.instructions() == ["pick up the red block", "put the blue cup on the shelf"]
    assert rec.subtasks_for("put the blue cup on the shelf") == CUP  # the most common list first
    cat = merged(built_in(), rec, version=3)
    assert cat.version == 3 and len(cat.instructions()) == 37 and "put the blue cup on the shelf" in cat
    assert subtasks_target(CUP) in cat.subtask_lists()
    assert subtasks_target(("grasp the red block", "lift it")) in cat.subtask_lists()  # a recorded variant kept
    assert cat.subtasks_for("pick up the red block") == ("grasp the red block", "lift the red block")  # built-in first
    assert {"blue cup", "shelf"} <= set(cat.objects())
    assert subtask_objects("push the red block to the left") == ["red block"]
    assert subtask_objects("stack it on the blue block") == ["blue block"]


def test_the_source_reads_the_store_and_notices_new_episodes(store):
    source = CatalogueSource(store)
    v0 = source.current().version
    assert source.current().instructions() == built_in().instructions()
    _record(store, "put the blue cup on the shelf", CUP)
    _record(store, "wave the arm", None)  # no verbalization: not a task to choose
    _record(store, "knock the cup over", ("grasp the blue cup", "tip it over"), success=False)  # failed: left out
    cat = source.current()  # the store changed: read again without being told
    assert cat.version == v0 + 1 and "put the blue cup on the shelf" in cat and "knock the cup over" not in cat
    assert subtasks_target(CUP) in cat.subtask_lists() and "wave the arm" not in cat
    assert source.refresh().version == cat.version  # same content: same version (no grammar rebuild)


def test_the_policy_ranks_the_catalogues_candidates(store, tmp_path):
    from core.model.loader import load_model
    from core.policy.config import PolicyConfig
    from core.policy.vlm import VLMPolicy
    from tests.model_fixtures import tiny_gemma3

    torch.set_num_threads(1)
    loaded = load_model(tiny_gemma3(tmp_path / "g3"), precision="fp32")
    source = CatalogueSource(store)

    class Restater:  # records what it is asked to choose from
        asked: list = []

        def rank(self, model, processor, command, candidates=None):  # noqa: ANN001, ANN201
            self.asked.append(list(candidates or []))
            return [Ranked(candidates[0], -1.0)]

    policy = VLMPolicy(loaded, PolicyConfig(max_entries=3), restater=Restater(), catalogue=source)
    frame = np.zeros((64, 64, 3), dtype=np.uint8)
    policy.subtasks(frame, "pon la taza azul en el estante")
    assert len(policy.last_ranking) == len(built_in().subtask_lists())
    _record(store, "put the blue cup on the shelf", CUP)  # the lab records a task of its own
    policy.subtasks(frame, "pon la taza azul en el estante")
    assert subtasks_target(CUP) in {r.text for r in policy.last_ranking}
    assert len(policy.last_ranking) == len(built_in().subtask_lists()) + 1
    policy.restate("pon la taza azul en el estante")
    assert "put the blue cup on the shelf" in Restater.asked[-1] and len(Restater.asked[-1]) == 37
    assert policy.restate("put the blue cup on the shelf") is None  # already one of the robot's instructions
