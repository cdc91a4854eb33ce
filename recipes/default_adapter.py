"""The ready default adapter shipped in `assets/adapter/`: a LoRA trained on scripted-expert demos of the
sim tasks, so autonomous mode works on first start.

    python -m recipes.default_adapter                  # build (resumes), then copy to assets/adapter
    python -m recipes.default_adapter --demos 40 --max-steps 50 --out /tmp/try   # a quick look

Options: `DefaultAdapterConfig` (its fields are the command line, `recipes.cli`); what the adapter reads
(`--camera`, `--robot-state`, `--grounded`) is one `core.policy.config.PolicyInputs`, which goes unchanged
into the job config, the samples and the card, and from the card to the app's policy.

The build is an ordinary training job (`core.training.runner.run_job`: expert data -> LoRA -> evaluation)
in a work folder (default `~/.cache/vlm2vla/default-adapter/`), so a killed build resumes from its last
checkpoint. The result is copied to `--out` with its weights stored in fp16 (half the size; PEFT casts
them back when loading) and a card saying which data, steps and base model made it and what it
measured. The adapter belongs to the base model it was trained on: rebuilding the default model's vision
side means rebuilding this adapter (the card records the base model's fingerprint; the app refuses a
mismatch, see `matches_base`).

In the app the shipped adapter is activated once the default model has loaded
(`core.policy.shipped.install_shipped`) and registered as `default-sim`
(`core.training.service.TrainingService.register_shipped`), so the Train tab lists it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.control.starts import STARTS
from core.language.prompts import CHUNK_ENTRIES
from core.model.adapters import base_fingerprint
from core.policy.config import PolicyInputs
from core.policy.shipped import ADAPTER_DIR, ADAPTER_NAME, WEIGHTS
from core.robot.tasks import TASK_KINDS
from core.training.config import TrainConfig
from core.training.jobspec import DataSpec, EvalSpec, JobConfig, servo_seeds
from recipes.cli import command_line, option, parse

log = logging.getLogger(__name__)

ASSET_DIR, NAME = ADAPTER_DIR, ADAPTER_NAME
WORK_DIR = Path.home() / ".cache" / "vlm2vla" / "default-adapter"
# Pick-up and put-in are the tasks visitors ask for most: they get 3 of every 11 demos each.
KIND_MIX = ("pick", "put_in", "pick", "put_in", "put_on", "stack", "pick", "put_in",
            "push_left", "push_right", "push_forward")
# The loop's questions. The paper's movement-direction augmentation is left out of this CPU build: its
# prompts carry a whole action list (the longest samples) for a few answer tokens.
KINDS = ("subtasks", "plan", "actions", "done")


@dataclass(frozen=True)
class DefaultAdapterConfig:
    demos: int = option(120, "expert demos (seeds 0..N-1, task kinds mixed)")
    epochs: float = option(2.0, "passes over the samples")
    max_steps: int | None = option(None, "stop after this many optimizer steps (default: by epochs)")
    lr: float = option(4e-4, "higher than the paper's 5e-5: a few hundred CPU steps instead of its long GPU run")
    decision_weight: float = option(20.0, "loss weight of the action entries where the motion changes (1 = the "
                                    "paper's plain mean): at 1 the first entry stayed at the data's average whatever "
                                    "the plan said")
    max_entries: int = option(16, "entries per action answer (a subtask's actions split into cycles of this many, "
                              "each with its own plan and frame); the autonomous loop asks for "
                              f"{CHUNK_ENTRIES} per cycle")
    paraphrases: int = option(0, "extra subtask questions per demo with English rewordings of its instruction")
    inputs: PolicyInputs = field(default_factory=PolicyInputs)  # --camera, --robot-state, --grounded
    window_stride: int | None = option(None, "start an action window every N entries (overlapping windows: more "
                                       "cycles that start part-way through a subtask, as the loop's do); default "
                                       "back to back")
    start_jitter: float = option(0.0, "metres: every second demo starts this far (at most) from the home pose, at "
                                 "8-18 cm height, so the adapter also sees cycles that start off the expert's path")
    start_near: float = option(0.0, "metres: every second demo starts this far (at most) from the object the task "
                               "moves first, at 5-15 cm height, so the adapter sees corrections beside the block "
                               "(with --start-jitter, the two take turns)")
    direct: bool = option(False, "demos in the expert's direct style (travel at the starting height, every axis at "
                          "full speed) written in long entries (up to 9.5 cm per axis): with --grounded each entry is "
                          "the offset on the grounding line or that offset clamped (beyond the paper's 2.5 cm entries)")
    mid_entries: int = option(0, "with --max-entries 1: also ask from this many steps inside each entry, answered "
                              "with the rest of it (the states a loop meets after a chunk that fell short)")
    corrections: int = option(0, "with --grounded: this many noisy rollouts of the servo rule (pick-up and put-in in "
                              "turn), each cycle asked with the rule's entry as the answer, so the adapter sees the "
                              "way back from states off the expert's path (core.training.corrections)")
    correction_kinds: str = option("pick,put_in", "task kinds of the correction rollouts, taken in turn: a comma "
                                   "list, or 'all' for the seven")
    correction_starts: str = option("home", "start states of the correction rollouts, taken in turn per kind "
                                    "(core.control.starts): a comma list of home, after_teleop, after_command, or "
                                    "'all'")
    init_adapter: Path | None = option(None, "continue from this finished adapter folder's LoRA weights (same rank "
                                       "and modules; e.g. assets/adapter) instead of a fresh LoRA")
    threads: int | None = option(None, "CPU threads for training (default: the job runner's)")
    eval_samples: int = option(24, "held-out samples answered after training")
    vqa_scenes: int = option(10, "scenes of the scene-VQA retention check (0: skip)")
    sim_episodes: int = option(0, "closed-loop rollouts after training (minutes each on a CPU)")
    work_dir: Path = option(WORK_DIR, "the build's work folder (one job folder per setting and model build)")
    out: Path = option(ASSET_DIR, "where the finished adapter goes")
    fresh: bool = option(False, "discard the work folder and start over")
    kind_mix: str = option("", "task kinds cycled over the demos, comma-separated (default: the shipped mix)")
    export_only: bool = option(False, "do not train: export the finished job of these settings again (e.g. after "
                               "a card change)")

    def job_config(self) -> JobConfig:
        """The training job this build runs (`core.training.runner.run_job`)."""
        robot = self.inputs.robot
        return JobConfig(
            NAME if robot == "sim" else f"default-{robot}",
            train=TrainConfig(base_model="default", lr=self.lr, epochs=self.epochs, max_steps=self.max_steps,
                              batch_size=4, grad_accum=2, warmup_steps=10, threads=self.threads, checkpoint_every=10,
                              decision_weight=self.decision_weight,
                              init_adapter=str(self.init_adapter) if self.init_adapter else None),
            data=DataSpec(expert_seeds=tuple(range(self.demos)), expert_kind=tuple(self.kind_mix.split(",")) if self.kind_mix else KIND_MIX,
                          max_entries=self.max_entries,
                          kinds=KINDS, inputs=self.inputs, instruction_paraphrases=self.paraphrases,
                          window_stride=self.window_stride, expert_start_jitter=self.start_jitter,
                          expert_start_near=self.start_near, expert_direct=self.direct, mid_entries=self.mid_entries,
                          servo_seeds=servo_seeds(self.corrections), servo_kinds=_choice(self.correction_kinds, TASK_KINDS),
                          servo_starts=_choice(self.correction_starts, STARTS)),
            eval=EvalSpec(max_samples=self.eval_samples, vqa_scenes=self.vqa_scenes, sim_episodes=self.sim_episodes),
        )

    def command(self) -> str:
        """The command that builds this adapter, for its card (without the folders: machine paths)."""
        return " ".join(["python -m recipes.default_adapter",
                         *command_line(self, skip=("work_dir", "out", "fresh", "export_only"))])


def _choice(words: str, every: tuple[str, ...]) -> tuple[str, ...]:
    """A comma list of names, or 'all' for `every` (the job spec refuses unknown names)."""
    return tuple(every) if words.strip() == "all" else tuple(w.strip() for w in words.split(",") if w.strip())


def _flat(data: dict[str, Any]) -> dict[str, Any]:
    """A job's data section with its policy inputs beside the other fields, as configs were written before
    `DataSpec.inputs` (so a build's work folder keeps its name)."""
    return {**{k: v for k, v in data.items() if k != "inputs"}, **data.get("inputs", {})}


def job_name(config: dict[str, Any], base: str) -> str:
    """The work folder of a build: its settings and the vision build it trains on (a rebuilt default model
    must not resume, or re-export, an adapter trained on the previous one). Settings at their default value
    are left out, so an option added later does not rename (and restart) the builds that do not use it."""
    defaults = {"train": TrainConfig().to_dict(), "data": _flat(asdict(DataSpec())), "eval": asdict(EvalSpec())}
    config = {**config, "data": _flat(config.get("data", {}))}
    slim = {k: ({f: v for f, v in sec.items() if f not in defaults[k] or defaults[k][f] != v}
                if isinstance(sec, dict) and k in defaults else sec) for k, sec in config.items()}
    key = json.dumps({"config": slim, "base": base}, sort_keys=True, default=list)
    return f"job-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def export(adapter_dir: Path, out: Path, extra: dict[str, Any]) -> Path:
    """Copy a finished adapter to `out` (weights in fp16) and complete its card."""

    from core.model.adapter_files import read_card, validate_adapter_dir, write_card, write_fp16_adapter

    validate_adapter_dir(adapter_dir)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    write_fp16_adapter(adapter_dir, tmp)
    card = read_card(adapter_dir)
    data = {**card.get("data", {}), **extra.pop("data", {})}
    card.update(extra, data=data)
    card["name"] = extra.pop("name", None) or NAME  # default-<robot> for another robot's build
    card["base_model"] = f"default (embedded Gemma-3-270M VLM, vision build {extra['base_fingerprint']})"
    card.pop("training_job_id", None)
    write_card(tmp, card)
    validate_adapter_dir(tmp)
    if out.exists():
        shutil.rmtree(out)
    tmp.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse(DefaultAdapterConfig, argv, __doc__)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from core.model.loader import assets_present
    from core.training.runner import CONFIG_FILE, PROGRESS_FILE, run_job

    if not assets_present():
        print("default_adapter: the default model is not built (python -m recipes.default_model)")
        return 2
    from core.training.errors import JobError

    try:
        cfg = args.job_config()
    except JobError as exc:
        print(f"default_adapter: {exc}")
        return 2
    job_dir = args.work_dir / job_name(cfg.to_dict(), base_fingerprint())
    if args.fresh:
        shutil.rmtree(job_dir, ignore_errors=True)
    job_dir.mkdir(parents=True, exist_ok=True)
    if not (job_dir / CONFIG_FILE).exists():
        cfg.save(job_dir / CONFIG_FILE)
    log.info("building the default adapter in %s (resumes if it was interrupted)", job_dir)
    t0 = time.perf_counter()
    code = 0 if args.export_only else run_job(job_dir)
    if not (job_dir / PROGRESS_FILE).is_file():
        print("default_adapter: no job with these settings has run yet; nothing to export")
        return 1
    progress = json.loads((job_dir / PROGRESS_FILE).read_text())
    if code != 0 or progress.get("status") != "done":
        print(f"default_adapter: the job ended {progress.get('status')}: {progress.get('message')}")
        return 1
    build: dict[str, Any] = {"command": args.command(), "task_kind_mix": list(cfg.data.expert_kind or ())}
    if not args.export_only:
        build["wall_s_last_sitting"] = round(time.perf_counter() - t0, 1)
    out = export(Path(progress["adapter_dir"]), args.out, {
        "name": cfg.name, "base_fingerprint": base_fingerprint(),
        "data": {**cfg.data.inputs.card_data(), "max_entries": cfg.data.max_entries,
                 "expert_direct": cfg.data.expert_direct},
        "build": build})
    print(f"default_adapter: wrote {out.name}/ ({(out / WEIGHTS).stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
