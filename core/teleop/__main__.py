"""Check a SpaceMouse and an axis map live: `python -m core.teleop [--map "x y z roll pitch yaw"]`.

Prints the device status, then the shaped twist ten times a second while the puck moves, so an
operator can confirm that pushing forward gives +dx, left +dy, lifting +dz and twisting
counter-clockwise +dyaw before driving a robot.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from core.teleop.base import ShapingConfigError
from core.teleop.shaping import AxisMap, ShapingConfig
from core.teleop.spacemouse import SpaceMouseConfig, SpaceMouseTeleop


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m core.teleop", description=__doc__.splitlines()[0])
    ap.add_argument("--map", default="x y z roll pitch yaw", help="axis map: six tokens for dx..dyaw")
    ap.add_argument("--deadzone", type=float, default=0.08)
    ap.add_argument("--device", default=None, help="pyspacemouse model name (default: first found)")
    ap.add_argument("--seconds", type=float, default=30.0)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        shaping = ShapingConfig(deadzone=args.deadzone, axis_map=AxisMap.parse(args.map))
    except ShapingConfigError as e:
        ap.error(str(e))
    out = sys.stdout
    with SpaceMouseTeleop(SpaceMouseConfig(device=args.device, shaping=shaping)) as sm:
        end = time.monotonic() + args.seconds
        last_status = None
        while time.monotonic() < end:
            st = sm.status()
            if (st.state, st.detail) != last_status:
                last_status = (st.state, st.detail)
                out.write(f"[{st.state}] {st.detail}\n")
            tw = sm.read()
            if not tw.is_zero() or tw.gripper is not None:
                out.write(
                    f"dx={tw.dx:+.2f} dy={tw.dy:+.2f} dz={tw.dz:+.2f} droll={tw.droll:+.2f} "
                    f"dpitch={tw.dpitch:+.2f} dyaw={tw.dyaw:+.2f} gripper={tw.gripper}\n"
                )
            out.flush()
            time.sleep(0.1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
