"""Opening the store: engine (with SQLite PRAGMAs), migrations, sessions."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from sqlalchemy import JSON, String, create_engine, event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core.store import migrate, relocate
from core.store.config import StoreConfig
from core.store.errors import StoreConfigError
from core.store.models import Step
from core.store.text import clean_json, strip_controls

log = logging.getLogger(__name__)


def _sqlite_pragmas(busy_timeout_ms: int):  # type: ignore[no-untyped-def]
    def on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        finally:
            cur.close()

    return on_connect


def make_engine(config: StoreConfig) -> Engine:
    url = config.url
    kwargs: dict[str, object] = {
        "echo": config.echo,
        "pool_pre_ping": not url.startswith("sqlite"),
    }
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {
            "check_same_thread": False,
            "timeout": config.busy_timeout_ms / 1000,
        }
    try:
        engine = create_engine(url, **kwargs)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StoreConfigError(f"cannot use database URL {url!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas(config.busy_timeout_ms))
    return engine


def _clean_free_text(session: Session, _context: object, _instances: object) -> None:
    """Before every ORM flush: no control or bidi formatting characters in any text column (one line in
    String columns, several allowed in Text) or in the strings inside JSON columns. Steps hold numbers only."""
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Step):
            continue
        for attr in sa_inspect(obj).mapper.column_attrs:
            value = getattr(obj, attr.key, None)
            if value is None:
                continue
            kind = attr.columns[0].type
            if isinstance(value, str) and isinstance(kind, String):
                clean: object = strip_controls(value, multiline=type(kind) is not String)
            elif isinstance(kind, JSON) and isinstance(value, (dict, list)):
                clean = clean_json(value)
            else:
                continue
            if clean != value:
                setattr(obj, attr.key, clean)


class Store:
    """The database plus the recordings folder that its relative video paths point into."""

    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        self.recordings_dir: Path = config.recordings_dir.resolve()
        try:
            self.recordings_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreConfigError(f"cannot create recordings folder {self.recordings_dir}: {exc}") from exc
        if config.db_url is None:  # the default SQLite file: in its own folder, never inside the served one
            relocate.prepare_default_location(config)
        self.engine = make_engine(config)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self._sessions, "before_flush", _clean_free_text)
        if config.migrate:
            try:
                migrate.upgrade(self.engine)
            except SQLAlchemyError as exc:
                self.engine.dispose()
                raise StoreConfigError(f"cannot open database {self.engine.url!r}: {exc}") from exc
        if config.db_url is None:
            relocate.restrict_permissions(config.db_path)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on normal exit, rolled back on an exception."""
        with self._sessions.begin() as s:
            yield s

    def abspath(self, rel: str) -> Path:
        """Absolute path of a file stored relative to the recordings folder."""
        return self.recordings_dir / rel

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(config: StoreConfig | None = None) -> Store:
    """Open (and migrate) the store described by `config` (default: `StoreConfig.from_env()`)."""
    return Store(config or StoreConfig.from_env())
