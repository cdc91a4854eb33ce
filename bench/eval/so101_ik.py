"""SO-101 inverse kinematics: the studio's own solver (MuJoCo Jacobians, task-priority damped least
squares) against `mink` (QP-based differential IK), on the same targets.

Cases (tool point, jaws down, a yaw):
- exact: 300 poses made by forward kinematics from random joint angles whose jaws point within 3 degrees
  of down at a yaw the control loop allows (every one has an exact answer), solved from the home posture;
- track: a 60-step circle in the workspace at 30 Hz, each solve seeded with the last (the control loop);
- limits: 100 targets high and close to the base, where the wrist would have to bend past its limit;
- reach: a line walked from inside reach to 12 cm beyond it (the arm stretched straight: singular).
Reported per solver: position error (mm) p50/p95/max, tilt (deg) and yaw error (deg) p50, ms per solve
p50/p95, solutions outside the joint limits, the largest joint jump between consecutive steps of the walk.

    python bench/eval/so101_ik.py            # mink missing: the result says so and lists only the own solver
    (mink: pip install mink==1.3.0, e.g. in a venv made with --system-site-packages)

Timings depend on the machine and on what else runs; compare the two solvers within one run.
"""

from __future__ import annotations

import math
import os
import statistics
import time

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np

from bench.common import write_result
from core.robot.so101.kinematics import Kinematics, tilt_of, wrap, yaw_of
from core.robot.so101.sim import HOME_SEED


def cases(kin: Kinematics, rng: np.random.Generator) -> dict[str, list[tuple[np.ndarray, float]]]:
    exact = []
    while len(exact) < 300:
        q = rng.uniform(kin.lower, kin.upper)
        p = kin.fk(q)
        if (p.tilt < math.radians(3) and 0.0 < p.pos[2] < 0.25 and math.hypot(*p.pos[:2]) > 0.12
                and abs(p.yaw) < math.pi / 2 - 0.1):  # yaws the control loop can ask for
            exact.append((np.array(p.pos), p.yaw))
    t = np.linspace(0, 2 * math.pi, 60)
    track = [(np.array([0.21 + 0.06 * math.cos(a), 0.09 * math.sin(a), 0.05]), 0.3 * math.sin(a)) for a in t]
    limits = [(np.array([rng.uniform(0.10, 0.14), rng.uniform(-0.05, 0.05), rng.uniform(0.15, 0.22)]), 0.0)
              for _ in range(100)]
    reach = [(np.array([x, 0.05, 0.05]), 0.0) for x in np.linspace(0.25, 0.45, 41)]
    return {"exact": exact, "track": track, "limits": limits, "reach": reach}


class OwnSolver:
    name = "own (MuJoCo Jacobians, task-priority DLS)"

    def __init__(self, kin: Kinematics) -> None:
        self.kin = kin

    def solve(self, pos: np.ndarray, yaw: float, seed: np.ndarray) -> np.ndarray:
        return self.kin.ik(pos, yaw, seed).q


class MinkSolver:
    def __init__(self, kin: Kinematics, orientation_cost: float, iterations: int = 60) -> None:
        import mink

        self.name = f"mink 1.3.0 (FrameTask orientation cost {orientation_cost:g}, ConfigurationLimit, posture, daqp)"
        self.mink, self.kin, self.iterations = mink, kin, iterations
        self.conf = mink.Configuration(kin.model)
        c = orientation_cost
        self.frame = mink.FrameTask("tcp", "site", position_cost=1.0, orientation_cost=[c, c, c / 2],
                                    lm_damping=1e-3)
        self.posture = mink.PostureTask(kin.model, cost=1e-3)
        self.limits = [mink.ConfigurationLimit(kin.model)]

    def solve(self, pos: np.ndarray, yaw: float, seed: np.ndarray) -> np.ndarray:
        mink = self.mink
        q = self.conf.q.copy()
        q[self.kin.qadr] = seed
        self.conf.update(q)
        self.posture.set_target(q)
        c, s = math.cos(yaw), math.sin(yaw)
        rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])  # columns: jaw axis, y, tool z (up)
        self.frame.set_target(mink.SE3.from_rotation_and_translation(mink.SO3.from_matrix(rot), pos))
        dt = 0.5
        for _ in range(self.iterations):
            v = mink.solve_ik(self.conf, [self.frame, self.posture], dt, "daqp", damping=1e-3, limits=self.limits)
            self.conf.integrate_inplace(v, dt)
            err = self.frame.compute_error(self.conf)
            if np.linalg.norm(err[:3]) < 2e-4 and np.linalg.norm(v) < 1e-3:
                break
        return self.conf.q[self.kin.qadr].copy()


def measure(solver, kin: Kinematics, sets: dict) -> dict:  # noqa: ANN001
    out: dict[str, dict] = {}
    for name, targets in sets.items():
        errs, tilts, yaws, times, outside, jumps = [], [], [], [], 0, [0.0]
        seed = HOME_SEED.copy()
        prev = None
        for pos, yaw in targets:
            start = seed if name in ("track", "reach") else HOME_SEED
            t0 = time.perf_counter()
            q = solver.solve(pos, yaw, start)
            times.append((time.perf_counter() - t0) * 1000)
            outside += int(np.any(q < kin.lower - 1e-6) or np.any(q > kin.upper + 1e-6))
            kin._set(q)  # noqa: SLF001 - the bench reads the pose the solution gives
            p, rot = kin._pose_now()  # noqa: SLF001
            errs.append(float(np.linalg.norm(p - pos)) * 1000)
            tilts.append(math.degrees(tilt_of(rot)))
            yaws.append(math.degrees(abs(wrap(yaw - yaw_of(rot)))))
            if prev is not None and name in ("track", "reach"):
                jumps.append(float(np.max(np.abs(q - prev))))
            prev, seed = q, q
        e = sorted(errs)
        out[name] = {
            "n": len(targets),
            "pos_err_mm_p50": round(statistics.median(e), 3),
            "pos_err_mm_p95": round(e[int(0.95 * (len(e) - 1))], 3),
            "pos_err_mm_max": round(e[-1], 3),
            "tilt_deg_p50": round(statistics.median(tilts), 2),
            "yaw_err_deg_p50": round(statistics.median(yaws), 2),
            "ms_p50": round(statistics.median(times), 3),
            "ms_p95": round(sorted(times)[int(0.95 * (len(times) - 1))], 3),
            "outside_limits": outside,
            "max_joint_jump_rad": round(max(jumps), 3) if name in ("track", "reach") else None,
        }
    return out


def main() -> None:
    kin = Kinematics()
    sets = cases(kin, np.random.default_rng(0))
    solvers = [OwnSolver(kin)]
    missing = None
    try:
        solvers += [MinkSolver(kin, 0.1), MinkSolver(kin, 0.01)]
    except ImportError as exc:
        missing = f"mink not importable here ({exc}); pip install mink==1.3.0 to compare"
    result: dict = {"note": "shared 2-core machine: compare solvers within this run only", "solvers": {}}
    if missing:
        result["mink"] = missing
    for s in solvers:
        result["solvers"][s.name] = measure(s, kin, sets)
    path = write_result("so101_ik", result)
    parts = []
    for name, r in result["solvers"].items():
        parts.append(f"{name.split('(')[0].strip()} {name.split('cost ')[1].split(',')[0] if 'cost' in name else ''}: exact p95 {r['exact']['pos_err_mm_p95']} mm in {r['exact']['ms_p50']} ms, "
                     f"track {r['track']['ms_p50']} ms/solve, limits p50 {r['limits']['pos_err_mm_p50']} mm")
    print("; ".join(parts) + (f" ({missing})" if missing else "") + f" -> {path}")


if __name__ == "__main__":
    main()
