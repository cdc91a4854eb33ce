"""SO-101 bus tools: `python -m core.robot.so101 {scan,read,calibrate,emulate} ...`.

    scan      --port P                      ping servos 1..6, print their model numbers
    read      --port P [--role R --id ID]   present positions: raw, and in LeRobot's units if calibrated
    calibrate --port P --role R --id ID     LeRobot's calibration procedure, saved in LeRobot's format
    emulate [--id ID]                       a simulated arm's bus on a pseudo-terminal (prints its path),
                                            calibrated into <config-dir> as follower ID: try the app on it
                                            with python app.py --robot so101 --port <that path> --robot-id ID
Calibration files go under <config-dir>/calibration/... (default <recordings>/config, as the app uses).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from core import settings
from core.robot.so101 import calibration as C
from core.robot.so101.arm import MOTORS
from core.robot.so101.feetech import BusError, FeetechBus

IDS = list(range(1, len(MOTORS) + 1))


def _config_dir(arg: Path | None) -> Path:
    return arg or settings.config_dir()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m core.robot.so101", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["scan", "read", "calibrate", "emulate"])
    ap.add_argument("--port", help="serial port of the arm's bus, e.g. /dev/ttyACM0")
    ap.add_argument("--role", choices=list(C.ROLES), default="follower")
    ap.add_argument("--id", default="so101", help="the arm's id (names its calibration file)")
    ap.add_argument("--config-dir", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.command == "emulate":
        from core.robot.so101.emulator import BusEmulator, calibrate_emulated

        with BusEmulator() as emu:
            bus = FeetechBus(emu.port).open()
            path = C.save(C.calibration_path(_config_dir(args.config_dir), "follower", args.id),
                          calibrate_emulated(emu, bus))
            bus.close()
            print(f"emulated SO-101 bus on {emu.port}, calibrated into {path} (Ctrl-C to stop)", flush=True)
            try:
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                return 0
    if not args.port:
        ap.error(f"{args.command} needs --port")
    bus = FeetechBus(args.port)
    try:
        bus.open()
        if args.command == "scan":
            for i in IDS:
                try:
                    print(f"servo {i} ({MOTORS[i - 1]}): model {bus.ping(i)}")
                except BusError as exc:
                    print(f"servo {i} ({MOTORS[i - 1]}): no answer ({exc})")
        elif args.command == "read":
            raw = bus.sync_read("Present_Position", IDS)
            path = C.calibration_path(_config_dir(args.config_dir), args.role, args.id)
            cal = C.load(path) if path.is_file() else None
            for i, m in enumerate(MOTORS, start=1):
                extra = f"  {C.raw_to_lerobot(m, raw[i], cal[m]):8.2f}" if cal else ""
                print(f"{m:14s} {raw[i]:5d}{extra}")
        else:
            path = C.calibration_path(_config_dir(args.config_dir), args.role, args.id)
            cal = C.calibrate(bus, wait=lambda msg: input(msg + " "))
            print(f"calibration saved to {C.save(path, cal)}")
    except (BusError, C.CalibrationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if bus.is_open and args.command == "calibrate":
            try:
                C.torque(bus, False)
            except BusError:
                pass
        bus.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
