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
from typing import Any

from core.language import prompts
from core.robot.tasks import TASK_KINDS
from core.training.sources import resize

log = logging.getLogger(__name__)

# the task kinds of the shipped recipe's first corrections (a grasp, then a release over the bowl); the rule
# (`core.policy.servo.rule_entry`) covers all seven (`ALL_KINDS`)
KINDS = ("pick", "put_in")
ALL_KINDS = TASK_KINDS
KEY_PREFIX = "servo"


def rollout_plan(seeds: Sequence[int], kinds: Sequence[str], starts: Sequence[str]) -> list[tuple[int, str, str]]:
    """(seed, task kind, start state) per rollout: kinds in turn, and each kind's start states in turn, so
    every pair comes up (with enough seeds) about equally often."""
    if not kinds or not starts:
        raise ValueError("servo corrections need at least one task kind and one start state")
    return [(seed, kinds[i % len(kinds)], starts[(i // len(kinds)) % len(starts)]) for i, seed in enumerate(seeds)]


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
                       kinds: Sequence[str] = KINDS, starts: Sequence[str] = ("home",), image_size: int = 224,
                       time_limit_s: float = 120.0, robot: str = "sim", heights: Any = None) -> list[Any]:
    """Samples from one noisy rollout of the servo rule per seed (`rollout_plan`: task kinds and start
    states in turn; `core.control.starts`); `noise` and `noise_cm` as in `ServoPolicy` (a job's come from
    `DataSpec.servo_noise` / `servo_noise_cm`).

    `line` writes a cycle's grounding line (`core.policy.grounding.Grounder.line`). Each rollout is an
    episode of its own (`servo-<seed>`) for the train/validation split. The loop prepares each subtask as
    in the app (`core.control.readiness`: a block put down, a closed gripper opened), so the rule's cycles
    start where the app's would; a start state that was not reached gives no samples. `robot`: the simulated
    robot of the registry to roll out on; `heights`: its expert's (`core.robot.heights.Heights`, e.g. the
    grounder's), which set the rule's distances (`core.policy.servo.ServoRule.for_heights`; None: the
    built-in arm's).
    """
    from core.policy.rollout import run_sim_episodes
    from core.policy.servo import BUILT_IN_RULE, ServoPolicy, ServoRule

    rule = BUILT_IN_RULE if heights is None else ServoRule.for_heights(heights)

    out: list[Any] = []
    ok = tried = 0
    for seed, kind, start in rollout_plan(seeds, kinds, starts):
        policy = ServoPolicy(line, noise=noise, noise_cm=noise_cm, seed=seed, rule=rule)
        result = run_sim_episodes(policy, seeds=[seed], kind=kind, image_size=image_size, time_limit_s=time_limit_s,
                                  starts=(start,), robot=robot)
        tried += result.n
        ok += sum(e.success for e in result.episodes)
        out.extend(visit_samples(f"{KEY_PREFIX}-{seed}", policy.visits, image_size))
    log.info("correction rollouts: %d of %d ended in success (%d start states not reached); %d samples", ok, tried,
             len(seeds) - tried, len(out))
    return out
