"""Hot data: sessions and idempotency claims in ``hot.json``; settings and
schedules (meta) in ``meta.json``; each one TinyDB.

``hot.json`` is rewritten on every click, so it must stay small and must
never include archive data or anything that grows with the records (the
follow-up schedule does): its cost does not depend on how many records
exist. Claims are pruned after :data:`CLAIM_TTL` so it does not grow forever.
"""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any, cast

from tinydb import Query, TinyDB
from tinydb.table import Document, Table

from .atomic import AtomicJSONStorage
from .base import Doc, Mutator, NotFound
from .crypto import Cipher
from .jsonfile import clone
from .locking import lock_for

# Slack redelivers an event within minutes (its last retry comes about five
# minutes after the first try); three hours is a generous margin, and keeps
# the file that every click rewrites small.
CLAIM_TTL = 3 * 3600.0
# Pruning scans every claim, so it runs now and then, not on every claim.
PRUNE_EVERY = 600.0


def alert_states(session: Doc | None) -> dict[str, bool]:
    """Event id -> delivered, for each alert-like event the session holds."""
    if not session:
        return {}
    return {str(e.get("id")): bool(e.get("delivered"))
            for e in session.get("events") or () if isinstance(e, dict) and "delivered" in e}


class KeyedTable(Table):
    """A TinyDB table keyed by ids the app chooses (session id, claim key,
    record id), using only TinyDB's public table API."""

    document_id_class = str  # type: ignore[assignment]

    def rows(self) -> dict[str, Doc]:
        """Every document by key."""
        return {str(doc.doc_id): dict(doc) for doc in self.all()}

    def put(self, key: str, doc: Doc, *, exists: bool | None = None) -> None:
        """Insert or replace (not merge, unlike ``upsert``) one document, in
        one write. ``exists``: whether the caller just saw it there."""
        if exists is None:
            exists = self.contains(doc_id=key)  # type: ignore[arg-type]
        if not exists:
            self.insert(Document(doc, doc_id=key))  # type: ignore[arg-type]
            return

        def replace(current: MutableMapping[str, Any]) -> None:
            current.clear()
            current.update(doc)

        self.update(replace, doc_ids=[key])  # type: ignore[list-item]


class _HotDB(TinyDB):
    table_class = KeyedTable


META_NAME = "meta.json"


class HotStore:
    """Sessions and claims in ``hot.json``, meta in ``meta.json`` (see module
    docstring): the session, claim and meta methods of
    :class:`~storage.base.Store`."""

    def __init__(self, path: Path, cipher: Cipher | None,
                 clock: Callable[[], float] = time.time) -> None:
        self.clock = clock  # seconds since the epoch, for claims' age
        self.hot_path = path
        self._hot_db = _HotDB(path, storage=AtomicJSONStorage, cipher=cipher)
        # TinyDB's query cache would hide writes made by other processes.
        self._sessions: KeyedTable = self._hot_db.table("sessions", cache_size=0)  # type: ignore[assignment]
        self._claims: KeyedTable = self._hot_db.table("claims", cache_size=0)  # type: ignore[assignment]
        self.meta_path = path.with_name(META_NAME)
        self._meta_db = _HotDB(self.meta_path, storage=AtomicJSONStorage, cipher=cipher)
        self._meta: KeyedTable = self._meta_db.table("meta", cache_size=0)  # type: ignore[assignment]
        self._next_prune = 0.0

    def _alerts_changed(self, raised: list[str], sent: list[str]) -> None:
        """Told when urgent alerts are raised or delivered (the store logs
        them in the ledger)."""

    def check_hot(self) -> None:
        """Read the files once, so a wrong key or damaged file fails at
        startup; then move meta an earlier version kept in ``hot.json``."""
        self._hot_db.storage.read()
        self._meta_db.storage.read()
        self._move_meta_out()

    def _move_meta_out(self) -> None:
        """Copied first, then dropped: a crash between leaves both, and the
        next start finishes (the copy in ``meta.json`` wins)."""
        if "meta" not in self._hot_db.tables():
            return
        old: KeyedTable = self._hot_db.table("meta", cache_size=0)  # type: ignore[assignment]
        with lock_for(self.meta_path).held():
            for key, doc in old.rows().items():
                if not self._meta.contains(doc_id=key):  # type: ignore[arg-type]
                    self._meta.put(key, doc, exists=False)
        with lock_for(self.hot_path).held():
            self._hot_db.drop_table("meta")

    def create_hot(self) -> None:
        """Write the empty database of a new store: from now on a missing or
        empty file means something was lost."""
        with lock_for(self.hot_path).held():
            if self._hot_db.storage.read() is None:
                self._hot_db.storage.write({})

    def create_meta(self) -> None:
        """Write meta.json's empty database if it is not there (see create_hot)."""
        with lock_for(self.meta_path).held():
            if self._meta_db.storage.read() is None:
                self._meta_db.storage.write({})

    # -- sessions ---------------------------------------------------------
    def _shared_sessions(self) -> dict[str, Doc]:
        """The sessions table as cached, shared (read-only): a read copies
        only the sessions it returns, not every session in the file."""
        storage = cast(AtomicJSONStorage, self._hot_db.storage)
        table = (storage.shared() or {}).get("sessions")
        return table if isinstance(table, dict) else {}

    def get_session(self, session_id: str) -> Doc | None:
        doc = self._shared_sessions().get(session_id)
        return None if doc is None else cast(Doc, clone(doc))

    def save_session(self, session: Doc) -> None:
        doc = clone(session)
        session_id = doc.get("id")
        if not isinstance(session_id, str) or not session_id:
            raise ValueError("a session needs a non-empty string 'id'")
        with lock_for(self.hot_path).held():
            old = self._sessions.get(doc_id=session_id)  # type: ignore[call-overload]  # string ids (HotTable)
            self._sessions.put(session_id, doc, exists=old is not None)
            self._log_alerts(alert_states(old), alert_states(doc))

    def update_session(self, session_id: str, mutate: Mutator) -> Doc:
        with lock_for(self.hot_path).held():
            current = self._sessions.get(doc_id=session_id)  # type: ignore[call-overload]  # string ids (HotTable)
            if current is None:
                raise NotFound(session_id)
            before = alert_states(current)
            doc = dict(current)
            result = mutate(doc)
            new = clone(doc if result is None else result)
            if new.get("id") != session_id:
                raise ValueError(f"mutate changed the id of session {session_id}")
            self._sessions.put(session_id, new, exists=True)
            self._log_alerts(before, alert_states(new))
        return cast(dict[str, Any], new)

    def _log_alerts(self, before: dict[str, bool], after: dict[str, bool]) -> None:
        """Tell the ledger about urgent alerts raised or delivered, once the
        file that holds them is written, so an alert later lost from
        hot.json is noticed instead of never sent. (After, not before: a
        crash in between leaves the ledger behind the file, which start-up
        repairs, never ahead of it.)"""
        raised = sorted(e for e, sent in after.items() if not sent and e not in before)
        sent = sorted(e for e, done in after.items() if done and before.get(e) is False)
        if raised or sent:
            self._alerts_changed(raised, sent)

    def delete_session(self, session_id: str) -> None:
        self.delete_sessions([session_id])

    def delete_sessions(self, session_ids: list[str]) -> int:
        """Remove many sessions in one write (housekeeping must not rewrite
        the file once per session)."""
        with lock_for(self.hot_path).held():
            present = self._sessions.get(doc_ids=list(dict.fromkeys(session_ids)))
            if not present:
                return 0
            return len(self._sessions.remove(doc_ids=[d.doc_id for d in present]))

    def all_sessions(self) -> list[Doc]:
        return [dict(doc) for doc in self._sessions.rows().values()]

    def sessions_for_user(self, user_id: str, *, statuses: tuple[str, ...] = ()) -> list[Doc]:
        found = [cast(Doc, clone(doc)) for doc in self._shared_sessions().values()
                 if isinstance(doc, dict) and doc.get("user") == user_id
                 and (not statuses or doc.get("status") in statuses)]
        found.sort(key=lambda doc: str(doc.get("updated_at") or ""), reverse=True)
        return found

    # -- claims and meta --------------------------------------------------
    def claim(self, key: str) -> bool:
        with lock_for(self.hot_path).held():
            if self._claims.contains(doc_id=key):  # type: ignore[arg-type]
                return False
            now = self.clock()
            if now >= self._next_prune:
                self._next_prune = now + PRUNE_EVERY
                self._claims.remove(Query().at < now - CLAIM_TTL)
            self._claims.insert(Document({"at": now}, doc_id=key))  # type: ignore[arg-type]
        return True

    def get_meta(self, key: str, default: Any = None) -> Any:
        doc = self._meta.get(doc_id=key)  # type: ignore[call-overload]  # string ids (HotTable)
        return default if doc is None else doc.get("value", default)

    def set_meta(self, key: str, value: Any) -> None:
        doc = {"value": clone(value)}
        with lock_for(self.meta_path).held():
            self._meta.put(key, doc)

    def update_meta(self, key: str, mutate: Callable[[Any], Any]) -> Any:
        with lock_for(self.meta_path).held():
            doc = self._meta.get(doc_id=key)  # type: ignore[call-overload]  # string ids (HotTable)
            current = clone(doc.get("value")) if doc is not None else None
            value = clone(mutate(clone(current)))
            if doc is None or value != current:  # no rewrite of the file for no change
                self._meta.put(key, {"value": value}, exists=doc is not None)
        return value

    def close_hot(self) -> None:
        self._hot_db.close()
        self._meta_db.close()
