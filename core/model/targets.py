"""Stage-1 targets: the scene's ground truth as class labels / regression values / cell occupancy.

The tower is pretrained to make these readable from the same 4x4 pooled patch grid the projector
later hands to the language model (linear heads on the mean token, one shared linear head per cell).
"""

from __future__ import annotations

import numpy as np

from core.model.scene_qa import COLORS, answers, scene_facts
from core.model.scenes import OBJECTS, Scene

IGNORE = -100
COLOR_INDEX = {c: i for i, c in enumerate(COLORS)}
# name -> number of classes
CLASS_HEADS: dict[str, int] = {
    **{f"present_{c}": 2 for c in COLORS},
    "count": 5,
    "leftmost": 4,
    "rightmost": 4,
    "nearest": 4,
    "bowl_nearest": 4,
    **{f"side_{c}": 2 for c in COLORS},
    "in_bowl": 5,
    "on_plate": 5,
    "gripper": 2,
}
N_REGRESS = 4 * 2 + 2 + 2 + 3  # block xy, bowl xy, plate xy, end-effector xyz


def scene_targets(scene: Scene, grid: int = 4, image_size: int = 224) -> dict[str, np.ndarray]:
    facts = scene_facts(scene.state)
    ans = answers(facts)
    cls = np.full(len(CLASS_HEADS), IGNORE, dtype=np.int64)
    names = list(CLASS_HEADS)
    for c in COLORS:
        cls[names.index(f"present_{c}")] = int(ans["present"][c] == "yes")
        side = ans.get("side", {})
        if c in side:
            cls[names.index(f"side_{c}")] = int(side[c] == "left")
    cls[names.index("count")] = int(ans["count"])
    for k in ("leftmost", "rightmost", "nearest", "bowl_nearest"):
        if k in ans:
            cls[names.index(k)] = COLOR_INDEX[ans[k]]
    for k in ("in_bowl", "on_plate"):
        cls[names.index(k)] = 0 if ans[k] == "nothing" else 1 + COLOR_INDEX[ans[k]]
    cls[names.index("gripper")] = int(scene.gripper > 0.5)

    reg = np.zeros(N_REGRESS, dtype=np.float32)
    mask = np.zeros(N_REGRESS, dtype=np.float32)
    for i, c in enumerate(COLORS):
        if c in facts.blocks:
            reg[2 * i : 2 * i + 2] = facts.blocks[c]
            mask[2 * i : 2 * i + 2] = 1
    reg[8:10], reg[10:12], reg[12:15] = facts.bowl, facts.plate, scene.ee
    mask[8:] = 1
    reg = (reg - np.array([0.5, 0.0] * 6 + [0.5, 0.0, 0.2], dtype=np.float32)) * 5.0  # ~unit scale

    cells = np.zeros((grid * grid, len(OBJECTS)), dtype=np.float32)
    present = {f"{c} block" for c in facts.blocks} | {"bowl", "plate"}
    step = image_size / grid
    for j, name in enumerate(OBJECTS):
        if name in present and name in scene.pixels:
            u, v = scene.pixels[name]
            if 0 <= u < image_size and 0 <= v < image_size:
                cells[int(v // step) * grid + int(u // step), j] = 1
    return {"cls": cls, "reg": reg, "reg_mask": mask, "cells": cells}
