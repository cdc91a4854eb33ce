"""Small LeRobot v3 datasets written straight with pyarrow and PyAV, as other tools lay them out.

Independent of the exporter under test: several episodes share one data file and one video file per
camera (frame i of episode e at `from_timestamp + i / fps`), so importers meet the layout LeRobot's own
writer produces. Frame k of a camera is `synthetic_frame(k)` (k counts across episodes), so a decoded
frame can be matched back to the episode and step it belongs to.
"""

from __future__ import annotations

import io
import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from core.recording.synthetic import synthetic_frame

SO_NAMES = ["shoulder_pan.pos", "shoulder_lift.pos", "elbow_flex.pos", "wrist_flex.pos", "wrist_roll.pos",
            "gripper.pos"]
DEFAULTS = {
    "timestamp": {"dtype": "float32", "shape": [1], "names": None},
    "frame_index": {"dtype": "int64", "shape": [1], "names": None},
    "episode_index": {"dtype": "int64", "shape": [1], "names": None},
    "index": {"dtype": "int64", "shape": [1], "names": None},
    "task_index": {"dtype": "int64", "shape": [1], "names": None},
}


def joint_values(k: int) -> np.ndarray:
    """Six SO joint readings (degrees, gripper 0..100) for global frame k."""
    return np.array([20 * np.sin(k / 9), -30 + 10 * np.cos(k / 7), 40 + 5 * np.sin(k / 5), 30.0,
                     10 * np.sin(k / 11), 50 + 40 * np.sin(k / 13)], dtype=np.float32)


def _encode(path: Path, frames: list[np.ndarray], fps: int, gop: int) -> None:
    with av.open(str(path), mode="w") as c:
        s = c.add_stream("libx264", rate=Fraction(fps))
        s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        s.codec_context.gop_size = gop
        s.options = {"x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0", "bframes": "0"}
        for i, rgb in enumerate(frames):
            f = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            f.pts = i
            f.time_base = Fraction(1, fps)
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def _png(rgb: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


def make_dataset(
    root: Path,
    lengths: list[int],
    *,
    cameras: dict[str, str] | None = None,  # feature key -> "video" | "image"
    state_names: list[str] | None = None,
    action_names: list[str] | None = None,
    robot_type: str | None = "so100_follower",
    fps: int = 30,
    size: int = 32,
    gop: int = 10,
) -> Path:
    """A dataset with episodes of `lengths` frames; joint-space so100 state/action unless names say otherwise."""
    cameras = {"observation.images.front": "video", "observation.images.wrist": "video"} if cameras is None else cameras
    state_names = state_names or SO_NAMES
    action_names = action_names or SO_NAMES
    total = sum(lengths)
    features: dict = {
        "observation.state": {"dtype": "float32", "shape": [len(state_names)], "names": state_names},
        "action": {"dtype": "float32", "shape": [len(action_names)], "names": action_names},
    }
    for key, kind in cameras.items():
        features[key] = {"dtype": kind, "shape": [size, size, 3], "names": ["height", "width", "channels"]}
    features.update(DEFAULTS)
    states = [joint_values(k)[: len(state_names)] for k in range(total)]
    actions = [joint_values(k + 1)[: len(action_names)] for k in range(total)]
    ep_index = np.repeat(np.arange(len(lengths)), lengths)
    frame_index = np.concatenate([np.arange(n) for n in lengths])
    cols: dict[str, pa.Array] = {
        "observation.state": pa.FixedSizeListArray.from_arrays(pa.array(np.concatenate(states)), len(state_names)),
        "action": pa.FixedSizeListArray.from_arrays(pa.array(np.concatenate(actions)), len(action_names)),
    }
    for k, (key, kind) in enumerate(cameras.items()):
        if kind == "image":
            img_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
            cells = [{"bytes": _png(synthetic_frame(g, size, 37 * k)), "path": None} for g in range(total)]
            cols[key] = pa.array(cells, type=img_type)
    cols["timestamp"] = pa.array((frame_index / fps).astype(np.float32))
    cols["frame_index"] = pa.array(frame_index.astype(np.int64))
    cols["episode_index"] = pa.array(ep_index.astype(np.int64))
    cols["index"] = pa.array(np.arange(total, dtype=np.int64))
    cols["task_index"] = pa.array((ep_index % 2).astype(np.int64))
    (root / "data/chunk-000").mkdir(parents=True)
    pq.write_table(pa.table(cols), root / "data/chunk-000/file-000.parquet")
    starts = np.concatenate([[0], np.cumsum(lengths)])
    rows = []
    for e, n in enumerate(lengths):
        row = {"episode_index": e, "tasks": [f"task {e % 2}"], "length": n, "data/chunk_index": 0,
               "data/file_index": 0, "dataset_from_index": int(starts[e]), "dataset_to_index": int(starts[e + 1])}
        for key, kind in cameras.items():
            if kind == "video":
                row.update({f"videos/{key}/chunk_index": 0, f"videos/{key}/file_index": 0,
                            f"videos/{key}/from_timestamp": starts[e] / fps,
                            f"videos/{key}/to_timestamp": starts[e + 1] / fps})
        row["meta/episodes/chunk_index"] = row["meta/episodes/file_index"] = 0
        rows.append(row)
    (root / "meta/episodes/chunk-000").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), root / "meta/episodes/chunk-000/file-000.parquet")
    pd.DataFrame({"task_index": [0, 1]}, index=pd.Index(["task 0", "task 1"], name="task")).to_parquet(
        root / "meta/tasks.parquet")
    for k, (key, kind) in enumerate(cameras.items()):
        if kind == "video":
            out = root / f"videos/{key}/chunk-000/file-000.mp4"
            out.parent.mkdir(parents=True)
            _encode(out, [synthetic_frame(g, size, 37 * k) for g in range(total)], fps, gop)
    info = {"codebase_version": "v3.0", "robot_type": robot_type, "total_episodes": len(lengths),
            "total_frames": total, "total_tasks": 2, "chunks_size": 1000, "data_files_size_in_mb": 100,
            "video_files_size_in_mb": 200, "fps": fps, "splits": {"train": f"0:{len(lengths)}"},
            "data_path": "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet",
            "video_path": "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4",
            "features": features}
    (root / "meta/info.json").write_text(json.dumps(info))
    return root


def global_frames(lengths: list[int], episode: int) -> range:
    start = sum(lengths[:episode])
    return range(start, start + lengths[episode])
