"""Replay a stored episode as language: its current verbalization's action lists, written as text and
parsed back, executed on a fresh simulator (never the control loop's robot) from the episode's seed.

`ReplayRunner` runs one replay at a time on its own worker thread, so the page stays responsive and
two replays never compete with the control loop for the shared CPUs.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.language.parse import ParseError, parse
from core.language.spec import Chunk
from core.review.browse import current_verbalization
from core.review.errors import ReplayBusy, ReviewError
from core.store.db import Store
from core.store.episodes import get_episode
from core.store.errors import StoreError
from core.training.sources import store_steps

if TYPE_CHECKING:
    from core.robot.base import Robot
    from core.types import SceneState

log = logging.getLogger(__name__)

SIM_ROBOTS = (None, "", "sim", "so101-sim")


@dataclass(frozen=True)
class ReplayReport:
    episode_id: int
    version: int  # verbalization version replayed (0: computed from the steps, not stored)
    seed: int
    task: str | None  # the sim task judged; None when the instruction is not a known task
    success: bool | None  # the task's success predicate after the replay (None without a task)
    demo_success: bool | None  # the episode's own tag
    ee_error_cm: float  # final end-effector distance to the demonstration's final position
    max_ee_error_cm: float  # worst distance at entry ends
    start_offset_cm: float  # the demo's first pose vs the seed's start pose
    scene_offset_cm: float  # largest object displacement between the seed's layout and the demo's start
    entries: int
    ticks: int
    timeouts: int
    seconds: float

    def summary(self) -> str:
        """A few lines for people."""
        if self.success is None:
            verdict = "success: n/a (the instruction is not one of the simulator's tasks)"
        else:
            verdict = f"success: {'YES' if self.success else 'NO'} ({self.task})"
            if self.demo_success is not None:
                verdict += f"; the demo was tagged {'success' if self.demo_success else 'failure'}"
        lines = [
            f"Replayed episode {self.episode_id} (verbalization "
            f"{'v' + str(self.version) if self.version else 'computed now'}): {self.entries} action entries, "
            f"seed {self.seed}, {self.ticks} ticks in {self.seconds:.1f} s.",
            verdict + ".",
            f"End-effector error: final {_cm(self.ee_error_cm)}, worst at an entry end {_cm(self.max_ee_error_cm)}.",
        ]
        if self.timeouts:
            lines.append(f"{self.timeouts} entries did not reach their target in time.")
        if self.start_offset_cm > 0.5:
            lines.append(f"Note: the arm was {self.start_offset_cm:.1f} cm away from the seed's start pose when "
                         "recording began, so absolute errors include that offset.")
        if self.scene_offset_cm > 0.5:
            lines.append(f"Note: objects were up to {self.scene_offset_cm:.1f} cm away from the seed's layout when "
                         "recording began (moved before recording); the replay starts from the seed's layout.")
        return "\n".join(lines)


def _cm(v: float) -> str:
    return "n/a" if not math.isfinite(v) else f"{v:.2f} cm"


def _dist_cm(a: Any, b: Any) -> float:
    return 100.0 * math.sqrt(sum((float(x) - float(y)) ** 2 for x, y in zip(a, b)))


def _scene_offset_cm(a: SceneState | None, b: SceneState | None) -> float:
    if a is None or b is None:
        return 0.0
    pos = {o.name: o.pos for o in b.objects}
    return max((_dist_cm(o.pos, pos[o.name]) for o in a.objects if o.name in pos), default=0.0)


def parsed_entries(verbalization: Any) -> list[Chunk]:
    """Every subtask's action list written as text and parsed back, with the step ranges restored."""
    chunks: list[Chunk] = []
    for i, sub in enumerate(verbalization.subtasks):
        if not sub.chunks:
            continue
        try:
            parsed = parse(sub.actions(), yaw=verbalization.yaw)
        except ParseError as exc:
            raise ReviewError(f"Subtask {i + 1}'s actions do not parse: {exc}") from exc
        if len(parsed) != len(sub.chunks):
            raise ReviewError(f"Subtask {i + 1}: {len(parsed)} entries parsed from {len(sub.chunks)} written")
        chunks += [Chunk(p.dx, p.dy, p.dz, p.gripper, p.yaw, o.steps) for p, o in zip(parsed, sub.chunks)]
    return chunks


def default_sim(control_hz: float, robot: str | None = None) -> Robot:
    """A render-less simulator of the robot an episode was recorded on (a simulated robot of the registry;
    the built-in arm for any other, e.g. a real arm's or an imported episode)."""
    from core.robot.registry import ROBOTS, simulator
    from core.robot.tabletop import SimConfig

    spec = ROBOTS.get(robot or "")
    name = robot if spec is not None and spec.simulator is not None else "sim"
    return simulator(str(name), SimConfig(render=False, control_hz=control_hz))


def replay_stored(
    store: Store, episode_id: int, *, robot_factory: Callable[[float], Robot] = default_sim
) -> ReplayReport:
    """Replay episode `episode_id`'s current verbalization on a new robot from `robot_factory(hz)`.

    Raises `ReviewError` with a clear message when the episode cannot be replayed (not from the
    simulator, no seed, no steps, no action entries, unparsable text).
    """
    from core.control.replay import replay
    from core.robot.tasks import BLOCKS, Task, TaskError, task_from_instruction

    t0 = time.monotonic()
    try:
        ep = get_episode(store, episode_id)
    except StoreError as exc:
        raise ReviewError(str(exc)) from exc
    if ep.robot not in SIM_ROBOTS:
        raise ReviewError(f"Episode {episode_id} was recorded on {ep.robot!r}: replay runs in the simulator only.")
    if ep.seed is None:
        raise ReviewError(f"Episode {episode_id} has no scene seed (imported?): the simulator cannot rebuild its scene.")
    try:
        steps, _ = store_steps(store, episode_id)
    except (ValueError, StoreError) as exc:
        raise ReviewError(f"Episode {episode_id}'s steps cannot be read: {exc}") from exc
    if not steps:
        raise ReviewError(f"Episode {episode_id} has no recorded steps.")
    cur = current_verbalization(store, episode_id, ep.instruction)
    if cur.verbalization is None:
        raise ReviewError(f"Episode {episode_id} has no verbalization: {cur.problem}")
    chunks = parsed_entries(cur.verbalization)
    if not chunks:
        raise ReviewError(f"Episode {episode_id} has no action entries (no motion was recorded): nothing to replay.")

    task: Task | None = None
    for text in (ep.task, ep.instruction):
        if text:
            try:
                task = task_from_instruction(text)
                break
            except TaskError:
                continue
    robot = default_sim(ep.fps or 30.0, ep.robot) if robot_factory is default_sim else robot_factory(ep.fps or 30.0)
    try:
        obs = robot.reset(int(ep.seed))
        if obs.scene is None:
            raise ReviewError("The replay robot reports no scene state; replay needs the simulator.")
        start_offset = _dist_cm(obs.ee_pos, steps[0].ee_pos)
        scene_offset = _scene_offset_cm(obs.scene, steps[0].scene)
        judged = task
        if judged is None:  # replay() always checks a task: judge a harmless one and drop the verdict
            present = [o.name for o in obs.scene.objects if o.name in BLOCKS]
            if not present:
                raise ReviewError("The simulator scene has no block; cannot run the replay.")
            judged = Task("pick", present[0])
        res = replay(chunks, judged, int(ep.seed), robot=robot, reference=steps)
    finally:
        robot.close()
    report = ReplayReport(
        episode_id=episode_id,
        version=cur.version,
        seed=int(ep.seed),
        task=task.instruction if task else None,
        success=res.success if task else None,
        demo_success=ep.success,
        ee_error_cm=res.ee_error_cm,
        max_ee_error_cm=res.max_ee_error_cm,
        start_offset_cm=start_offset,
        scene_offset_cm=scene_offset,
        entries=len(chunks),
        ticks=res.ticks,
        timeouts=res.timeouts,
        seconds=time.monotonic() - t0,
    )
    log.info("replay of episode %s: %s", episode_id, report)
    return report


class ReplayRunner:
    """One replay at a time on a dedicated worker thread."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="replay")
        self._lock = threading.Lock()
        self._current: Future | None = None

    def submit(self, fn: Callable[..., ReplayReport], *args: Any, **kw: Any) -> Future:
        """Start `fn(*args, **kw)`; raises `ReplayBusy` while another replay runs."""
        with self._lock:
            if self._current is not None and not self._current.done():
                raise ReplayBusy("A replay is already running: wait for it to finish.")
            self._current = self._pool.submit(fn, *args, **kw)
            return self._current

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._current is not None and not self._current.done()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
