"""Accounts in the store's `users` table.

An account is a `users` row with a password hash. Rows without one are names only (an operator typed
when recording, an imported dataset's operator) and cannot sign in; creating an account with such a
name turns that row into the account, so the episodes already credited to the name stay with it.
While no account exists the app runs as an open lab (no login).
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.auth.errors import InvalidAccount, UnknownUser, UserExists
from core.auth.passwords import hash_password, needs_rehash, verify_password
from core.auth.roles import Role
from core.store import Store
from core.store.models import User, utcnow
from core.store.retry import write_with_retry

log = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD_CHARS = 10


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    role: Role
    disabled: bool
    created_at: datetime | None
    last_login_at: datetime | None


def _account(row: User) -> Account:
    return Account(row.id, row.name, Role.parse(row.role), bool(row.disabled), row.created_at, row.last_login_at)


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not NAME_PATTERN.match(name):
        raise InvalidAccount(f"user name {name!r} must be 1-64 letters, digits, '.', '_', '@' or '-', "
                             "starting with a letter or digit")
    return name


def check_password(password: str, name: str = "") -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        raise InvalidAccount(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
    if password.strip() != password:
        raise InvalidAccount("the password must not start or end with spaces")
    if name and password.lower() == name.lower():
        raise InvalidAccount("the password must not be the user name")
    try:
        hash_password(password)  # length limits
    except ValueError as exc:
        raise InvalidAccount(str(exc)) from exc
    return password


def _row(s: Session, name: str) -> User | None:
    return s.scalar(select(User).where(User.name == name))


def _account_row(s: Session, name: str) -> User:
    row = _row(s, name)
    if row is None or row.password_hash is None:
        raise UnknownUser(f"no account named {name!r}")
    return row


def count_accounts(store: Store) -> int:
    """Rows that can sign in (disabled ones included: disabling every account does not open the lab)."""
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(User).where(User.password_hash.is_not(None))) or 0)


def list_accounts(store: Store) -> list[Account]:
    with store.session() as s:
        rows = s.scalars(select(User).where(User.password_hash.is_not(None)).order_by(User.name)).all()
        return [_account(r) for r in rows]


def get_account(store: Store, name: str) -> Account | None:
    """The account called `name`, or None (also for name-only rows)."""
    with store.session() as s:
        row = _row(s, name)
        return _account(row) if row is not None and row.password_hash is not None else None


def create_user(store: Store, name: str, role: Role | str, password: str) -> Account:
    """Create an account (or give a name-only row a password). Raises UserExists / InvalidAccount."""
    name = check_name(name)
    role = Role.parse(role)
    pw_hash = hash_password(check_password(password, name))

    def write(s: Session) -> Account:
        row = _row(s, name)
        if row is not None and row.password_hash is not None:
            raise UserExists(f"an account named {name!r} already exists (use set-password or set-role)")
        if row is None:
            row = User(name=name, role=role.value, password_hash=pw_hash, disabled=False)
            s.add(row)
        else:
            row.role, row.password_hash, row.disabled = role.value, pw_hash, False
        s.flush()
        return _account(row)

    account = write_with_retry(store, write, what="create user")
    log.info("account %s created (%s)", name, role.value)
    return account


def set_password(store: Store, name: str, password: str) -> None:
    pw_hash = hash_password(check_password(password, name))

    def write(s: Session) -> None:
        _account_row(s, name).password_hash = pw_hash

    write_with_retry(store, write, what="set password")


def _admins_left(s: Session, excluding: str) -> int:
    return int(s.scalar(select(func.count()).select_from(User).where(
        User.password_hash.is_not(None), User.role == Role.ADMIN.value, User.disabled.is_(False),
        User.name != excluding)) or 0)


def set_role(store: Store, name: str, role: Role | str, *, force: bool = False) -> Account:
    """Change an account's role; refuses to demote the last enabled admin unless `force`."""
    role = Role.parse(role)

    def write(s: Session) -> Account:
        row = _account_row(s, name)
        if Role.parse(row.role) == Role.ADMIN and role != Role.ADMIN and not force and _admins_left(s, name) == 0:
            raise InvalidAccount(f"{name} is the last admin; make someone else admin first")
        row.role = role.value
        return _account(row)

    return write_with_retry(store, write, what="set role")


def set_disabled(store: Store, name: str, disabled: bool, *, force: bool = False) -> Account:
    """Disable (cannot sign in; the account still counts, so the lab does not open) or enable an account."""

    def write(s: Session) -> Account:
        row = _account_row(s, name)
        if disabled and Role.parse(row.role) == Role.ADMIN and not force and _admins_left(s, name) == 0:
            raise InvalidAccount(f"{name} is the last enabled admin; make someone else admin first")
        row.disabled = disabled
        return _account(row)

    return write_with_retry(store, write, what="disable user")


def remove_login(store: Store, name: str, *, force: bool = False) -> None:
    """Turn an account back into a name only (its episodes keep the name). The last admin needs `force`."""

    def write(s: Session) -> None:
        row = _account_row(s, name)
        if Role.parse(row.role) == Role.ADMIN and not force and _admins_left(s, name) == 0:
            others = s.scalar(select(func.count()).select_from(User).where(
                User.password_hash.is_not(None), User.name != name)) or 0
            if others:
                raise InvalidAccount(f"{name} is the last admin while other accounts exist; make someone else "
                                     "admin first")
        row.password_hash = None
        row.disabled = False

    write_with_retry(store, write, what="remove login")


_DUMMY_HASH: list[str] = []


def dummy_hash() -> str:
    """A hash of a random password, checked for names without an account so that they take as long."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password(secrets.token_urlsafe(16)))
    return _DUMMY_HASH[0]


def authenticate(store: Store, name: str, password: str) -> Account | None:
    """The account if `password` is right and it is enabled, else None. Updates the last login time.
    A name without an account costs the same password check (no telling names apart by timing)."""
    name = (name or "").strip()
    stored = None
    disabled = True
    if NAME_PATTERN.match(name):
        with store.session() as s:
            row = _row(s, name)
            if row is not None:
                stored, disabled = row.password_hash, bool(row.disabled)
    if not verify_password(password, stored or dummy_hash()) or disabled or stored is None:
        return None
    rehash = hash_password(password) if stored and needs_rehash(stored) else None

    def write(s: Session) -> Account:
        r = _account_row(s, name)
        r.last_login_at = utcnow()
        if rehash:
            r.password_hash = rehash
        return _account(r)

    return write_with_retry(store, write, what="record login")
