"""Roles and what each may do.

- visitor: watches the cameras and the episodes, chats (questions), presses e-stop / Stop; sends robot
  commands only while the operator has opened the floor.
- member (lab member): everything a visitor may, plus driving the robot (taking the control lock),
  recording, training, switching adapters, editing / deleting / exporting episodes, settings.
- operator: not a stored role: the member (or admin) who currently holds the control lock; only the
  operator changes the settings that shape motion (`NEEDS_CONTROL`).
- admin: everything, including managing accounts.

Stored role strings are `admin`, `member`, `visitor`; `operator` (the store's historical default for
names typed at recording time) reads as `member`.
"""

from __future__ import annotations

import enum

from core.auth.errors import InvalidAccount


class Role(enum.StrEnum):
    ADMIN = "admin"
    MEMBER = "member"
    VISITOR = "visitor"

    @classmethod
    def parse(cls, value: str | Role | None) -> Role:
        if isinstance(value, Role):
            return value
        text = (value or "").strip().lower().replace("_", " ").replace("-", " ")
        if text in ("operator", "lab member"):
            return cls.MEMBER
        try:
            return cls(text)
        except ValueError:
            raise InvalidAccount(f"unknown role {value!r}; expected one of admin, member, visitor") from None


class Action(enum.StrEnum):
    WATCH = "watch"  # cameras, status, episode list and playback
    ASK = "ask"  # chat questions about the scene
    ESTOP = "estop"  # e-stop and the Stop button: everyone, always
    CONTROL = "control"  # take the control lock: teleop, reset scene, pick the task, reset the e-stop
    COMMAND = "command"  # a language command that moves the robot
    RECORD = "record"  # start / save / discard an episode
    EDIT = "edit"  # tag, correct, rename episodes; clear the shared chat
    DELETE = "delete"
    EXPORT = "export"
    IMPORT = "import"  # import a dataset (e.g. LeRobot) into the store
    REPLAY = "replay"  # replay an episode on a separate simulator (costs CPU)
    TRAIN = "train"  # start / cancel / resume training jobs
    ADAPTER = "adapter"  # switch, import or delete adapters
    SETTINGS = "settings"
    AUDIT = "audit"  # read the audit log
    USERS = "users"  # manage accounts


_VISITOR = frozenset({Action.WATCH, Action.ASK, Action.ESTOP})
_MEMBER = frozenset(Action) - {Action.USERS}

PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.VISITOR: _VISITOR,
    Role.MEMBER: _MEMBER,
    Role.ADMIN: frozenset(Action),
}

# Actions that need the control lock as well as the role (a visitor's command is allowed instead while
# the operator has opened the floor). Settings shape the motion of every input device (sensitivity,
# inversion, speed), so they belong to whoever drives: a member changing them while another drives
# would turn the operator's "+x" into a move the other way.
NEEDS_CONTROL = frozenset({Action.CONTROL, Action.COMMAND, Action.RECORD, Action.SETTINGS})


def allowed(role: Role, action: Action) -> bool:
    """Whether `role` may do `action` at all (the control lock is checked separately)."""
    return action in PERMISSIONS[role]
