"""`--robot`, `--port` (web and serial), `--leader`, `--camera`: what the command line accepts and refuses."""

import subprocess
import sys

import pytest

import app
from core.context import ROOT, AppConfig, make_robot_factory


def test_help_lists_the_robots():
    out = subprocess.run([sys.executable, "app.py", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0
    for name in ("sim", "so101-sim", "so101"):
        assert name in out.stdout
    assert "--leader" in out.stdout and "--camera" in out.stdout


def test_port_is_the_web_port_or_the_follower_bus(monkeypatch):
    monkeypatch.delenv("VLM2VLA_PORT", raising=False)
    a = app.parse_args([])
    assert a.port == 7860 and a.robot_port is None and a.robot == "sim"
    a = app.parse_args(["--robot", "so101", "--port", "/dev/ttyACM0", "--port", "7905"])
    assert a.port == 7905 and a.robot_port == "/dev/ttyACM0"
    a = app.parse_args(["--robot", "so101", "--port", "/dev/ttyACM0", "--leader", "/dev/ttyACM1",
                        "--camera", "front=/dev/video0", "--camera", "wrist=2"])
    assert a.leader == "/dev/ttyACM1" and a.camera == [("front", "/dev/video0"), ("wrist", "2")]
    assert app.parse_args(["--robot", "so101-sim", "--leader", "/dev/ttyACM1"]).leader == "/dev/ttyACM1"


@pytest.mark.parametrize("argv", [
    ["--robot", "so101"],  # no serial port
    ["--robot", "sim", "--port", "/dev/ttyACM0"],  # the sim has no bus
    ["--robot", "so101", "--port", "/dev/a", "--port", "/dev/b"],
    ["--robot", "so101", "--port", "/dev/ttyACM0", "--camera", "front"],  # no device
    ["--robot", "so101-sim", "--camera", "front=/dev/video0"],  # a simulator renders its own
    ["--robot", "sim", "--leader", "/dev/ttyACM1"],  # a leader arm needs an SO-101
    ["--robot", "ur5"],
])
def test_bad_robot_arguments_are_refused(argv):
    with pytest.raises(SystemExit):
        app.parse_args(argv)


def test_a_real_robot_without_calibration_says_how_to_calibrate(tmp_path):
    from core.robot.base import RobotError

    factory = make_robot_factory(AppConfig(robot="so101", robot_port=str(tmp_path / "ttyNONE"),
                                           recordings_dir=tmp_path))
    with pytest.raises(RobotError, match="python -m core.robot.so101 calibrate"):
        factory()
