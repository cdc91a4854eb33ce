"""MJCF of the SO-101 tabletop: the arm (real geometry, `core.robot.so101.arm`) and the built-in scene's
objects scaled by 0.6 to the arm's reach.

Frame: arm base at the origin, +x forward, +y left, +z up, table top at z = 0. The built-in arm works on
objects 0.38-0.64 m in front of it; the SO-101's tool reaches ~0.33 m with the jaws pointing down, so the
blocks are 3 cm cubes (5 cm built in), the bowl 4.5 cm in radius (7.5), the plate 4.2 (7), and objects
lie 0.15-0.28 m forward, +-0.14 m sideways. The front camera sits over the base looking forward and
down, like the built-in one (image-left is the robot's left); the wrist camera rides on the gripper.
"""

from __future__ import annotations

from core.robot.scene import blocks_xml, containers_xml, physics_and_light_xml
from core.robot.so101.arm import arm_parts

SCALE = 0.6
BLOCK_HALF = 0.015
BLOCK_MASS = 0.02
BOWL_RADIUS = 0.045
BOWL_WALL_H = 0.021
PLATE_RADIUS = 0.042


def so101_scene_xml(image_size: int = 224) -> tuple[str, dict[str, bytes]]:
    """(MJCF text, mesh assets) for `mujoco.MjModel.from_xml_string`."""
    arm = arm_parts("scene")
    xml = f"""
<mujoco model="so101-tabletop">
  <compiler angle="radian" autolimits="true"/>
  {physics_and_light_xml(image_size)}
  {arm.default}
  <asset>
    <texture name="wood" type="2d" builtin="checker" rgb1="0.62 0.50 0.38" rgb2="0.60 0.48 0.36" width="64" height="64"/>
    <material name="table" texture="wood" texrepeat="3 3" reflectance="0"/>
    {arm.asset}
  </asset>
  <worldbody>
    <light name="top" pos="0.2 0 1.0" dir="0 0 -1" castshadow="false" diffuse="0.5 0.5 0.5"/>
    <geom name="floor" type="plane" size="3 3 0.1" pos="0 0 -0.75" rgba="0.35 0.36 0.40 1"/>
    <geom name="table" type="box" size="0.30 0.36 0.02" pos="0.16 0 -0.02" material="table" friction="0.8 0.01 0.001"/>
    <camera name="front" pos="-0.25 0 0.85" xyaxes="0 -1 0 0.894 0 0.448" fovy="27"/>
    {arm.body}
    {containers_xml(BOWL_RADIUS, BOWL_WALL_H, PLATE_RADIUS, bowl_at="0.2 0.09 0", plate_at="0.2 -0.09 0")}
    {blocks_xml(BLOCK_HALF, BLOCK_MASS)}
  </worldbody>
  <actuator>{arm.actuator}</actuator>
</mujoco>
"""
    return xml, dict(arm.meshes)


__all__ = ["BLOCK_HALF", "BOWL_RADIUS", "BOWL_WALL_H", "PLATE_RADIUS", "SCALE", "so101_scene_xml"]
