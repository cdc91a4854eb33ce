"""Seeded sim scenes with ground truth for the vision build and the held-out scene-VQA set.

Scene `(split, index)` under a base seed is fully determined, so training can be resumed and the
held-out set is the same on every machine. Must be used from the thread that created it (GL context).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.types import SceneState

TRAIN, HELDOUT, TEST = 0, 1, 2  # independent scene streams
OBJECTS = ("red block", "green block", "blue block", "yellow block", "bowl", "plate")


@dataclass(frozen=True)
class Scene:
    image: np.ndarray  # HxWx3 uint8, front camera
    state: SceneState
    ee: tuple[float, float, float]
    gripper: float
    pixels: dict[str, tuple[float, float]]  # object name -> (u, v) image coordinates of its centre


class SceneMaker:
    """Renders varied tabletop scenes from the MuJoCo sim (blocks in the bowl / on the plate, gripper
    anywhere above the table, open or closed).

    `task_poses`: the fraction of scenes whose gripper is placed where the robot is during a grasp:
    over or beside a block, from just above the table to 15 cm up (`near_block`). Without them the
    gripper is never low among the blocks, the states the autonomous loop must tell apart (approach,
    descend, close). 0 keeps the scene stream of the held-out scene-VQA set unchanged.
    """

    def __init__(self, image_size: int = 224, seed: int = 0, camera: str = "front", task_poses: float = 0.0) -> None:
        from core.robot.sim import SimConfig, SimRobot

        if not 0.0 <= task_poses <= 1.0:
            raise ValueError(f"task_poses must be in [0, 1], got {task_poses}")
        self.robot = SimRobot(SimConfig(image_size=image_size, cameras=(camera,)))
        self.camera = camera
        self.seed = seed
        self.image_size = image_size
        self.task_poses = task_poses

    def layout(self, rng: np.random.Generator):  # noqa: ANN201 - core.robot.sim.Layout
        from core.robot.sim import HOME_EE

        lay = self.robot.sample_layout(rng, n_blocks=None)
        names = list(lay.blocks)
        rng.shuffle(names)
        if names and rng.random() < 0.35:  # one block in the bowl
            n = names.pop()
            jx, jy = rng.uniform(-0.015, 0.015, size=2)
            lay.blocks[n] = (lay.bowl[0] + jx, lay.bowl[1] + jy, 0.035, float(rng.uniform(-0.4, 0.4)))
        if names and rng.random() < 0.3:  # one block on the plate
            n = names.pop()
            jx, jy = rng.uniform(-0.015, 0.015, size=2)
            lay.blocks[n] = (lay.plate[0] + jx, lay.plate[1] + jy, 0.035, float(rng.uniform(-0.4, 0.4)))
        if rng.random() < 0.5:
            lay.ee = (float(rng.uniform(0.3, 0.65)), float(rng.uniform(-0.25, 0.25)), float(rng.uniform(0.1, 0.3)))
        else:
            lay.ee = HOME_EE
        lay.gripper = float(rng.choice([0.0, 1.0]))
        if self.task_poses and rng.random() < self.task_poses:
            near_block(lay, rng)
        return lay

    def make(self, split: int, index: int) -> Scene:
        rng = np.random.default_rng([self.seed, split, index])
        obs = self.robot.set_layout(self.layout(rng))
        assert obs.scene is not None
        pts = {o.name: o.pos for o in obs.scene.objects}
        cam = self.robot.camera_model(self.camera)  # once per scene: each call computes the kinematics
        return Scene(
            image=obs.images[self.camera],
            state=obs.scene,
            ee=obs.ee_pos,
            gripper=obs.gripper,
            pixels={n: cam.project(p) for n, p in pts.items()},
        )

    def project(self, point: tuple[float, float, float]) -> tuple[float, float]:
        """World point -> (u, v) pixel in the camera image (u right, v down)."""
        return self.robot.camera_model(self.camera).project(point)

    def close(self) -> None:
        self.robot.close()


def near_block(lay, rng: np.random.Generator) -> None:  # noqa: ANN001 - core.robot.sim.Layout
    """Put the gripper where it is while grasping one of the layout's table blocks: half the time right
    over it (within 1.2 cm), else up to 8 cm off along each axis; 2-5 cm above the table (low enough to
    close; the expert grasps at 2.2 cm) 40% of the time, else 5-15 cm; open when low and close to a
    block (closed fingers would cut into it)."""
    from core.robot.tasks import BLOCK_HALF

    on_table = [b for b in lay.blocks.values() if b[2] <= BLOCK_HALF + 0.005]
    if not on_table:
        return
    x, y = on_table[int(rng.integers(len(on_table)))][:2]
    reach = 0.012 if rng.random() < 0.5 else 0.08
    dx, dy = rng.uniform(-reach, reach, size=2)
    z = float(rng.uniform(0.02, 0.05) if rng.random() < 0.4 else rng.uniform(0.05, 0.15))
    lay.ee = (float(x + dx), float(y + dy), z)
    if z < 0.08 and any(math.hypot(b[0] - lay.ee[0], b[1] - lay.ee[1]) < 0.06 for b in on_table):
        lay.gripper = 1.0
