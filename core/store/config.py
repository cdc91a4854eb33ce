"""Where the store lives: a database URL and the recordings folder.

The default is a SQLite file in WAL mode in its own folder next to the recordings folder:
`<parent>/<name>-db/studio.db` for `<parent>/<name>` (`recordings-db/studio.db` for `recordings/`).
The recordings folder is served to signed-in users (episode videos); the database holds password hashes
and must never be, so it is kept out of that folder (`core.store.relocate` moves a database found at the
old place, `recordings/studio.db`, on the first open). Any SQLAlchemy URL works
(`postgresql+psycopg://user@host/db`); the app passes `--db-url` or the `VLM2VLA_DB_URL` environment
variable through `StoreConfig.from_env`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core import settings
from core.store.errors import StoreConfigError

DEFAULT_RECORDINGS_DIR = Path("recordings")
DEFAULT_DB_FILENAME = "studio.db"
DB_FOLDER_SUFFIX = "-db"


def default_db_path(recordings_dir: str | Path) -> Path:
    """The default SQLite file for a recordings folder: `<parent>/<name>-db/studio.db` (absolute)."""
    rec = Path(recordings_dir).expanduser().resolve()
    if not rec.name:
        raise StoreConfigError(f"the recordings folder cannot be the file system root ({rec}): choose a folder")
    return rec.parent / f"{rec.name}{DB_FOLDER_SUFFIX}" / DEFAULT_DB_FILENAME


def legacy_db_path(recordings_dir: str | Path) -> Path:
    """Where earlier versions kept the default database: inside the (served) recordings folder."""
    return Path(recordings_dir).expanduser().resolve() / DEFAULT_DB_FILENAME


@dataclass(frozen=True)
class StoreConfig:
    """How to open the store.

    `db_url` None means `sqlite:///<recordings_dir>-db/studio.db` (`default_db_path`). `busy_timeout_ms`
    applies to SQLite (how long a writer waits for a lock before failing); `migrate` runs alembic up to
    head on open.
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
    def db_path(self) -> Path:
        """The default SQLite file (meaningful when `db_url` is None)."""
        return default_db_path(self.recordings_dir)

    @property
    def url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{self.db_path}"
