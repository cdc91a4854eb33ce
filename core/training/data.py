"""Training samples in the paper's factorisation, built from verbalized episodes.

For each episode (its current verbalization, see `core.training.sources`):
- (frame, instruction)            -> numbered subtasks
- (frame, subtask)                -> motion plan
- (frame, subtask, plan)          -> action entries `[[dx, dy, dz, gripper], ...]`
- augmentations: (frame, subtask) -> "yes"/"no" (is the subtask complete?, from the frames at its start
  and its end) and (action entries) -> movement direction words.
Prompts and targets come from `core.language.prompts`, so training and the autonomous loop ask the
same questions. Each sample carries the frame of the step it is asked at, resized to the model's
resolution. The train/val split is by episode (the episodes with the smallest hash of their key).

Export: `export_jsonl(samples, folder)` writes `samples.jsonl` + PNG frames (chat `messages` per line,
usable by other trainers); `to_hf_dataset(samples)` when the `datasets` package is installed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.language import prompts
from core.language.paraphrase import paraphrases
from core.policy.config import PolicyInputs
from core.training.errors import DataError, NoEpisodesError
from core.training.sources import EpisodeRecord, resize
from core.types import Vec3

log = logging.getLogger(__name__)

JSONL_NAME = "samples.jsonl"
META_NAME = "dataset.json"
IMAGES_DIR = "images"
ACTION_FORMATS = ("language", "tokens")


@dataclass(frozen=True)
class DataConfig:
    """How episodes become samples.

    `kinds`: which questions to ask (see `core.language.prompts.KINDS`). `max_entries`: split a
    subtask's actions into cycles of at most this many entries (each with its own plan and frame), as
    the closed loop asks per cycle; None = one cycle per subtask. `val_fraction` of the episodes
    (at least one when there are two or more) is held out, chosen by a hash of the key and `seed`.
    `action_format` "tokens" trains the paper's actions-as-rare-tokens baseline (applied when the
    samples are tokenised, see `core.training.action_tokens`). `instruction_paraphrases`: this many
    extra subtask questions per episode, each with an English rewording of its (canonical) instruction
    (`core.language.paraphrase`), so the adapter maps a command's meaning rather than one string.
    `window_stride`: action windows start every this many entries (None: back to back; see
    `core.language.prompts.episode_samples`). `inputs` (`core.policy.config.PolicyInputs`): with
    `robot_state`, the plan, action and "done?" questions carry the robot's state at their frame
    (`core.language.prompts.state_text`); the adapter then needs it at run time too. With `grounded`,
    instead, they start with a grounding line (`core.language.grounding`: the gripper's height and where the
    subtask's object is relative to it, located in the question's own frame), which needs a `GroundFn`.
    `mid_entries` (one-entry windows): also ask from this many steps inside each motion entry, answered
    with the rest of it (`core.language.prompts.inner_windows`; needs the recorded robot state).
    """

    image_size: int = 224
    kinds: tuple[str, ...] = prompts.KINDS
    max_entries: int | None = None
    val_fraction: float = 0.1
    seed: int = 0
    action_format: str = "language"
    instruction_paraphrases: int = 0
    inputs: PolicyInputs = field(default_factory=PolicyInputs)
    window_stride: int | None = None
    mid_entries: int = 0

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(prompts.KINDS)
        if unknown:
            raise DataError(f"unknown sample kinds {sorted(unknown)}; expected some of {prompts.KINDS}")
        if not self.kinds:
            raise DataError("select at least one sample kind")
        if not 0.0 <= self.val_fraction < 1.0:
            raise DataError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.action_format not in ACTION_FORMATS:
            raise DataError(f"action_format must be one of {ACTION_FORMATS}, got {self.action_format!r}")
        if self.instruction_paraphrases < 0:
            raise DataError(f"instruction_paraphrases must be >= 0, got {self.instruction_paraphrases}")
        if self.window_stride is not None and self.window_stride < 1:
            raise DataError(f"window_stride must be >= 1 entry, got {self.window_stride}")
        if self.mid_entries < 0:
            raise DataError(f"mid_entries must be >= 0, got {self.mid_entries}")
        if self.mid_entries and self.max_entries != 1:
            raise DataError("mid_entries needs one-entry action answers (max_entries 1)")
        if self.image_size < 8:
            raise DataError(f"image_size {self.image_size} is too small")


@dataclass(frozen=True)
class TrainSample:
    """One question/answer turn about one frame."""

    episode: str
    kind: str
    prompt: str
    target: str
    step: int
    image: np.ndarray = field(repr=False, compare=False)

    def messages(self, with_answer: bool = True) -> list[dict]:
        """Chat messages in the Hugging Face multimodal format (the image placeholder first)."""
        msgs: list[dict] = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": self.prompt}]}]
        if with_answer:
            msgs.append({"role": "assistant", "content": [{"type": "text", "text": self.target}]})
        return msgs


@dataclass(frozen=True)
class DatasetSplit:
    train: list[TrainSample]
    val: list[TrainSample]
    train_episodes: list[str]
    val_episodes: list[str]

    def summary(self) -> dict:
        def count(samples: list[TrainSample]) -> dict[str, int]:
            out: dict[str, int] = {}
            for s in samples:
                out[s.kind] = out.get(s.kind, 0) + 1
            return dict(sorted(out.items()))

        return {
            "train_samples": len(self.train),
            "val_samples": len(self.val),
            "train_episodes": len(self.train_episodes),
            "val_episodes": len(self.val_episodes),
            "train_kinds": count(self.train),
            "val_kinds": count(self.val),
        }


# ---- building ---------------------------------------------------------------------------------------
# (frames, subtasks, (end-effector position, gripper opening) per frame) -> one grounding line each
GroundFn = Callable[[Sequence[np.ndarray], Sequence[str], Sequence[tuple[Vec3, float]]], list[str]]


def grounding_lines(record: EpisodeRecord, config: DataConfig, ground: GroundFn,
                     frames: dict[int, np.ndarray]) -> Callable[[int, str], str]:
    """Every (step, subtask) line the episode's questions need, located in one batch."""
    last = max(0, record.n_steps - 1)
    wanted: list[tuple[int, str]] = []

    def note(step: int, subtask: str) -> None:
        wanted.append((min(max(step, 0), last), subtask))

    prompts.episode_samples(record.verbalization, record.instruction, max_entries=config.max_entries,
                            stride=config.window_stride, lines=note, **_inner(record, config))
    keys = sorted(dict.fromkeys(wanted), key=lambda k: k[0])  # in time order: objects hidden later are remembered
    frames.update(record.frames(sorted({s for s, _ in keys} - set(frames))))
    states = [record.states[min(s, len(record.states) - 1)] for s, _ in keys]
    table = dict(zip(keys, ground([frames[s] for s, _ in keys], [sub for _, sub in keys], states), strict=True))
    return lambda step, subtask: table[(min(max(step, 0), last), subtask)]


def _inner(record: EpisodeRecord, config: DataConfig) -> dict[str, Any]:
    """`episode_samples`' arguments for questions from inside entries (`DataConfig.mid_entries`)."""
    if not config.mid_entries:
        return {}
    if not record.states:
        raise DataError(f"episode {record.key} has no recorded robot state; train without mid-entry questions")
    return {"mid_entries": config.mid_entries, "positions": [pos for pos, _ in record.states]}


def episode_samples(record: EpisodeRecord, config: DataConfig, ground: GroundFn | None = None) -> list[TrainSample]:
    """The samples of one episode (empty if it has no subtasks). `ground` is needed for grounded inputs."""
    v = record.verbalization
    if config.inputs.first_line and not record.states:
        raise DataError(f"episode {record.key} has no recorded robot state; train without the robot's state")
    frames: dict[int, np.ndarray] = {}
    lines = None
    if config.inputs.grounded:
        if ground is None:
            raise DataError("grounded samples need the object locator (a GroundFn)")
        lines = grounding_lines(record, config, ground, frames)
    turns = [t for t in prompts.episode_samples(v, record.instruction, max_entries=config.max_entries,
                                                states=record.states if config.inputs.robot_state else None,
                                                stride=config.window_stride, lines=lines, **_inner(record, config))
             if t.kind in config.kinds]
    if not turns:
        return []
    first = next((t for t in turns if t.kind == "subtasks"), None)
    if first is not None and record.instruction:
        subs = [s.text for s in v.subtasks]
        turns += [prompts.subtasks_sample(p, subs, first.step)
                  for p in paraphrases(record.instruction, config.instruction_paraphrases, record.key)]
    last = max(0, record.n_steps - 1)
    steps = sorted({min(max(t.step, 0), last) for t in turns})
    frames.update(record.frames([s for s in steps if s not in frames]))
    images = {s: resize(frames[s], config.image_size) for s in steps}
    return [
        TrainSample(record.key, t.kind, t.prompt, t.target, min(max(t.step, 0), last),
                    images[min(max(t.step, 0), last)])
        for t in turns
    ]


def build_samples(records: Iterable[EpisodeRecord], config: DataConfig | None = None,
                  ground: GroundFn | None = None) -> list[TrainSample]:
    """Samples of every episode, in episode order. Raises `NoEpisodesError` if there are none."""
    config = config or DataConfig()
    out: list[TrainSample] = []
    n_eps = 0
    keys: set[str] = set()
    for rec in records:
        if rec.key in keys:
            raise DataError(f"episode {rec.key} was selected twice")
        keys.add(rec.key)
        n_eps += 1
        got = episode_samples(rec, config, ground)
        if not got:
            log.warning("episode %s yields no samples (no subtasks with visible motion)", rec.key)
        out.extend(got)
    if n_eps == 0:
        raise NoEpisodesError("no episodes to build samples from: select at least one episode")
    if not out:
        raise NoEpisodesError(f"none of the {n_eps} episode(s) yields a training sample (no visible motion?)")
    log.info("built %d samples from %d episodes", len(out), n_eps)
    return out


def _bucket(key: str, seed: int) -> float:
    h = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


def split_episodes(keys: Sequence[str], val_fraction: float, seed: int = 0) -> tuple[list[str], list[str]]:
    """Deterministic episode-level split: (train keys, val keys).

    The `round(n * val_fraction)` episodes with the smallest hash of (`seed`, key) are held out (at
    least one when there are two or more, never all). The split depends only on the set of keys; adding
    episodes can move an episode to the other side only when a new key ranks before it.
    """
    uniq = sorted(set(keys))
    if val_fraction <= 0 or len(uniq) < 2:
        return uniq, []
    n_val = min(len(uniq) - 1, max(1, round(len(uniq) * val_fraction)))
    val = set(sorted(uniq, key=lambda k: (_bucket(k, seed), k))[:n_val])
    return [k for k in uniq if k not in val], [k for k in uniq if k in val]


def split_samples(samples: Sequence[TrainSample], config: DataConfig | None = None) -> DatasetSplit:
    config = config or DataConfig()
    keys = list(dict.fromkeys(s.episode for s in samples))
    train_keys, val_keys = split_episodes(keys, config.val_fraction, config.seed)
    val_set = set(val_keys)
    return DatasetSplit(
        train=[s for s in samples if s.episode not in val_set],
        val=[s for s in samples if s.episode in val_set],
        train_episodes=train_keys,
        val_episodes=val_keys,
    )


def build_dataset(records: Iterable[EpisodeRecord], config: DataConfig | None = None,
                  ground: GroundFn | None = None) -> DatasetSplit:
    """`build_samples` + `split_samples`."""
    config = config or DataConfig()
    return split_samples(build_samples(records, config, ground), config)


# ---- export / import --------------------------------------------------------------------------------
def _image_name(sample: TrainSample, digest: str) -> str:
    return f"{IMAGES_DIR}/{digest}.png"


def export_jsonl(split: DatasetSplit, folder: str | Path, config: DataConfig | None = None) -> Path:
    """Write `samples.jsonl` (one chat per line, `split` = train/val) and the frames as PNG files.

    Identical frames are written once (content hash names). The folder is written next to its final
    place and renamed at the end, so a failed export (disk full) leaves no half-written dataset.
    """
    from PIL import Image

    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / IMAGES_DIR).mkdir(parents=True)
    try:
        written: set[str] = set()
        with open(tmp / JSONL_NAME, "w", encoding="utf-8") as f:
            for part, samples in (("train", split.train), ("val", split.val)):
                for s in samples:
                    img = np.ascontiguousarray(s.image, dtype=np.uint8)
                    digest = hashlib.sha1(img.tobytes() + str(img.shape).encode()).hexdigest()[:20]
                    name = _image_name(s, digest)
                    if digest not in written:
                        Image.fromarray(img).save(tmp / name, format="PNG")
                        written.add(digest)
                    row = {
                        "split": part,
                        "episode": s.episode,
                        "kind": s.kind,
                        "step": s.step,
                        "images": [name],
                        "prompt": s.prompt,
                        "target": s.target,
                        "messages": [
                            {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": s.prompt}]},
                            {"role": "assistant", "content": [{"type": "text", "text": s.target}]},
                        ],
                    }
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
        meta = {"format": "vlm2vla-samples-v1", "summary": split.summary(),
                "train_episodes": split.train_episodes, "val_episodes": split.val_episodes,
                "config": asdict(config) if config else None}
        (tmp / META_NAME).write_text(json.dumps(meta, indent=2))
        if folder.exists():
                shutil.rmtree(folder)
        os.replace(tmp, folder)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise DataError(f"cannot write the dataset to {folder}: {exc}") from exc
    log.info("exported %d samples to %s", len(split.train) + len(split.val), folder)
    return folder


def load_jsonl(folder: str | Path) -> DatasetSplit:
    """Read a folder written by `export_jsonl` back (frames as uint8 arrays)."""
    from PIL import Image

    folder = Path(folder)
    path = folder / JSONL_NAME
    if not path.is_file():
        raise DataError(f"{folder} is not an exported dataset (no {JSONL_NAME})")
    root = folder.resolve()
    cache: dict[str, np.ndarray] = {}
    parts: dict[str, list[TrainSample]] = {"train": [], "val": []}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                name = row["images"][0]
                img_path = (root / name).resolve()
                if not img_path.is_relative_to(root):
                    raise DataError(f"{path}:{n}: image path {name!r} leaves the dataset folder")
                if name not in cache:
                    cache[name] = np.asarray(Image.open(img_path).convert("RGB"))
                sample = TrainSample(row["episode"], row["kind"], row["prompt"], row["target"], int(row["step"]),
                                     cache[name])
                parts[row.get("split", "train")].append(sample)
            except (KeyError, IndexError, TypeError, ValueError, OSError) as exc:
                raise DataError(f"{path}:{n}: malformed sample: {exc}") from exc
    train_eps = list(dict.fromkeys(s.episode for s in parts["train"]))
    val_eps = list(dict.fromkeys(s.episode for s in parts["val"]))
    return DatasetSplit(parts["train"], parts["val"], train_eps, val_eps)


def to_hf_dataset(split: DatasetSplit):  # noqa: ANN201 - datasets.DatasetDict
    """A `datasets.DatasetDict` with `train`/`validation` (columns: images, prompt, target, messages, ...).

    Needs the optional `datasets` package; raises `DataError` naming it when it is not installed.
    """
    try:
        import datasets
    except ImportError as exc:
        raise DataError("the `datasets` package is not installed; use export_jsonl instead, "
                        "or `pip install datasets`") from exc
    from PIL import Image

    def rows(samples: list[TrainSample]) -> dict[str, list]:
        return {
            "images": [[Image.fromarray(s.image)] for s in samples],
            "episode": [s.episode for s in samples],
            "kind": [s.kind for s in samples],
            "step": [s.step for s in samples],
            "prompt": [s.prompt for s in samples],
            "target": [s.target for s in samples],
        }

    features = datasets.Features({
        "images": datasets.Sequence(datasets.Image()),
        "episode": datasets.Value("string"),
        "kind": datasets.Value("string"),
        "step": datasets.Value("int64"),
        "prompt": datasets.Value("string"),
        "target": datasets.Value("string"),
    })
    return datasets.DatasetDict({
        "train": datasets.Dataset.from_dict(rows(split.train), features=features),
        "validation": datasets.Dataset.from_dict(rows(split.val), features=features),
    })
