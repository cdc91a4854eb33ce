"""Stage-1 targets: the scene's ground truth as class labels / regression values / cell occupancy.

The tower is pretrained to make these readable from the same 4x4 pooled patch grid the projector
later hands to the language model (linear heads on the mean token, one shared linear head per cell).

Per-block token targets (`TOKEN_HEADS`): the token of the grid cell that holds a block's centre learns
that block's relations - where it is relative to the gripper (the autonomous loop's plans: "move
forward and left, then down") and whether it is the leftmost / rightmost / closest block, or left of
the bowl (the relational questions). The language model then reads a relation off one token (find the
red block's token, read its direction) instead of comparing the places of two tokens, which it did not
learn to do (the relational answers stayed near chance while the grid held every block's place).
"""

from __future__ import annotations

import numpy as np

from core.model.scene_qa import COLORS, SceneFacts, answers, scene_facts
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
# name -> number of classes, one label per grid token (IGNORE where no single block's centre is)
TOKEN_HEADS: dict[str, int] = {
    "tok_x": 3,  # the block is behind / level with / in front of the gripper (robot x, ALIGNED_M)
    "tok_y": 3,  # right of / level with / left of the gripper (robot y)
    "tok_grasp": 3,  # gripper not over it / over it and high / around it (low enough to close)
    "tok_leftmost": 2,
    "tok_rightmost": 2,
    "tok_nearest": 2,
    "tok_bowl_nearest": 2,
    "tok_side": 2,  # right / left of the bowl
}
ALIGNED_M = 0.015  # gripper and block closer than this along an axis count as level
AROUND_Z = 0.05  # gripper centre below this height over a block: the fingers are around it


def relative_class(delta: float) -> int:
    """0 negative, 1 level (|delta| < ALIGNED_M), 2 positive."""
    return 1 if abs(delta) < ALIGNED_M else (2 if delta > 0 else 0)


def grasp_class(block: tuple[float, float], ee: tuple[float, float, float]) -> int:
    """0 the gripper is not over the block (xy, m), 1 over it and high, 2 around it (low enough to close)."""
    if abs(block[0] - ee[0]) >= ALIGNED_M or abs(block[1] - ee[1]) >= ALIGNED_M:
        return 0
    return 2 if ee[2] < AROUND_Z else 1


def grid_cell(u: float, v: float, grid: int, image_size: int) -> int:
    """The pooled grid token holding image point (u, v): row-major, as the Gemma-3 projector flattens it."""
    step = image_size / grid
    return int(v // step) * grid + int(u // step)


def blocks_in_view(scene: Scene, facts: SceneFacts, image_size: int) -> dict[str, tuple[float, float]]:
    """Colour -> (u, v) image position of each table block whose centre is inside the image."""
    out = {}
    for c in facts.blocks:
        uv = scene.pixels.get(f"{c} block")
        if uv is not None and 0 <= uv[0] < image_size and 0 <= uv[1] < image_size:
            out[c] = uv
    return out


def token_targets(scene: Scene, grid: int = 4, image_size: int = 224) -> np.ndarray:
    """(grid*grid, len(TOKEN_HEADS)) class labels of each block's token; IGNORE elsewhere and where two
    blocks share a cell."""
    facts = scene_facts(scene.state)
    ans = answers(facts)
    out = np.full((grid * grid, len(TOKEN_HEADS)), IGNORE, dtype=np.int64)
    owners: dict[int, list[str]] = {}
    for c, (u, v) in blocks_in_view(scene, facts, image_size).items():
        owners.setdefault(grid_cell(u, v, grid, image_size), []).append(c)
    ex, ey, _ = scene.ee
    side = ans.get("side", {})
    for cell, colors in owners.items():
        if len(colors) != 1:
            continue
        c = colors[0]
        bx, by = facts.blocks[c]
        row = {"tok_x": relative_class(bx - ex), "tok_y": relative_class(by - ey),
               "tok_grasp": grasp_class((bx, by), scene.ee)}
        for k in ("leftmost", "rightmost", "nearest", "bowl_nearest"):
            if k in ans:
                row[f"tok_{k}"] = int(ans[k] == c)
        if isinstance(side, dict) and c in side:
            row["tok_side"] = int(side[c] == "left")
        for j, name in enumerate(TOKEN_HEADS):
            if name in row:
                out[cell, j] = row[name]
    return out


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
    for j, name in enumerate(OBJECTS):
        if name in present and name in scene.pixels:
            u, v = scene.pixels[name]
            if 0 <= u < image_size and 0 <= v < image_size:
                cells[grid_cell(u, v, grid, image_size), j] = 1
    return {"cls": cls, "reg": reg, "reg_mask": mask, "cells": cells}
