"""Forward and inverse kinematics of the SO-101 from MuJoCo's own Jacobians (no extra library).

The arm has 5 joints, so a full 6-D pose is out of reach. What it can do, and what this solves for:
the tool point (`tcp`, between the jaw pads) at a position, the jaws pointing straight down, and the jaw
axis turned to a yaw about the vertical - 3 + 1 + 1 = 5 numbers (shoulder pan, lift, elbow and wrist flex
place the point and pitch the tool in the arm's vertical plane; wrist roll turns the jaws). Pointing down
is soft: where the arm cannot reach a point with the jaws vertical (close to the base, far out, high up),
the tool tilts and the position still holds. Position dominates, then tilt, then yaw (weights below).

Solver: damped least squares on the weighted task (position 3 rows, tilt 2 rows - the jaw axis' deviation
from vertical about the tool's two other axes - and yaw 1 row) with the damping growing near
singularities (the arm stretched out), a step cap, and joint limits as an active set: a joint at a limit
that the step pushes further is frozen for that iteration, so the others make up the motion. Measured
against `mink` 1.3.0 (QP-based) in `bench/eval/so101_ik.py` and docs/robots.md.

Yaw: the angle of the jaw axis (the gripper body's x axis, from the fixed jaw toward the moving one) about
the vertical, counter-clockwise seen from above; yaw 0 = the jaws close along the base's x axis (forward),
as the arm holds them with the wrist roll near the middle of its range, so that +-90 degrees stay inside
the roll's limits.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from core.robot.so101.arm import ARM_JOINTS, kinematic_xml
from core.workspace import Limits

# The workspace box the control loop keeps targets in (metres, base frame). Objects lie 0.15-0.28 m out;
# inside the box the tool reaches every point, with the jaws down except close to the base up high and at
# the far corners (up to ~30 degrees off vertical; docs/robots.md has the reach map).
LIMITS = Limits(x=(0.10, 0.31), y=(-0.20, 0.20), z=(0.008, 0.20))
HOME_EE = (0.20, 0.0, 0.10)

W_TILT, W_YAW = 1.0, 0.5  # the orientation task's rows (secondary to position)
MAX_STEP = 0.25  # rad per iteration, any joint
STALL = 1e-7  # the task error equal to two iterations ago: the solver has stalled
DOWN = np.array([0.0, 0.0, -1.0])


def wrap(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi


@dataclass(frozen=True)
class Pose:
    pos: tuple[float, float, float]
    yaw: float
    tilt: float  # radians between the jaws' pointing direction and straight down


@dataclass(frozen=True)
class IKResult:
    q: np.ndarray  # 5 arm joints (rad)
    pos_error: float  # metres, at the solution
    tilt: float  # rad from straight down
    yaw_error: float  # rad
    iterations: int
    at_limit: tuple[str, ...]  # joints that ended on a limit


class Kinematics:
    """FK/IK on a private MuJoCo model of the arm; safe to share between threads (a lock guards it)."""

    def __init__(self) -> None:
        import mujoco

        self._mj = mujoco
        self.model = mujoco.MjModel.from_xml_string(kinematic_xml())
        self.data = mujoco.MjData(self.model)
        m = self.model
        self.qadr = np.array([m.jnt_qposadr[m.joint(n).id] for n in ARM_JOINTS])
        self.dofs = np.array([m.jnt_dofadr[m.joint(n).id] for n in ARM_JOINTS])
        self.lower = np.array([m.jnt_range[m.joint(n).id][0] for n in ARM_JOINTS])
        self.upper = np.array([m.jnt_range[m.joint(n).id][1] for n in ARM_JOINTS])
        self.site = m.site("tcp").id
        self._lock = threading.Lock()
        self._jp = np.zeros((3, m.nv))
        self._jr = np.zeros((3, m.nv))

    # ---- forward --------------------------------------------------------------------------------
    def _set(self, q: np.ndarray) -> None:
        self.data.qpos[self.qadr] = q
        self._mj.mj_kinematics(self.model, self.data)

    def _pose_now(self) -> tuple[np.ndarray, np.ndarray]:
        return self.data.site_xpos[self.site].copy(), self.data.site_xmat[self.site].reshape(3, 3).copy()

    def fk(self, q) -> Pose:  # noqa: ANN001 - any 5-sequence
        with self._lock:
            self._set(np.asarray(q, dtype=float)[:5])
            pos, rot = self._pose_now()
        return Pose(tuple(float(v) for v in pos), yaw_of(rot), tilt_of(rot))

    # ---- inverse --------------------------------------------------------------------------------
    def ik(self, pos, yaw: float, seed, *, iterations: int = 60, tol: float = 2e-4,  # noqa: ANN001
           posture=None) -> IKResult:  # noqa: ANN001
        """Joint angles putting the tool at `pos` (m), jaws down, at `yaw`, starting from `seed` (5 rad).

        `posture` (5 rad, e.g. a leader arm's joints): instead of jaws-down-at-yaw, the secondary task is to
        come as close to these joint angles as the position allows - where the posture's own tool point is
        `pos`, the answer is the posture itself (a mirrored leader). Stops when the position is within `tol`
        and the secondary task no longer improves, or after `iterations`.
        """
        post = None if posture is None else np.clip(np.asarray(posture, dtype=float)[:5], self.lower,
                                                             self.upper)
        target = np.asarray(pos, dtype=float)
        q = np.clip(np.asarray(seed, dtype=float)[:5], self.lower, self.upper)
        mj, m, d = self._mj, self.model, self.data
        it = 0
        with self._lock:
            last = before = math.inf
            for it in range(1, iterations + 1):  # noqa: B007 - reported after the loop
                self._set(q)
                mj.mj_comPos(m, d)
                p, rot = self._pose_now()
                e, jac = self._task(target, yaw, p, rot)
                if post is not None:  # joint-space secondary task: identity Jacobian
                    e = np.concatenate([e[:3], post - q])
                    jac = np.vstack([jac[:3], np.eye(len(q))])
                err = float(np.linalg.norm(e))
                if np.linalg.norm(e[:3]) < tol and last - err < 1e-6:
                    break
                if abs(before - err) < STALL:  # out of reach: the steps stand still or swing between two
                    break                      # poses, and more iterations change nothing
                last, before = err, last
                dq = self._step(jac, e, q)
                q = np.clip(q + dq, self.lower, self.upper)
            self._set(q)
            p, rot = self._pose_now()
        at = tuple(n for n, v, lo, hi in zip(ARM_JOINTS, q, self.lower, self.upper) if v <= lo + 1e-6 or v >= hi - 1e-6)
        return IKResult(q, float(np.linalg.norm(target - p)), tilt_of(rot), abs(wrap(yaw - yaw_of(rot))), it, at)

    def _task(self, target: np.ndarray, yaw: float, p: np.ndarray, rot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mj = self._mj
        mj.mj_jacSite(self.model, self.data, self._jp, self._jr, self.site)
        jp, jr = self._jp[:, self.dofs], self._jr[:, self.dofs]
        # tilt: the rotation taking the jaws' pointing direction (-z of the tool) onto straight down, seen
        # about the tool's x and y axes (rotation about the pointing direction itself is yaw's business)
        point = -rot[:, 2]
        axis = np.cross(point, DOWN)
        s = float(np.linalg.norm(axis))
        if s > 1e-9:
            axis *= math.atan2(s, float(point @ DOWN)) / s
        tangent = rot[:, :2].T
        e_tilt = tangent @ axis
        e_yaw = wrap(yaw - yaw_of(rot))
        e = np.concatenate([target - p, W_TILT * e_tilt, [W_YAW * e_yaw]])
        jac = np.vstack([jp, W_TILT * (tangent @ jr), W_YAW * jr[2:3]])
        return e, jac

    def _step(self, jac: np.ndarray, e: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Position first; orientation in what is left of the joint space (task priority, damped)."""
        free = np.ones(len(q), dtype=bool)
        dq = np.zeros(len(q))
        for _ in range(len(q)):
            j1, j2 = jac[:3, free], jac[3:, free]
            dq = np.zeros(len(q))
            d1 = _dls(j1) @ e[:3]
            # an exact projector (a damped one leaks the orientation task into the position task)
            null = np.eye(j1.shape[1]) - np.linalg.pinv(j1, rcond=1e-3) @ j1
            d2 = _dls(j2 @ null) @ (e[3:] - j2 @ d1)
            dq[free] = d1 + null @ d2
            pushed = ((q <= self.lower + 1e-9) & (dq < 0)) | ((q >= self.upper - 1e-9) & (dq > 0))
            if not (pushed & free).any():
                break
            free &= ~pushed
            if not free.any():
                return np.zeros(len(q))
        big = float(np.max(np.abs(dq)))
        return dq * (MAX_STEP / big) if big > MAX_STEP else dq


def _dls(j: np.ndarray) -> np.ndarray:
    """Damped pseudo-inverse; the damping grows as the smallest singular value falls (arm stretched out)."""
    sv = np.linalg.svd(j, compute_uv=False)
    small = float(sv[-1]) if sv.size else 0.0
    lam = 1e-6 + 4e-3 * max(0.0, 1.0 - small / 0.05)
    return j.T @ np.linalg.inv(j @ j.T + lam * np.eye(j.shape[0]))


def yaw_of(rot: np.ndarray) -> float:
    """The jaw axis' yaw (see the module doc) from the tool's rotation matrix (world <- tool)."""
    a = rot[:, 0]
    return wrap(math.atan2(-float(a[0]), float(a[1])) + math.pi / 2)


def tilt_of(rot: np.ndarray) -> float:
    point = -rot[:, 2]
    return math.acos(max(-1.0, min(1.0, float(point @ DOWN))))


__all__ = ["HOME_EE", "LIMITS", "IKResult", "Kinematics", "Pose", "tilt_of", "wrap", "yaw_of"]
