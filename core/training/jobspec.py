"""What a training job is asked to do: data selection, hyper-parameters, evaluation (JSON round-trip)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.language.prompts import CHUNK_ENTRIES
from core.policy.config import PolicyInputs
from core.training.config import TrainConfig
from core.training.errors import JobError, NoEpisodesError

if TYPE_CHECKING:
    from core.training.data import DataConfig

# The data side of grounded servoing (with `inputs.grounded`): direct-style expert demos in long entries, one
# entry per action question, every second demo starting up to 10 cm off the home pose.
SERVO_DATA = {"expert_direct": True, "max_entries": 1, "window_stride": 1, "expert_start_jitter": 0.1}
SERVO_SEED0 = 500  # the scenes of servo-correction rollouts (`DataSpec.servo_seeds`; demos use 0.., benchmarks 1000..)


def servo_seeds(n: int) -> tuple[int, ...]:
    """The seeds of `n` servo-correction rollouts."""
    return tuple(range(SERVO_SEED0, SERVO_SEED0 + max(0, int(n))))


@dataclass(frozen=True)
class DataSpec:
    """Episodes to train on: recorded `episode_ids` from the store and/or scripted-expert demos
    (`expert_seeds`, generated inside the job; `expert_kind` None = a task kind drawn per seed, a kind,
    or a tuple of kinds cycled over the seeds), and how they become samples. `inputs`: what the adapter
    will read besides the frame (the camera, a first line); the samples are written for it and its card
    keeps it, so the app's policy asks the same questions (`core.policy.config`)."""

    episode_ids: tuple[int, ...] = ()
    expert_seeds: tuple[int, ...] = ()
    expert_kind: str | tuple[str, ...] | None = None
    inputs: PolicyInputs = field(default_factory=PolicyInputs)
    verbalize_missing: bool = False
    kinds: tuple[str, ...] | None = None  # None = every kind in core.language.prompts.KINDS
    max_entries: int | None = CHUNK_ENTRIES  # entries per action answer, as the autonomous loop asks per cycle
    val_fraction: float = 0.1
    seed: int = 0
    instruction_paraphrases: int = 0  # extra subtask questions per episode with English rewordings
    expert_start_jitter: float = 0.0  # metres; every second demo starts that far from home (sources.expert_episodes)
    expert_start_near: float = 0.0  # metres; every second demo starts that far from the task's object (ditto)
    expert_direct: bool = False  # demos in the expert's direct style, in long entries (sources.expert_episodes)
    window_stride: int | None = None  # action windows start every this many entries (None: back to back)
    mid_entries: int = 0  # also ask from this many steps inside each entry (one-entry windows; data.DataConfig)
    servo_seeds: tuple[int, ...] = ()  # noisy rollouts of the servo rule, one per seed (training.corrections; grounded)
    servo_noise: float = 0.3  # the share of those rollouts' cycles that execute a perturbed entry
    servo_noise_cm: float = 3.0  # how far (per axis, at most) a perturbed entry is pushed off
    servo_kinds: tuple[str, ...] = ("pick", "put_in")  # the task kinds of those rollouts, in turn
    servo_starts: tuple[str, ...] = ("home",)  # their start states, in turn (core.control.starts)

    def __post_init__(self) -> None:
        object.__setattr__(self, "episode_ids", tuple(int(i) for i in self.episode_ids))
        object.__setattr__(self, "expert_seeds", tuple(int(i) for i in self.expert_seeds))
        object.__setattr__(self, "servo_seeds", tuple(int(i) for i in self.servo_seeds))
        if self.expert_kind is not None and not isinstance(self.expert_kind, str):
            object.__setattr__(self, "expert_kind", tuple(self.expert_kind))
        if self.expert_kind is not None:
            from core.robot.tasks import TASK_KINDS

            asked = [self.expert_kind] if isinstance(self.expert_kind, str) else list(self.expert_kind)
            bad = [k for k in asked if k not in TASK_KINDS]
            if bad or not asked:
                raise JobError(f"unknown expert task kind(s) {bad}; choose from {list(TASK_KINDS)}")
        if self.kinds is not None:
            object.__setattr__(self, "kinds", tuple(self.kinds))
        if not isinstance(self.inputs, PolicyInputs):
            object.__setattr__(self, "inputs", PolicyInputs(**self.inputs))
        if self.servo_seeds and not self.inputs.grounded:
            raise JobError("servo corrections answer grounding lines; they need grounded training")
        object.__setattr__(self, "servo_kinds", tuple(self.servo_kinds))
        object.__setattr__(self, "servo_starts", tuple(self.servo_starts))
        from core.control.starts import STARTS
        from core.robot.tasks import TASK_KINDS

        bad = [k for k in self.servo_kinds if k not in TASK_KINDS] + [s for s in self.servo_starts if s not in STARTS]
        if bad or not self.servo_kinds or not self.servo_starts:
            raise JobError(f"servo corrections: unknown task kinds or start states {bad or '(none given)'}; choose "
                           f"from {list(TASK_KINDS)} and {list(STARTS)}")
        if not 0.0 <= self.servo_noise <= 1.0 or self.servo_noise_cm < 0:
            raise JobError(f"servo_noise must be in [0, 1] and servo_noise_cm >= 0, got {self.servo_noise}, "
                           f"{self.servo_noise_cm}")
        from core.robot.registry import ROBOTS

        spec = ROBOTS.get(self.inputs.robot)
        if spec is None:
            raise JobError(f"unknown robot {self.inputs.robot!r}; choose from {list(ROBOTS)}")
        if spec.simulator is None and (self.expert_seeds or self.servo_seeds or self.inputs.grounded):
            raise JobError(f"{self.inputs.robot} is not a simulator: expert demos, servo corrections and grounding lines "
                           "need a simulated robot (train on its recorded episodes without them)")

    @property
    def n_episodes(self) -> int:
        return len(self.episode_ids) + len(self.expert_seeds) + len(self.servo_seeds)

    def sample_config(self, image_size: int, action_format: str) -> DataConfig:
        """How these episodes become samples (`core.training.data.DataConfig`): every field the two share,
        copied by name."""
        from core.training.data import DataConfig

        shared = {f.name for f in fields(DataConfig)} & {f.name for f in fields(self)}
        values = {n: getattr(self, n) for n in shared if not (n == "kinds" and self.kinds is None)}
        return DataConfig(image_size=image_size, action_format=action_format, **values)


def _nest_inputs(data: dict[str, Any]) -> dict[str, Any]:
    """A job's data section with its policy inputs as one object (configs written before `inputs` had
    `camera`, `robot_state` and `grounded` beside the other fields)."""
    flat = {k: data[k] for k in ("camera", "robot_state", "grounded") if k in data}
    if not flat:
        return data
    rest = {k: v for k, v in data.items() if k not in flat}
    return {**rest, "inputs": {**flat, **rest.get("inputs", {})}}


@dataclass(frozen=True)
class EvalSpec:
    """Evaluation after training. 0 disables a part. `max_samples` held-out samples are answered
    greedily (actions first); `vqa_scenes` scenes of the held-out scene-VQA set are asked before and
    after; `sim_episodes` closed-loop rollouts through the autonomous loop on seeded sim tasks (slow on a
    CPU: minutes per episode with a real model)."""

    max_samples: int = 24
    max_new_tokens: int = 400  # a 16-entry action list is ~290 tokens
    vqa_scenes: int = 10
    vqa_seed: int = 0
    sim_episodes: int = 0
    sim_seed: int = 1000
    sim_time_limit_s: float = 240.0


@dataclass(frozen=True)
class JobConfig:
    name: str
    train: TrainConfig = field(default_factory=TrainConfig)
    data: DataSpec = field(default_factory=DataSpec)
    eval: EvalSpec = field(default_factory=EvalSpec)

    def __post_init__(self) -> None:
        if not self.name or not self.name.strip():
            raise JobError("a training job needs a name")
        if self.data.n_episodes == 0:
            raise NoEpisodesError("no episodes selected: pick recorded episodes (or expert demos) to train on")

    @property
    def kind(self) -> str:
        return "lora-at" if self.train.action_format == "tokens" else "lora"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "train": self.train.to_dict(), "data": asdict(self.data), "eval": asdict(self.eval)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> JobConfig:
        def build(kind: type, values: dict[str, Any]) -> Any:
            names = {f.name for f in fields(kind)}
            unknown = set(values) - names
            if unknown:
                raise JobError(f"unknown {kind.__name__} options: {sorted(unknown)}")
            return kind(**values)

        try:
            return cls(
                name=d["name"],
                train=TrainConfig.from_dict(d.get("train", {})),
                data=build(DataSpec, _nest_inputs(d.get("data", {}))),
                eval=build(EvalSpec, d.get("eval", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise JobError(f"malformed job config: {exc}") from exc

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> JobConfig:
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except (OSError, ValueError) as exc:
            raise JobError(f"cannot read job config {path}: {exc}") from exc
