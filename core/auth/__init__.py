"""Users and roles, the control lock and the audit log.

- `roles`: Role (admin, member, visitor; the operator is the member holding the control lock) and Action.
- `users`: accounts in the store (scrypt password hashes); `python -m core.auth` manages them.
- `lock`: ControlLock, one operator at a time, released when the holder's page goes silent.
- `audit`: AuditLog, written in the background with retries.
- `service`: AuthService, what the web layer calls (open lab while no account exists).
"""

from core.auth.errors import (
    AccessDenied,
    AuthError,
    ControlRequired,
    InvalidAccount,
    NotSignedIn,
    UnknownUser,
    UserExists,
)
from core.auth.roles import Action, Role
from core.auth.service import OPEN_LAB, AuthService, Principal

__all__ = [
    "OPEN_LAB",
    "AccessDenied",
    "Action",
    "AuthError",
    "AuthService",
    "ControlRequired",
    "InvalidAccount",
    "NotSignedIn",
    "Principal",
    "Role",
    "UnknownUser",
    "UserExists",
]
