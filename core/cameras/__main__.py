"""Camera calibration from the command line: `python -m core.cameras COMMAND ...`.

    board       --out board.png [--cols 9 --rows 6 --px 80]    a printable checkerboard (measure its square!)
    grab        NAME=DEVICE --out DIR [--count 20 --every 1.5 --size 448]
                                                             frames from a camera, as the app gets them
    intrinsics  NAME --images DIR [--square 0.025 ...]       focal lengths, centre, distortion
    locate      NAME (--image FILE | --device DEV) --origin X,Y[,Z] [--yaw-deg D]
                                                             the camera's pose from the board on the table
    show        NAME                                         print a stored calibration
Calibrations are stored as <config-dir>/cameras/NAME.json (default: <recordings>/config, where the app
looks). docs/robots.md walks through it.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from core import settings
from core.cameras import calibration as K


def _board(args: argparse.Namespace) -> K.Board:
    return K.Board(args.cols, args.rows, args.square)


def _read_image(path: Path) -> np.ndarray:
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise K.CalibrationError(f"cannot read image {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _write_image(path: Path, rgb: np.ndarray) -> None:
    import cv2

    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise K.CalibrationError(f"cannot write {path}")


def _grab_one(device: str, size: int) -> np.ndarray:
    from core.cameras.capture import CameraCapture

    cam = CameraCapture("calib", device, size).open()
    try:
        time.sleep(0.5)  # let exposure settle
        frame = cam.latest()
        assert frame is not None
        return frame
    finally:
        cam.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m core.cameras", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["board", "grab", "intrinsics", "locate", "show"])
    ap.add_argument("name", nargs="?", help="camera name (grab: NAME=DEVICE)")
    ap.add_argument("--cols", type=int, default=9, help="inner corners along a row")
    ap.add_argument("--rows", type=int, default=6, help="inner corners along a column")
    ap.add_argument("--square", type=float, default=0.025, help="square side in metres, as printed")
    ap.add_argument("--px", type=int, default=80)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--every", type=float, default=1.5, help="seconds between grabbed frames")
    ap.add_argument("--size", type=int, default=448, help="frame side (the app scales calibrations to its size)")
    ap.add_argument("--images", type=Path, help="folder of calibration images")
    ap.add_argument("--no-distortion", action="store_true", help="fit an ideal pinhole (a simulator's camera)")
    ap.add_argument("--image", type=Path)
    ap.add_argument("--device")
    ap.add_argument("--origin", help="the board's origin corner in the base frame: X,Y[,Z] metres")
    ap.add_argument("--yaw-deg", type=float, default=0.0, help="the board's x axis from the base's +x toward +y")
    ap.add_argument("--config-dir", type=Path, default=None)
    args = ap.parse_args(argv)
    config = args.config_dir or settings.config_dir()
    try:
        if args.command == "board":
            if not args.out:
                ap.error("board needs --out")
            _write_image(args.out, _board(args).image(args.px))
            print(f"wrote {args.out}: print it flat, measure a square, pass it as --square")
            return 0
        if not args.name:
            ap.error(f"{args.command} needs a camera name")
        if args.command == "grab":
            from core.cameras.capture import CameraCapture, parse_camera_args

            [(name, device)] = parse_camera_args([args.name])
            if not args.out:
                ap.error("grab needs --out")
            args.out.mkdir(parents=True, exist_ok=True)
            cam = CameraCapture(name, device, args.size).open()
            try:
                for i in range(args.count):
                    time.sleep(args.every)
                    frame = cam.latest()
                    found = K.find_corners(frame, _board(args)) is not None
                    _write_image(args.out / f"{name}-{i:03d}.png", frame)
                    print(f"{i + 1}/{args.count} {'board found' if found else 'no board'}: move it", flush=True)
            finally:
                cam.close()
            return 0
        path = K.camera_path(config, args.name)
        if args.command == "show":
            print(json.dumps(K.read(path), indent=2))
            return 0
        if args.command == "intrinsics":
            if not args.images:
                ap.error("intrinsics needs --images DIR")
            files = sorted(p for p in args.images.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
            intr = K.calibrate_intrinsics([_read_image(p) for p in files], _board(args),
                                          distortion=not args.no_distortion)
            K.save_camera(path, args.name, intr, None, _board(args), note=f"{len(files)} images from {args.images}")
            print(f"{args.name}: fx {intr.fx:.1f} fy {intr.fy:.1f} px, centre ({intr.cx:.1f}, {intr.cy:.1f}), "
                  f"{intr.views} views, RMS {intr.rms_px:.3f} px -> {path}")
            return 0
        data = K.read(path)  # locate
        intr = K.Intrinsics(**data["intrinsics"])
        if not args.origin:
            ap.error("locate needs --origin X,Y[,Z]")
        xyz = [float(v) for v in args.origin.split(",")]
        origin = (xyz[0], xyz[1], xyz[2] if len(xyz) > 2 else 0.0)
        image = _read_image(args.image) if args.image else _grab_one(args.device, intr.width) if args.device else None
        if image is None:
            ap.error("locate needs --image FILE or --device DEV")
        if image.shape[1] != intr.width:
            raise K.CalibrationError(f"the image is {image.shape[1]} px wide, the intrinsics are for {intr.width}")
        pose = K.locate(image, K.Board(**data["board"]), intr, origin, math.radians(args.yaw_deg))
        K.save_camera(path, args.name, intr, pose, K.Board(**data["board"]), note=data.get("note", ""))
        print(f"{args.name}: at {np.round(pose[1], 4).tolist()} m, reprojection {pose[2]:.2f} px -> {path}")
        return 0
    except K.CalibrationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
