"""The store side of the LeRobot compatibility check (run with the project's Python by
`bench/lerobot_compat.py`, which itself runs in LeRobot's venv).

    python bench/lerobot_store.py record --recordings DIR      # synthetic episodes, one corrected
    python bench/lerobot_store.py record-so101 --recordings DIR   # the simulated SO-101 through the app's loop
    python bench/lerobot_store.py dump --recordings DIR        # what the store holds, as JSON

`dump` prints, per episode: the steps (pose, command, joints, joint command), the video files, the
verbalization the exporter writes (subtask step ranges, entries) and whether training's step reader
and the verbalizer accept the episode.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sqlalchemy import select

from core.recording import Recorder, RecorderConfig
from core.recording.lerobot.episode_source import load_episodes
from core.recording.synthetic import synthetic_tick
from core.store import StoreConfig, open_store
from core.store import episodes as E
from core.store.models import Episode, Step
from core.store.verbalizations import add_verbalization

LENGTHS = (70, 120, 50, 95)
INSTRUCTIONS = ("pick up the red block", "put the green block in the bowl")
CORRECTED_SUBTASK = "grab the red cube firmly"


def record(recordings: Path, size: int) -> dict:
    store = open_store(StoreConfig(recordings_dir=recordings))
    ids = []
    for k, n in enumerate(LENGTHS):
        rec = Recorder(store, RecorderConfig(flush_interval_s=0.1, min_free_bytes=1))
        eid = rec.start(INSTRUCTIONS[k % 2], operator="ana", seed=k, task="pick")
        for i in range(n):
            rec.on_tick(*synthetic_tick(i, cameras=("front", "wrist"), size=size))
        if not rec.stop(success=k % 3 != 2).ok:
            raise SystemExit(f"episode {k} was not saved cleanly")
        ids.append(eid)
    # a correction: the exporter must write the newest stored version, not a recomputed one
    [ep], _ = load_episodes(store, [ids[0]])
    v = ep.verbalization.corrected(0, text=CORRECTED_SUBTASK)
    add_verbalization(store, ids[0], v.spec_version, v.to_dict())
    store.close()
    return {"ids": ids, "lengths": list(LENGTHS), "corrected": {"episode": ids[0], "subtask": CORRECTED_SUBTASK}}


def record_so101(recordings: Path, size: int, episodes: int = 2, seconds: float = 1.5) -> dict:
    """Episodes of the simulated SO-101 recorded as the app records them (control loop at 30 Hz, a synthetic
    teleop device sweeping the workspace, live recording of both cameras, steps and commanded joints)."""
    import os
    import time

    os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering of the two cameras
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.devices import SineInput
    from core.control.loop import ControlLoop, LoopConfig
    from core.recording.live import LiveRecording
    from core.robot.registry import get
    from core.robot.so101.sim import So101Sim
    from core.robot.tabletop import SimConfig

    store = open_store(StoreConfig(recordings_dir=recordings))
    loop = ControlLoop(lambda: So101Sim(SimConfig(image_size=size)), LoopConfig(hz=30.0, limits=get("so101-sim").limits))
    recording = LiveRecording(store, Recorder(store, RecorderConfig(fps=30.0)))
    loop.add_listener(recording.on_tick)
    loop.add_source(SineInput())
    loop.start(seed=3)
    ids = []
    try:
        for k in range(episodes):
            ids.append(recording.start(INSTRUCTIONS[k % 2], robot="so101-sim", seed=3, cameras=("front", "wrist")))
            time.sleep(seconds)
            saved = recording.stop(True)
            if saved.result.status != "saved":
                raise SystemExit(f"so101 episode {k} was not saved: {saved.result.problems}")
    finally:
        loop.close()
        store.close()
    return {"ids": ids}


def _lerobot_units(robot: str | None, joints: list | None) -> list | None:
    """An SO-101 step's joints in LeRobot's units (what the export writes), else None."""
    from core.robot.registry import ROBOTS

    spec = ROBOTS.get(robot or "")
    if joints is None or spec is None or spec.joints_out is None:
        return None
    return spec.joints_out(list(joints))


def _trainable(store, eid: int) -> tuple[bool, str]:
    try:
        from core.language.verbalize import verbalize
        from core.training.sources import store_steps

        steps, _ = store_steps(store, eid)
        v = verbalize(steps, None)
        return True, f"{len(steps)} steps, {len(v.subtasks)} subtasks"
    except Exception as exc:  # report any refusal as text: the caller decides what it means
        return False, f"{type(exc).__name__}: {exc}"


def dump(recordings: Path) -> dict:
    store = open_store(StoreConfig(recordings_dir=recordings))
    out = []
    with store.session() as s:
        ids = list(s.scalars(select(Episode.id).order_by(Episode.id)))
    for eid in ids:
        ep = E.get_episode(store, eid)
        with store.session() as s:
            steps = list(s.scalars(select(Step).where(Step.episode_id == eid).order_by(Step.idx)))
            rows = [{
                "state": [st.x, st.y, st.z, st.yaw, st.gripper],
                "action": [st.cmd_x, st.cmd_y, st.cmd_z, st.cmd_yaw, st.cmd_gripper],
                "joints": st.joints, "cmd_joints": st.cmd_joints, "frame_index": st.frame_index,
                "joints_lerobot": _lerobot_units(ep.robot, st.joints),
                "cmd_joints_lerobot": _lerobot_units(ep.robot, st.cmd_joints),
            } for st in steps]
        sources, _ = load_episodes(store, [eid])
        verbal = None
        if sources and sources[0].verbalization is not None:
            verbal = [{"text": sub.text, "plan": sub.plan, "steps": list(sub.steps),
                       "entries": [{"entry": c.as_list(), "start": c.steps[0] if c.steps else sub.steps[0]}
                                   for c in sub.chunks]}
                      for sub in sources[0].verbalization.subtasks]
        ok, why = _trainable(store, eid)
        out.append({
            "id": eid, "instruction": ep.instruction, "status": ep.status, "fps": ep.fps, "robot": ep.robot,
            "steps": rows, "videos": {v.camera: {"path": str(v.path), "frames": v.frame_count} for v in ep.videos},
            "verbalization": verbal, "trainable": ok, "trainable_detail": why,
        })
    store.close()
    return {"episodes": out}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cmd", choices=["record", "record-so101", "dump"])
    ap.add_argument("--recordings", type=Path, required=True)
    ap.add_argument("--size", type=int, default=64, help="camera frame size (record)")
    args = ap.parse_args(argv)
    if args.cmd == "record":
        result = record(args.recordings, args.size)
    elif args.cmd == "record-so101":
        result = record_so101(args.recordings, args.size)
    else:
        result = dump(args.recordings)
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
