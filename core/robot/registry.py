"""The robots `app.py --robot` knows: name -> how to build one, its workspace, its export type.

Adding a robot (docs/robots.md): implement `core.robot.base.Robot`, then add a `RobotSpec` here. The
factory runs on the control thread (GL and camera contexts are thread-bound) with the app's options.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.robot.base import Robot
from core.robot.so101.kinematics import LIMITS as SO101_LIMITS
from core.workspace import Limits


@dataclass(frozen=True)
class RobotOptions:
    """What the command line says about the robot (only some robots use each field)."""

    image_size: int = 224
    hz: float = 30.0
    port: str | None = None  # the follower's serial bus (so101)
    cameras: tuple[tuple[str, str], ...] = ()  # (name, device or video file), --camera NAME=DEVICE
    config_dir: Path | None = None  # calibration files (motors, cameras)
    robot_id: str = "so101"  # calibration file name, as LeRobot's --robot.id
    leader: object | None = None  # core.teleop.leader.LeaderArm whose posture the follower mirrors


@dataclass(frozen=True)
class RobotSpec:
    name: str
    help: str
    make: Callable[[RobotOptions], Robot]
    limits: Limits = field(default_factory=Limits)
    needs_port: bool = False
    lerobot_type: str = "vlm2vla_sim"  # info.json robot_type of an export
    # An export of this robot's episodes puts its joints in observation.state / action under these names
    # (LeRobot's for the robot type), converted from the recorded radians by `joints_out`; None: the
    # end-effector pose is the state, as for the built-in arm
    joint_features: tuple[str, ...] | None = None
    joints_out: Callable[[list[float]], list[float]] | None = None
    joints_in: Callable[[list[float]], list[float]] | None = None  # the inverse, for imports
    # A simulator with scene state (task success, the scripted expert): builds one off the app, from a
    # `core.robot.tabletop.SimConfig` (training's expert demos, scene renders, benchmarks); None: hardware
    simulator: Callable[[Any], Robot] | None = None


def _sim_from(config: Any) -> Robot:
    from core.robot.sim import SimRobot

    return SimRobot(config)


def _so101_sim_from(config: Any) -> Robot:
    from core.robot.so101.sim import So101Sim

    return So101Sim(config)


def _sim(o: RobotOptions) -> Robot:
    from core.robot.tabletop import SimConfig

    return _sim_from(SimConfig(image_size=o.image_size, control_hz=o.hz))


def _so101_sim(o: RobotOptions) -> Robot:
    from core.robot.tabletop import SimConfig

    robot = _so101_sim_from(SimConfig(image_size=o.image_size, control_hz=o.hz))
    if o.leader is not None:
        robot.leader = o.leader  # type: ignore[attr-defined]
    return robot


def _so101(o: RobotOptions) -> Robot:
    from core.robot.so101.real import open_follower

    return open_follower(o)


def _so101_joints_out(q: list[float]) -> list[float]:
    from core.robot.so101.joints import to_lerobot

    return to_lerobot(q)


def _so101_joints_in(values: list[float]) -> list[float]:
    from core.robot.so101.joints import from_lerobot

    return from_lerobot(values)


def joints_reader(names: list[str] | None) -> Callable[[list[float]], list[float]] | None:
    """For a dataset whose state has these joint names: the conversion back to radians, if a robot here
    exports them (an SO-101 dataset), else None."""
    for spec in ROBOTS.values():
        if spec.joint_features is not None and names is not None and list(names) == list(spec.joint_features):
            return spec.joints_in
    return None


def _so101_features() -> tuple[str, ...]:
    from core.robot.so101.joints import FEATURE_NAMES

    return FEATURE_NAMES


ROBOTS: dict[str, RobotSpec] = {
    "sim": RobotSpec("sim", "built-in MuJoCo tabletop arm (mocap gripper), 5 cm blocks", _sim, simulator=_sim_from),
    "so101-sim": RobotSpec("so101-sim", "SO-101 in MuJoCo with its real geometry, 3 cm blocks (IK teleop)",
                           _so101_sim, limits=SO101_LIMITS, lerobot_type="so101_follower",
                           joint_features=_so101_features(), joints_out=_so101_joints_out, joints_in=_so101_joints_in,
                           simulator=_so101_sim_from),
    "so101": RobotSpec("so101", "a real SO-101 follower arm on its Feetech bus (--port /dev/ttyACM0)",
                       _so101, limits=SO101_LIMITS, needs_port=True, lerobot_type="so101_follower",
                       joint_features=_so101_features(), joints_out=_so101_joints_out, joints_in=_so101_joints_in),
}
SO101_FAMILY = ("so101", "so101-sim")


def get(name: str) -> RobotSpec:
    try:
        return ROBOTS[name]
    except KeyError:
        raise ValueError(f"unknown robot {name!r}; available: {', '.join(ROBOTS)}") from None


def simulator(name: str, config: Any = None) -> Robot:
    """A simulated robot by name, built from `config` (a `core.robot.tabletop.SimConfig`; default: its
    defaults), for work off the app (training's expert demos, scene renders, benchmarks)."""
    spec = get(name)
    if spec.simulator is None:
        sims = [n for n, s in ROBOTS.items() if s.simulator is not None]
        raise ValueError(f"robot {name!r} is not a simulator; simulated robots: {', '.join(sims)}")
    if config is None:
        from core.robot.tabletop import SimConfig

        config = SimConfig()
    return spec.simulator(config)


def help_text() -> str:
    return "; ".join(f"{s.name}: {s.help}" for s in ROBOTS.values())


__all__ = ["ROBOTS", "SO101_FAMILY", "RobotOptions", "RobotSpec", "get", "help_text", "joints_reader",
           "simulator"]
