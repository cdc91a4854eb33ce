"""Episodes of a robot whose joints LeRobot knows by name (the SO-101): how they export and import.

An export of such episodes puts the joints in `observation.state` and `action` under LeRobot's names for
the robot type (`shoulder_pan.pos`, ..., `gripper.pos` for `so101_follower`: degrees, gripper 0..100 as
LeRobot's calibrated units), converted from the recorded radians by the robot's `joints_out`
(`core.robot.registry`). The action is the commanded goal (`steps.cmd_joints`, where the servos were
sent); a step without one (recorded before it was kept, or an e-stopped tick) uses the next step's joints,
the last step its own. The end-effector pose and command go to `observation.ee_pose` / `action.ee_pose`.
An import of those features converts the joints back (`registry.joints_reader`) and takes the pose from
the ee features (`features.plan_import`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core.recording.errors import DatasetError

if TYPE_CHECKING:
    from core.robot.registry import RobotSpec

EE_STATE = "observation.ee_pose"
EE_ACTION = "action.ee_pose"


def spec_for(robot: str | None) -> RobotSpec | None:
    """The registry's robot with LeRobot joint names for a stored robot name or a LeRobot robot type."""
    from core.robot import registry

    for spec in registry.ROBOTS.values():
        if spec.joint_features is not None and robot in (spec.name, spec.lerobot_type):
            return spec
    return None


def export_arm(robots: Sequence[str | None], joint_widths: set[int]) -> RobotSpec | None:
    """The robot whose joint names an export of these episodes uses: all from one such robot, with its
    joints on every step; else None (the end-effector pose is the state). Mixed such robots: refused."""
    specs = {spec_for(r) for r in robots}
    if specs == {None}:
        return None
    if len(specs) != 1:
        raise DatasetError(f"the episodes come from different robots {sorted(map(str, set(robots)))}; "
                           "export them separately")
    spec = specs.pop()
    assert spec is not None and spec.joint_features is not None
    if joint_widths != {len(spec.joint_features)}:
        raise DatasetError(f"{spec.name} episodes must carry {len(spec.joint_features)} joint values on every step")
    return spec


def joint_vectors(spec: RobotSpec, steps: Sequence[Any]) -> tuple[list[list[float]], list[list[float]]]:
    """(state, action) of one episode in LeRobot's units: the measured joints and the commanded goals."""
    assert spec.joints_out is not None
    state = [spec.joints_out(list(st.joints)) for st in steps]
    action = []
    for i, st in enumerate(steps):
        if st.cmd_joints is not None and len(st.cmd_joints) == len(st.joints):
            action.append(spec.joints_out(list(st.cmd_joints)))
        else:
            action.append(state[min(i + 1, len(steps) - 1)])
    return state, action


__all__ = ["EE_ACTION", "EE_STATE", "export_arm", "joint_vectors", "spec_for"]
