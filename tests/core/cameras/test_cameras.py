"""Real cameras: OpenCV capture (a video file standing in for a device), checkerboard calibration recovering
the simulator's front camera, and the grounding line's placement through a calibrated camera.

Tolerances (simulator renders at 448 px, 9 x 6 board of 2 cm squares, ~16 views held up at 0.65-0.95 m,
through an mp4 file): focal length within 1%, principal point within 4 px, camera position within 5 mm,
orientation within 0.5 degrees; table points project within 1.5 px of the simulator's own camera at
224 px, and pixels come back onto the table within 4 mm."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from core.cameras import calibration as K
from core.cameras.capture import CameraCapture, CameraError, parse_camera_args, square


def _write_video(path, frames, fps: float) -> None:
    import cv2

    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for f in frames:
        out.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    out.release()


def test_camera_arguments():
    assert parse_camera_args(["front=/dev/video0", "wrist=2"]) == [("front", "/dev/video0"), ("wrist", "2")]
    for bad in (["front"], ["=x"], ["1cam=/dev/video0"], ["front=a", "front=b"], ["front="]):
        with pytest.raises(ValueError):
            parse_camera_args(bad)


def test_square_crops_the_centre_and_resizes():
    img = np.zeros((480, 640, 3), np.uint8)
    img[:, 80:560] = 200  # the centre square
    out = square(img, 224)
    assert out.shape == (224, 224, 3) and out.min() == 200


def test_a_video_file_stands_in_for_a_camera(tmp_path):
    frames = [np.full((240, 320, 3), 40 * (i % 5), np.uint8) for i in range(20)]
    path = tmp_path / "cam.mp4"
    _write_video(path, frames, 20.0)
    cam = CameraCapture("front", str(path), 96).open()
    try:
        first = cam.latest()
        assert first.shape == (96, 96, 3) and first.dtype == np.uint8
        time.sleep(1.5)  # 20 frames at 20 fps: it has looped
        assert cam.frames > 20 and cam.problem == ""
    finally:
        cam.close()
    with pytest.raises(CameraError):
        CameraCapture("front", str(tmp_path / "missing.mp4"), 96).open()


@pytest.fixture(scope="module")
def scene():
    from tests.calibration_scenes import BoardScene

    s = BoardScene(K.Board(9, 6, 0.02), 448)
    yield s
    s.close()


def _through_capture(tmp_path, views) -> list[np.ndarray]:
    """The views written to an mp4, played back by CameraCapture; every distinct frame it delivers."""
    path = tmp_path / "views.mp4"
    _write_video(path, views, 5.0)
    cam = CameraCapture("front", str(path), 448).open()
    got, seen = [], -1
    try:
        deadline = time.monotonic() + len(views) / 5.0 + 5
        while len(got) < len(views) and time.monotonic() < deadline:
            n = cam.frames
            if n != seen:
                seen = n
                got.append(cam.latest())
            time.sleep(0.01)
    finally:
        cam.close()
    return got


def test_calibration_recovers_the_simulators_camera(scene, tmp_path):
    from core.cameras.__main__ import _write_image, main

    views = _through_capture(tmp_path, scene.intrinsic_views(16))
    assert len(views) >= 12
    folder = tmp_path / "images"
    folder.mkdir()
    for i, v in enumerate(views):
        _write_image(folder / f"front-{i:03d}.png", v)
    config = tmp_path / "config"
    board = ["--cols", "9", "--rows", "6", "--square", "0.02", "--config-dir", str(config)]
    assert main(["intrinsics", "front", "--images", str(folder), *board]) == 0
    yaw = math.radians(20)
    _write_image(tmp_path / "table.png", scene.on_table((0.16, -0.06), yaw))
    assert main(["locate", "front", "--image", str(tmp_path / "table.png"), "--origin", "0.16,-0.06,0.002",
                 "--yaw-deg", "20", "--config-dir", str(config)]) == 0
    data = K.read(K.camera_path(config, "front"))
    f, c, r_true, p_true = scene.truth()
    intr = K.Intrinsics(**data["intrinsics"])
    assert abs(intr.fx - f) / f < 0.01 and abs(intr.fy - f) / f < 0.01
    assert abs(intr.cx - c) < 4 and abs(intr.cy - c) < 4
    cam = K.load_camera(K.camera_path(config, "front"))
    assert np.linalg.norm(np.array(cam.position) - p_true) < 0.005
    r = np.array(cam.rotation).reshape(3, 3)
    angle = math.degrees(math.acos(min(1.0, (np.trace(r_true.T @ r) - 1) / 2)))
    assert angle < 0.5


def test_the_grounding_line_accepts_a_calibrated_camera(scene, tmp_path):
    """A calibrated camera places a located object on the table where the simulator's camera does."""
    from core.cameras.model import PinholeCamera
    from core.policy.grounding import Grounder
    from core.policy.locator import Sighting

    views = scene.intrinsic_views(14, seed=1)
    intr = K.calibrate_intrinsics(views, scene.board)
    pose = K.locate(scene.on_table((0.14, 0.02), -0.4), scene.board, intr, (0.14, 0.02, 0.002), -0.4)
    path = K.save_camera(K.camera_path(tmp_path, "front"), "front", intr, pose, scene.board)
    calibrated = K.load_camera(path).resized(224)
    f, _, r_true, p_true = scene.truth()
    truth = PinholeCamera(tuple(p_true), tuple((r_true @ np.diag([1.0, -1.0, -1.0])).ravel()),
                          math.degrees(2 * math.atan(448 / 2 / f)), 224)
    sim_grounder, real_grounder = Grounder(None, truth), Grounder(None, calibrated)
    for x, y in ((0.15, -0.1), (0.22, 0.0), (0.28, 0.12), (0.18, 0.08)):
        point = (x, y, 0.025)  # the height grounding puts a block's located point at
        u, v = truth.project(point)
        cu, cv = calibrated.project(point)
        assert math.hypot(u - cu, v - cv) < 1.5
        sighting = Sighting("red block", u, v, 0.99)
        a, b = sim_grounder.place(sighting, 224), real_grounder.place(sighting, 224)
        assert math.dist(a, point) < 1e-6 and math.dist(a, b) < 0.004, (a, b)


def test_bad_inputs_are_refused(tmp_path):
    with pytest.raises(K.CalibrationError):
        K.Board(8, 6, 0.02)  # both even: the origin corner would be ambiguous
    with pytest.raises(K.CalibrationError, match="found in 0"):
        K.calibrate_intrinsics([np.zeros((64, 64, 3), np.uint8)] * 3, K.Board(), min_views=2)
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(K.CalibrationError):
        K.load_camera(tmp_path / "x.json")
