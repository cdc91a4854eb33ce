"""The default model build's settings: `BuildConfig` (what the card records) and `DefaultModelConfig` (the
command line, `recipes.cli`, which makes one); the question kinds the losses single out."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from core.model.assemble import VisionSpec
from core.model.cache import ASSETS_DIR
from recipes.cli import option

LORA_TARGETS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj)"
FOCUS_KINDS = ("leftmost", "rightmost", "nearest", "bowl_nearest", "side")
ANSWER_BLOCK_KINDS = ("leftmost", "rightmost", "nearest", "bowl_nearest")  # the answer names the block
ASKED_BLOCK_KINDS = ("where", "side", "reach", "present")  # the question names it ("present": if "yes")
S2_ATTN_HEADS = ((2, 0), (4, 0), (6, 0), (8, 0))  # (layer, head) pairs the attention loss supervises


@dataclass
class BuildConfig:
    seed: int = 0
    threads: int = 1
    spec: VisionSpec = field(default_factory=VisionSpec)
    checkpoint_minutes: float = 4.0
    # stage 1: tower alone
    s1_batch: int = 16
    s1_lr: float = 1e-3
    s1_warmup: int = 100
    s1_max_steps: int = 20000
    s1_max_minutes: float = 75.0
    s1_eval_every: int = 150
    s1_eval_images: int = 256
    s1_patience: int = 6  # evaluations without a 0.002 gain in mean held-out accuracy
    s1_loc_weight: float = 1.0  # per-object "which cell holds its centre" cross-entropy
    # each pooled token names its own grid cell, so a token says where it is and the LM can read a block's
    # place by attending to the block's token (a linear probe found only 27% of tokens' cells, chance 6%,
    # without it: the LM had to infer places from token order alone). At 0.5 the finished tower barely
    # moved (own cell 0.14 -> 0.24 in 500 steps); at 3 it reached 0.97 in 600 with the other heads kept.
    s1_self_pos_weight: float = 3.0
    # per-block token relations (core.model.targets.TOKEN_HEADS): where each block is relative to the
    # gripper and its relational answers, on the block's own token; and the share of scenes with the
    # gripper among the blocks, as while grasping (SceneMaker.task_poses). 0 / 0.0: the shipped recipe.
    s1_token_weight: float = 1.0
    s1_task_poses: float = 0.5
    # stage-2 chats also ask "Where is the X block?" -> "back left" (its image third by row and column), so the
    # LM learns to read each block's place off the grid it is given (bench/eval/vision_relations.py: the grid holds
    # left/right at 0.93, the LM's relational answers stayed near chance without such turns)
    s2_where: bool = True
    # stage-2 chats also ask "Which way should the gripper move to reach the X block?" -> "forward and left",
    # "down" (over it) or "close the gripper" (around it): the first phase of the loop's grasp plans, read
    # off the block's token (the per-block relations of stage 1)
    s2_reach: bool = True
    # share of stage-2 chats that ask only one or two of the relational questions (FOCUS_KINDS), the
    # kinds that need the LM to pick one block's token out of the grid, not pool over all of them: in the
    # full chats they are a few of ~15 answers and stayed near chance for 720 steps; a short chat also
    # costs a fraction of a full one and is single-turn like the VQA benchmark
    s2_focus: float = 0.0
    # weight of a loss on a few attention heads (S2_ATTN_HEADS) at the position that predicts each answer:
    # put its attention on the grid token of the block the answer is about (the asked block of "where" /
    # "side" / "reach" / "is there a red block?" -> yes, the answer block of "leftmost" and the like).
    # Without it, that position's attention to the 16 image tokens was 0-13% in every layer, spread
    # evenly over them: the LM pooled the grid (colours, counts right) and never picked one block out.
    s2_attn_weight: float = 0.0
    # stage 2: alignment through the LM
    s2_batch: int = 4
    s2_lr: float = 5e-4  # projector and LoRA
    s2_tower_lr: float = 5e-5
    s2_warmup: int = 30
    s2_max_steps: int = 3000
    s2_eval_every: int = 60
    s2_eval_images: int = 48
    lora_r: int = 8
    lora_alpha: int = 16


@dataclass(frozen=True)
class DefaultModelConfig:
    """`python -m recipes.default_model`'s options: how to run the build, and the `BuildConfig` settings a
    rebuild may change (the rest keep their defaults)."""

    seed: int = option(0, "scenes, data order and initialisation")
    stages: str = option("12", "which stages to run, e.g. 1, 2 or 12")
    fresh: bool = option(False, "ignore checkpoints (default: resume)")
    threads: int = option(1, "CPU threads for torch")
    work_dir: Path | None = option(None, "checkpoint folder (default: $VLM2VLA_CACHE/build/seed<N>)")
    out_dir: Path = option(ASSETS_DIR, "where the weights and the card go")
    s1_max_minutes: float = option(BuildConfig.s1_max_minutes, "stage 1's time budget")
    s2_max_steps: int = option(BuildConfig.s2_max_steps, "stage 2's steps")
    s2_where: bool = option(True, "stage-2 chats without the \"Where is the X block?\" turns (the recipe of the "
                            "shipped weights)", flag="--no-s2-where")
    s1_self_pos_weight: float = option(BuildConfig.s1_self_pos_weight, "weight of the stage-1 loss that makes each "
                                       "grid token name its own cell (0: none)")
    s1_token_weight: float = option(BuildConfig.s1_token_weight, "weight of the stage-1 per-block token relations "
                                    "(0: none)")
    task_poses: float = option(BuildConfig.s1_task_poses, "share of training scenes with the gripper among the "
                               "blocks, as while grasping")
    s2_reach: bool = option(True, "stage-2 chats without the \"Which way should the gripper move to reach the X "
                            "block?\" turns", flag="--no-s2-reach")
    s2_focus: float = option(BuildConfig.s2_focus, "share of stage-2 chats that ask only one or two relational "
                             "questions")
    s2_attn_weight: float = option(BuildConfig.s2_attn_weight, "weight of the stage-2 loss that points a few heads "
                                   "at the answer's block token (0: none)")
    image_tokens: int = option(VisionSpec.mm_tokens_per_image, "LM tokens per image (the 16x16 patch grid pooled "
                               "to 4x4 or 8x8); stage 2 can change it under a tower trained at the other size (the "
                               "tower sees patches, not tokens)", choices=(16, 64))
    s2_init: Path | None = option(None, "start stage 2 from the projector and LoRA of another run's stage2.pt "
                                  "(warm start)")
    card_only: bool = option(False, "only re-render CARD.md from card.json and bench/results/model.json")

    def build_config(self) -> BuildConfig:
        return BuildConfig(seed=self.seed, threads=self.threads, s1_max_minutes=self.s1_max_minutes,
                           spec=replace(VisionSpec(), mm_tokens_per_image=self.image_tokens),
                           s2_max_steps=self.s2_max_steps, s2_where=self.s2_where, s2_reach=self.s2_reach,
                           s1_self_pos_weight=self.s1_self_pos_weight, s1_token_weight=self.s1_token_weight,
                           s1_task_poses=self.task_poses, s2_focus=self.s2_focus, s2_attn_weight=self.s2_attn_weight)
