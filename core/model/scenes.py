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
    `robot`: a simulated robot of the registry (`core.robot.registry.simulator`); another robot's scene is
    the built-in one scaled by its block size (the SO-101's by 0.6), the gripper kept where its arm reaches.
    """

    def __init__(self, image_size: int = 224, seed: int = 0, camera: str = "front", task_poses: float = 0.0,
                 robot: str = "sim") -> None:
        from core.robot.registry import simulator
        from core.robot.tabletop import SimConfig

        if not 0.0 <= task_poses <= 1.0:
            raise ValueError(f"task_poses must be in [0, 1], got {task_poses}")
        self.robot = simulator(robot, SimConfig(image_size=image_size, cameras=(camera,)))
        self.robot_name = robot
        self.camera = camera
        self.seed = seed
        self.image_size = image_size
        self.task_poses = task_poses

    @property
    def scale(self) -> float:
        """This robot's scene size against the built-in one (1.0 for the built-in sim)."""
        from core.robot.tasks import BLOCK_HALF

        return self.robot.spec.block_half / BLOCK_HALF

    def layout(self, rng: np.random.Generator):  # noqa: ANN201 - core.robot.sim.Layout
        if self.robot_name != "sim":
            return self._scaled_layout(rng)
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

    def _scaled_layout(self, rng: np.random.Generator):  # noqa: ANN202 - core.robot.tabletop.Layout
        """The built-in layout's recipe at this robot's scale, the gripper inside its workspace box."""
        s, spec, lim = self.scale, self.robot.spec, self.robot.limits
        lay = self.robot.sample_layout(rng, n_blocks=None)
        names = list(lay.blocks)
        rng.shuffle(names)
        for spot, p in ((lay.bowl, 0.35), (lay.plate, 0.3)):  # one block in the bowl, one on the plate
            if names and rng.random() < p:
                jx, jy = rng.uniform(-0.015 * s, 0.015 * s, size=2)
                lay.blocks[names.pop()] = (spot[0] + jx, spot[1] + jy, 0.035 * s, float(rng.uniform(-0.4, 0.4)))
        if rng.random() < 0.5:
            lay.ee = (float(rng.uniform(*lim.x)), float(rng.uniform(*spec.obj_y)),
                      float(rng.uniform(0.1 * s, min(0.3 * s, lim.z[1]))))
        else:
            lay.ee = spec.home_ee
        lay.gripper = float(rng.choice([0.0, 1.0]))
        if self.task_poses and rng.random() < self.task_poses:
            near_block(lay, rng, s)
        return lay

    def make(self, split: int, index: int) -> Scene:
        from core.robot.base import RobotError

        rng = np.random.default_rng([self.seed, split, index])
        try:
            obs = self.robot.set_layout(self.layout(rng))
        except RobotError:  # an arm that cannot reach the drawn gripper pose: home instead
            lay = self.layout(np.random.default_rng([self.seed, split, index]))
            lay.ee = self.robot.spec.home_ee
            obs = self.robot.set_layout(lay)
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


def near_block(lay, rng: np.random.Generator, s: float = 1.0) -> None:  # noqa: ANN001 - core.robot.sim.Layout
    """Put the gripper where it is while grasping one of the layout's table blocks: half the time right
    over it (within 1.2 cm), else up to 8 cm off along each axis; 2-5 cm above the table (low enough to
    close; the expert grasps at 2.2 cm) 40% of the time, else 5-15 cm; open when low and close to a
    block (closed fingers would cut into it). `s` scales every distance (another robot's smaller scene)."""
    from core.robot.tasks import BLOCK_HALF

    on_table = [b for b in lay.blocks.values() if b[2] <= s * BLOCK_HALF + 0.005]
    if not on_table:
        return
    x, y = on_table[int(rng.integers(len(on_table)))][:2]
    reach = (0.012 if rng.random() < 0.5 else 0.08) * s
    dx, dy = rng.uniform(-reach, reach, size=2)
    z = s * float(rng.uniform(0.02, 0.05) if rng.random() < 0.4 else rng.uniform(0.05, 0.15))
    lay.ee = (float(x + dx), float(y + dy), z)
    if z < 0.08 * s and any(math.hypot(b[0] - lay.ee[0], b[1] - lay.ee[1]) < 0.06 * s for b in on_table):
        lay.gripper = 1.0
