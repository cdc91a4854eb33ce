"""VLM2VLA Studio: `python app.py` starts the simulator, the control loop and the web UI."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MUJOCO_GL", "egl")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from core import settings
    from core.robot import registry

    env = settings.current()  # VLM2VLA_HOST, VLM2VLA_PORT and the others: core/settings.py
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default=env.host)
    ap.add_argument("--port", action="append", default=[], metavar="PORT",
                    help="the web port (a number, default 7860 or $VLM2VLA_PORT); with --robot so101 also the "
                         "follower's serial port (a path: --port /dev/ttyACM0). Give both as two --port options")
    ap.add_argument("--robot", default="sim", choices=list(registry.ROBOTS), help=registry.help_text())
    ap.add_argument("--leader", default=None, metavar="SERIAL",
                    help="an SO-101 leader arm as a teleop device (its joints mirrored), e.g. /dev/ttyACM1")
    ap.add_argument("--camera", action="append", default=[], metavar="NAME=DEVICE",
                    help="a real camera (repeatable): front=/dev/video0, wrist=2, or a video file for testing")
    ap.add_argument("--robot-id", default="so101",
                    help="names the calibration files (<recordings>/config/so101/...), like LeRobot's --robot.id")
    ap.add_argument("--seed", type=int, default=0, help="scene layout at start")
    ap.add_argument("--hz", type=float, default=30.0, help="control rate")
    ap.add_argument("--db-url", default=None, help="SQLAlchemy URL (default: SQLite under recordings/)")
    ap.add_argument("--recordings", type=Path, default=None, help="recordings folder")
    ap.add_argument("--model", default=None, help="HF id or local dir of an image-text-to-text model")
    from core.model.quantize import PRECISIONS

    ap.add_argument("--precision", default=None, choices=("auto", *PRECISIONS),
                    help="inference precision (default auto: NF4 on CUDA; on CPU ov-int8, the autonomous loop through an "
                         "int8 OpenVINO engine and chat in bf16 + int8 LM head, or int8-head without openvino)")
    ap.add_argument("--model-threads", type=int, default=None,
                    help="CPU threads for the model (default: one fewer than the machine's cores, at least 1)")
    ap.add_argument("--no-spacemouse", action="store_true", help="do not look for a server-side SpaceMouse")
    ap.add_argument("--no-model", action="store_true", help="do not load the VLM at start-up")
    ap.add_argument("--no-default-adapter", action="store_true",
                    help="start the default model without its shipped action adapter (assets/adapter)")
    ap.add_argument("--open-lab", action="store_true",
                    help="allow running without user accounts (no login) while listening beyond this machine; "
                         "accounts: python -m core.auth create-user NAME --role admin")
    ap.add_argument("--log-level", default="INFO")
    args = ap.parse_args(argv)
    if args.model_threads is not None and args.model_threads < 1:
        ap.error("--model-threads must be at least 1")
    web = [p for p in args.port if p.isdigit()]
    serial = [p for p in args.port if not p.isdigit()]
    if len(web) > 1 or len(serial) > 1:
        ap.error("--port takes at most one web port (a number) and one serial port (a path)")
    args.port = int(web[0]) if web else env.port
    args.robot_port = serial[0] if serial else None
    spec = registry.get(args.robot)
    if spec.needs_port and not args.robot_port:
        ap.error(f"--robot {args.robot} needs the follower's serial port: --port /dev/ttyACM0")
    if args.robot_port and not spec.needs_port:
        ap.error(f"--robot {args.robot} has no serial port ({args.robot_port!r} given)")
    try:
        from core.cameras.capture import parse_camera_args

        args.camera = parse_camera_args(args.camera)
    except ValueError as exc:
        ap.error(str(exc))
    if args.camera and args.robot != "so101":
        ap.error(f"--camera adds real cameras to a real robot (--robot so101); {args.robot} renders its own")
    if args.leader and args.robot not in registry.SO101_FAMILY:
        ap.error(f"--leader mirrors an SO-101 leader arm: use --robot so101 or so101-sim, not {args.robot}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    sys.setswitchinterval(0.002)  # the control thread waits less for the GIL behind web and model threads
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import uvicorn

    from core.context import App, AppConfig
    from ui.layout import CSS, HEAD, build_blocks
    from ui.server import make_server

    config = AppConfig.from_env(
        host=args.host,
        port=args.port,
        robot=args.robot,
        seed=args.seed,
        hz=args.hz,
        db_url=args.db_url,
        recordings_dir=args.recordings,
        model=args.model,
        precision=args.precision,
        model_threads=args.model_threads,
        spacemouse=not args.no_spacemouse,
        load_model=not args.no_model,
        default_adapter=not args.no_default_adapter,
        robot_port=args.robot_port,
        leader_port=args.leader,
        cameras=tuple(args.camera),
        robot_id=args.robot_id,
    )
    app = App.build(config)
    if app.auth is not None and app.auth.open_lab and not args.open_lab and not _loopback(config.host):
        app.close()
        raise SystemExit(f"refusing to serve {config.host} without user accounts (anyone on the network could drive "
                         "the robot): create an admin with `python -m core.auth create-user NAME --role admin`, or "
                         "pass --open-lab to allow it")
    app.start()
    try:
        server = make_server(app, build_blocks(app), head=HEAD, css=CSS)
        logging.getLogger(__name__).info("VLM2VLA Studio on http://%s:%d", config.host, config.port)
        uvicorn.run(server, host=config.host, port=config.port, log_level="warning")
    finally:
        app.close()


def _loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


if __name__ == "__main__":
    main()
