"""Grounding lines for grounded adapters: the object locator + the camera's calibration + the robot's state.

`Grounder.line(frame, subtask, ee_pos, gripper, seen)` locates the objects in the frame
(`core.policy.locator`), puts the subtask's object on the table through the camera
(`core.cameras.model`: the simulator's or a calibrated real camera) and writes the line
(`core.language.grounding.grounding_text`).
Training (`core.training.data`) and the autonomous loop (`core.policy.vlm.VLMPolicy.context`) use the
same code, so the adapter reads at run time what it was trained on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from core.cameras.model import CameraModel
from core.control.expert import push_points, reach_height
from core.language.grounding import grounding_text, is_placing, push_phase, target_object
from core.policy.locator import Locator, Sighting
from core.robot.heights import BUILT_IN, Heights
from core.types import Vec3

HEIGHT = {"bowl": 0.0, "plate": 0.0}  # the height each object's located point is at (default: a block's centre)
# Within this distance (sideways) of the gripper, the arm, the fingers or a held block hide part of the object
# and its sightings drift by a centimetre or two, so the place seen from farther away is kept.
NEAR_M = 0.05
# In a push the gripper goes down 6.5 cm from the block, and for a forward push the arm stands between the
# camera and the block: the place seen from farther away is kept within this distance.
NEAR_PUSH_M = 0.09


def work_point(subtask: str, name: str, where: Vec3, heights: Heights = BUILT_IN) -> Vec3:
    """Where the gripper works at the object `name` seen at `where` for `subtask`: over it at the height it
    grasps or releases at, or, in a push, beside it where the push starts or ends (`push_phase`)."""
    push = push_phase(subtask)
    if push is None:
        return (where[0], where[1], reach_height(name, is_placing(subtask), heights=heights))
    kind, phase = push
    start, end = push_points((where[0], where[1]), kind, heights=heights)
    x, y = start if phase == "approach" else end
    return (x, y, heights.push_z)


class Grounder:
    def __init__(self, locator: Locator, camera: CameraModel, heights: Heights = BUILT_IN) -> None:
        """`camera`: the simulator's (`sim_grounder`) or a calibrated real camera's model
        (`core.cameras.calibration.load_camera`). `heights`: the robot's scene as its expert works it (a
        block's half side: where a located block's centre is; the reach heights the line says "down" to)."""
        self.locator, self.camera, self.heights = locator, camera, heights

    def place(self, sighting: Sighting, frame_size: int) -> Vec3 | None:
        """A sighting's point on the table (None when it is not in view)."""
        if not sighting.seen:
            return None
        cam = self.camera if frame_size == self.camera.size else self.camera.resized(frame_size)
        return cam.ray_to_plane(sighting.u, sighting.v, HEIGHT.get(sighting.name, self.heights.block_half))

    def lines(self, frames: Sequence[np.ndarray], subtasks: Sequence[str],
              states: Sequence[tuple[Vec3, float]], seen: dict[str, Vec3] | None = None) -> list[str]:
        """One line per (frame, subtask, (end-effector position, gripper opening)), located in one batch.

        The frames are one episode (or run) in time order: an object out of view (the arm hides it) is
        placed where it was last seen, and one within `NEAR_M` of the gripper (`NEAR_PUSH_M` in a push) where
        it was last seen from farther away; a sighting is also not taken while the gripper is that near the
        place remembered (over the bowl, a sighting 5 cm off is the arm hiding it, not the bowl moving). `seen` keeps those places across calls (a closed loop asks one frame at a time); None:
        a fresh memory for this call.
        """
        seen = {} if seen is None else seen
        found = self.locator.locate(list(frames))
        out = []
        for frame, sightings, sub, (ee, grip) in zip(frames, found, subtasks, states, strict=True):
            name = target_object(sub)
            objects: dict[str, Vec3 | None] = {}
            if name in sightings:
                where = self.place(sightings[name], np.asarray(frame).shape[1])
                near = NEAR_PUSH_M if push_phase(sub) is not None else NEAR_M
                if where is not None and (name not in seen or (math.dist(where[:2], ee[:2]) > near
                                                               and math.dist(seen[name][:2], ee[:2]) > near)):
                    seen[name] = where
                where = seen.get(name)
                objects[name] = None if where is None else work_point(sub, name, where, self.heights)
            out.append(grounding_text(sub, ee, grip, objects))
        return out

    def line(self, frame: np.ndarray, subtask: str, ee_pos: Vec3, gripper: float,
             seen: dict[str, Vec3] | None = None) -> str:
        return self.lines([frame], [subtask], [(ee_pos, gripper)], seen)[0]


def sim_grounder(image_size: int = 224, camera: str = "front", locator: Locator | None = None,
                 robot: str = "sim") -> Grounder:
    """A simulated robot's grounder: `locator` (default: the one trained on that robot's scenes,
    `Locator.load(robot=...)`, loaded now) with its camera's exact calibration (the simulator's camera model;
    its cameras do not move) and its scene heights (`expert_heights`: the SO-101's 3 cm blocks)."""
    from core.robot.registry import simulator
    from core.robot.tabletop import SimConfig

    sim = simulator(robot, SimConfig(image_size=image_size, cameras=(camera,)))
    try:
        cam = sim.camera_model(camera)
        heights = getattr(sim, "expert_heights", BUILT_IN)
    finally:
        sim.close()
    return Grounder(locator or Locator.load(robot=robot), cam, heights)


__all__ = ["Grounder", "sim_grounder", "work_point"]
