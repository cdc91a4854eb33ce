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


def _get_or_create(session: Session, model: type, name_col: str, value: str, **fields: object):  # noqa: ANN202
    """The row of `model` whose unique `name_col` equals `value`, created with `fields` if missing
    (a row created concurrently by another writer is returned instead of failing)."""
    query = select(model).where(getattr(model, name_col) == value)
    found = session.scalar(query)
    if found is not None:
        return found
    try:
        with session.begin_nested():
            row = model(**{name_col: value}, **fields)
            session.add(row)
        return row
    except IntegrityError:
        return session.scalars(query).one()


def get_or_create_instruction(session: Session, text: str, language: str | None = None) -> Instruction:
    return _get_or_create(session, Instruction, "text", clean_text(text, "instruction"), language=language)


def get_or_create_user(session: Session, name: str, role: str = "operator") -> User:
    norm = clean_text(name, "user name", max_len=120)
    if role not in ROLES:
        raise InvalidValue(f"unknown role {role!r}; expected one of {ROLES}")
    return _get_or_create(session, User, "name", norm, role=role)
