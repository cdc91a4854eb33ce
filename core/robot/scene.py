"""MJCF for the tabletop scene: a mocap parallel gripper, four 5 cm blocks, a bowl and a plate.

Frame: robot base at the origin, +x forward, +y left, +z up; the table top is z = 0.
The gripper body's origin is the tool centre point (between the fingertips).
"""

from __future__ import annotations

import math

BLOCK_RGBA = {
    "red": "0.85 0.12 0.10 1",
    "green": "0.10 0.65 0.20 1",
    "blue": "0.12 0.25 0.85 1",
    "yellow": "0.95 0.82 0.10 1",
}
FINGER_OPEN = 0.045  # each finger's distance from the centre when open (gap 9 cm > 5 cm block)
BOWL_RADIUS = 0.075
BOWL_WALL_H = 0.035
PLATE_RADIUS = 0.07
PARK_Z = -0.72  # blocks not in a layout rest on the floor (z = -0.75) beside the table, out of view


def _bowl_walls(n: int = 12, radius: float = BOWL_RADIUS, height: float = BOWL_WALL_H, thick: float = 0.004) -> str:
    seg = 2 * radius * math.tan(math.pi / n) + thick
    parts = []
    for i in range(n):
        a = 2 * math.pi * i / n
        x, y = radius * math.cos(a), radius * math.sin(a)
        parts.append(
            f'<geom type="box" size="{thick:g} {seg / 2:.4f} {height / 2}" pos="{x:.4f} {y:.4f} {height / 2}" '
            f'euler="0 0 {a:.4f}" rgba="0.93 0.93 0.90 1" />'
        )
    return "\n        ".join(parts)


def blocks_xml(half: float = 0.025, mass: float = 0.05) -> str:
    """The four coloured blocks (cubes of half-side `half`), parked until a layout places them."""
    return "\n    ".join(
        f'<body name="{c} block" pos="0.5 0 {PARK_Z}"><freejoint name="{c} block"/>'
        f'<geom type="box" size="{half:g} {half:g} {half:g}" rgba="{rgba}" mass="{mass:g}" friction="1.2 0.01 0.001" '
        f'condim="4" solref="0.01 1"/></body>'
        for c, rgba in BLOCK_RGBA.items()
    )


def containers_xml(bowl_radius: float = BOWL_RADIUS, wall_h: float = BOWL_WALL_H,
                   plate_radius: float = PLATE_RADIUS, bowl_at: str = "0.5 0.15 0", plate_at: str = "0.5 -0.15 0") -> str:
    return f"""<body name="bowl" pos="{bowl_at}">
      <geom type="cylinder" size="{bowl_radius:g} 0.003" pos="0 0 0.003" rgba="0.93 0.93 0.90 1"/>
        {_bowl_walls(radius=bowl_radius, height=wall_h)}
    </body>
    <body name="plate" pos="{plate_at}">
      <geom type="cylinder" size="{plate_radius:g} 0.004" pos="0 0 0.004" rgba="0.45 0.70 0.90 1"/>
    </body>"""


def physics_and_light_xml(image_size: int) -> str:
    """The `<option>` and `<visual>` every tabletop scene shares. The offscreen buffer is exactly the frame
    (`image_size` square): the renderer draws nothing larger, and clearing and resolving the multisampled
    640 x 640 buffer MuJoCo allots by default cost ~0.5 ms of each 224 px frame's ~6 ms (same pixels)."""
    off = image_size
    return f"""<option timestep="0.002" integrator="implicitfast" cone="elliptic" impratio="5"/>
  <visual>
    <global offwidth="{off}" offheight="{off}"/>
    <quality shadowsize="0"/>
    <headlight ambient="0.45 0.45 0.45" diffuse="0.55 0.55 0.55" specular="0 0 0"/>
  </visual>"""


def scene_xml(image_size: int = 224) -> str:
    blocks = blocks_xml()
    return f"""
<mujoco model="tabletop">
  <compiler angle="radian"/>
  {physics_and_light_xml(image_size)}
  <asset>
    <texture name="wood" type="2d" builtin="checker" rgb1="0.62 0.50 0.38" rgb2="0.60 0.48 0.36" width="64" height="64"/>
    <material name="table" texture="wood" texrepeat="4 4" reflectance="0"/>
  </asset>
  <worldbody>
    <light name="top" pos="0.4 0 1.5" dir="0 0 -1" castshadow="false" diffuse="0.5 0.5 0.5"/>
    <geom name="floor" type="plane" size="3 3 0.1" pos="0 0 -0.75" rgba="0.35 0.36 0.40 1"/>
    <geom name="table" type="box" size="0.40 0.50 0.02" pos="0.45 0 -0.02" material="table" friction="0.8 0.01 0.001"/>
    <geom name="base" type="cylinder" size="0.06 0.02" pos="0 0 0.02" rgba="0.2 0.2 0.22 1" contype="0" conaffinity="0"/>
    <camera name="front" pos="0.0 0 0.80" xyaxes="0 -1 0 0.838 0 0.545" fovy="37"/>
    <body name="ee_target" mocap="true" pos="0.34 0 0.18"/>
    <body name="gripper" pos="0.34 0 0.18" gravcomp="1">
      <freejoint name="gripper"/>
      <inertial pos="0 0 0.08" mass="0.5" diaginertia="0.002 0.002 0.002"/>
      <geom name="palm" type="box" size="0.02 0.06 0.012" pos="0 0 0.082" rgba="0.25 0.25 0.28 1" contype="0" conaffinity="0"/>
      <geom name="wristlink" type="cylinder" size="0.015 0.03" pos="0 0 0.12" rgba="0.7 0.7 0.72 1" contype="0" conaffinity="0"/>
      <camera name="wrist" pos="0.03 0 0.105" xyaxes="0 -1 0 0.95 0 0.31" fovy="80"/>
      <site name="tcp" pos="0 0 0" size="0.004" rgba="1 0 1 0"/>
      <body name="finger_left" pos="0 0 0" gravcomp="1">
        <joint name="finger_left" type="slide" axis="0 1 0" range="0 {FINGER_OPEN}" damping="2" armature="0.01"/>
        <geom type="box" size="0.012 0.006 0.04" pos="0 0.006 0.035" rgba="0.3 0.3 0.33 1" friction="1.5 0.02 0.002" condim="4" mass="0.02"/>
      </body>
      <body name="finger_right" pos="0 0 0" gravcomp="1">
        <joint name="finger_right" type="slide" axis="0 -1 0" range="0 {FINGER_OPEN}" damping="2" armature="0.01"/>
        <geom type="box" size="0.012 0.006 0.04" pos="0 -0.006 0.035" rgba="0.3 0.3 0.33 1" friction="1.5 0.02 0.002" condim="4" mass="0.02"/>
      </body>
    </body>
    {containers_xml()}
    {blocks}
  </worldbody>
  <contact>
    <!-- closed on nothing, the fingers meet at their joint limit; a contact between them pushed them past
         each other, where they locked and the gripper never opened again -->
    <exclude body1="finger_left" body2="finger_right"/>
  </contact>
  <equality>
    <weld body1="ee_target" body2="gripper" solref="0.004 1"/>
    <joint joint1="finger_left" joint2="finger_right" polycoef="0 1 0 0 0" solref="0.005 1"/>
  </equality>
  <actuator>
    <position name="fingers" joint="finger_left" kp="400" ctrlrange="0 {FINGER_OPEN}" forcerange="-25 25"/>
  </actuator>
</mujoco>
"""
