"""How the scripted expert works a robot's scene (metres): the heights it travels, grasps and releases at,
and where its jaws push. Data of each robot: the built-in sim's are the defaults (`BUILT_IN`); another
robot carries its own as `expert_heights` (the SO-101's 3 cm blocks: `core.robot.so101.sim`). The expert
itself is `core.control.expert`.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.robot.tasks import BLOCK_HALF

CRUISE_Z = 0.15
GRASP_Z = 0.022
SETTLE_TICKS = 10
FINGER_HALF_WIDTH = 0.012  # closed fingers span +-12 mm across the push direction
# The "direct" style (see `Expert`): approach at the height it starts at, within these bounds.
DIRECT_Z = (0.10, 0.18)
RELEASE_Z = {"put_in": 0.075, "put_on": 0.06}


@dataclass(frozen=True)
class Heights:
    """A robot's scene as the expert works it (metres): the built-in sim's by default; other robots carry
    their own as `expert_heights` (e.g. the SO-101's smaller blocks, `core.robot.so101.sim`)."""

    cruise_z: float = CRUISE_Z
    grasp_z: float = GRASP_Z
    release_z: tuple[float, float] = (RELEASE_Z["put_in"], RELEASE_Z["put_on"])  # over the bowl, the plate
    block_half: float = BLOCK_HALF
    finger_half_width: float = FINGER_HALF_WIDTH
    push_z: float = 0.02
    push_point: tuple[float, float] = (0.0, 0.0)  # where the closed fingers push, from the tool point (yaw 0)
    held_offset: tuple[float, float] = (0.0, 0.0)  # where a held block sits, from the tool point (yaw 0)
    direct_z: tuple[float, float] = DIRECT_Z
    settle_ticks: int = SETTLE_TICKS


BUILT_IN = Heights()


__all__ = ["BUILT_IN", "CRUISE_Z", "DIRECT_Z", "FINGER_HALF_WIDTH", "GRASP_Z", "Heights",
           "RELEASE_Z", "SETTLE_TICKS"]
