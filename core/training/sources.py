"""Where training episodes come from: recorded episodes in the store, or scripted-expert rollouts in the sim.

Both produce `EpisodeRecord`s: an episode's current verbalization plus the camera frames of the steps
that samples are shown with. Frames are fetched lazily (`frames(steps)`) so that only the few frames a
sample needs are decoded or kept, at the model's resolution.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from core.language import Verbalization, verbalize
from core.training.errors import DataError, NoEpisodesError, NoVerbalizationError
from core.types import Command, Observation, SceneState, Step, Twist, Vec3

if TYPE_CHECKING:
    from core.store import Store

log = logging.getLogger(__name__)

FrameFn = Callable[[Sequence[int]], dict[int, np.ndarray]]


@dataclass(frozen=True)
class EpisodeRecord:
    """One episode ready for sample building.

    `key` is a stable, unique name (it decides the train/val split); `frames(steps)` returns the
    HxWx3 uint8 frame of each requested step index (any resolution; the builder resizes); `states` is
    the robot's state per step (`robot_states`).
    """

    key: str
    instruction: str | None
    verbalization: Verbalization
    n_steps: int
    frames: FrameFn
    # (end-effector position, measured gripper opening) of every step, for adapters that read the state
    states: tuple[tuple[Vec3, float], ...] = ()

    def state_line(self, step: int) -> str:
        """The robot-state line of a step's questions (`core.language.prompts.state_text`), as training writes it."""
        from core.language.prompts import state_text

        if not self.states:
            raise DataError(f"episode {self.key} has no recorded robot state")
        return state_text(*self.states[min(max(step, 0), len(self.states) - 1)])


def resize(image: np.ndarray, size: int) -> np.ndarray:
    """Square `size` x `size` RGB uint8 (bilinear), unchanged if it already is (`DataError` for a frame that
    is not HxWx3)."""
    from core.model.images import resize_square

    try:
        return resize_square(image, size)
    except ValueError as exc:
        raise DataError(str(exc)) from exc


# ---- scripted expert in the simulator ---------------------------------------------------------------
class _FrameTap:
    """Wraps a robot and keeps the `camera` image of every observation (reset + one per tick)."""

    def __init__(self, robot: Any, camera: str) -> None:
        self._robot = robot
        self.camera = camera
        self.frames: list[np.ndarray] = []
        self.cameras = robot.cameras
        self.control_hz = robot.control_hz

    def _keep(self, obs: Observation) -> Observation:
        self.frames.append(np.array(obs.images[self.camera], dtype=np.uint8, copy=True))
        return obs

    def reset(self, seed: int | None = None) -> Observation:
        self.frames.clear()
        return self._keep(self._robot.reset(seed))

    def observe(self) -> Observation:
        return self._keep(self._robot.observe())

    def apply(self, cmd: Command) -> None:
        self._robot.apply(cmd)

    def stop(self) -> None:
        self._robot.stop()

    def close(self) -> None:
        self._robot.close()

    def __getattr__(self, name: str) -> Any:  # the robot's optional attributes (limits, expert_heights, spec)
        return getattr(self._robot, name)


def expert_episodes(
    seeds: Iterable[int],
    *,
    kind: str | Sequence[str] | None = None,
    camera: str = "front",
    image_size: int = 224,
    only_successful: bool = True,
    start_jitter: float = 0.0,
    start_near: float = 0.0,
    direct: bool = False,
    robot: str = "sim",
) -> Iterator[EpisodeRecord]:
    """Scripted-expert rollouts rendered on the fly, verbalized from the sim's scene state.

    One record per seed (a task drawn with `core.robot.episodes.draw_task`); `kind` None draws the
    task kind from the seed, a string fixes it, a sequence of kinds is cycled over the seeds (the i-th
    seed gets `kind[i % len(kind)]`, a mix in fixed proportions). Failed rollouts are skipped with a
    warning when `only_successful`. Runs the simulator in the calling thread.
    `start_jitter` (metres): every second demo starts from the home pose moved by up to this much
    forward/back and sideways, at a height between 8 and 18 cm (`start_pose`): demos of a closed loop's
    later cycles, which seldom start where the expert's path goes. `start_near` (metres): every second
    demo starts up to this far from the object the task moves first, at 5-15 cm height (`near_pose`):
    the corrections a loop needs after a chunk that stopped beside the block. With both, the demos that
    do not start at home take turns. `direct`: the expert's direct style (`core.control.expert.Expert`),
    verbalized in long entries (`core.language.spec.LONG_AXIS_CUT_CM`), for grounded adapters.
    `robot`: which simulated robot of the registry (`core.robot.registry.simulator`) runs the demos; its
    workspace, expert heights and scene sizes apply, and start poses scale with its scene.
    """
    from core.control.expert import rollout
    from core.robot.episodes import draw_task
    from core.robot.registry import simulator
    from core.robot.tabletop import SimConfig

    sim = simulator(robot, SimConfig(image_size=image_size, cameras=(camera,)))
    tap = _FrameTap(sim, camera)
    spec, limits = sim.spec, getattr(sim, "limits", None)
    try:
        kinds = [kind] if kind is None or isinstance(kind, str) else list(kind)
        if not kinds:
            raise DataError("expert demos: the list of task kinds is empty")
        for i, seed in enumerate(seeds):
            scene = sim.reset(seed).scene
            assert scene is not None
            task = draw_task(seed, scene, kinds[i % len(kinds)], limits=limits)
            start = None
            if i % 2 and (start_jitter > 0 or start_near > 0):
                near = start_near > 0 and (start_jitter <= 0 or (i // 2) % 2 == 0)
                scale = _scale(spec)
                start = (near_pose(seed, scene.get(task.obj).pos, start_near * scale, scale) if near
                         else start_pose(seed, start_jitter * scale, spec.home_ee, scale))
                if limits is not None:
                    start = limits.clamp_pos(start)
            result = rollout(tap, task, seed, start_pos=start, on_record=tap.frames.clear if start else None,
                             direct=direct)
            if only_successful and not result.success:
                log.warning("expert rollout for seed %d (%s) failed; skipped", seed, task.instruction)
                continue
            frames = list(tap.frames[: len(result.steps)])
            v = verbalize(result.steps, task.instruction, long_entries=direct)
            yield EpisodeRecord(
                key=f"expert-{seed}",
                instruction=task.instruction,
                verbalization=v,
                n_steps=len(result.steps),
                frames=_list_frames(frames),
                states=robot_states(result.steps),
            )
    finally:
        sim.close()


def _scale(spec: Any) -> float:
    """A robot's scene against the built-in one (the SO-101's 3 cm blocks: 0.6)."""
    from core.robot.tasks import BLOCK_HALF

    return float(spec.block_half) / BLOCK_HALF


def start_pose(seed: int, jitter: float, home: Vec3 | None = None, scale: float = 1.0) -> Vec3:
    """A seeded start pose near the home pose, 8-18 cm up (times `scale`) (see `expert_episodes`)."""
    from core.robot.sim import HOME_EE

    home = home or HOME_EE
    rng = np.random.default_rng(seed + 104_729)
    dx, dy = rng.uniform(-jitter, jitter, size=2)
    return (home[0] + float(dx), home[1] + float(dy), scale * float(rng.uniform(0.08, 0.18)))


def near_pose(seed: int, obj: Vec3, reach: float, scale: float = 1.0) -> Vec3:
    """A seeded start pose up to `reach` from `obj` along x and y, 5-15 cm above the table (times `scale`)
    (see `expert_episodes`)."""
    rng = np.random.default_rng(seed + 7_919)
    dx, dy = rng.uniform(-reach, reach, size=2)
    return (float(obj[0] + dx), float(obj[1] + dy), scale * float(rng.uniform(0.05, 0.15)))


def robot_states(steps: Sequence[Step]) -> tuple[tuple[Vec3, float], ...]:
    """(end-effector position, measured gripper opening) of every step."""
    return tuple((tuple(float(v) for v in st.ee_pos[:3]), float(st.gripper)) for st in steps)  # type: ignore[misc]


def _list_frames(frames: list[np.ndarray]) -> FrameFn:
    def get(steps: Sequence[int]) -> dict[int, np.ndarray]:
        last = len(frames) - 1
        return {s: frames[min(max(s, 0), last)] for s in steps}

    return get


# ---- recorded episodes in the store -----------------------------------------------------------------
def latest_verbalization(store: Store, episode_id: int) -> Verbalization | None:
    """The episode's current verbalization: the newest stored version that reads back cleanly (as the
    Episodes tab shows it), or None when there is none. All versions malformed -> `DataError`."""
    from sqlalchemy import select

    from core.store.models import Verbalization as VerbRow

    with store.session() as s:
        payloads = [(r.version, dict(r.payload)) for r in s.scalars(
            select(VerbRow).where(VerbRow.episode_id == episode_id).order_by(VerbRow.version.desc()))]
    problems = []
    for version, payload in payloads:
        try:
            return Verbalization.from_dict(payload)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            problems.append(f"v{version}: {exc}")
            log.warning("episode %s: verbalization v%s is malformed: %s", episode_id, version, exc)
    if problems:
        raise DataError(f"episode {episode_id}: every stored verbalization is malformed ({'; '.join(problems)})")
    return None


def _scene(data: dict[str, Any] | None) -> SceneState | None:
    from core.recording.step_writer import scene_from_json

    return scene_from_json(data)


def store_steps(store: Store, episode_id: int) -> tuple[list[Step], list[int | None]]:
    """Recorded steps as `core.types.Step` values, and each step's video frame index."""
    from sqlalchemy import select

    from core.store.models import Step as StepRow

    with store.session() as s:
        rows = list(s.scalars(select(StepRow).where(StepRow.episode_id == episode_id).order_by(StepRow.idx)))
        steps, frame_index = [], []
        for r in rows:
            if r.x is None or r.y is None or r.z is None:
                raise DataError(f"episode {episode_id} step {r.idx} has no end-effector pose")
            tw = list(r.twist or [0.0] * 6) + [0.0] * 6
            pos = (r.x, r.y, r.z)
            cmd = Command(
                (r.cmd_x if r.cmd_x is not None else r.x, r.cmd_y if r.cmd_y is not None else r.y,
                 r.cmd_z if r.cmd_z is not None else r.z),
                r.cmd_yaw or 0.0,
                r.cmd_gripper if r.cmd_gripper is not None else (r.gripper if r.gripper is not None else 1.0),
            )
            steps.append(
                Step(r.t, pos, r.yaw or 0.0, r.gripper if r.gripper is not None else 1.0,
                     Twist(*tw[:6], gripper=r.twist_gripper), cmd,
                     tuple(r.joints) if r.joints else None, _scene(r.scene))
            )
            frame_index.append(r.frame_index)
    return steps, frame_index


def _video_frames(path: Any, frame_index: list[int | None]) -> FrameFn:
    from core.recording.video import iter_frames

    def nearest_frame(step: int) -> int:
        step = min(max(step, 0), len(frame_index) - 1)
        for s in range(step, -1, -1):  # the last frame seen at or before this step
            if frame_index[s] is not None:
                return int(frame_index[s])  # type: ignore[arg-type]
        for s in range(step, len(frame_index)):
            if frame_index[s] is not None:
                return int(frame_index[s])  # type: ignore[arg-type]
        raise DataError(f"{path}: no step of this episode has a video frame")

    def get(steps: Sequence[int]) -> dict[int, np.ndarray]:
        want = {s: nearest_frame(s) for s in steps}
        needed = set(want.values())
        got: dict[int, np.ndarray] = {}
        for k, (_, frame) in enumerate(iter_frames(path)):  # one sequential decode
            if k in needed:
                got[k] = frame
                if len(got) == len(needed):
                    break
        missing = needed - got.keys()
        if missing:
            raise DataError(f"{path}: video ends before frame {min(missing)}")
        return {s: got[f] for s, f in want.items()}

    return get


def store_episodes(
    store: Store, episode_ids: Sequence[int], *, camera: str = "front", verbalize_missing: bool = False
) -> list[EpisodeRecord]:
    """Recorded episodes with their current verbalizations and frames from their `camera` video.

    Raises `NoEpisodesError` for an empty selection and `NoVerbalizationError` (listing them) for
    episodes without a stored verbalization, unless `verbalize_missing` verbalizes them from their steps.
    """
    from core.store.episodes import get_episode, video_paths

    if not episode_ids:
        raise NoEpisodesError("no episodes selected: pick at least one recorded episode to train on")
    records: list[EpisodeRecord] = []
    missing: list[str] = []
    for eid in episode_ids:
        summary = get_episode(store, eid)
        v = latest_verbalization(store, eid)
        steps, frame_index = store_steps(store, eid)
        if v is None:
            if not verbalize_missing:
                missing.append(f"{eid} ({summary.uid})")
                continue
            v = verbalize(steps, summary.instruction)
        if not v.subtasks:
            missing.append(f"{eid} ({summary.uid}, empty)")
            continue
        videos = video_paths(store, eid)
        if camera not in videos:
            have = ", ".join(sorted(videos)) or "none"
            raise DataError(f"episode {eid} ({summary.uid}) has no playable '{camera}' video (cameras: {have})")
        records.append(
            EpisodeRecord(
                key=f"episode-{summary.uid}",
                instruction=summary.instruction or v.instruction,
                verbalization=v,
                n_steps=len(steps),
                frames=_video_frames(videos[camera], frame_index),
                states=robot_states(steps),
            )
        )
    if missing:
        raise NoVerbalizationError(missing)
    return records
