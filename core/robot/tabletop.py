"""What every simulated tabletop robot shares: the objects, layouts, scene state, cameras and frames.

A subclass brings its MuJoCo model and its arm: how a layout places the arm (`_place_arm`), where the
end effector is (`_ee`), how open the gripper is, which geoms are its fingers, and `apply` / `stop`. The
built-in mocap gripper (`core.robot.sim.SimRobot`) and the SO-101 (`core.robot.so101.sim.So101Sim`) are
the two. Rendering is offscreen on the CPU (EGL/Mesa). GL contexts are thread-bound, so a simulator must
be created and used (`reset`, `observe`, `apply`) from one thread: the control thread.
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass, field

os.environ.setdefault("MUJOCO_GL", "egl")

import mujoco  # noqa: E402
import numpy as np  # noqa: E402

from core.cameras.model import PinholeCamera, mujoco_camera  # noqa: E402
from core.robot.base import RobotError  # noqa: E402
from core.robot.scene import PARK_Z  # noqa: E402
from core.robot.tasks import BLOCKS  # noqa: E402
from core.types import ObjectState, Observation, SceneState  # noqa: E402

# A pose change under this (m, rad) between two observations draws the same pixels (one pixel is a few mm
# on the table); a robot holding still drifts ~1e-8 m.
STILL = 1e-5


@dataclass(frozen=True)
class SimConfig:
    image_size: int = 224
    cameras: tuple[str, ...] = ("front", "wrist")
    control_hz: float = 30.0
    render: bool = True
    reuse_still_frames: bool = True  # False: render every observation (bench/perf/still_frames.py compares)


@dataclass(frozen=True)
class TableSpec:
    """Where a layout may put things and how big they are (metres, base frame)."""

    obj_x: tuple[float, float]
    obj_y: tuple[float, float]
    home_ee: tuple[float, float, float]
    block_half: float
    bowl_spot: float  # radius kept free around the bowl when placing ...
    plate_spot: float  # ... the plate ...
    block_spot: float  # ... and each block
    sizes: dict[str, float] | None = None  # ObjectState.size per kind ("block", "bowl", "plate"); None: unset


@dataclass
class Layout:
    """A scene arrangement. Blocks left out of `blocks` are parked out of view."""

    blocks: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)  # name -> x, y, z, yaw
    bowl: tuple[float, float] = (0.5, 0.15)
    plate: tuple[float, float] = (0.5, -0.15)
    ee: tuple[float, float, float] = (0.34, 0.0, 0.18)
    gripper: float = 1.0


def yaw_quat(yaw: float) -> np.ndarray:
    return np.array([math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)])


class TabletopSim:
    """Base of the simulated robots; a subclass implements `core.robot.base.Robot`'s `apply` and `stop`."""

    spec: TableSpec
    held_min_opening = 0.0  # gripper joint value (m or rad) below which nothing counts as held

    def __init__(self, config: SimConfig, model: mujoco.MjModel) -> None:
        self.config = config
        self.cameras = config.cameras
        self.control_hz = config.control_hz
        self.model = model
        self.data = mujoco.MjData(model)
        self._renderer: mujoco.Renderer | None = None
        self._thread: int | None = None
        self._closed = False
        m = model
        self._block_qadr = {b: m.jnt_qposadr[m.joint(b).id] for b in BLOCKS}
        self._block_geom = {b: m.body(b).geomadr[0] for b in BLOCKS}
        self._substeps = max(1, round(1.0 / (self.control_hz * m.opt.timestep)))
        self._held: str | None = None
        self.seed: int | None = None
        self._drawn: tuple[np.ndarray, dict[str, np.ndarray]] | None = None  # (pose, frames) last rendered
        self.renders = 0  # frames actually rendered (the rest were reused while nothing moved)
        self._wanted: tuple[str, ...] | None = None  # cameras to draw (`want_cameras`); None: all

    # ---- for subclasses ---------------------------------------------------------------------------
    def _place_arm(self, layout: Layout) -> None:
        """Put the arm at `layout.ee` with the gripper at `layout.gripper` (qpos, ctrl, targets)."""
        raise NotImplementedError

    def _ee(self) -> tuple[tuple[float, float, float], float]:
        """(end-effector position, yaw) as observed."""
        raise NotImplementedError

    def _joints(self) -> tuple[float, ...]:
        raise NotImplementedError

    def _finger_geoms(self) -> set[int]:
        raise NotImplementedError

    def _finger_value(self) -> float:
        """The gripper joint, compared with `held_min_opening`."""
        raise NotImplementedError

    def gripper_opening(self) -> float:
        raise NotImplementedError

    # ---- Robot contract (shared part) -------------------------------------------------------------
    def reset(self, seed: int | None = None) -> Observation:
        self.seed = seed
        rng = np.random.default_rng(seed)
        return self.set_layout(self.sample_layout(rng, n_blocks=len(BLOCKS)))

    def observe(self) -> Observation:
        self._check()
        images = self._frames() if self.config.render else {}
        pos, yaw = self._ee()
        return Observation(t=float(self.data.time), ee_pos=pos, ee_yaw=yaw, gripper=self.gripper_opening(),
                           images=images, joints=self._joints(), scene=self.scene_state())

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self._closed = True

    # ---- scene ------------------------------------------------------------------------------------
    def sample_layout(self, rng: np.random.Generator, n_blocks: int | None = None) -> Layout:
        """A random, collision-free arrangement of `n_blocks` blocks (random count if None)."""
        spec = self.spec
        if n_blocks is None:
            n_blocks = int(rng.integers(1, len(BLOCKS) + 1))
        names = [BLOCKS[i] for i in sorted(rng.choice(len(BLOCKS), size=n_blocks, replace=False))]
        placed: list[tuple[float, float, float]] = []  # x, y, radius

        def free_spot(radius: float) -> tuple[float, float]:
            for _ in range(500):
                x, y = rng.uniform(*spec.obj_x), rng.uniform(*spec.obj_y)
                if all(math.hypot(x - px, y - py) > radius + pr + 0.01 for px, py, pr in placed):
                    placed.append((x, y, radius))
                    return float(x), float(y)
            raise RobotError("could not place all objects without overlap")

        bowl = free_spot(spec.bowl_spot)
        plate = free_spot(spec.plate_spot)
        blocks = {}
        for name in names:
            x, y = free_spot(spec.block_spot)
            blocks[name] = (x, y, spec.block_half, float(rng.uniform(-0.4, 0.4)))
        return Layout(blocks=blocks, bowl=bowl, plate=plate, ee=spec.home_ee, gripper=1.0)

    def set_layout(self, layout: Layout) -> Observation:
        """Place everything as `layout` says, let it settle briefly, and observe."""
        self._check()
        m, d = self.model, self.data
        mujoco.mj_resetData(m, d)
        self._drawn = None  # the bowl and plate move in the model, not in the pose `_frames` compares
        m.body_pos[m.body("bowl").id][:2] = layout.bowl
        m.body_pos[m.body("plate").id][:2] = layout.plate
        for i, name in enumerate(BLOCKS):
            q = self._block_qadr[name]
            if name in layout.blocks:
                x, y, z, yaw = layout.blocks[name]
                d.qpos[q : q + 3] = (x, y, z)
                d.qpos[q + 3 : q + 7] = yaw_quat(yaw)
            else:
                d.qpos[q : q + 3] = (0.1 * i, 2.0, PARK_Z)
                d.qpos[q + 3 : q + 7] = (1, 0, 0, 0)
        self._place_arm(layout)
        mujoco.mj_forward(m, d)
        for _ in range(100):  # 0.2 s settle
            mujoco.mj_step(m, d)
        self._update_held()
        d.time = 0.0
        return self.observe()

    def scene_state(self) -> SceneState:
        m, d = self.model, self.data
        sizes = self.spec.sizes or {}
        objs = []
        for name in BLOCKS:
            q = self._block_qadr[name]
            pos = tuple(float(v) for v in d.qpos[q : q + 3])
            if pos[2] < -0.3:
                continue  # parked on the floor: not in the scene
            objs.append(ObjectState(name=name, kind="block", color=name.split()[0], pos=pos,
                                    size=sizes.get("block", 0.0)))
        for name in ("bowl", "plate"):
            p = m.body_pos[m.body(name).id]
            objs.append(ObjectState(name=name, kind=name, color="", pos=(float(p[0]), float(p[1]), 0.0),
                                    size=sizes.get(name, 0.0)))
        return SceneState(objects=tuple(objs), held=self._held)

    def camera_model(self, camera: str) -> PinholeCamera:
        """The calibration of `camera` as it is now (the wrist camera moves with the gripper)."""
        if camera not in self.cameras:
            raise RobotError(f"the sim has no camera {camera!r} (cameras: {', '.join(self.cameras)})")
        d = mujoco.MjData(self.model)  # a copy: the physics' own data is not touched (nor forwarded) here
        d.qpos[:], d.mocap_pos[:], d.mocap_quat[:] = self.data.qpos, self.data.mocap_pos, self.data.mocap_quat
        mujoco.mj_kinematics(self.model, d)
        mujoco.mj_camlight(self.model, d)
        return mujoco_camera(self.model, d, camera, self.config.image_size)

    def render(self, camera: str) -> np.ndarray:
        self._check()
        if self._renderer is None:
            size = self.config.image_size
            self._renderer = mujoco.Renderer(self.model, size, size)
            self._thread = threading.get_ident()
            self._renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = False
            self._renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = False
        elif self._thread != threading.get_ident():
            raise RobotError("a simulator must be rendered from the thread that created its renderer")
        self._renderer.update_scene(self.data, camera=camera)
        return self._renderer.render().copy()

    # ---- internals --------------------------------------------------------------------------------
    def want_cameras(self, cameras: tuple[str, ...] | None) -> None:
        """Draw only `cameras` from the next `observe` on (None: all). The control loop sets this every tick
        from what is watched or recorded (`core.control.frames.FrameHub.wanted`); unknown names are ignored."""
        self._wanted = None if cameras is None else tuple(c for c in self.cameras if c in cameras)

    def _frames(self) -> dict[str, np.ndarray]:
        """Each wanted camera's frame; the last ones again while nothing has moved by `STILL`. The control
        loop observes 30 times a second, and while the robot holds (waiting for the model) re-rendering the
        same picture took CPU the model needed."""
        cams = self._wanted or self.cameras
        pose = np.concatenate([self.data.qpos, self.data.mocap_pos.ravel(), self.data.mocap_quat.ravel()])
        still = (self.config.reuse_still_frames and self._drawn is not None
                 and np.max(np.abs(pose - self._drawn[0])) < STILL)
        drawn = self._drawn[1] if still else {}
        frames = {cam: drawn[cam] if cam in drawn else self.render(cam) for cam in cams}
        self.renders += sum(cam not in drawn for cam in cams)
        self._drawn = (self._drawn[0], {**drawn, **frames}) if still else (pose, frames)
        return dict(frames)

    def _update_held(self) -> None:
        """A block is held when both fingers touch it with something between them (not closed shut:
        closed fingers pushing a block touch it too, but do not hold it)."""
        if self._finger_value() < self.held_min_opening:
            self._held = None
            return
        fingers = self._finger_geoms()
        touching: dict[str, set[int]] = {}
        geom_to_block = {g: b for b, g in self._block_geom.items()}
        for c in self.data.contact[: self.data.ncon]:
            for a, b in ((c.geom1, c.geom2), (c.geom2, c.geom1)):
                if a in fingers and b in geom_to_block:
                    touching.setdefault(geom_to_block[b], set()).add(a)
        held = [b for b, f in touching.items() if len(f) == 2]
        self._held = held[0] if held else None

    def _check(self) -> None:
        if self._closed:
            raise RobotError("the simulator is closed")


__all__ = ["Layout", "STILL", "SimConfig", "TableSpec", "TabletopSim", "yaw_quat"]
