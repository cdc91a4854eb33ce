"""Importing LeRobot datasets made by other tools: joint space, cameras, refusals, seeking, CLI, roles."""

from __future__ import annotations

import json
import types

import numpy as np
import pytest

from core.recording import DatasetError
from core.recording.lerobot import import_lerobot
from core.recording.lerobot.__main__ import main as cli
from core.recording.lerobot.kinematics import so101_pose
from core.recording.synthetic import frame_bar_row, synthetic_frame
from core.store import StoreConfig, open_store
from core.store import episodes as E
from core.store.models import Step
from tests.lerobot_fixtures import global_frames, joint_values, make_dataset

LENGTHS = [12, 15, 10]


@pytest.fixture
def store(tmp_path):
    s = open_store(StoreConfig(recordings_dir=tmp_path / "rec"))
    yield s
    s.close()


def _steps(store, eid: int) -> list[Step]:
    from sqlalchemy import select

    with store.session() as s:
        return list(s.scalars(select(Step).where(Step.episode_id == eid).order_by(Step.idx)))


def _first_frame_row(store, eid: int, camera: str) -> int:
    from core.recording.video import iter_frames

    ep = E.get_episode(store, eid)
    path = next(v.path for v in ep.videos if v.camera == camera)
    return frame_bar_row(next(iter_frames(path))[1])


def _nothing_written(store) -> bool:
    return E.count_episodes(store, E.EpisodeFilter()) == 0 and not any(
        p.is_dir() for p in store.recordings_dir.iterdir())


def test_so100_joint_space_keeps_actions_and_gets_poses(store, tmp_path):
    root = make_dataset(tmp_path / "so100", LENGTHS)
    res = import_lerobot(store, root)
    assert res.problems == () and res.trainable and len(res.episode_ids) == 3 and res.frames == sum(LENGTHS)
    for e, eid in enumerate(res.episode_ids):
        ep = E.get_episode(store, eid)
        assert ep.num_steps == LENGTHS[e] and ep.robot == "so100_follower" and ep.instruction == f"task {e % 2}"
        assert sorted((v.camera, v.frame_count) for v in ep.videos) == [("front", LENGTHS[e]), ("wrist", LENGTHS[e])]
        steps = _steps(store, eid)
        for st, g in zip(steps, global_frames(LENGTHS, e), strict=True):
            np.testing.assert_allclose(st.cmd_joints, joint_values(g + 1), atol=1e-6)  # the action, kept
            np.testing.assert_allclose(st.joints, joint_values(g), atol=1e-6)
            want = so101_pose(joint_values(g)), so101_pose(joint_values(g + 1))
            assert (st.x, st.y, st.z, st.gripper) == pytest.approx(
                (want[0].x, want[0].y, want[0].z, want[0].gripper), abs=1e-6)
            assert (st.cmd_x, st.cmd_y, st.cmd_z, st.cmd_yaw) == pytest.approx(
                (want[1].x, want[1].y, want[1].z, want[1].yaw), abs=1e-6)
        # the right clip of the shared video, for each camera
        first = global_frames(LENGTHS, e)[0]
        assert _first_frame_row(store, eid, "front") == frame_bar_row(synthetic_frame(first, 32))
        assert _first_frame_row(store, eid, "wrist") == frame_bar_row(synthetic_frame(first, 32, 37))
    # training's reader and the verbalizer accept them
    from core.training.sources import store_steps

    steps, _ = store_steps(store, res.episode_ids[1])
    assert len(steps) == LENGTHS[1]


def test_unknown_joint_space_robot_is_refused_with_what_is_missing(store, tmp_path):
    root = make_dataset(tmp_path / "koch", LENGTHS, robot_type="koch_follower")
    with pytest.raises(DatasetError) as err:
        import_lerobot(store, root)
    msg = str(err.value)
    for part in ("action has no x, y, z", "observation.state has no x, y, z", "'koch_follower'", "so100_follower",
                 "joint_space=True"):
        assert part in msg, part
    assert _nothing_written(store)
    # on request: joint-space episodes that keep every value
    res = import_lerobot(store, root, joint_space=True)
    assert not res.trainable and any("joint-space" in n for n in res.notes)
    steps = _steps(store, res.episode_ids[2])
    g0 = global_frames(LENGTHS, 2)[0]
    np.testing.assert_allclose(steps[0].cmd_joints, joint_values(g0 + 1), atol=1e-6)
    assert steps[0].x is None and steps[0].cmd_x is None
    assert E.get_episode(store, res.episode_ids[0]).status == "imported"


def test_end_effector_names_fill_the_pose(store, tmp_path):
    names = ["ee.x", "ee.y", "ee.z", "ee.wx", "ee.wy", "ee.gripper_pos"]
    root = make_dataset(tmp_path / "ee", [8], state_names=names, action_names=names, robot_type=None)
    res = import_lerobot(store, root)
    st = _steps(store, res.episode_ids[0])[3]
    v, a = joint_values(3), joint_values(4)
    assert (st.x, st.y, st.z, st.gripper) == pytest.approx((v[0], v[1], v[2], v[5]), abs=1e-5)
    assert (st.cmd_x, st.cmd_gripper) == pytest.approx((a[0], a[5]), abs=1e-5)
    assert st.cmd_joints is None and st.joints is None
    unmapped = E.get_episode(store, res.episode_ids[0])
    assert unmapped.num_steps == 8


def test_observation_image_video_key_and_image_features(store, tmp_path):
    root = make_dataset(tmp_path / "single", [9, 11], cameras={"observation.image": "video"})
    res = import_lerobot(store, root)
    ep = E.get_episode(store, res.episode_ids[1])
    assert [(v.camera, v.frame_count) for v in ep.videos] == [("image", 11)] and ep.playable
    assert _first_frame_row(store, ep.id, "image") == frame_bar_row(synthetic_frame(9, 32))

    root = make_dataset(tmp_path / "pngs", [6, 7], cameras={"observation.images.top": "image",
                                                            "observation.wrist": "image"})
    res = import_lerobot(store, root)
    assert res.problems == () and res.decoded_frames == 0  # images come from the data files
    ep = E.get_episode(store, res.episode_ids[1])
    assert sorted((v.camera, v.frame_count) for v in ep.videos) == [("top", 7), ("wrist", 7)]
    assert _first_frame_row(store, ep.id, "top") == frame_bar_row(synthetic_frame(6, 32))


def test_cameras_that_cannot_be_stored_are_refused_clearly(store, tmp_path):
    root = make_dataset(tmp_path / "odd", [5], cameras={"observation.images.top": "video"})
    info = json.loads((root / "meta/info.json").read_text())
    info["features"]["observation.images.top"]["shape"] = [31, 32, 3]
    info["features"]["top_camera"] = {"dtype": "image", "shape": [32, 32, 3], "names": None}
    (root / "meta/info.json").write_text(json.dumps(info))
    with pytest.raises(DatasetError) as err:
        import_lerobot(store, root)
    assert "32x31" in str(err.value) and "even" in str(err.value) and "'top_camera'" in str(err.value)
    assert _nothing_written(store)


def test_a_clip_is_reached_by_seeking_not_by_decoding_the_episodes_before_it(store, tmp_path):
    lengths = [30] * 6
    root = make_dataset(tmp_path / "long", lengths, cameras={"observation.images.front": "video"}, gop=10)
    res = import_lerobot(store, root, episodes=[5])
    # the last episode alone: its 30 frames (it starts on a keyframe), not the 150 before it
    assert res.frames == 30 and res.decoded_frames == 30
    assert _first_frame_row(store, res.episode_ids[0], "front") == frame_bar_row(synthetic_frame(150, 32))
    res = import_lerobot(store, root, episodes=[2])  # starts mid keyframe interval: at most 10 more
    assert res.decoded_frames <= 30 + 10
    res = import_lerobot(store, root)
    assert res.decoded_frames <= sum(lengths) + 6 * 10  # linear in the episodes, not quadratic
    with pytest.raises(DatasetError, match="no episode"):
        import_lerobot(store, root, episodes=[9])


def test_cli_import_check_and_export(tmp_path, capsys):
    rec = tmp_path / "rec"
    koch = make_dataset(tmp_path / "koch", [6, 7], robot_type="koch_follower")
    assert cli(["--recordings", str(rec), "check", str(koch)]) == 2
    assert "refused" in capsys.readouterr().out
    assert cli(["--recordings", str(rec), "--json", "import", str(koch)]) == 2
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and "action has no x, y, z" in out["error"]
    so = make_dataset(tmp_path / "so", [6, 7])
    assert cli(["--recordings", str(rec), "--json", "import", str(so), "--episodes", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["frames"] == 7 and len(out["episode_ids"]) == 1
    assert cli(["--recordings", str(rec), "export", str(tmp_path / "out"), "--all", "--video-mb", "0.5"]) == 0
    assert "exported 1 episodes (7 frames)" in capsys.readouterr().out
    info = json.loads((tmp_path / "out/meta/info.json").read_text())
    assert info["video_files_size_in_mb"] == 0.5 and info["features"]["action.joints"]["shape"] == [6]
    assert info["robot_type"] == "so100_follower"  # the imported episodes' robot
    assert cli(["--recordings", str(rec), "export", str(tmp_path / "out"), "--episodes", "1"]) == 2  # exists


def test_import_needs_a_member(store, tmp_path):
    from core.auth import AuthService
    from core.auth import users as U
    from ui import guard
    from ui.episodes_import import run_import

    root = make_dataset(tmp_path / "so", [5])
    U.create_user(store, "vic", "visitor", "vic-password-1")
    U.create_user(store, "ann", "member", "ann-password-1")
    guard.install(AuthService(store, refresh_s=0.0))
    try:
        import gradio as gr

        with pytest.raises(gr.Error, match="may not"):
            run_import(store, str(root), False, types.SimpleNamespace(username="vic"))
        assert E.count_episodes(store, E.EpisodeFilter()) == 0
        out = run_import(store, str(root), False, types.SimpleNamespace(username="ann"))
        assert "Imported **1** episode(s), 5 frames" in out
        with pytest.raises(gr.Error, match="not a folder"):
            run_import(store, str(tmp_path / "nowhere"), False, types.SimpleNamespace(username="ann"))
    finally:
        guard.install(None)
