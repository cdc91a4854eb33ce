"""The policy's configuration: what an action adapter reads (from its card) and how the policy decodes.

`PolicyInputs` is the one object that says what an adapter's questions carry besides the frame: the camera it
acts from and at most one first line (the robot's state, or a grounding line). It is chosen once (the
`default_adapter` recipe's command line, or the Train tab), travels in the job config (`DataSpec.inputs`),
shapes the training samples, is written to the adapter's card, and is read back from the card by
`PolicyConfig.from_card` when the adapter is activated, so the loop asks the questions the adapter was trained
on. Pure Python.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from core.language.prompts import CHUNK_ENTRIES

CAMERAS = ("front", "wrist")


@dataclass(frozen=True)
class PolicyInputs:
    """What an action adapter's plan, action and "done?" questions carry besides the camera frame.

    `camera`: the camera it was trained on (the loop shows it the same one). `robot_state`: a first line with
    the gripper's place and opening (`core.language.prompts.state_text`). `grounded`: instead, a grounding
    line, where the subtask's object is relative to the gripper (`core.language.grounding`), written by the
    object locator with the camera's calibration (`core.policy.grounding`; only the simulator's front camera
    has one built in). With neither, the questions are the paper's image-only ones.
    """

    # the help texts are the command line's (`recipes.cli`)
    camera: str = field(default="front", metadata={
        "choices": CAMERAS, "help": "the camera the adapter looks at (the loop shows it the same one)"})
    robot_state: bool = field(default=False, metadata={
        "help": "put the gripper's place and opening into the plan, action and 'done?' questions (the loop then "
                "gives the live state); without it the adapter sees only the camera frame"})
    grounded: bool = field(default=False, metadata={
        "help": "start the plan, action and 'done?' questions with a grounding line: the gripper's height and where "
                "the subtask's object is relative to it, from the default model's object locator"})
    robot: str = field(default="sim", metadata={
        "help": "the robot whose scenes it was trained on: its camera, locator and scene sizes ground it"})

    def __post_init__(self) -> None:
        if self.camera not in CAMERAS:
            raise ValueError(f"unknown camera {self.camera!r}; choose one of {', '.join(CAMERAS)}")
        if self.grounded and self.robot_state:
            raise ValueError("choose one of robot_state and grounded (the grounding line has the gripper's state)")
        if self.grounded and self.camera != "front":
            raise ValueError("grounded training locates objects in the front camera; choose camera 'front'")

    @classmethod
    def from_card(cls, card: dict[str, Any]) -> PolicyInputs:
        """From an adapter card's `data` section (cards from before a field: front camera, no first line)."""
        data = card.get("data") or {}
        return cls(camera=str(data.get("camera") or "front"), robot_state=bool(data.get("robot_state")),
                   grounded=bool(data.get("grounded")), robot=str(data.get("robot") or "sim"))

    def card_data(self) -> dict[str, Any]:
        """The fields an adapter card's `data` section keeps for `from_card`."""
        return asdict(self)

    @property
    def first_line(self) -> str | None:
        """"grounding", "robot_state" or None (image-only questions)."""
        return "grounding" if self.grounded else ("robot_state" if self.robot_state else None)


@dataclass(frozen=True)
class PolicyConfig:
    """`VLMPolicy`'s settings. `inputs` come from the active adapter's card; the rest are decoding choices
    (defaults: what the app ships). `max_entries`: action entries per cycle (the grammar's bound).
    `restrict_head`: compute the LM head only over the tokens the grammar allows. `follow_plan`: the chunk's
    first entry must do what the plan's first phase says. `rank_subtasks`: pick the most likely whole
    subtask list (False: greedy under a prefix grammar)."""

    inputs: PolicyInputs = field(default_factory=PolicyInputs)
    max_entries: int = CHUNK_ENTRIES
    restrict_head: bool = True
    follow_plan: bool = True
    rank_subtasks: bool = True

    def __post_init__(self) -> None:
        if self.max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {self.max_entries}")

    @classmethod
    def from_card(cls, card: dict[str, Any], **decoding: Any) -> PolicyConfig:
        """The policy for an adapter with this card (`decoding`: any of the decoding fields)."""
        return cls(inputs=PolicyInputs.from_card(card), **decoding)

    def with_inputs(self, **changes: Any) -> PolicyConfig:
        return replace(self, inputs=replace(self.inputs, **changes))

    @property
    def camera(self) -> str:
        return self.inputs.camera

    @property
    def robot_state(self) -> bool:
        return self.inputs.robot_state

    @property
    def grounded(self) -> bool:
        return self.inputs.grounded


__all__ = ["CAMERAS", "PolicyConfig", "PolicyInputs"]
