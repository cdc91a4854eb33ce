"""Correction samples for grounded servoing: the states a closed loop drifts into, with the way back.

An adapter trained only on the expert's demos sees the states on the expert's path. In closed loop it
strays from them (a grasp 2-4 cm beside the block, too high over the bowl) and has no demo of what to do
there. As in DART (Laskey et al., 2017), a teacher is rolled out with noise: `core.policy.servo.ServoPolicy`
executes a perturbed entry in a share of its cycles, the simulator and the real object locator run as in
the loop, and every cycle is written as a plan and an action question whose answer is the rule's own
entry for that frame's grounding line. The questions and their wording are the loop's
(`core.language.prompts`), so the samples mix with the expert's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from itertools import cycle
from typing import Any

from core.language import prompts
from core.training.sources import resize

log = logging.getLogger(__name__)

# the tasks the rule is built for: a grasp, then (put-in) a release over the container
KINDS = ("pick", "put_in")
KEY_PREFIX = "servo"


def visit_samples(key: str, visits: Sequence[Any], image_size: int) -> list[Any]:
    """A plan and an action sample per `core.policy.servo.Visit`, answered with the rule's entry."""
    from core.language.spec import Chunk
    from core.policy.servo import entry_plan
    from core.training.data import TrainSample

    out = []
    for step, v in enumerate(visits):
        chunk = Chunk(*v.entry)
        plan = entry_plan(v.entry, v.gripper)
        image = resize(v.image, image_size)
        for s in (prompts.plan_sample(v.subtask, plan, step, v.line),
                  prompts.actions_sample(v.subtask, plan, [chunk], step, v.line)):
            out.append(TrainSample(key, s.kind, s.prompt, s.target, step, image))
    return out


def correction_samples(seeds: Sequence[int], line: Callable[..., str], *, noise: float, noise_cm: float,
                       kinds: Sequence[str] = KINDS, image_size: int = 224, time_limit_s: float = 120.0) -> list[Any]:
    """Samples from one noisy rollout of the servo rule per seed (task kinds taken in turn from `kinds`);
    `noise` and `noise_cm` as in `ServoPolicy` (a job's come from `DataSpec.servo_noise` / `servo_noise_cm`).

    `line` writes a cycle's grounding line (`core.policy.grounding.Grounder.line`). Each rollout is an
    episode of its own (`servo-<seed>`) for the train/validation split.
    """
    from core.policy.rollout import run_sim_episodes
    from core.policy.servo import ServoPolicy

    out: list[Any] = []
    ok = 0
    for seed, kind in zip(seeds, cycle(kinds)):
        policy = ServoPolicy(line, noise=noise, noise_cm=noise_cm, seed=seed)
        result = run_sim_episodes(policy, seeds=[seed], kind=kind, image_size=image_size, time_limit_s=time_limit_s)
        ok += result.success_rate == 1.0
        out.extend(visit_samples(f"{KEY_PREFIX}-{seed}", policy.visits, image_size))
    log.info("correction rollouts: %d of %d ended in success; %d samples", ok, len(seeds), len(out))
    return out
