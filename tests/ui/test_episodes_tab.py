"""Episodes tab logic (core.review): timeline and seek times, filters, table, plot data, corrections as
new verbalization versions, export of a selection, replay as language from the store."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest

from core.language.spec import SPEC_VERSION, Chunk
from core.language.verbalize import Subtask, Verbalization, verbalize
from core.recording import Recorder, RecorderConfig
from core.recording.synthetic import synthetic_frame, synthetic_tick
from core.review import ReviewError, build_timeline, seek_time
from core.review.browse import (
    current_verbalization,
    export_root,
    export_selection,
    make_filter,
    parse_ids,
    plot_frames,
    save_correction,
    table_rows,
)
from core.review.errors import ReplayBusy, StaleVerbalization
from core.review.replay import ReplayRunner, replay_stored
from core.store import StoreConfig, open_store
from core.store import episodes as E
from core.store.models import Verbalization as VerbRow
from core.store.verbalizations import add_verbalization, latest_verbalization
from core.types import Observation


@pytest.fixture
def store(tmp_path):
    s = open_store(StoreConfig(recordings_dir=tmp_path / "rec"))
    yield s
    s.close()


def _synthetic(store, n: int = 40, instruction: str = "wave around", success: bool | None = None) -> int:
    rec = Recorder(store, RecorderConfig(flush_interval_s=0.1, min_free_bytes=1))
    eid = rec.start(instruction, operator="ana", seed=1, robot="sim", cameras=("front",))
    for i in range(n):
        rec.on_tick(*synthetic_tick(i, cameras=("front",), size=32))
    assert rec.stop(success=success).ok
    return eid


def _verb() -> Verbalization:
    a = Subtask("grasp the red block", "move forward, then close", (Chunk(2.0, 0.0, 0.0, 1, steps=(0, 5)),
                Chunk(0.0, 0.0, 0.0, 0, steps=(5, 9))), (0, 9), 1)
    b = Subtask("lift it", "move up", (Chunk(0.0, 0.0, 2.5, 0, steps=(9, 14)),), (9, 15), 0)
    return Verbalization(SPEC_VERSION, "pick up the red block", (a, b), False, 15)


# ---- timeline -----------------------------------------------------------------------------------
def test_seek_time_uses_frames_then_earlier_frames_then_time() -> None:
    fi = [0, 1, -1, 2, -1]
    assert seek_time(1, fi, 10.0) == pytest.approx(0.125)
    assert seek_time(2, fi, 10.0) == pytest.approx(0.125)  # no frame: the frame shown at that moment
    assert seek_time(99, fi, 10.0) == pytest.approx(0.225)  # clamped to the last step
    assert seek_time(0, [-1, -1, 4], 10.0) == pytest.approx(0.425)  # nothing earlier: the next frame
    assert seek_time(1, [-1, -1], 10.0, t=[0.0, 0.5]) == 0.5  # no frames at all: episode time
    assert seek_time(0, [], 30.0) is None


def test_timeline_maps_entries_to_times_and_phrases() -> None:
    t = [i / 10 for i in range(15)]
    tl = build_timeline(_verb(), t, list(range(15)), 10.0)
    assert [s.text for s in tl] == ["grasp the red block", "lift it"]
    assert [c.index for s in tl for c in s.chunks] == [0, 1, 2]
    first, close = tl[0].chunks
    assert first.action == "[2.0, 0.0, 0.0, 1]" and "forward 2.0 cm" in first.phrase
    assert "close the gripper" in close.phrase
    assert (first.t_start, first.t_end, first.seek) == (0.0, 0.5, 0.025)
    assert close.seek == pytest.approx(0.525) and tl[1].seek == pytest.approx(0.925)
    assert tl[1].chunks[0].subtask == 1 and tl[1].t_end == 1.4  # clamped: stop is past the last step


def test_timeline_of_a_damaged_episode_does_not_raise() -> None:
    tl = build_timeline(_verb(), [], [], 30.0)  # steps missing entirely
    assert all(c.seek is None and c.t_start is None for s in tl for c in s.chunks)
    no_range = Verbalization(SPEC_VERSION, None, (Subtask("x", "y", (Chunk(1.0, 0, 0, 1),), (0, 0)),))
    assert build_timeline(no_range, [0.0], [0], 30.0)[0].chunks[0].steps is None


# ---- filters, table, ids, plot -------------------------------------------------------------------
def test_make_filter_accepts_form_values_and_rejects_bad_ones() -> None:
    f = make_filter("pick up the red block", "success", "2026-01-02", "2026-01-03", " ana ", " red ")
    assert (f.task, f.success, f.operator, f.text) == ("pick up the red block", "success", "ana", "red")
    assert (f.since, f.until) == (date(2026, 1, 2), date(2026, 1, 3))
    assert make_filter(None, None, "", None, "", "").since is None
    for args, msg in [
        ((None, "maybe"), "unknown result filter"),
        ((None, "any", "yesterday"), "YYYY-MM-DD"),
        ((None, "any", "2026-02-30"), "not a date"),
        ((None, "any", "2026-03-02", "2026-03-01"), "after"),
        ((None, "any", None, None, None, "x" * 201), "too long"),
    ]:
        with pytest.raises(ReviewError, match=msg):
            make_filter(*args)


def test_parse_ids() -> None:
    assert parse_ids([3, "12", "#5 · pick · success", 3]) == [3, 5, 12]
    assert parse_ids(None) == []
    for bad in (["abc"], [True], ["#x"]):
        with pytest.raises(ReviewError):
            parse_ids(bad)


def test_table_lists_broken_episodes_with_their_problem(store) -> None:
    good = _synthetic(store, 20, success=True)
    broken = _synthetic(store, 12)
    E.get_episode(store, broken).videos[0].path.unlink()  # a video lost on disk
    df = table_rows(E.list_episodes(store))
    assert list(df["id"]) == [broken, good]
    row = df.set_index("id").loc[broken]
    assert "missing" in row["problem"] and row["result"] == "untagged"
    assert df.set_index("id").loc[good]["result"] == "success"


def test_plot_frames_downsample_and_skip_nan(store) -> None:
    eid = _synthetic(store, 50)
    pos, grip = plot_frames(E.step_arrays(store, eid), max_points=20)
    assert set(pos["series"]) == {"x (cm)", "y (cm)", "z (cm)"}
    assert len(pos[pos.series == "x (cm)"]) == 20 and len(pos) == 60
    assert pos[pos.series == "x (cm)"]["value"].between(25, 55).all()  # metres shown as cm
    assert set(grip["series"]) == {"measured", "commanded"}
    arrays = E.step_arrays(store, eid)
    arrays.x[:] = np.nan
    pos2, _ = plot_frames(arrays)
    assert "x (cm)" not in set(pos2["series"])


# ---- verbalizations and corrections --------------------------------------------------------------
def test_correction_is_a_new_version_and_the_training_target(store) -> None:
    from core.training.sources import latest_verbalization as training_target

    eid = _synthetic(store, 20)
    add_verbalization(store, eid, SPEC_VERSION, _verb().to_dict())
    cur = current_verbalization(store, eid)
    assert cur.version == 1 and cur.history == ((1, SPEC_VERSION, "recorded"),) and not cur.problem
    v2 = save_correction(store, eid, cur, 0, "grasp the crimson block", None)
    assert v2 == 2
    again = current_verbalization(store, eid)
    assert again.version == 2 and again.history[-1][2] == "correction of v1"
    assert again.verbalization.subtasks[0].text == "grasp the crimson block"
    assert again.verbalization.subtasks[0].plan == "move forward, then close"  # untouched
    assert again.verbalization.chunks == _verb().chunks  # actions are never changed by a correction
    assert training_target(store, eid).subtasks[0].text == "grasp the crimson block"
    assert latest_verbalization(store, eid).payload["corrected_from"] == 1


def test_correction_refuses_bad_input_and_stale_versions(store) -> None:
    eid = _synthetic(store, 20)
    add_verbalization(store, eid, SPEC_VERSION, _verb().to_dict())
    cur = current_verbalization(store, eid)
    for args, msg in [
        ((5, "x", None), "Pick a subtask"),
        ((0, "grasp the red block", "move forward, then close"), "Nothing changed"),
        ((0, "   ", None), "cannot be empty"),
        ((0, None, "a\n" * 300), "at most 500"),
    ]:
        with pytest.raises(ReviewError, match=msg):
            save_correction(store, eid, cur, *args)
    save_correction(store, eid, cur, 1, None, "move straight up")
    with pytest.raises(StaleVerbalization, match="nothing was overwritten"):
        save_correction(store, eid, cur, 0, "grab it", None)  # `cur` is v1, v2 exists now
    assert [h[0] for h in current_verbalization(store, eid).history] == [1, 2]


def test_malformed_or_missing_verbalization_falls_back_to_the_steps(store) -> None:
    eid = _synthetic(store, 30)
    cur = current_verbalization(store, eid, "wave around")
    assert cur.version == 0 and cur.verbalization is not None and "computed" in cur.problem
    add_verbalization(store, eid, SPEC_VERSION, {"subtasks": [{"text": "x"}]})  # broken payload
    cur = current_verbalization(store, eid, "wave around")
    assert "malformed" in cur.problem and cur.verbalization is not None and cur.latest == 1
    if cur.verbalization.subtasks:
        v = save_correction(store, eid, cur, 0, "wave the gripper", None)
        assert v == 2 and current_verbalization(store, eid).version == 2


def test_steps_without_pose_give_a_problem_not_an_exception(store) -> None:
    eid = _synthetic(store, 10)
    with store.session() as s:
        from core.store.models import Step as StepRow

        s.query(StepRow).filter(StepRow.episode_id == eid, StepRow.idx == 3).update({"x": None})
        s.query(VerbRow).filter(VerbRow.episode_id == eid).delete()
    cur = current_verbalization(store, eid)
    assert cur.verbalization is None and "no end-effector pose" in cur.problem


# ---- export -------------------------------------------------------------------------------------
def test_export_selection_skips_bad_episodes_and_refuses_bad_names(store, tmp_path) -> None:
    a, b = _synthetic(store, 15, success=True), _synthetic(store, 12)
    E.get_episode(store, b).videos[0].path.unlink()
    root = export_root(store.recordings_dir, "")
    assert root == store.recordings_dir / "exports"
    res = export_selection(store, [a, b], root, "demos")
    assert res.episode_ids == (a,) and res.skipped and res.skipped[0][0] == b
    assert json.loads((root / "demos/meta/info.json").read_text())["total_episodes"] == 1
    for ids, name, msg in [
        ([a], "demos", "already exists"),
        ([a], "../escape", "invalid dataset name"),
        ([a], "", "dataset name"),
        ([], "x", "Select the episodes"),
        ([b], "only_bad", "video"),
    ]:
        with pytest.raises(ReviewError, match=msg):
            export_selection(store, ids, root, name)
    assert not (root / "only_bad").exists()
    assert export_root(store.recordings_dir, "sub") == root / "sub"  # a name is taken inside exports/
    assert export_root(store.recordings_dir, str(root / "a" / "b")) == root / "a" / "b"


def test_export_stays_inside_the_exports_area(store, tmp_path) -> None:
    """`../outside`, another absolute folder and a symlink leading out are refused (a root-run app wrote
    into /etc through a symlinked folder); nothing is written outside."""
    a = _synthetic(store, 15, success=True)
    area = export_root(store.recordings_dir, "")
    area.mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (area / "link").symlink_to(outside)
    for typed in ("../outside", "../../outside", str(outside), str(area / "link"), str(area / "link" / "deeper"),
                  "link", str(store.recordings_dir)):
        with pytest.raises(ReviewError, match="exports area"):
            export_root(store.recordings_dir, typed)
    with pytest.raises(ReviewError):  # the dataset name cannot lead out either
        export_selection(store, [a], area, "../outside")
    assert list(outside.iterdir()) == []
    (area / "file").write_text("x")
    with pytest.raises(ReviewError, match="is a file"):
        export_root(store.recordings_dir, "file")


# ---- replay -------------------------------------------------------------------------------------
def _record_rollout(store, robot, task, seed: int, instruction: str | None = None) -> int:
    from core.control.expert import rollout

    demo = rollout(robot, task, seed)
    assert demo.success
    rec = Recorder(store, RecorderConfig(flush_interval_s=0.1, min_free_bytes=1))
    eid = rec.start(instruction or task.instruction, operator="ana", seed=seed,
                    task=None if instruction else task.instruction, robot="sim", cameras=("front",))
    for i, st in enumerate(demo.steps):
        obs = Observation(st.t, st.ee_pos, st.ee_yaw, st.gripper, {"front": synthetic_frame(i, 32)}, st.joints, st.scene)
        rec.on_tick(obs, st)
    assert rec.stop(success=True).ok
    add_verbalization(store, eid, SPEC_VERSION, verbalize(demo.steps, task.instruction).to_dict())
    return eid


def test_replay_stored_episode_on_a_separate_sim(store) -> None:
    pytest.importorskip("mujoco")
    from core.robot.sim import SimConfig, SimRobot
    from core.robot.tasks import Task

    robot = SimRobot(SimConfig(render=False))
    try:
        eid = _record_rollout(store, robot, Task("pick", "red block"), 0)
        free = _record_rollout(store, robot, Task("push_left", "green block"), 1, "nudge the green one")
    finally:
        robot.close()
    runner = ReplayRunner()
    try:
        report = runner.submit(replay_stored, store, eid).result(timeout=120)
    finally:
        runner.close()
    assert report.success is True and report.task == "pick up the red block" and report.version == 1
    assert report.ee_error_cm < 1.0 and report.start_offset_cm < 0.5 and report.entries > 0
    assert "success: YES" in report.summary() and "cm" in report.summary()

    # an instruction that is not a sim task: the error is still measured, success is n/a
    rep = replay_stored(store, free)
    assert rep.success is None and rep.task is None and rep.ee_error_cm < 1.0
    assert "n/a" in rep.summary()


def test_replay_refusals(store) -> None:
    eid = _synthetic(store, 10)
    with store.session() as s:
        from core.store.models import Episode

        s.get(Episode, eid).seed = None
    with pytest.raises(ReviewError, match="no scene seed"):
        replay_stored(store, eid)
    with store.session() as s:
        ep = s.get(Episode, eid)
        ep.seed, ep.robot = 1, "ur5"
    with pytest.raises(ReviewError, match="simulator only"):
        replay_stored(store, eid)
    with pytest.raises(ReviewError, match="does not exist"):
        replay_stored(store, 999)


def test_runner_runs_one_at_a_time() -> None:
    import threading

    gate = threading.Event()
    runner = ReplayRunner()
    try:
        fut = runner.submit(gate.wait, 5)
        assert runner.busy
        with pytest.raises(ReplayBusy):
            runner.submit(lambda: None)
        gate.set()
        fut.result(timeout=5)
        assert not runner.busy
        assert runner.submit(lambda: 7).result(timeout=5) == 7
    finally:
        runner.close()
