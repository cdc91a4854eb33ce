"""Exceptions of users, roles and the control lock."""

from __future__ import annotations


class AuthError(RuntimeError):
    """Base class of authentication and authorization failures."""


class AccessDenied(AuthError, PermissionError):
    """The signed-in user's role does not allow the action (or nobody is signed in)."""

    def __init__(self, message: str, action: str | None = None) -> None:
        super().__init__(message)
        self.action = action


class NotSignedIn(AccessDenied):
    """Accounts exist, so the action needs a signed-in user, and the request has none."""


class ControlRequired(AccessDenied):
    """The action moves the robot or records, and someone else holds the control lock."""


class InvalidAccount(AuthError, ValueError):
    """A user name, role or password that cannot be used."""


class UnknownUser(AuthError, LookupError):
    """No account with that name."""


class UserExists(AuthError):
    """An account with that name already exists."""
