"""LeRobot 0.6.1 against our LeRobot export and import, checked with LeRobot's own code.

Runs inside LeRobot's venv (Python 3.12, `lerobot[dataset]==0.6.1`; `scripts/lerobot_venv.sh` makes
it and runs this). The store side runs with the project's Python (`--project-python`) through
`bench/lerobot_store.py` and the CLI `python -m core.recording.lerobot`. Writes
bench/results/lerobot_compat.json (the six keys below, each true or false) and
bench/results/lerobot_compat_details.json (what each check saw), and prints one line.

- lerobot_reads_export: LeRobotDataset loads our exports (default files, and tiny size limits that
  roll over into several files and chunk folders): every frame's state/action equal to the store's
  within 1e-6, video frames equal to a direct decode of the store's videos, delta_timestamps and a
  DataLoader batch work;
- lerobot_appends_to_export: LeRobotDataset.resume + add_frame + save_episode + finalize on our
  export, then a fresh load sees old and new episodes intact;
- imports_lerobot_made: a dataset LeRobot writes itself (create/add_frame, so100 joint space, two
  AV1 cameras) imports: every episode and frame, actions kept within 1e-6, the right video frames;
- imports_joint_space: those so100 episodes get end-effector poses the training reader accepts; a
  joint-space dataset of a robot without kinematics is refused with what is missing (nothing
  written) and, asked for, imported as joint-space episodes keeping its actions;
- imports_image_key: datasets with an `observation.image` video key and with an image (PNG) feature
  import with the right frames;
- language_columns: LeRobot reads our language_persistent rows, its resolvers (`active_at`) give
  the verbalization's subtask, plan and motion (action entry) at every frame, a recipe renders them;
- so101_export: episodes of the simulated SO-101 recorded through the app's control loop export with
  robot_type so101_follower; LeRobot loads them; observation.state and action carry exactly the motor
  names LeRobot's own `SO101Follower` (use_degrees) reports, in its units (the store's joints and
  commanded joints converted), and observation.ee_pose / action.ee_pose the store's poses. Its value is
  also written to bench/results/so101.json as `lerobot_read`.

Datasets LeRobot makes with robot_type so101_follower import with their joints in the studio's radians.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
KEYS = ("lerobot_reads_export", "lerobot_appends_to_export", "imports_lerobot_made", "imports_joint_space",
        "imports_image_key", "language_columns", "so101_export")
SO_NAMES = ["shoulder_pan.pos", "shoulder_lift.pos", "elbow_flex.pos", "wrist_flex.pos", "wrist_roll.pos",
            "gripper.pos"]
TOL = 1e-6


class CheckFailed(AssertionError):
    pass


def need(cond: bool, what: str) -> None:
    if not cond:
        raise CheckFailed(what)


def bar_frame(k: int, size: int) -> np.ndarray:
    """The store's `synthetic_frame(k)`: a gradient with a bright 16-row bar whose row encodes k."""
    yy, xx = np.mgrid[0:size, 0:size]
    img = np.zeros((size, size, 3), np.uint8)
    img[..., 0] = (xx + 2 * k) % 256
    img[..., 1] = (yy + k) % 256
    img[..., 2] = 40
    bar = (k * 7) % (size - 16)
    img[bar:bar + 16] = 255
    return img


def bar_row(img: np.ndarray) -> int:
    rows = np.where(img.reshape(img.shape[0], -1).mean(axis=1) > 200)[0]
    return int(rows[0]) if rows.size else -1


def decode_all(path: str | Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]


class Project:
    """The store side: the project's Python, run from the repository root."""

    def __init__(self, python: str, work: Path) -> None:
        self.python = python
        self.work = work
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False",
                    "HF_HUB_OFFLINE": "1", "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}

    def run(self, *args: str, ok_codes: tuple[int, ...] = (0,)) -> tuple[int, dict[str, Any]]:
        p = subprocess.run([self.python, *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=1800)
        lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
        if p.returncode not in ok_codes or not lines:
            raise CheckFailed(f"{' '.join(args[:3])} exited {p.returncode}: {p.stdout[-800:]} {p.stderr[-1500:]}")
        return p.returncode, json.loads(lines[-1])

    def lerobot_cli(self, recordings: Path, *args: str, ok_codes: tuple[int, ...] = (0,)) -> tuple[int, dict]:
        return self.run("-m", "core.recording.lerobot", "--recordings", str(recordings), "--json", *args,
                        ok_codes=ok_codes)

    def dump(self, recordings: Path) -> list[dict[str, Any]]:
        return self.run("bench/lerobot_store.py", "dump", "--recordings", str(recordings))[1]["episodes"]


def video_backend() -> str:
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        try:
            from torchcodec.decoders import VideoDecoder  # noqa: F401

            return "torchcodec"
        except Exception:  # torchcodec needs FFmpeg shared libraries this machine may not have
            return "pyav"


def load(root: Path, **kw: Any):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    return LeRobotDataset(f"local/{root.name}", root=root, video_backend=BACKEND, **kw)


# ---- our export, read and appended to by LeRobot ---------------------------------------------------
def check_reads(export: Path, store_eps: list[dict], d: dict) -> None:
    import torch

    ds = load(export)
    need(ds.num_episodes == len(store_eps), f"{ds.num_episodes} episodes, store has {len(store_eps)}")
    need(len(ds) == sum(len(e["steps"]) for e in store_eps), f"{len(ds)} frames")
    hf = ds.hf_dataset.with_format(None)
    state, action, epi = np.asarray(hf["observation.state"]), np.asarray(hf["action"]), np.asarray(hf["episode_index"])
    worst = 0.0
    for ei, ep in enumerate(store_eps):
        want_s = np.asarray([s["state"] for s in ep["steps"]], dtype=np.float64)
        want_a = np.asarray([s["action"] for s in ep["steps"]], dtype=np.float64)
        worst = max(worst, np.abs(state[epi == ei] - want_s).max(), np.abs(action[epi == ei] - want_a).max())
    need(worst <= TOL, f"state/action differ from the store by {worst}")
    video_worst, checked, start = 0.0, 0, 0
    for ei, ep in enumerate(store_eps):
        direct = {cam: decode_all(v["path"]) for cam, v in ep["videos"].items()}
        n = len(ep["steps"])
        for f in sorted({0, n // 2, n - 1, *range(0, n, 7)}):
            item = ds[start + f]
            need(int(item["episode_index"]) == ei and int(item["frame_index"]) == f, f"item {start + f}")
            for cam, frames in direct.items():
                got = item[f"observation.images.{cam}"].numpy().transpose(1, 2, 0)
                video_worst = max(video_worst, float(np.abs(got - frames[f] / 255.0).max()))
                checked += 1
        start += n
    need(video_worst <= TOL, f"video frames differ from a direct decode by {video_worst}")
    fps = ds.meta.fps
    dt = load(export, delta_timestamps={"action": [0.0, 1 / fps, 2 / fps], "observation.images.front": [-1 / fps, 0.0]})
    item = dt[5]
    need(tuple(item["action"].shape) == (3, 5) and tuple(item["observation.images.front"].shape)[:2] == (2, 3),
         "delta_timestamps shapes")
    from lerobot.utils.collate import lerobot_collate_fn

    collate = lerobot_collate_fn if ds.meta.has_language_columns else None
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=16, shuffle=True, collate_fn=collate)))
    need(tuple(batch["action"].shape) == (16, 5), "DataLoader batch")
    d.update(frames=len(ds), episodes=ds.num_episodes, state_action_max_diff=worst, video_frames_compared=checked,
             video_max_diff=video_worst, data_files=len(list((export / "data").rglob("*.parquet"))),
             data_chunk_folders=len(list((export / "data").glob("chunk-*"))),
             video_files=len(list((export / "videos").rglob("*.mp4"))))


def check_append(export: Path, store_eps: list[dict], d: dict) -> None:
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    before = load(export)
    n0, f0 = before.num_episodes, len(before)
    old_action = np.asarray(before.hf_dataset.with_format(None)["action"])
    feats = before.meta.features
    cams = before.meta.video_keys
    rng = np.random.default_rng(0)
    ds = LeRobotDataset.resume(f"local/{export.name}", root=export, video_backend=BACKEND)
    added = []
    for e in range(2):
        acts = []
        for i in range(15):
            frame: dict[str, Any] = {"task": f"appended task {e}"}
            for key, ft in feats.items():
                if key in ("timestamp", "frame_index", "episode_index", "index", "task_index"):
                    continue
                if ft["dtype"] == "language":
                    frame[key] = None  # filled by annotation tools, not at record time
                elif ft["dtype"] == "video":
                    frame[key] = bar_frame(100 + i, ft["shape"][0])
                else:
                    frame[key] = rng.normal(size=tuple(ft["shape"])).astype(np.float32)
            acts.append(frame["action"])
            ds.add_frame(frame)
        ds.save_episode()
        added.append(np.stack(acts))
    ds.finalize()
    after = load(export)
    need(after.num_episodes == n0 + 2 and len(after) == f0 + 30, f"{after.num_episodes} episodes after append")
    hf = after.hf_dataset.with_format(None)
    act, epi = np.asarray(hf["action"]), np.asarray(hf["episode_index"])
    need(np.abs(act[:f0] - old_action).max() <= TOL, "old frames changed")
    for e in range(2):
        need(np.abs(act[epi == n0 + e] - added[e]).max() <= TOL, f"appended episode {e} actions")
    last = after[len(after) - 1]
    need(last["task"] == "appended task 1", "appended task")
    for cam in cams:
        got = (last[cam].numpy().transpose(1, 2, 0) * 255).round().astype(np.uint8)
        need(bar_row(got) == bar_row(bar_frame(114, got.shape[0])), f"appended frame of {cam}")
    first = after[0]
    need(int(first["episode_index"]) == 0, "first frame")
    d.update(episodes_after=after.num_episodes, frames_after=len(after),
             episode_files=len(list((export / "meta/episodes").rglob("*.parquet"))))


def check_language(export: Path, store_eps: list[dict], corrected: dict, d: dict) -> None:
    from lerobot.configs.recipe import MessageTurn, TrainingRecipe
    from lerobot.datasets.language import LANGUAGE_PERSISTENT, column_for_style
    from lerobot.datasets.language_render import active_at, render_sample

    ds = load(export)
    need(ds.meta.has_language_columns, "LeRobot does not see language columns")
    recipe = TrainingRecipe(
        messages=[MessageTurn(role="user", content="${task}", stream="high_level"),
                  MessageTurn(role="assistant", content="${subtask}", stream="high_level", target=True),
                  MessageTurn(role="assistant", content="${motion}", stream="low_level", target=True)],
        bindings={"motion": "active_at(t, style=motion)"},
    )
    start, frames, styles = 0, 0, set()
    for ei, ep in enumerate(store_eps):
        subs = ep["verbalization"]
        need(subs is not None, f"episode {ei} has no verbalization in the store")
        entry_starts = sorted({e["start"] for s in subs for e in s["entries"]})
        for f in range(len(ep["steps"])):
            item = ds[start + f]
            rows = item[LANGUAGE_PERSISTENT]
            t = float(item["timestamp"])
            styles |= {r["style"] for r in rows}
            need(all(column_for_style(r["style"]) == LANGUAGE_PERSISTENT for r in rows), "a row in the wrong column")
            sub = [s for s in subs if s["steps"][0] <= f][-1]
            got = active_at(t, persistent=rows, style="subtask")
            need(got is not None and got["content"] == sub["text"], f"episode {ei} frame {f}: subtask {got}")
            need(active_at(t, persistent=rows, style="plan")["content"] == sub["plan"], f"plan at {ei}/{f}")
            last = max(s for s in entry_starts if s <= f)
            want = [e["entry"] for s in subs for e in s["entries"] if e["start"] == last]
            got_m = json.loads(active_at(t, persistent=rows, style="motion")["content"])
            need(got_m == want, f"episode {ei} frame {f}: motion {got_m} != {want}")
            msgs = render_sample(recipe=recipe, persistent=rows, events=item["language_events"], t=t,
                                 sample_idx=start + f, task=item["task"])
            texts = [m["content"] for m in msgs["messages"]]
            need(texts[1] == sub["text"] and json.loads(texts[2]) == want, f"rendered messages {texts}")
            frames += 1
        start += len(ep["steps"])
    need(styles == {"subtask", "plan", "motion"}, f"styles {styles}")
    first = active_at(0.0, persistent=ds[0][LANGUAGE_PERSISTENT], style="subtask")["content"]
    need(first == corrected["subtask"], f"the stored correction is not what LeRobot sees: {first!r}")
    d.update(frames_checked=frames, styles=sorted(styles), corrected_subtask_seen=first)


# ---- datasets LeRobot makes, imported into our store ------------------------------------------------
def make_lerobot_dataset(root: Path, lengths: list[int], *, cameras: dict[str, str], names: list[str],
                         robot_type: str, size: int = 64) -> dict[str, Any]:
    """A dataset written by LeRobotDataset.create/add_frame/save_episode/finalize; camera frame k is
    `bar_frame(k)` (k counts across episodes)."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    feats: dict[str, Any] = {
        "observation.state": {"dtype": "float32", "shape": (len(names),), "names": names},
        "action": {"dtype": "float32", "shape": (len(names),), "names": names},
    }
    for key, kind in cameras.items():
        feats[key] = {"dtype": kind, "shape": (size, size, 3), "names": ["height", "width", "channels"]}
    use_videos = "video" in cameras.values()
    ds = LeRobotDataset.create(f"local/{root.name}", fps=30, features=feats, root=root, robot_type=robot_type,
                               use_videos=use_videos)
    k = 0
    for e, n in enumerate(lengths):
        for _ in range(n):
            q = np.array([20 * np.sin(k / 9), -30 + 10 * np.cos(k / 7), 40 + 5 * np.sin(k / 5), 30.0,
                          10 * np.sin(k / 11), 50 + 40 * np.sin(k / 13)], dtype=np.float32)[: len(names)]
            frame = {"observation.state": q, "action": q + np.float32(0.5), "task": f"lerobot task {e % 2}"}
            for key in cameras:
                frame[key] = bar_frame(k, size)
            ds.add_frame(frame)
            k += 1
        ds.save_episode()
    ds.finalize()
    back = load(root)
    hf = back.hf_dataset.with_format(None)
    return {"root": root, "lengths": lengths, "action": np.asarray(hf["action"]), "state": np.asarray(hf["observation.state"]),
            "robot_type": robot_type}


def so101_radians(values: np.ndarray) -> np.ndarray:
    """LeRobot's SO-101 units -> the studio's radians, as the importer stores so101_follower joints."""
    sys.path.insert(0, str(ROOT))
    from core.robot.so101.joints import from_lerobot

    return np.asarray([from_lerobot(list(map(float, v))) for v in values], dtype=np.float64)


def check_imported(made: dict[str, Any], eps: list[dict], cameras: list[str], d: dict, size: int = 64) -> None:
    lengths = made["lengths"]
    if made.get("robot_type") == "so101_follower":  # the studio's own SO-101: its joints in radians
        made = {**made, "action": so101_radians(made["action"]), "state": so101_radians(made["state"])}
    need(len(eps) == len(lengths), f"{len(eps)} episodes imported of {len(lengths)}")
    k0 = 0
    worst = 0.0
    for ep, n in zip(eps, lengths, strict=True):
        need(len(ep["steps"]) == n and ep["status"] == "imported", f"episode {ep['id']}: {len(ep['steps'])} steps, {ep['status']}")
        cj = np.asarray([s["cmd_joints"] for s in ep["steps"]], dtype=np.float64)
        jo = np.asarray([s["joints"] for s in ep["steps"]], dtype=np.float64)
        worst = max(worst, np.abs(cj - made["action"][k0:k0 + n]).max(), np.abs(jo - made["state"][k0:k0 + n]).max())
        need(sorted(ep["videos"]) == sorted(cameras), f"cameras {sorted(ep['videos'])}")
        for cam in cameras:
            frames = decode_all(ep["videos"][cam]["path"])
            need(len(frames) == n, f"episode {ep['id']} camera {cam}: {len(frames)} frames for {n}")
            # lossy (AV1 in, H.264 out): each frame must be nearer its source image than the images of
            # the frames before and after it, and its bar (7 rows from a neighbour's) off by a row at most
            for i, f in enumerate(frames):
                k = k0 + i
                near = [float(np.abs(f.astype(np.float64) - bar_frame(j, size)).mean()) for j in (k - 1, k, k + 1)]
                need(near[1] < min(near[0], near[2]) and abs(bar_row(f) - bar_row(bar_frame(k, size))) <= 1,
                     f"episode {ep['id']} camera {cam} frame {i}: not the source frame (errors {near})")
                d["worst_mean_pixel_error"] = max(d.get("worst_mean_pixel_error", 0.0), near[1])
        k0 += n
    need(worst <= TOL, f"actions/joints differ from LeRobot's by {worst}")
    d.update(episodes=len(eps), frames=k0, action_max_diff=worst, cameras=cameras)


def check_so101(export: Path, store_eps: list[dict], d: dict) -> None:
    """LeRobot loads an SO-101 export; its state and action are LeRobot's SO101Follower features."""
    from lerobot.robots.so_follower import SO101Follower, SO101FollowerConfig

    follower = SO101Follower(SO101FollowerConfig(port="/dev/null", id="check"))  # not connected: names only
    names = [k for k, v in follower.action_features.items() if v is float]
    need(follower.config.use_degrees, "LeRobot's SO101Follower default is not use_degrees: units would differ")
    ds = load(export)
    feats = ds.meta.features
    d.update(robot_type=ds.meta.robot_type, lerobot_names=names, state_names=feats["observation.state"]["names"],
             action_names=feats["action"]["names"], episodes=ds.meta.total_episodes, frames=ds.meta.total_frames)
    need(ds.meta.robot_type == "so101_follower", f"robot_type {ds.meta.robot_type}")
    need(feats["observation.state"]["names"] == names == list(follower.observation_features)[:len(names)],
         f"state names {feats['observation.state']['names']} vs LeRobot's {names}")
    need(feats["action"]["names"] == names, f"action names {feats['action']['names']} vs LeRobot's {names}")
    need(len(store_eps) == ds.meta.total_episodes >= 2, f"{ds.meta.total_episodes} episodes")
    hf = ds.hf_dataset.with_format(None)
    state, action = np.asarray(hf["observation.state"]), np.asarray(hf["action"])
    ee, ee_cmd = np.asarray(hf["observation.ee_pose"]), np.asarray(hf["action.ee_pose"])
    steps = [s for ep in store_eps for s in ep["steps"]]
    need(len(steps) == len(state), f"{len(state)} frames for {len(steps)} stored steps")
    want_s = np.asarray([s["joints_lerobot"] for s in steps], dtype=np.float64)
    want_a = np.asarray([s["cmd_joints_lerobot"] for s in steps], dtype=np.float64)
    worst = max(np.abs(state - want_s).max(), np.abs(action - want_a).max(),
                np.abs(ee - np.asarray([s["state"] for s in steps])).max(),
                np.abs(ee_cmd - np.asarray([s["action"] for s in steps])).max())
    d["max_diff"] = float(worst)
    need(worst <= 1e-4, f"values differ from the store by {worst}")  # float32 degrees
    need(0 <= state[:, 5].min() and state[:, 5].max() <= 100, "gripper.pos outside 0..100")
    item = ds[len(ds) // 2]
    need(tuple(item["observation.state"].shape) == (6,) and "observation.images.front" in item, "a frame's features")
    d["moved_degrees"] = float(np.abs(np.diff(state[:, :5], axis=0)).sum())
    need(d["moved_degrees"] > 1.0, "the recorded arm did not move")


def run_checks(project: Project, work: Path) -> tuple[dict[str, bool], dict[str, Any]]:
    results = dict.fromkeys(KEYS, False)
    details: dict[str, Any] = {k: {} for k in KEYS}

    def attempt(key: str, fn, *args) -> None:
        t0 = time.monotonic()
        try:
            fn(*args, details[key])
            results[key] = True
        except Exception as exc:
            details[key]["error"] = f"{type(exc).__name__}: {exc}"
            details[key]["traceback"] = traceback.format_exc()[-2000:]
        details[key]["seconds"] = round(time.monotonic() - t0, 1)

    rec = work / "store"
    recorded = project.run("bench/lerobot_store.py", "record", "--recordings", str(rec))[1]
    store_eps = project.dump(rec)
    exports = {"default": work / "export_default", "tiny": work / "export_tiny"}
    project.lerobot_cli(rec, "export", str(exports["default"]), "--all")
    project.lerobot_cli(rec, "export", str(exports["tiny"]), "--all", "--chunks-size", "2", "--data-mb", "0.001",
                        "--video-mb", "0.04")

    def reads(d: dict) -> None:
        for name, path in exports.items():
            d[name] = {}
            check_reads(path, store_eps, d[name])
        need(d["tiny"]["data_files"] > 2 and d["tiny"]["data_chunk_folders"] > 1, "the tiny export did not roll over")
        need(d["default"]["video_files"] < d["tiny"]["video_files"] < 2 * len(store_eps),
             "the tiny export's videos should be several files, some holding several episodes")

    def appends(d: dict) -> None:
        for name, path in exports.items():
            copy = work / f"append_{name}"
            shutil.copytree(path, copy)
            d[name] = {}
            check_append(copy, store_eps, d[name])
        # our importer reads what LeRobot appended (AV1 videos in new files) too
        code, out = project.lerobot_cli(work / "store_appended", "import", str(work / "append_default"))
        d["reimported_episodes"] = len(out["episode_ids"])

    attempt("lerobot_reads_export", reads)
    attempt("lerobot_appends_to_export", appends)
    attempt("language_columns", lambda d: check_language(exports["default"], store_eps, recorded["corrected"], d))

    so100: dict[str, Any] = {}

    def lerobot_made(d: dict) -> None:
        cams = {"observation.images.front": "video", "observation.images.wrist": "video"}
        so100.update(make_lerobot_dataset(work / "so100_made", [20, 35, 25], cameras=cams, names=SO_NAMES,
                                          robot_type="so100_follower"))
        code, out = project.lerobot_cli(work / "store_so100", "import", str(so100["root"]))
        need(not out["problems"], f"problems: {out['problems']}")
        so100["eps"] = project.dump(work / "store_so100")
        check_imported(so100, so100["eps"], ["front", "wrist"], d)

    def joint_space(d: dict) -> None:
        need("eps" in so100, "the LeRobot-made so100 dataset did not import")
        for ep in so100["eps"]:
            poses = np.asarray([s["state"][:3] + s["action"][:3] for s in ep["steps"]], dtype=np.float64)
            need(np.isfinite(poses).all(), f"episode {ep['id']} lacks poses")
            need(ep["trainable"], f"episode {ep['id']}: {ep['trainable_detail']}")
        d["so100_trainable"] = [ep["trainable_detail"] for ep in so100["eps"]]
        other = make_lerobot_dataset(work / "arm_made", [12, 9], cameras={"observation.images.top": "video"},
                                     names=[f"joint_{i}" for i in range(6)], robot_type="mystery_arm")
        store = work / "store_arm"
        code, out = project.lerobot_cli(store, "import", str(other["root"]), ok_codes=(2,))
        need(not out["ok"] and "action has no x, y, z" in out["error"] and "mystery_arm" in out["error"],
             f"refusal: {out}")
        need(project.dump(store) == [], "a refused import wrote episodes")
        d["refusal"] = out["error"]
        code, out = project.lerobot_cli(store, "import", str(other["root"]), "--joint-space")
        need(out["trainable"] is False, "joint-space import claims to be trainable")
        check_imported(other, project.dump(store), ["top"], d.setdefault("kept", {}))

    def image_key(d: dict) -> None:
        for name, cams, cam in (("observation_image", {"observation.image": "video"}, "image"),
                                ("image_feature", {"observation.images.top": "image"}, "top")):
            made = make_lerobot_dataset(work / f"{name}_made", [14, 10], cameras=cams, names=SO_NAMES,
                                        robot_type="so101_follower")
            store = work / f"store_{name}"
            code, out = project.lerobot_cli(store, "import", str(made["root"]))
            need(not out["problems"], f"{name}: {out['problems']}")
            check_imported(made, project.dump(store), [cam], d.setdefault(name, {}))

    def so101(d: dict) -> None:
        store = work / "store_so101"
        project.run("bench/lerobot_store.py", "record-so101", "--recordings", str(store))
        eps = project.dump(store)
        export = work / "export_so101"
        project.lerobot_cli(store, "export", str(export), "--all")
        check_so101(export, eps, d)

    attempt("so101_export", so101)
    attempt("imports_lerobot_made", lerobot_made)
    attempt("imports_joint_space", joint_space)
    attempt("imports_image_key", image_key)
    return results, details


BACKEND = "pyav"


def main(argv: list[str] | None = None) -> int:
    global BACKEND
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--project-python", required=True, help="the project's Python (3.11, its requirements)")
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: a new temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = ap.parse_args(argv)
    logging.disable(logging.WARNING)
    work = args.work or Path(tempfile.mkdtemp(prefix="lerobot-compat-"))
    os.environ["HF_DATASETS_CACHE"] = str(work / "hf-datasets-cache")  # datasets' arrow copies stay in `work`
    import lerobot

    BACKEND = video_backend()
    t0 = time.monotonic()
    try:
        results, details = run_checks(Project(args.project_python, work), work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    details["environment"] = {"lerobot": lerobot.__version__, "python": sys.version.split()[0],
                              "video_backend": BACKEND, "seconds": round(time.monotonic() - t0, 1)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "lerobot_compat.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "lerobot_compat_details.json").write_text(json.dumps(details, indent=2, default=str) + "\n")
    so101_json = RESULTS / "so101.json"  # the SO-101 benchmark's lerobot_read (issue 32's target)
    so101 = json.loads(so101_json.read_text()) if so101_json.is_file() else {}
    so101["lerobot_read"] = results["so101_export"]
    so101.pop("lerobot_read_reason", None)
    so101["lerobot_read_detail"] = {k: details["so101_export"].get(k) for k in
                                    ("robot_type", "lerobot_names", "episodes", "frames", "max_diff", "error")}
    so101_json.write_text(json.dumps(so101, indent=2) + "\n")
    ok = sum(results.values())
    print(f"lerobot_compat: {ok}/{len(KEYS)} true (LeRobot {lerobot.__version__}, {BACKEND}) "
          + " ".join(f"{k}={'true' if v else 'FALSE'}" for k, v in results.items()))
    return 0 if ok == len(KEYS) else 1


if __name__ == "__main__":
    sys.exit(main())
