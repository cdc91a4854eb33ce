"""Seeded task draws for demos, benchmarks and data: a feasible task for any seed."""

from __future__ import annotations

import numpy as np

from core.robot.tasks import BLOCKS, TASK_KINDS, Task, is_feasible
from core.types import SceneState
from core.workspace import Limits


def draw_task(seed: int, scene: SceneState, kind: str | None = None, limits: Limits | None = None) -> Task:
    """A task for this scene: `kind` (or one drawn from the seed) on a block for which it is feasible
    (within the robot's workspace `limits` when given: pushes that start or end out of reach are not drawn)."""
    rng = np.random.default_rng(seed + 7919)
    kinds = [kind] if kind else list(rng.permutation(TASK_KINDS))
    for k in kinds:
        blocks = list(rng.permutation(BLOCKS))
        for b in blocks:
            target = {"put_in": "bowl", "put_on": "plate"}.get(k)
            if k == "stack":
                target = next(o for o in blocks if o != b)
            task = Task(k, b, target)
            if is_feasible(task, scene, limits):
                return task
    raise ValueError(f"no feasible {kind or 'task'} in the scene of seed {seed}")
