"""Where the store lives: a database URL and the recordings folder.

The default is a SQLite file in WAL mode inside the recordings folder. Any SQLAlchemy URL works
(`postgresql+psycopg://user@host/db`); the app passes `--db-url` or the `VLM2VLA_DB_URL` environment
variable through `StoreConfig.from_env`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core import settings

DEFAULT_RECORDINGS_DIR = Path("recordings")
DEFAULT_DB_FILENAME = "studio.db"


@dataclass(frozen=True)
class StoreConfig:
    """How to open the store.

    `db_url` None means `sqlite:///<recordings_dir>/studio.db`. `busy_timeout_ms` applies to SQLite
    (how long a writer waits for a lock before failing); `migrate` runs alembic up to head on open.
    """

    recordings_dir: Path = field(default=DEFAULT_RECORDINGS_DIR)
    db_url: str | None = None
    busy_timeout_ms: int = 10_000
    migrate: bool = True
    echo: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "recordings_dir", Path(self.recordings_dir))

    @classmethod
    def from_env(
        cls,
        db_url: str | None = None,
        recordings_dir: str | Path | None = None,
        **kwargs: object,
    ) -> StoreConfig:
        """Explicit arguments (e.g. from the command line) win over the environment (`core.settings`)."""
        env = settings.current()
        url = db_url or env.db_url or None
        rdir = recordings_dir or env.recordings_dir or DEFAULT_RECORDINGS_DIR
        return cls(recordings_dir=Path(rdir), db_url=url, **kwargs)  # type: ignore[arg-type]

    @property
    def url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.recordings_dir / DEFAULT_DB_FILENAME).resolve()}"
