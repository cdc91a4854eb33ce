"""The ready default adapter shipped in `assets/adapter/`: a LoRA trained on scripted-expert demos of the
sim tasks, so autonomous mode works on first start.

    python -m core.training.default_adapter                  # build (resumes), then copy to assets/adapter
    python -m core.training.default_adapter --demos 40 --max-steps 50 --out /tmp/try   # a quick look

The build is an ordinary training job (`core.training.runner.run_job`: expert data -> LoRA -> evaluation)
in a work folder (default `~/.cache/vlm2vla/default-adapter/`), so a killed build resumes from its last
checkpoint. The result is copied to `--out` with its weights stored in fp16 (half the size; PEFT casts
them back when loading) and a card saying which data, steps and base model made it and what it
measured. The adapter belongs to the base model it was trained on: rebuilding the default model's vision
side means rebuilding this adapter (the card records the base model's fingerprint; the app refuses a
mismatch, see `matches_base`).

In the app the shipped adapter is activated once the default model has loaded
(`core.policy.shipped.install_shipped`) and registered as `default-sim` (`register_shipped`), so the Train tab
lists it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from core.language.prompts import CHUNK_ENTRIES
from core.model.adapters import base_fingerprint
from core.policy.shipped import ADAPTER_DIR, ADAPTER_NAME, WEIGHTS, matches_base
from core.training.config import TrainConfig
from core.training.jobspec import DataSpec, EvalSpec, JobConfig, servo_seeds

log = logging.getLogger(__name__)

ASSET_DIR, NAME = ADAPTER_DIR, ADAPTER_NAME
WORK_DIR = Path.home() / ".cache" / "vlm2vla" / "default-adapter"
# Pick-up and put-in are the tasks visitors ask for most: they get 3 of every 11 demos each.
KIND_MIX = ("pick", "put_in", "pick", "put_in", "put_on", "stack", "pick", "put_in",
            "push_left", "push_right", "push_forward")
# The task kinds the servo corrections roll out by default (the first recipe's); `--correction-kinds all`
# takes all seven.
KINDS_CORRECTED = ("pick", "put_in")
# The loop's questions. The paper's movement-direction augmentation is left out of this CPU build: its
# prompts carry a whole action list (the longest samples) for a few answer tokens.
KINDS = ("subtasks", "plan", "actions", "done")


def job_config(demos: int, max_steps: int | None, epochs: float, lr: float, threads: int | None,
               eval_samples: int, vqa_scenes: int, sim_episodes: int, decision_weight: float = 1.0,
               max_entries: int = 16, paraphrases: int = 0, camera: str = "front",
               robot_state: bool = False, window_stride: int | None = None, start_jitter: float = 0.0,
               grounded: bool = False, start_near: float = 0.0, direct: bool = False, mid_entries: int = 0,
               corrections: int = 0, correction_kinds: tuple[str, ...] = KINDS_CORRECTED,
               correction_starts: tuple[str, ...] = ("home",)) -> JobConfig:
    return JobConfig(
        NAME,
        train=TrainConfig(base_model="default", lr=lr, epochs=epochs, max_steps=max_steps, batch_size=4,
                          grad_accum=2, warmup_steps=10, threads=threads, checkpoint_every=10,
                          decision_weight=decision_weight),
        data=DataSpec(expert_seeds=tuple(range(demos)), expert_kind=KIND_MIX, max_entries=max_entries, kinds=KINDS,
                      camera=camera, instruction_paraphrases=paraphrases, robot_state=robot_state,
                      window_stride=window_stride, expert_start_jitter=start_jitter, grounded=grounded,
                      expert_start_near=start_near, expert_direct=direct, mid_entries=mid_entries,
                      servo_seeds=servo_seeds(corrections), servo_kinds=correction_kinds,
                      servo_starts=correction_starts),
        eval=EvalSpec(max_samples=eval_samples, vqa_scenes=vqa_scenes, sim_episodes=sim_episodes),
    )


def command_words(argv: list[str]) -> list[str]:
    """The build's options for its card, without the folders it read or wrote (machine paths)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in ("--out", "--work-dir"):
            skip = True
        elif not a.startswith(("/", "~", "--out=", "--work-dir=")):
            out.append(a)
    return out


def job_name(config: dict[str, Any], base: str) -> str:
    """The work folder of a build: its settings and the vision build it trains on (a rebuilt default model
    must not resume, or re-export, an adapter trained on the previous one). Settings at their default value
    are left out, so an option added later does not rename (and restart) the builds that do not use it."""
    defaults = {"train": TrainConfig().to_dict(), "data": asdict(DataSpec()), "eval": asdict(EvalSpec())}
    slim = {k: ({f: v for f, v in sec.items() if f not in defaults[k] or defaults[k][f] != v}
                if isinstance(sec, dict) and k in defaults else sec) for k, sec in config.items()}
    key = json.dumps({"config": slim, "base": base}, sort_keys=True, default=list)
    return f"job-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def write_fp16_adapter(src: Path, dst: Path) -> None:
    """Write `src`'s PEFT weights to `dst` in fp16 (half the size; PEFT casts them back when loading) and
    its config with the base model named "default", not a path on the machine that built it. `src` and
    `dst` may be the same folder."""
    import torch
    from safetensors.torch import load_file, save_file

    tensors = {k: v.to(torch.float16).contiguous() for k, v in load_file(str(src / WEIGHTS)).items()}
    config = json.loads((src / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = "default"
    save_file(tensors, str(dst / WEIGHTS), metadata={"format": "pt"})
    (dst / "adapter_config.json").write_text(json.dumps(config, indent=2))


def export(adapter_dir: Path, out: Path, extra: dict[str, Any]) -> Path:
    """Copy a finished adapter to `out` (weights in fp16) and complete its card."""

    from core.training.adapters import read_card, validate_adapter_dir, write_card

    validate_adapter_dir(adapter_dir)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    write_fp16_adapter(adapter_dir, tmp)
    card = read_card(adapter_dir)
    data = {**card.get("data", {}), **extra.pop("data", {})}
    card.update(extra, data=data)
    card["name"] = NAME
    card["base_model"] = f"default (embedded Gemma-3-270M VLM, vision build {extra['base_fingerprint']})"
    card.pop("training_job_id", None)
    write_card(tmp, card)
    validate_adapter_dir(tmp)
    if out.exists():
        shutil.rmtree(out)
    tmp.replace(out)
    return out


def _same_file(a: Path, b: Path) -> bool:
    return a.is_file() and a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()


def register_shipped(training: Any, adapter_dir: Path = ASSET_DIR) -> bool:
    """Register the shipped adapter as `default-sim` in the app's adapter registry (so the Train tab lists it;
    activating it is `core.policy.shipped.install_shipped`'s work). A registered copy with other weights (the
    shipped adapter of an earlier version) is replaced. False (with a logged reason) when there is no shipped
    adapter, it was trained on another build of the default model, or the copy failed."""
    from core.training.adapters import AdapterError, read_card

    if not (adapter_dir / WEIGHTS).is_file() or not matches_base(adapter_dir):
        return False  # install_shipped says why
    registered = {a.name: a for a in training.list_adapters()}
    try:
        old = registered.get(NAME)
        if old is not None and not _same_file(Path(old.path) / WEIGHTS, adapter_dir / WEIGHTS):
            log.info("replacing the registered %s with the shipped one (new weights)", NAME)
            training.adapters.remove(NAME)
            old = None
        if old is None:
            training.adapters.add(adapter_dir, NAME, base_model="default",
                                  metrics=read_card(adapter_dir).get("metrics", {}))
        return True
    except (AdapterError, OSError, ValueError) as exc:
        log.warning("cannot register the shipped default adapter: %s", exc)
        return False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demos", type=int, default=120, help="expert demos (seeds 0..N-1, task kinds mixed)")
    ap.add_argument("--epochs", type=float, default=2.0)
    ap.add_argument("--max-steps", type=int, default=None)
    ap.add_argument("--lr", type=float, default=4e-4,
                    help="higher than the paper's 5e-5: a few hundred CPU steps instead of its long GPU run")
    ap.add_argument("--decision-weight", type=float, default=20.0,
                    help="loss weight of the action entries where the motion changes (1 = the paper's plain "
                         "mean): at 1 the first entry stayed at the data's average whatever the plan said")
    ap.add_argument("--max-entries", type=int, default=16,
                    help="entries per action answer (a subtask's actions split into cycles of this many, each with "
                         f"its own plan and frame); the autonomous loop asks for {CHUNK_ENTRIES} per cycle")
    ap.add_argument("--paraphrases", type=int, default=0,
                    help="extra subtask questions per demo with English rewordings of its instruction")
    ap.add_argument("--camera", default="front", choices=("front", "wrist"),
                    help="the camera the adapter looks at (the loop shows it the same one)")
    ap.add_argument("--robot-state", action="store_true",
                    help="put the gripper's place and opening into the plan, action and 'done?' questions (the loop "
                         "then gives the live state); without it the adapter sees only the camera frame")
    ap.add_argument("--window-stride", type=int, default=None,
                    help="start an action window every N entries (overlapping windows: more cycles that start "
                         "part-way through a subtask, as the loop's do); default back to back")
    ap.add_argument("--start-jitter", type=float, default=0.0,
                    help="metres: every second demo starts this far (at most) from the home pose, at 8-18 cm height, "
                         "so the adapter also sees cycles that start off the expert's path")
    ap.add_argument("--start-near", type=float, default=0.0,
                    help="metres: every second demo starts this far (at most) from the object the task moves first, "
                         "at 5-15 cm height, so the adapter sees corrections beside the block (with --start-jitter, "
                         "the two take turns)")
    ap.add_argument("--grounded", action="store_true",
                    help="start the plan, action and 'done?' questions with a grounding line: the gripper's height and "
                         "where the subtask's object is relative to it, from the default model's object locator "
                         "(python -m core.model.build_locator)")
    ap.add_argument("--direct", action="store_true",
                    help="demos in the expert's direct style (travel at the starting height, every axis at full speed) "
                         "written in long entries (up to 9.5 cm per axis): with --grounded each entry is the offset "
                         "on the grounding line or that offset clamped (beyond the paper's 2.5 cm entries)")
    ap.add_argument("--mid-entries", type=int, default=0,
                    help="with --max-entries 1: also ask from this many steps inside each entry, answered with the "
                         "rest of it (the states a loop meets after a chunk that fell short)")
    ap.add_argument("--corrections", type=int, default=0,
                    help="with --grounded: this many noisy rollouts of the servo rule (--correction-kinds in turn), each "
                         "cycle asked with the rule's entry as the answer, so the adapter sees the way back from states "
                         "off the expert's path (core.training.corrections)")
    ap.add_argument("--correction-kinds", default=",".join(KINDS_CORRECTED),
                    help="task kinds of the correction rollouts, taken in turn: a comma list, or 'all' for the seven")
    ap.add_argument("--correction-starts", default="home",
                    help="start states of the correction rollouts, taken in turn per kind (core.robot.starts): a comma "
                         "list of home, after_teleop, after_command, or 'all'")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--eval-samples", type=int, default=24)
    ap.add_argument("--vqa-scenes", type=int, default=10)
    ap.add_argument("--sim-episodes", type=int, default=0)
    ap.add_argument("--work-dir", type=Path, default=WORK_DIR)
    ap.add_argument("--out", type=Path, default=ASSET_DIR)
    ap.add_argument("--fresh", action="store_true", help="discard the work folder and start over")
    ap.add_argument("--export-only", action="store_true",
                    help="do not train: export the finished job of these settings again (e.g. after a card change)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from core.model.loader import assets_present
    from core.training.runner import CONFIG_FILE, PROGRESS_FILE, run_job

    if not assets_present():
        print("default_adapter: the default model is not built (python -m core.model.build_default)")
        return 2
    from core.robot.starts import STARTS
    from core.robot.tasks import TASK_KINDS
    from core.training.errors import JobError

    kinds = TASK_KINDS if args.correction_kinds == "all" else tuple(k.strip() for k in args.correction_kinds.split(",") if k.strip())
    starts = STARTS if args.correction_starts == "all" else tuple(k.strip() for k in args.correction_starts.split(",") if k.strip())
    try:
        cfg = job_config(args.demos, args.max_steps, args.epochs, args.lr, args.threads, args.eval_samples,
                         args.vqa_scenes, args.sim_episodes, args.decision_weight, args.max_entries,
                         args.paraphrases, args.camera, args.robot_state, args.window_stride,
                         args.start_jitter, args.grounded, args.start_near, args.direct, args.mid_entries,
                         args.corrections, kinds, starts)
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
    words = command_words(argv if argv is not None else sys.argv[1:])
    build: dict[str, Any] = {"command": " ".join(["python -m core.training.default_adapter"]
                                                 + [a for a in words if a != "--export-only"]),
                             "task_kind_mix": list(KIND_MIX)}
    if not args.export_only:
        build["wall_s_last_sitting"] = round(time.perf_counter() - t0, 1)
    out = export(Path(progress["adapter_dir"]), args.out, {
        "base_fingerprint": base_fingerprint(), "data": {"camera": cfg.data.camera, "robot_state": cfg.data.robot_state, "grounded": cfg.data.grounded,
                                                  "max_entries": cfg.data.max_entries, "expert_direct": cfg.data.expert_direct},
        "build": build})
    print(f"default_adapter: wrote {out.name}/ ({(out / WEIGHTS).stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
