"""Get-or-create helpers for the small lookup tables (users, instructions)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.store.errors import StoreError
from core.store.models import Instruction, User

ROLES = ("operator", "member", "visitor", "admin")


class InvalidValue(StoreError, ValueError):
    """A value that the store refuses (empty instruction, unknown role, ...)."""


def clean_text(text: str, what: str, max_len: int = 2000) -> str:
    norm = " ".join((text or "").split())
    if not norm:
        raise InvalidValue(f"{what} must not be empty")
    if len(norm) > max_len:
        raise InvalidValue(f"{what} is too long ({len(norm)} > {max_len} characters)")
    return norm


def get_or_create_instruction(session: Session, text: str, language: str | None = None) -> Instruction:
    norm = clean_text(text, "instruction")
    found = session.scalar(select(Instruction).where(Instruction.text == norm))
    if found is not None:
        return found
    try:
        with session.begin_nested():
            row = Instruction(text=norm, language=language)
            session.add(row)
        return row
    except IntegrityError:  # created concurrently
        return session.scalars(select(Instruction).where(Instruction.text == norm)).one()


def get_or_create_user(session: Session, name: str, role: str = "operator") -> User:
    norm = clean_text(name, "user name", max_len=120)
    if role not in ROLES:
        raise InvalidValue(f"unknown role {role!r}; expected one of {ROLES}")
    found = session.scalar(select(User).where(User.name == norm))
    if found is not None:
        return found
    try:
        with session.begin_nested():
            row = User(name=norm, role=role)
            session.add(row)
        return row
    except IntegrityError:
        return session.scalars(select(User).where(User.name == norm)).one()
