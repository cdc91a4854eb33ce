"""MuJoCo tabletop robot: a mocap parallel gripper, coloured blocks, a bowl and a plate.

Rendering is offscreen on the CPU (EGL/Mesa). GL contexts are thread-bound, so a `SimRobot` must be
created and used (`reset`, `observe`, `apply`) from one thread: the control thread.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from dataclasses import dataclass, field

os.environ.setdefault("MUJOCO_GL", "egl")

import mujoco  # noqa: E402
import numpy as np  # noqa: E402

from core.robot.base import RobotError  # noqa: E402
from core.robot.camera import PinholeCamera, mujoco_camera  # noqa: E402
from core.robot.scene import FINGER_OPEN, PARK_Z, scene_xml  # noqa: E402
from core.robot.tasks import BLOCK_HALF, BLOCKS  # noqa: E402
from core.types import Command, ObjectState, Observation, SceneState  # noqa: E402

log = logging.getLogger(__name__)

# Where objects are placed at reset (table frame, metres).
OBJ_X = (0.38, 0.64)
OBJ_Y = (-0.22, 0.22)
HOME_EE = (0.34, 0.0, 0.18)
HELD_MIN_FINGER = 0.01  # finger travel from the centre (m); a 5 cm block keeps each finger at 0.025
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


@dataclass
class Layout:
    """A scene arrangement. Blocks left out of `blocks` are parked out of view."""

    blocks: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)  # name -> x, y, z, yaw
    bowl: tuple[float, float] = (0.5, 0.15)
    plate: tuple[float, float] = (0.5, -0.15)
    ee: tuple[float, float, float] = HOME_EE
    gripper: float = 1.0


def _yaw_quat(yaw: float) -> np.ndarray:
    return np.array([math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)])


class SimRobot:
    """The simulated robot; implements `core.robot.base.Robot`."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.cameras = self.config.cameras
        self.control_hz = self.config.control_hz
        self.model = mujoco.MjModel.from_xml_string(scene_xml(self.config.image_size))
        self.data = mujoco.MjData(self.model)
        self._renderer: mujoco.Renderer | None = None
        self._thread: int | None = None
        self._closed = False
        m = self.model
        self._mocap = m.body_mocapid[m.body("ee_target").id]
        self._gripper_body = m.body("gripper").id
        self._gripper_q = m.jnt_qposadr[m.joint("gripper").id]
        self._finger_q = m.jnt_qposadr[m.joint("finger_left").id]
        self._finger_r = m.jnt_qposadr[m.joint("finger_right").id]
        self._block_qadr = {b: m.jnt_qposadr[m.joint(b).id] for b in BLOCKS}
        self._block_vadr = {b: m.jnt_dofadr[m.joint(b).id] for b in BLOCKS}
        self._block_geom = {b: m.body(b).geomadr[0] for b in BLOCKS}
        self._finger_geoms = {m.body("finger_left").geomadr[0], m.body("finger_right").geomadr[0]}
        self._substeps = max(1, round(1.0 / (self.control_hz * m.opt.timestep)))
        self._target_pos = np.array(HOME_EE)
        self._target_yaw = 0.0
        self._target_grip = 1.0
        self._held: str | None = None
        self._t0 = 0.0
        self.seed: int | None = None
        self._drawn: tuple[np.ndarray, dict[str, np.ndarray]] | None = None  # (pose, frames) last rendered
        self.renders = 0  # frames actually rendered (the rest were reused while nothing moved)

    # ---- Robot contract -------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> Observation:
        self.seed = seed
        rng = np.random.default_rng(seed)
        return self.set_layout(self.sample_layout(rng, n_blocks=len(BLOCKS)))

    def observe(self) -> Observation:
        self._check()
        images = self._frames() if self.config.render else {}
        return Observation(
            t=float(self.data.time),
            ee_pos=tuple(float(v) for v in self.data.xpos[self._gripper_body]),
            ee_yaw=self._target_yaw,
            gripper=self.gripper_opening(),
            images=images,
            joints=(float(self.data.qpos[self._finger_q]), float(self.data.qpos[self._finger_r])),
            scene=self.scene_state(),
        )

    def apply(self, cmd: Command) -> None:
        self._check()
        target = np.asarray(cmd.pos, dtype=float)
        if not np.all(np.isfinite(target)) or not math.isfinite(cmd.yaw) or not math.isfinite(cmd.gripper):
            raise RobotError(f"non-finite command {cmd}")
        start = self.data.mocap_pos[self._mocap].copy()
        yaw0 = self._target_yaw
        self._target_pos, self._target_yaw = target, float(cmd.yaw)
        self._target_grip = float(min(1.0, max(0.0, cmd.gripper)))
        self.data.ctrl[0] = self._target_grip * FINGER_OPEN
        n = self._substeps
        for i in range(1, n + 1):  # interpolate the mocap target so contacts stay gentle
            a = i / n
            self.data.mocap_pos[self._mocap] = start + a * (target - start)
            self.data.mocap_quat[self._mocap] = _yaw_quat(yaw0 + a * (self._target_yaw - yaw0))
            mujoco.mj_step(self.model, self.data)
        self._update_held()

    def stop(self) -> None:
        """Hold the current pose: the target becomes where the gripper is now."""
        self._target_pos = self.data.xpos[self._gripper_body].copy()
        self.data.mocap_pos[self._mocap] = self._target_pos

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self._closed = True

    # ---- scene ----------------------------------------------------------------------------------
    def sample_layout(self, rng: np.random.Generator, n_blocks: int | None = None) -> Layout:
        """A random, collision-free arrangement of `n_blocks` blocks (random count if None)."""
        if n_blocks is None:
            n_blocks = int(rng.integers(1, len(BLOCKS) + 1))
        names = [BLOCKS[i] for i in sorted(rng.choice(len(BLOCKS), size=n_blocks, replace=False))]
        placed: list[tuple[float, float, float]] = []  # x, y, radius

        def free_spot(radius: float) -> tuple[float, float]:
            for _ in range(500):
                x, y = rng.uniform(*OBJ_X), rng.uniform(*OBJ_Y)
                if all(math.hypot(x - px, y - py) > radius + pr + 0.01 for px, py, pr in placed):
                    placed.append((x, y, radius))
                    return float(x), float(y)
            raise RobotError("could not place all objects without overlap")

        bowl = free_spot(0.085)
        plate = free_spot(0.075)
        blocks = {}
        for name in names:
            x, y = free_spot(0.036)
            blocks[name] = (x, y, BLOCK_HALF, float(rng.uniform(-0.4, 0.4)))
        return Layout(blocks=blocks, bowl=bowl, plate=plate, ee=HOME_EE, gripper=1.0)

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
                d.qpos[q + 3 : q + 7] = _yaw_quat(yaw)
            else:
                d.qpos[q : q + 3] = (0.1 * i, 2.0, PARK_Z)
                d.qpos[q + 3 : q + 7] = (1, 0, 0, 0)
        grip = float(min(1.0, max(0.0, layout.gripper)))
        d.qpos[self._finger_q] = d.qpos[self._finger_r] = grip * FINGER_OPEN
        d.ctrl[0] = grip * FINGER_OPEN
        d.mocap_pos[self._mocap] = layout.ee
        d.mocap_quat[self._mocap] = _yaw_quat(0.0)
        g = self._gripper_q
        d.qpos[g : g + 3] = layout.ee
        d.qpos[g + 3 : g + 7] = _yaw_quat(0.0)
        self._target_pos, self._target_yaw, self._target_grip = np.array(layout.ee), 0.0, grip
        mujoco.mj_forward(m, d)
        for _ in range(100):  # 0.2 s settle
            mujoco.mj_step(m, d)
        self._update_held()
        d.time = 0.0
        return self.observe()

    def scene_state(self) -> SceneState:
        m, d = self.model, self.data
        objs = []
        for name in BLOCKS:
            q = self._block_qadr[name]
            pos = tuple(float(v) for v in d.qpos[q : q + 3])
            if pos[2] < -0.3:
                continue  # parked on the floor: not in the scene
            objs.append(ObjectState(name=name, kind="block", color=name.split()[0], pos=pos))
        for name in ("bowl", "plate"):
            p = m.body_pos[m.body(name).id]
            objs.append(ObjectState(name=name, kind=name, color="", pos=(float(p[0]), float(p[1]), 0.0)))
        return SceneState(objects=tuple(objs), held=self._held)

    def gripper_opening(self) -> float:
        return float(np.clip(self.data.qpos[self._finger_q] / FINGER_OPEN, 0.0, 1.0))

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
            raise RobotError("SimRobot must be rendered from the thread that created its renderer")
        self._renderer.update_scene(self.data, camera=camera)
        return self._renderer.render().copy()

    # ---- internals ------------------------------------------------------------------------------
    def _frames(self) -> dict[str, np.ndarray]:
        """Each camera's frame; the last ones again while nothing has moved by `STILL`. The control loop
        observes 30 times a second, and while the robot holds (waiting for the model) re-rendering the same
        picture took CPU the model needed."""
        pose = np.concatenate([self.data.qpos, self.data.mocap_pos.ravel(), self.data.mocap_quat.ravel()])
        if (self.config.reuse_still_frames and self._drawn is not None
                and np.max(np.abs(pose - self._drawn[0])) < STILL):
            return dict(self._drawn[1])
        frames = {cam: self.render(cam) for cam in self.cameras}
        self.renders += len(frames)
        self._drawn = (pose, frames)
        return dict(frames)

    def _update_held(self) -> None:
        """A block is held when both fingers touch it with something between them (not closed shut:
        closed fingers pushing a block touch it too, but do not hold it)."""
        if self.data.qpos[self._finger_q] < HELD_MIN_FINGER:
            self._held = None
            return
        touching: dict[str, set[int]] = {}
        geom_to_block = {g: b for b, g in self._block_geom.items()}
        for c in self.data.contact[: self.data.ncon]:
            for a, b in ((c.geom1, c.geom2), (c.geom2, c.geom1)):
                if a in self._finger_geoms and b in geom_to_block:
                    touching.setdefault(geom_to_block[b], set()).add(a)
        held = [b for b, f in touching.items() if len(f) == 2]
        self._held = held[0] if held else None

    def _check(self) -> None:
        if self._closed:
            raise RobotError("the simulator is closed")


def make_sim(seed: int | None = 0, **kw) -> SimRobot:
    """Convenience: a reset simulator."""
    robot = SimRobot(SimConfig(**kw))
    robot.reset(seed)
    return robot


def timed_render(robot: SimRobot, camera: str, n: int = 50) -> float:
    """Median milliseconds to render one frame (used by benchmarks)."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        robot.render(camera)
        times.append((time.perf_counter() - t) * 1000)
    return float(np.median(times))


__all__ = ["SimRobot", "SimConfig", "Layout", "make_sim", "timed_render"]
