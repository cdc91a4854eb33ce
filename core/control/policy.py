"""The `Policy` contract: what the autonomous loop (`core.control.autonomous`) asks of a model.

Each call returns the generated text. `image` is the camera frame (HxWx3 uint8) the model looks at (the frame
of `camera`). `on_text` receives the text as it is generated (for streaming to the page); implementations may
call it once at the end instead. Two capabilities are optional, and every policy says explicitly whether it
has them by what it returns (`PolicyBase` gives the "without" answers):
- `restate(instruction)`: the command restated as the English instruction the subtask step knows (e.g. typed
  in Spanish), or None to keep it as typed;
- `context(image, subtask, ee_pos, gripper, seen)`: the first line of this cycle's questions (e.g. a
  grounding line, `core.language.grounding`, or the robot's state, `core.language.prompts.state_text`), or
  None for none; `seen` is a dict the run keeps from start to end (where objects were last seen). The loop
  passes the line back as `state=` to `plan`, `actions` and `is_done` (None when there is none).
- `understand(instruction, present, pending)`: act, ask which block, or refuse
  (`core.language.understand.Understanding`) given the scene's object names, or None to leave it to `restate`.
`is_done` answers whether the subtask is complete in the frame, or None if it cannot say. The VLM policy
(`core.policy.vlm.VLMPolicy`) and the servo rule (`core.policy.servo.ServoPolicy`) implement it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class Policy(Protocol):
    name: str
    camera: str  # the camera the model was trained on: the loop shows it this one

    def restate(self, instruction: str) -> str | None: ...

    def context(self, image: Any, subtask: str, ee_pos: Any, gripper: float, seen: dict) -> str | None: ...

    def understand(self, instruction: str, present: Any = None, pending: Any = None) -> Any: ...

    def subtasks(self, image: Any, instruction: str, on_text: Callable[[str], None] | None = None) -> str: ...

    def plan(self, image: Any, instruction: str, subtask: str, on_text: Callable[[str], None] | None = None,
             state: str | None = None) -> str: ...

    def actions(self, image: Any, instruction: str, subtask: str, plan: str,
                on_text: Callable[[str], None] | None = None, state: str | None = None) -> str: ...

    def is_done(self, image: Any, subtask: str, state: str | None = None) -> bool | None: ...


class PolicyBase:
    """Defaults for a policy without the optional capabilities: the front camera, commands kept as typed
    (never refused), questions without a first line. Subclasses write `subtasks`, `plan`, `actions` and `is_done`."""

    name = "policy"
    camera = "front"

    def restate(self, instruction: str) -> str | None:
        return None

    def context(self, image: Any, subtask: str, ee_pos: Any, gripper: float, seen: dict) -> str | None:
        return None

    def understand(self, instruction: str, present: Any = None, pending: Any = None) -> Any:
        return None


__all__ = ["Policy", "PolicyBase"]
