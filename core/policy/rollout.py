"""Closed-loop rollouts of a policy on seeded sim tasks: what evaluation, the benchmarks and the golden
outputs run (`run_sim_episodes`).

Each episode resets a fresh simulator with its seed, draws a task, and runs the app's autonomous loop
(`core.control.autonomous.AutonomousRun`, the simulator as the verifier) tick by tick in the calling thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class SimEpisode:
    seed: int
    instruction: str
    success: bool  # the task's success predicate on the final scene
    loop_result: str | None  # what the autonomous run concluded ("success", "failed", ...)
    model_calls: int
    malformed: int
    seconds: float
    cycles_s: list[float] = field(default_factory=list)  # model time per cycle (plan + actions)
    verifications: list[tuple[bool | None, bool | None]] = field(default_factory=list)  # (simulator, model)
    message: str = ""  # the run's last event (why it held, or "all subtasks done")
    task: str = ""  # the canonical English instruction of the task (the command may be in another language)
    subtasks: str = ""  # the subtask list the model wrote
    restated: str = ""  # the English instruction the restater made of the command ("" when none was made)
    start: str = "home"  # the start state (`core.control.starts`)
    setup: dict = field(default_factory=dict)  # what was set up for it
    events: list[tuple[str, str]] = field(default_factory=list)  # (kind, text) of every event the run wrote


@dataclass
class SimResult:
    success_rate: float
    n: int
    episodes: list[SimEpisode] = field(default_factory=list)
    seconds: float = 0.0
    setup_failed: list[int] = field(default_factory=list)  # seeds whose start state was not reached (not counted)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def cycle_times(events: list[Any]) -> list[float]:
    """Model time of each cycle of a run: from the event that asked for a new plan (the subtask list,
    a verdict or a retry) to the parsed action chunk (malformed attempts in between count)."""
    out: list[float] = []
    start: float | None = None
    for e in events:
        if e.kind in ("subtasks", "verify", "retry"):
            start = e.t
        elif e.kind == "actions" and start is not None:
            out.append(e.t - start)
            start = None
    return out


def run_sim_episodes(policy: Any, *, episodes: int = 10, seed: int = 1000, kind: str | None = None,
                     time_limit_s: float = 240.0, image_size: int = 224, camera: str | None = None,
                     instruction_for: Callable[[Any], str] | None = None,
                     seeds: Sequence[int] | None = None, starts: Sequence[str] = ("home",),
                     robot: str = "sim", sim: Any = None) -> SimResult:
    """Closed-loop rollouts of `policy` (a `core.control.policy.Policy`) on seeded sim tasks.

    Each episode: reset the sim with its seed, draw a task (`core.robot.episodes.draw_task`), run the
    paper's loop (`core.control.autonomous.AutonomousRun`, the simulator as verifier) tick by tick in
    this thread until it ends, then judge the task's success predicate on the final scene. The sim only
    advances while entries execute; while the model thinks, it holds. `instruction_for(task)` words the
    command (default: the canonical English instruction); `seeds` overrides `seed .. seed+episodes-1`.
    `camera` None: the one the policy was trained on (`policy.camera`, else front). `starts`: the start
    states (`core.control.starts`), taken in turn over the episodes; the robot is driven there before the
    command (seeded by the episode's seed), and an episode whose start state was not reached is left out
    (its seed in `setup_failed`). `robot`: which simulated robot of the registry (its workspace box limits
    the loop and the tasks drawn); `sim`: an open simulator of it to run on (left open; tests read its
    state), None: a fresh one.
    """
    import random

    from core.control.autonomous import AutonomousRun, RunConfig, policy_camera
    from core.control.safety import step_target
    from core.control.starts import reach
    from core.control.verify import sim_verify
    from core.robot.episodes import draw_task
    from core.robot.registry import get, simulator
    from core.robot.tabletop import SimConfig
    from core.robot.tasks import is_success
    from core.types import Command, Twist

    t_all = time.perf_counter()
    camera = policy_camera(policy, camera)
    limits = get(robot).limits
    own = sim is None
    if own:
        sim = simulator(robot, SimConfig(image_size=image_size, cameras=(camera,)))
    dt = 1.0 / sim.control_hz
    out: list[SimEpisode] = []
    failed: list[int] = []
    try:
        for k, s in enumerate(list(seeds) if seeds is not None else [seed + k for k in range(episodes)]):
            t0 = time.perf_counter()
            obs = sim.reset(s)
            assert obs.scene is not None
            task = draw_task(s, obs.scene, kind, limits=limits)
            start_state = starts[k % len(starts)]
            reached = reach(sim, obs, start_state, task, random.Random(s * 31 + k))
            if reached is None:
                failed.append(s)
                log.info("sim episode %d: the start state %s was not reached; left out", s, start_state)
                continue
            obs, setup = reached
            start = obs.scene
            assert start is not None
            words = instruction_for(task) if instruction_for else task.instruction
            run = AutonomousRun(policy, words, limits=limits, dt=dt, judge=sim_verify,
                                config=RunConfig(time_limit_s=time_limit_s, camera=camera)).start()
            cmd = Command(obs.ee_pos, obs.ee_yaw, obs.gripper)
            while True:
                tw = run.next_twist(obs)
                if tw is None:
                    if run.finished:
                        break
                    tw = Twist()
                if run.state != "moving" and tw.is_zero() and tw.gripper is None:
                    time.sleep(0.01)  # the model is thinking: hold (the simulator waits too)
                    continue
                cmd = step_target(cmd, tw, limits, dt)
                sim.apply(cmd)
                obs = sim.observe()
            run.wait(5.0)
            final = obs.scene
            assert final is not None
            kinds = [e.kind for e in run.events]
            out.append(SimEpisode(s, words, is_success(task, start, final), run.result,
                                  sum(k_ in ("subtasks", "plan", "actions") for k_ in kinds),
                                  kinds.count("malformed"), time.perf_counter() - t0, cycle_times(run.events),
                                  list(run.verifications), run.events[-1].text if run.events else "",
                                  task.instruction, next((e.text for e in run.events if e.kind == "subtasks"), ""),
                                  next((e.text for e in run.events if e.kind == "restate"), ""),
                                  start_state, setup, [(e.kind, e.text) for e in run.events]))
            log.info("sim episode %d (%s): %s", s, words, "success" if out[-1].success else "failure")
    finally:
        if own:
            sim.close()
    rate = sum(e.success for e in out) / max(1, len(out))
    return SimResult(rate, len(out), out, time.perf_counter() - t_all, failed)


__all__ = ["SimEpisode", "SimResult", "cycle_times", "run_sim_episodes"]
