"""LeRobotDataset v3.0 export as LeRobot 0.6.1 lays it out (stats, chunked files, language columns),\nour own round trip, and path safety."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import av
import numpy as np
import pyarrow.parquet as pq
import pytest

from core.recording import DatasetError, Recorder, RecorderConfig, UnsafePath
from core.recording.lerobot import FileSettings, export_lerobot, import_lerobot
from core.recording.paths import resolve_export_dir, safe_join
from core.recording.synthetic import frame_bar_row, synthetic_frame, synthetic_tick
from core.store import StoreConfig, open_store
from core.store import episodes as E

CAMS = ("front", "wrist")


@pytest.fixture
def store(tmp_path):
    s = open_store(StoreConfig(recordings_dir=tmp_path / "rec"))
    yield s
    s.close()


def _episode(store, n: int, instruction: str, success: bool | None, cameras=CAMS) -> int:
    rec = Recorder(store, RecorderConfig(flush_interval_s=0.1, min_free_bytes=1))
    eid = rec.start(instruction, operator="ana", seed=n, task="pick")
    for i in range(n):
        rec.on_tick(*synthetic_tick(i, cameras=cameras, size=64))
    assert rec.stop(success=success).ok
    return eid


@pytest.fixture
def two_episodes(store) -> list[int]:
    return [_episode(store, 23, "pick up the red block", True), _episode(store, 31, "recoger el bloque azul", False)]


def _decode_at(path: Path, timestamps: list[float], tol: float = 1e-4) -> list[np.ndarray]:
    """Frame lookup the way LeRobot does it: the decoded frame closest in time, within `tol`."""
    with av.open(str(path)) as c:
        frames = [(float(f.time), f.to_ndarray(format="rgb24")) for f in c.decode(c.streams.video[0])]
    times = np.array([t for t, _ in frames])
    out = []
    for ts in timestamps:
        k = int(np.argmin(np.abs(times - ts)))
        assert abs(times[k] - ts) < tol, f"no frame within {tol}s of {ts} in {path}"
        out.append(frames[k][1])
    return out


STAT_KEYS = ["min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99"]


def _episodes(root: Path) -> list[dict]:
    rows = []
    for f in sorted((root / "meta/episodes").rglob("*.parquet")):
        rows.extend(pq.read_table(f).to_pylist())
    return rows


def _data(root: Path):
    import pandas as pd

    return pd.concat([pq.read_table(f).to_pandas() for f in sorted((root / "data").rglob("*.parquet"))],
                     ignore_index=True)


def test_export_layout(store, two_episodes, tmp_path):
    root = resolve_export_dir(tmp_path / "exports", "demo_set")
    res = export_lerobot(store, two_episodes, root)
    assert (res.episodes, res.frames, res.data_files, res.video_files) == (2, 54, 1, 2)
    info = json.loads((root / "meta/info.json").read_text())
    assert info["codebase_version"] == "v3.0"
    assert (info["fps"], info["total_episodes"], info["total_frames"], info["total_tasks"]) == (30, 2, 54, 2)
    assert (info["chunks_size"], info["data_files_size_in_mb"], info["video_files_size_in_mb"]) == (1000, 100, 200)
    assert info["splits"] == {"train": "0:2"}
    assert info["data_path"] == "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
    assert info["video_path"] == "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
    feats = info["features"]
    assert feats["observation.state"]["names"] == ["x", "y", "z", "yaw", "gripper"]
    assert feats["observation.images.front"]["dtype"] == "video"
    assert feats["observation.images.front"]["shape"] == [64, 64, 3]
    assert feats["observation.images.front"]["info"]["video.codec"] == "h264"
    assert feats["observation.joints"]["shape"] == [2]
    assert feats["language_persistent"] == {"dtype": "language", "shape": [1], "names": None}
    for key in ("timestamp", "frame_index", "episode_index", "index", "task_index"):
        assert key in feats
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert files == [
        "data/chunk-000/file-000.parquet",
        "meta/episodes/chunk-000/file-000.parquet",
        "meta/info.json",
        "meta/stats.json",
        "meta/tasks.parquet",
        "meta/vlm2vla/episodes.json",
        "videos/observation.images.front/chunk-000/file-000.mp4",  # both episodes in one file
        "videos/observation.images.wrist/chunk-000/file-000.mp4",
    ]
    assert not (tmp_path / "exports" / "demo_set.partial").exists()

    import pandas as pd

    tasks = pd.read_parquet(root / "meta/tasks.parquet")
    assert tasks.loc["recoger el bloque azul"].task_index == 1
    assert tasks.iloc[0].name == "pick up the red block"

    stats = json.loads((root / "meta/stats.json").read_text())
    assert list(stats["observation.state"]) == STAT_KEYS
    assert np.array(stats["observation.images.front"]["mean"]).shape == (3, 1, 1)
    assert stats["index"]["max"] == [53.0] and stats["index"]["count"] == [54]

    data = _data(root)
    eps = _episodes(root)
    assert [e["length"] for e in eps] == [23, 31]
    assert [(e["dataset_from_index"], e["dataset_to_index"]) for e in eps] == [(0, 23), (23, 54)]
    assert list(data["index"]) == list(range(54))
    assert data["timestamp"].dtype == np.float32
    # exactly LeRobot's columns (what LeRobotDataset.resume appends), stats for every feature but language
    stat_features = [k for k, f in feats.items() if f["dtype"] != "language"]
    expected = ["episode_index", "tasks", "length", "data/chunk_index", "data/file_index", "dataset_from_index",
                "dataset_to_index"]
    for cam in ("front", "wrist"):
        key = f"observation.images.{cam}"
        expected += [f"videos/{key}/{k}" for k in ("chunk_index", "file_index", "from_timestamp", "to_timestamp")]
    expected += [f"stats/{f}/{k}" for f in stat_features for k in STAT_KEYS]
    expected += ["meta/episodes/chunk_index", "meta/episodes/file_index"]
    assert list(eps[0]) == expected
    second = eps[1]
    assert second["stats/frame_index/max"] == [30.0] and second["stats/frame_index/count"] == [31]
    assert second["stats/index/min"] == [23.0] and second["stats/episode_index/mean"] == [1.0]
    assert second["stats/timestamp/max"] == [pytest.approx(30 / 30)] and second["stats/task_index/max"] == [1.0]
    assert np.array(second["stats/observation.images.front/mean"]).shape == (3, 1, 1)
    sa = E.step_arrays(store, two_episodes[1])
    assert second["stats/observation.state/min"][0] == pytest.approx(float(np.min(sa.x)), abs=1e-6)
    # our own facts are beside LeRobot's metadata
    side = json.loads((root / "meta/vlm2vla/episodes.json").read_text())["episodes"]
    assert side[1]["success"] is False and side[0]["operator"] == "ana" and side[1]["dataset_from_index"] == 23
    # every data row finds its frame, as LeRobotDataset.__getitem__ would look it up
    _check_frames(root, info, data, eps)


def _check_frames(root, info, data, eps) -> None:
    for ep in eps:
        rows = data[data.episode_index == ep["episode_index"]]
        key = "observation.images.front"
        video = root / info["video_path"].format(
            video_key=key, chunk_index=ep[f"videos/{key}/chunk_index"], file_index=ep[f"videos/{key}/file_index"]
        )
        ts = [ep[f"videos/{key}/from_timestamp"] + float(t) for t in rows.timestamp]
        frames = _decode_at(video, ts)
        for fi, img in zip(rows.frame_index, frames, strict=True):
            assert frame_bar_row(img) == frame_bar_row(synthetic_frame(int(fi), 64))


def test_files_roll_over_by_size_and_chunk(store, tmp_path):
    ids = [_episode(store, n, "pick up the red block", True) for n in (20, 25, 30, 22)]
    tiny = FileSettings(chunks_size=2, data_files_size_in_mb=0.001, video_files_size_in_mb=0.001)
    root = tmp_path / "tiny"
    res = export_lerobot(store, ids, root, settings=tiny)
    eps = _episodes(root)
    # every episode overflows the limits: one file each, two files per chunk folder
    where = [(e["data/chunk_index"], e["data/file_index"]) for e in eps]
    assert where == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert [(e["videos/observation.images.front/chunk_index"], e["videos/observation.images.front/file_index"])
            for e in eps] == where
    assert all(e["videos/observation.images.front/from_timestamp"] == 0.0 for e in eps)
    assert res.data_files == 4 and res.video_files == 8
    info = json.loads((root / "meta/info.json").read_text())
    assert (info["chunks_size"], info["data_files_size_in_mb"]) == (2, 0.001)
    for e in eps:
        f = root / info["data_path"].format(chunk_index=e["data/chunk_index"], file_index=e["data/file_index"])
        assert set(pq.read_table(f, columns=["episode_index"]).column(0).to_pylist()) == {e["episode_index"]}
    _check_frames(root, info, _data(root), eps)

    roomy = tmp_path / "roomy"
    export_lerobot(store, ids, roomy, settings=FileSettings(video_files_size_in_mb=0.05))
    eps = _episodes(roomy)
    key = "videos/observation.images.front"
    files = [e[f"{key}/file_index"] for e in eps]
    assert files[0] == 0 and files == sorted(files) and len(set(files)) < 4  # several episodes per file
    for a, b in zip(eps, eps[1:], strict=False):
        if a[f"{key}/file_index"] == b[f"{key}/file_index"]:
            assert b[f"{key}/from_timestamp"] == pytest.approx(a[f"{key}/to_timestamp"])
        else:
            assert b[f"{key}/from_timestamp"] == 0.0
    _check_frames(roomy, json.loads((roomy / "meta/info.json").read_text()), _data(roomy), eps)
    with pytest.raises(DatasetError, match="chunks_size"):
        FileSettings(chunks_size=0)


def test_language_columns(store, two_episodes, tmp_path):
    from core.language.verbalize import Verbalization
    from core.recording.lerobot import language as LANG
    from core.store.verbalizations import add_verbalization, latest_verbalization

    # a correction of episode 1's first subtask is what gets exported
    stored = latest_verbalization(store, two_episodes[0])
    v = Verbalization.from_dict(stored.payload) if stored else None
    if v is None:
        from core.recording.lerobot.episode_source import load_episodes

        v = load_episodes(store, [two_episodes[0]])[0][0].verbalization
    corrected = v.corrected(0, text="grab the red cube")
    add_verbalization(store, two_episodes[0], corrected.spec_version, corrected.to_dict())
    root = tmp_path / "lang"
    res = export_lerobot(store, two_episodes, root)
    assert res.language_episodes == 2
    t = pq.read_table(root / "data/chunk-000/file-000.parquet")
    assert t.schema.field("language_persistent").type == LANG.PERSISTENT_TYPE
    assert t.schema.field("language_events").type == LANG.EVENTS_TYPE
    data = t.to_pylist()
    first = [r for r in data if r["episode_index"] == 0]
    rows = first[0]["language_persistent"]
    assert all(r["language_persistent"] == rows and r["language_events"] == [] for r in first)
    assert {r["style"] for r in rows} == {"subtask", "plan", "motion"}
    assert all(r["role"] == "assistant" and r["camera"] is None and r["tool_calls"] is None for r in rows)
    stamps = {float(r["timestamp"]) for r in first}
    assert all(float(r["timestamp"]) in stamps for r in rows)  # frame timestamps exactly
    keys = [(r["style"], r["timestamp"]) for r in rows]
    assert len(keys) == len(set(keys))  # LeRobot's resolvers refuse two rows of a style at one time
    assert rows == sorted(rows, key=lambda r: (r["timestamp"], r["style"], r["role"]))
    for sub in corrected.subtasks:
        at = LANG.frame_time(sub.steps[0], 30)
        assert LANG.active(rows, "subtask", at)["content"] == sub.text
        assert LANG.active(rows, "plan", at)["content"] == sub.plan
    assert LANG.active(rows, "subtask", 0.0)["content"] == "grab the red cube"
    chunks = [c for s in corrected.subtasks for c in s.chunks]
    motion = [json.loads(r["content"]) for r in rows if r["style"] == "motion"]
    assert [e for m in motion for e in m] == [c.as_list() for c in chunks]

    plain = tmp_path / "plain"
    export_lerobot(store, two_episodes, plain, language=False)
    assert "language_persistent" not in pq.read_schema(plain / "data/chunk-000/file-000.parquet").names


def test_round_trip(store, two_episodes, tmp_path):
    root = tmp_path / "ds"
    export_lerobot(store, two_episodes, root)
    other = open_store(StoreConfig(recordings_dir=tmp_path / "other"))
    res = import_lerobot(other, root)
    assert res.problems == () and len(res.episode_ids) == 2 and res.frames == 54
    for old, new in zip(two_episodes, res.episode_ids, strict=True):
        a, b = E.get_episode(store, old), E.get_episode(other, new)
        assert (b.instruction, b.success, b.operator, b.seed, b.task) == (
            a.instruction,
            a.success,
            a.operator,
            a.seed,
            a.task,
        )
        assert b.status == "imported" and b.source == "imported" and b.num_steps == a.num_steps
        assert b.playable and [v.frame_count for v in b.videos] == [a.num_steps] * 2
        sa, sb = E.step_arrays(store, old), E.step_arrays(other, new)
        for f in ("t", "x", "y", "z", "yaw", "gripper", "cmd_x", "cmd_gripper"):
            np.testing.assert_allclose(getattr(sb, f), getattr(sa, f), atol=1e-6, err_msg=f)
        assert list(sb.frame_index) == list(sa.frame_index)
        for v in b.videos:
            frames = _decode_at(v.path, [k / 30 for k in (0, a.num_steps - 1)])
            assert [frame_bar_row(f) for f in frames] == [
                frame_bar_row(synthetic_frame(0, 64)),
                frame_bar_row(synthetic_frame(a.num_steps - 1, 64)),
            ]
    other.close()


def test_export_refusals(store, tmp_path):
    good = _episode(store, 10, "pick up the red block", True)
    rec = Recorder(store, RecorderConfig(min_free_bytes=1))
    bad = rec.start("pick up the red block", cameras=CAMS)
    for i in range(5):
        rec.on_tick(*synthetic_tick(i, size=64, cameras=CAMS if i != 2 else ("front",)))
    assert rec.stop().status == "flagged"
    with pytest.raises(DatasetError, match=f"episode {bad}"):
        export_lerobot(store, [good, bad], tmp_path / "x")
    assert not (tmp_path / "x").exists()
    res = export_lerobot(store, [good, bad, 9999], tmp_path / "x", skip_invalid=True)
    assert res.episode_ids == (good,) and {i for i, _ in res.skipped} == {bad, 9999}
    with pytest.raises(DatasetError, match="already exists"):
        export_lerobot(store, [good], tmp_path / "x")
    with pytest.raises(DatasetError, match="no episode"):
        export_lerobot(store, [], tmp_path / "y")


@pytest.mark.parametrize("name", ["../up", "/abs", "a/b", "..", "", "x" * 80, "a\\..\\b"])
def test_export_names_cannot_escape(tmp_path, name):
    with pytest.raises(UnsafePath):
        resolve_export_dir(tmp_path, name)


def test_safe_join(tmp_path):
    (tmp_path / "inside").mkdir()
    assert safe_join(tmp_path, "inside/a.txt") == (tmp_path / "inside/a.txt").resolve()
    (tmp_path / "link").symlink_to("/")
    for rel in ("../x", "/etc/passwd", "link/etc/passwd", "a/../../x", ""):
        with pytest.raises(UnsafePath):
            safe_join(tmp_path, rel)


def _exported(store, tmp_path) -> Path:
    eid = _episode(store, 8, "pick up the red block", True)
    root = tmp_path / "ds"
    export_lerobot(store, [eid], root)
    return root


def _edit_info(root: Path, **changes) -> None:
    p = root / "meta/info.json"
    info = json.loads(p.read_text())
    info.update(changes)
    p.write_text(json.dumps(info))


def test_import_refuses_escaping_paths(store, tmp_path):
    root = _exported(store, tmp_path)
    outside = tmp_path / "outside"
    shutil.copytree(root / "data", outside / "data")
    _edit_info(root, data_path="../outside/data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet")
    with pytest.raises(UnsafePath):
        import_lerobot(store, root)

    root2 = _exported(store, tmp_path / "two")
    _edit_info(root2, video_path="../../{video_key}/x.mp4")
    res = import_lerobot(store, root2)  # data is fine, videos refused: episode flagged, not a crash
    [eid] = res.episode_ids
    ep = E.get_episode(store, eid)
    assert ep.status == "flagged" and "not a plain relative path" in ep.problem and not ep.playable

    root3 = _exported(store, tmp_path / "three")
    target = root3 / "meta/episodes/chunk-000/file-000.parquet"
    shutil.move(target, tmp_path / "elsewhere.parquet")
    target.symlink_to(tmp_path / "elsewhere.parquet")
    with pytest.raises(UnsafePath):
        import_lerobot(store, root3)


def test_import_rejects_other_versions_and_non_datasets(store, tmp_path):
    root = _exported(store, tmp_path)
    _edit_info(root, codebase_version="v2.1")
    with pytest.raises(DatasetError, match="v2.1"):
        import_lerobot(store, root)
    with pytest.raises(DatasetError, match="not a LeRobot dataset"):
        import_lerobot(store, tmp_path / "nothing-here")


def test_loads_with_lerobot_dataset(store, tmp_path):
    lerobot_dataset = pytest.importorskip(
        "lerobot.datasets.lerobot_dataset",
        reason="lerobot is not installed: lerobot 0.5+ needs Python >= 3.12, and 0.4.4 (the last for 3.11) "
        "imports torchvision, which has no PyPI build that loads beside torch 2.13.0",
    )
    root = _exported(store, tmp_path)
    ds = lerobot_dataset.LeRobotDataset("local/demo", root=root)
    assert len(ds) == 8 and ds.num_episodes == 1
    item = ds[3]
    assert item["task"] == "pick up the red block"
    assert tuple(item["observation.images.front"].shape) == (3, 64, 64)


def test_our_facts_come_back_only_for_the_episodes_they_describe(store, two_episodes, tmp_path):
    import pyarrow as pa

    root = tmp_path / "ds"
    export_lerobot(store, two_episodes, root)
    side = root / "meta/vlm2vla/episodes.json"
    data = json.loads(side.read_text())
    data["episodes"][1]["length"] = 99  # no longer the same episode (e.g. a LeRobot tool edited the dataset)
    side.write_text(json.dumps(data))
    other = open_store(StoreConfig(recordings_dir=tmp_path / "a"))
    a, b = (E.get_episode(other, i) for i in import_lerobot(other, root).episode_ids)
    assert (a.operator, a.success) == ("ana", True) and (b.operator, b.success) == (None, None)
    other.close()
    # exports made before the sidecar kept these facts as vlm2vla/* columns of the episodes table
    side.unlink()
    f = root / "meta/episodes/chunk-000/file-000.parquet"
    t = pq.read_table(f)
    t = t.append_column("vlm2vla/operator", pa.array(["old", "older"])).append_column(
        "vlm2vla/success", pa.array([False, True]))
    pq.write_table(t, f)
    legacy = open_store(StoreConfig(recordings_dir=tmp_path / "b"))
    a, b = (E.get_episode(legacy, i) for i in import_lerobot(legacy, root).episode_ids)
    assert (a.operator, a.success, b.operator, b.success) == ("old", False, "older", True)
    legacy.close()
