"""How a LeRobot dataset's features map onto the store, decided before anything is written.

- Cameras: every `video` or `image` feature. `observation.images.<cam>` -> camera `<cam>`,
  `observation.image` -> `image`, `observation.<cam>` -> `<cam>`. Depth maps are not imported (listed).
- `observation.state` / `action` in end-effector terms (names include x, y, z; `ee.` prefixes allowed)
  fill the pose / command columns. In joint space, the values are always kept (`joints` /
  `cmd_joints`), and when the robot's kinematics are known (`kinematics.py`: SO-100/101) the pose and
  command are computed from them, so training can use the episodes.
- A robot of the registry with LeRobot joint names (the SO-101's `shoulder_pan.pos` ...): the joints are
  kept in the studio's radians; our own exports carry the pose in `observation.ee_pose` / `action.ee_pose`.
- Joint space of an unknown robot: refused with the list of what is missing, unless the caller asks
  for joint-space episodes (`joint_space=True`), which keep every value but have no pose to train on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.recording.errors import DatasetError, UnsafePath
from core.recording.lerobot import arm as A
from core.recording.lerobot import kinematics as K
from core.recording.lerobot import layout as L
from core.recording.lerobot.language import LANGUAGE_EVENTS, LANGUAGE_PERSISTENT
from core.recording.paths import check_name
from core.robot.registry import joints_reader

POSE_KEYS = ("x", "y", "z", "yaw", "gripper")
OUR_VECTORS = ("observation.state", "action", "action.twist", "observation.joints", "action.joints", A.EE_STATE,
               A.EE_ACTION)
EE_OF = {"observation.state": A.EE_STATE, "action": A.EE_ACTION}
_ALIASES = {"gripper_pos": "gripper", "gripper.pos": "gripper", "theta": "yaw", "rz": "yaw"}


@dataclass(frozen=True)
class Camera:
    key: str  # the dataset feature
    name: str  # the store's camera name
    kind: str  # "video" | "image"
    width: int
    height: int


@dataclass(frozen=True)
class VectorMap:
    """How one vector feature (state or action) becomes store columns."""

    pose: dict[str, int] | None = None  # pose key -> index, for end-effector vectors
    fk: Callable[[Sequence[float]], K.Pose] | None = None  # joint vector -> pose
    keep_joints: bool = False  # keep the raw vector (joints / cmd_joints)
    pose_key: str | None = None  # the pose comes from this feature (observation.ee_pose beside joints)
    to_joints: Callable[[list[float]], list[float]] | None = None  # LeRobot's units -> a known robot's radians

    def joints_of(self, vec: Sequence[float]) -> list[float]:
        return self.to_joints(list(vec)) if self.to_joints is not None else [float(v) for v in vec]

    def pose_of(self, vec: Sequence[float]) -> dict[str, float | None] | None:
        if self.pose is not None:
            idx = self.pose
            return {k: (float(vec[idx[k]]) if k in idx and idx[k] < len(vec) else None) for k in POSE_KEYS}
        if self.fk is not None:
            return dict(self.fk(vec).as_dict())
        return None


@dataclass(frozen=True)
class ImportPlan:
    fps: float
    robot_type: str | None
    cameras: tuple[Camera, ...]
    state: VectorMap
    action: VectorMap | None
    trainable: bool  # every step will have an end-effector pose
    unmapped: tuple[str, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)


def _names(ft: dict[str, Any] | None) -> list[str] | None:
    names = (ft or {}).get("names")
    if isinstance(names, dict):  # older datasets nest names: {"motors": [...]}
        names = next(iter(names.values()), None)
    return [str(n) for n in names] if isinstance(names, list) else None


def _pose_index(names: list[str] | None) -> dict[str, int] | None:
    if not names:
        return None
    idx: dict[str, int] = {}
    for i, n in enumerate(names):
        k = n.lower().removeprefix("ee.").removeprefix("ee_")
        k = _ALIASES.get(k, k)
        if k in POSE_KEYS and k not in idx:
            idx[k] = i
    return idx if {"x", "y", "z"} <= set(idx) else None


def camera_name(key: str) -> str:
    if key.startswith(L.IMAGE_PREFIX):
        name = key.removeprefix(L.IMAGE_PREFIX)
    elif key == "observation.image":
        name = "image"
    elif key.startswith("observation.") and key.count(".") == 1:
        name = key.removeprefix("observation.")
    else:
        raise DatasetError(f"camera feature {key!r} is not named observation.images.<camera> or observation.<camera>")
    try:
        return check_name(name, "camera name")
    except UnsafePath as exc:
        raise DatasetError(f"camera feature {key!r}: {exc}") from exc


def _cameras(features: dict[str, Any], refusals: list[str], skipped: list[str]) -> list[Camera]:
    cams: list[Camera] = []
    for key, ft in features.items():
        if ft.get("dtype") not in ("video", "image"):
            continue
        info = ft.get("info") or {}
        if info.get("is_depth_map") or info.get("video.is_depth_map"):
            skipped.append(f"{key} (depth map: the store keeps RGB cameras only)")
            continue
        shape = list(ft.get("shape") or [])
        names = [str(n) for n in ft.get("names") or []]
        if len(shape) != 3:
            refusals.append(f"camera {key!r} has shape {shape}, not height x width x channels")
            continue
        h, w = (shape[1], shape[2]) if names[:1] == ["channels"] else (shape[0], shape[1])
        try:
            name = camera_name(key)
        except DatasetError as exc:
            refusals.append(str(exc))
            continue
        if int(w) % 2 or int(h) % 2:
            refusals.append(f"camera {key!r} is {w}x{h}: the store's H.264 videos need an even width and height")
            continue
        if name in {c.name for c in cams}:
            refusals.append(f"two camera features map to the camera name {name!r}")
            continue
        cams.append(Camera(key, name, str(ft["dtype"]), int(w), int(h)))
    return cams


def plan_import(info: dict[str, Any], *, joint_space: bool = False) -> ImportPlan:
    """Decide how the dataset maps onto the store; raises DatasetError listing every problem."""
    features: dict[str, Any] = info["features"]
    robot = info.get("robot_type")
    refusals: list[str] = []
    notes: list[str] = []
    skipped: list[str] = []
    cams = _cameras(features, refusals, skipped)
    if not cams:
        notes.append("the dataset has no camera: episodes are imported without video")

    def vector(key: str) -> VectorMap | None:
        ft = features.get(key)
        if ft is None:
            return None
        names = _names(ft)
        width = int((ft.get("shape") or [0])[0])
        if names is not None and len(names) != width:
            refusals.append(f"{key!r} has {width} values but {len(names)} names")
            return None
        pose = _pose_index(names)
        if pose is not None:
            return VectorMap(pose=pose)
        # an SO-101 of ours (or LeRobot's so101_follower): its joints in the studio's radians; other types keep theirs
        to_joints = joints_reader(names) if A.spec_for(robot) is not None else None
        ee = _pose_index(_names(features.get(EE_OF[key])))
        if ee is not None:  # a joint-named export of ours: the pose is its ee feature
            return VectorMap(pose=ee, keep_joints=True, pose_key=EE_OF[key], to_joints=to_joints)
        fk = K.kinematics_for(robot, names)
        if fk is not None:
            return VectorMap(fk=fk, keep_joints=True, to_joints=to_joints)
        return VectorMap(keep_joints=True)

    state = vector("observation.state") or VectorMap()
    action = vector("action")
    if "observation.state" not in features:
        notes.append("the dataset has no observation.state")
    if action is None and "action" not in features:
        notes.append("the dataset has no action feature: the episodes have no commands")
    missing: list[str] = []
    if state.pose is None and state.fk is None and "observation.state" in features:
        missing.append(f"observation.state has no x, y, z end-effector values (names: {_names(features['observation.state'])})")
    if action is not None and action.pose is None and action.fk is None:
        missing.append(f"action has no x, y, z end-effector values (names: {_names(features['action'])})")
    if missing:
        known = ", ".join(sorted(K.KNOWN_ROBOTS))
        missing.append(
            f"robot_type {robot!r} with these joint names has no built-in forward kinematics (known: {known}, "
            f"with joints {', '.join(K.SO_JOINTS)})"
        )
        if joint_space:
            notes.append("joint-space episodes: joint values and joint commands are kept, but without an "
                         "end-effector pose they cannot be verbalized or trained on here (" + "; ".join(missing) + ")")
        else:
            refusals.append("the episodes would have no end-effector pose or command to train on: " + "; ".join(missing)
                            + ". Import them as joint-space episodes (joint_space=True, CLI --joint-space) to keep "
                            "them anyway")
    if refusals:
        raise DatasetError("cannot import this dataset: " + "; ".join(refusals))
    known_keys = {*OUR_VECTORS, *L.DEFAULT_FEATURES, LANGUAGE_PERSISTENT, LANGUAGE_EVENTS, *(c.key for c in cams)}
    unmapped = sorted(k for k in features if k not in known_keys) + skipped
    if any(k in features for k in (LANGUAGE_PERSISTENT, LANGUAGE_EVENTS)):
        notes.append("language columns are not imported: the verbalization is computed again from the poses")
    trainable = (state.pose is not None or state.fk is not None) and "observation.state" in features
    return ImportPlan(float(info["fps"]), robot, tuple(cams), state, action, trainable, tuple(unmapped), tuple(notes))
