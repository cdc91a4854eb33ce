"""The running app's task catalogue (`core.language.catalogue`): the built-in tasks plus the store's.

`CatalogueSource(store)` reads every kept episode (saved, recovered or imported; not one marked failed)
that has an instruction and a verbalization (its newest stored version that reads back: corrections win)
and merges them with the built-in scene's tasks. The policy receives the source and asks it for the
current catalogue before each restatement and subtask ranking; `refresh()` is called when an episode is
saved (the app's recording path); `current()` also notices, with one cheap query, when the store changed
in other ways (a correction in the Episodes tab, an import, a deleted episode) and reads it again. The
catalogue's `version` changes only when its content does, so the policy rebuilds its grammar only then.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from core.language.catalogue import TaskCatalogue, built_in, from_episodes, merged
from core.language.verbalize import Verbalization

if TYPE_CHECKING:
    from core.store import Store

log = logging.getLogger(__name__)

KEPT = ("saved", "recovered", "imported")


def recorded_tasks(store: Store) -> list[tuple[str, list[str]]]:
    """(instruction, verbalized subtask texts) of every kept episode that has both."""
    from sqlalchemy import select

    from core.store.models import Episode
    from core.store.models import Verbalization as VerbRow

    with store.session() as s:
        kept = select(Episode).where(Episode.status.in_(KEPT), Episode.instruction_id.isnot(None),
                                     Episode.success.is_not(False) | Episode.success.is_(None))
        texts = {e.id: e.instruction.text for e in s.scalars(kept) if e.instruction is not None}
        rows = s.execute(select(VerbRow.episode_id, VerbRow.version, VerbRow.payload)
                         .where(VerbRow.episode_id.in_(list(texts))).order_by(VerbRow.version.desc())).all()
    newest: dict[int, list[str]] = {}
    for eid, version, payload in rows:
        if eid in newest:
            continue
        try:
            newest[eid] = [st.text for st in Verbalization.from_dict(dict(payload)).subtasks]
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            log.warning("episode %s: verbalization v%s is malformed (%s); an older one is tried", eid, version, exc)
    return [(texts[eid], subs) for eid, subs in newest.items()]


class CatalogueSource:
    """The built-in catalogue merged with the store's recorded tasks (`store` None: built-in only)."""

    def __init__(self, store: Store | None = None, base: TaskCatalogue | None = None) -> None:
        self.store = store
        self.base = base or built_in()
        self._lock = threading.Lock()
        self._current = merged(self.base, TaskCatalogue(), 0)
        self._seen: tuple | None = None
        if store is not None:
            self.refresh()

    def current(self) -> TaskCatalogue:
        """The catalogue now (read again first when the store's episodes or verbalizations changed)."""
        if self.store is not None and self._fingerprint() != self._seen:
            return self.refresh()
        return self._current

    def _fingerprint(self) -> tuple | None:
        from sqlalchemy import func, select

        from core.store.models import Episode
        from core.store.models import Verbalization as VerbRow

        try:
            with self.store.session() as s:  # type: ignore[union-attr]
                eps = s.execute(select(func.count(Episode.id), func.max(Episode.id), func.max(Episode.status))
                                .where(Episode.status.in_(KEPT))).one()
                verbs = s.execute(select(func.count(VerbRow.id), func.max(VerbRow.id))).one()
            return (*eps, *verbs)
        except Exception:
            log.exception("the task catalogue could not check the store")
            return self._seen

    def refresh(self) -> TaskCatalogue:
        """Read the store again; the version goes up only when the content changed. A store that cannot be
        read leaves the catalogue as it was (logged)."""
        if self.store is None:
            return self._current
        seen = self._fingerprint()
        try:
            recorded = from_episodes(recorded_tasks(self.store))
        except Exception:  # a busy or broken store must not take the policy down
            log.exception("the task catalogue could not read the store; keeping the previous one")
            return self._current
        with self._lock:
            self._seen = seen
            old = self._current
            new = merged(self.base, recorded, old.version)
            if new.entries != old.entries:
                new = merged(self.base, recorded, old.version + 1)
                log.info("task catalogue v%d: %d instructions (%d recorded), %d subtask lists", new.version,
                         len(new.entries), len(recorded.entries), len(new.subtask_lists()))
                self._current = new
            return self._current


__all__ = ["CatalogueSource", "recorded_tasks"]
