"""Golden outputs of the shipped policy stack: proof that a refactor left the model's behaviour unchanged.

    python tests/golden/policy.py            # run, compare with tests/golden/policy.json, list differences
    python tests/golden/policy.py --write    # run and (re)write tests/golden/policy.json

Loads the stack the app loads (the embedded default model, the shipped action adapter, the restater, the
scene reader and the object locator, on the model thread, through the app's own start-up path) and asks it,
in a fixed order, on a few seeded sim scenes:
- each scene's layout line and the scene reader's answers to a few questions (with the route the app reports);
- the grounding line of every subtask of the scene's task, and the servo rule's entry for it;
- the task's command in six languages: the restatement (with its top-3 scores) and the subtask list the
  policy ranks first (top-3);
- for the task's first subtask: the plan, the action entries and the "done?" answer, each after the
  grounding line;
- one closed-loop rollout as evaluation runs it (every event the run wrote).
Same inputs, same order, one model thread with one CPU thread: the same code gives the same bytes. Any
difference is listed (key, then the old and the new value) and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MUJOCO_GL", "egl")

GOLDEN = Path(__file__).resolve().with_suffix(".json")
SCENES = ((1000, "pick"), (1001, "put_in"), (1002, "stack"))
LANGUAGES = ("en", "es", "fr", "de", "zh", "ja")
QUESTIONS = ("Which block is furthest to the left?", "What is in the bowl?",
             "Is the red block left or right of the bowl?", "How many blocks are there?")
ROLLOUT = (1000, "pick", "es")  # seed, task kind, language of the command


def _ranked(items: Any, n: int = 3) -> list[list[Any]]:
    return [[r.text, repr(r.logprob)] for r in list(items)[:n]]


def load_stack(folder: Path) -> tuple[Any, Any]:
    """The app's model service with the shipped stack installed, as `core.context.App.build` does; and the
    training service that registered the adapter (its store lives in `folder`)."""
    from core.policy.service import ModelService
    from core.policy.shipped import install_shipped
    from core.store import StoreConfig, open_store
    from core.training.service import TrainingService

    store = open_store(StoreConfig(db_url=f"sqlite:///{folder / 'golden.db'}", recordings_dir=folder / "recordings"))
    training = TrainingService(store, jobs_root=folder / "jobs", adapters_root=folder / "adapters", monitor=False)
    service = ModelService(None, precision="auto", threads=1)
    service.on_ready(lambda: install_shipped(service))
    service.on_ready(training.register_shipped)
    service.start()
    status = service.wait()
    if status.state != "ready":
        raise SystemExit(f"golden: the default model did not load: {status.message}")
    return service, training


def collect(service: Any) -> dict[str, Any]:
    from bench.phrases import command
    from core.language.grounding import is_placing
    from core.policy.rollout import run_sim_episodes
    from core.policy.servo import servo_entry
    from core.robot.episodes import draw_task
    from core.robot.sim import SimConfig, SimRobot

    policy = service.policy()
    out: dict[str, Any] = {
        "stack": {"adapter": service.status().adapter, "precision": service.status().precision,
                  "restater": policy.restater.name if policy.restater else None, "reader": service.reader, "camera": policy.camera,
                  "grounded": policy.grounded, "robot_state": policy.robot_state},
        "scenes": [],
    }
    robot = SimRobot(SimConfig(image_size=224))
    try:
        for seed, kind in SCENES:
            obs = robot.reset(seed)
            image = obs.images[policy.camera]
            task = draw_task(seed, obs.scene, kind)
            scene: dict[str, Any] = {"seed": seed, "task": task.instruction,
                                     "layout_line": service.layout.line(image) if service.layout else None,
                                     "answers": [], "grounding": [], "commands": []}
            for q in QUESTIONS:
                text = service.answer(image, q)
                scene["answers"].append({"question": q, "answer": text, "read": service.last_layout,
                                         "route": service.answer_route()[1]})
            seen: dict = {}
            for sub in task.subtasks:
                line = policy.context(image, sub, obs.ee_pos, obs.gripper, seen)
                scene["grounding"].append({"subtask": sub, "line": line,
                                           "servo_entry": list(servo_entry(line, is_placing(sub)))})
            for lang in LANGUAGES:
                words = command(task, lang)
                english = policy.restate(words)
                restated = _ranked(policy.last_restatement) if english is not None else None
                subtasks = policy.subtasks(image, english or words)
                scene["commands"].append({"lang": lang, "command": words, "restated": english,
                                          "restate_top3": restated, "subtasks": subtasks,
                                          "subtasks_top3": _ranked(policy.last_ranking)})
            first = task.subtasks[0]
            state = policy.context(image, first, obs.ee_pos, obs.gripper, {})
            plan = policy.plan(image, task.instruction, first, state=state)
            actions = policy.actions(image, task.instruction, first, plan, state=state)
            done = policy.is_done(image, first, state=state)
            scene["first_subtask"] = {"subtask": first, "state": state, "plan": plan, "actions": actions,
                                      "done": done}
            out["scenes"].append(scene)
    finally:
        robot.close()
    seed, kind, lang = ROLLOUT
    # a time limit far beyond the run (a loaded machine must not cut it short: the outputs are compared, not speed)
    r = run_sim_episodes(policy, seeds=[seed], kind=kind, time_limit_s=3600.0,
                         instruction_for=lambda t: command(t, lang))
    e = r.episodes[0]
    out["rollout"] = {"seed": seed, "kind": kind, "command": e.instruction, "success": e.success,
                      "result": e.loop_result, "restated": e.restated, "subtasks": e.subtasks,
                      "message": e.message, "cycles": len(e.cycles_s), "model_calls": e.model_calls,
                      "malformed": e.malformed}
    return out


def differences(old: Any, new: Any, key: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new)):
            out += differences(old.get(k, "<missing>"), new.get(k, "<missing>"), f"{key}.{k}" if key else k)
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [d for i, (a, b) in enumerate(zip(old, new)) for d in differences(a, b, f"{key}[{i}]")]
    return [] if old == new else [f"{key}: {old!r} -> {new!r}"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help=f"write the outputs to {GOLDEN.name} instead of comparing")
    ap.add_argument("--out", type=Path, default=None, help="also save this run's outputs here")
    args = ap.parse_args()
    from core.model.loader import assets_present

    if not assets_present():
        print("golden: the default model is not built; nothing compared")
        return 2
    with tempfile.TemporaryDirectory(prefix="vlm2vla-golden-") as tmp:
        service, training = load_stack(Path(tmp))
        try:
            result = collect(service)
        finally:
            training.close()
            training.store.close()
    text = json.dumps(result, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    if args.write:
        GOLDEN.write_text(text, encoding="utf-8")
        print(f"golden: wrote {GOLDEN.name}")
        return 0
    diffs = differences(json.loads(GOLDEN.read_text(encoding="utf-8")), json.loads(text))
    for d in diffs:
        print(d)
    print(f"golden: {len(diffs)} differences from {GOLDEN.name}" if diffs else f"golden: identical to {GOLDEN.name}")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
