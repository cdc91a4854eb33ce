"""Typed values that cross module boundaries.

Conventions (DESIGN.md, "The action language"): robot base frame, metres, +x forward, +y left, +z up;
yaw in radians about +z; gripper 1.0 = open, 0.0 = closed. Everything here is pure Python / numpy-free
so that the language and safety code can import it without heavy dependencies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Vec3 = tuple[float, float, float]

GRIPPER_OPEN = 1.0
GRIPPER_CLOSED = 0.0


@dataclass(frozen=True)
class Twist:
    """One reading of an input device, normalised to [-1, 1] per axis.

    `gripper` is the requested gripper target (1 open, 0 closed) or None to leave it unchanged.
    The control loop scales the axes to velocities; devices never know about metres.
    """

    dx: float = 0.0
    dy: float = 0.0
    dz: float = 0.0
    droll: float = 0.0
    dpitch: float = 0.0
    dyaw: float = 0.0
    gripper: float | None = None

    def is_zero(self) -> bool:
        return not any((self.dx, self.dy, self.dz, self.droll, self.dpitch, self.dyaw))


ZERO_TWIST = Twist()


@dataclass(frozen=True)
class Command:
    """Absolute end-effector target that the control loop hands to a robot each tick."""

    pos: Vec3
    yaw: float
    gripper: float


@dataclass(frozen=True)
class ObjectState:
    """Ground-truth state of one scene object (simulation only)."""

    name: str  # e.g. "red block", "bowl", "plate"
    kind: str  # "block" | "bowl" | "plate"
    color: str  # "red", "green", ... ("" for containers without a colour word)
    pos: Vec3
    # a block's half side, a bowl's or plate's radius (m); 0 = not given: the built-in scene's sizes apply
    size: float = 0.0


@dataclass(frozen=True)
class SceneState:
    """What the simulator knows about the scene; None on real robots."""

    objects: tuple[ObjectState, ...]
    held: str | None = None  # name of the object between the fingers, if any

    def get(self, name: str) -> ObjectState:
        for obj in self.objects:
            if obj.name == name:
                return obj
        raise KeyError(name)


@dataclass(frozen=True)
class Observation:
    """One snapshot of the robot. `images` maps camera name -> HxWx3 uint8 array."""

    t: float
    ee_pos: Vec3
    ee_yaw: float
    gripper: float  # measured opening, 1 open .. 0 closed
    images: Mapping[str, Any] = field(default_factory=dict)
    joints: tuple[float, ...] | None = None
    scene: SceneState | None = None


@dataclass(frozen=True)
class Step:
    """One control tick as recorded: what was observed, asked for and applied."""

    t: float
    ee_pos: Vec3
    ee_yaw: float
    gripper: float
    twist: Twist
    command: Command
    joints: tuple[float, ...] | None = None
    scene: SceneState | None = None
    cmd_joints: tuple[float, ...] | None = None  # the joint goals sent this tick (robots that drive joints)
