"""The store: SQLAlchemy 2 models, sessions, migrations and episode queries.

Open it with `open_store(StoreConfig.from_env(db_url=...))`; query episodes with the functions in
`core.store.episodes`.
"""

from core.store.config import StoreConfig
from core.store.db import Store, open_store
from core.store.errors import EpisodeBusy, EpisodeNotFound, StoreConfigError, StoreError

__all__ = [
    "EpisodeBusy",
    "EpisodeNotFound",
    "Store",
    "StoreConfig",
    "StoreConfigError",
    "StoreError",
    "open_store",
]
