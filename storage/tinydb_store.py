"""The default :class:`~storage.base.Store`: files in one data directory.

::

    <data>/hot.json          sessions, claims, meta (TinyDB; small, per click)
    <data>/hot.json.lock
    <data>/records/<year>/block-<nnnn>.json   the archive, 256 records a block
    <data>/records.lock
    <data>/ledger.jsonl       every archive change, keyed (see storage.ledger)
    <data>/app.lock           held by the one process serving this directory

Directories are 0700 and files 0600. With a key, every data file is
encrypted with Fernet; lock files hold nothing. The ledger holds only ids,
digests and times, and is sealed with the audit key instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .archive import Archive
from .base import Doc, Mutator
from .crypto import cipher_for
from .files import make_private_dirs, sweep_temp_files
from .hot import HotStore
from .integrity import Report, check_counts, open_checks, verify
from .ledger import LEDGER_NAME, Ledger
from .locking import lock_for
from .seal import Sealer


class TinyDBStore:
    """Embedded store for one school or trust (implements ``Store``).

    Safe to share between threads, and between processes using the same
    directory (the app, and CLI commands such as verify or purge).

    ``mutate`` callbacks run while a write lock is held: keep them pure and
    never call the store from inside one (two such calls in opposite orders
    on two threads would wait for each other forever).
    """

    def __init__(self, data_dir: str | Path, *, key: bytes | str | None = None,
                 audit_key: bytes | None = None, strict: bool = True) -> None:
        """Open (creating if needed) the store in ``data_dir``.

        ``key`` is a Fernet key (see :func:`storage.crypto.generate_key`);
        without one, files are plaintext. A wrong key, or a key that does not
        match how the files were written, raises StoreError here, before
        anything is written. ``audit_key`` seals the audit trail and the
        ledger (see :mod:`storage.seal`); a store sealed with one cannot be
        opened without it. Missing or emptied files are StoreError too,
        unless not ``strict`` (verify opens so, to report them all).
        """
        self.data_dir = Path(data_dir)
        # Absolute, so a later chdir cannot point the store elsewhere.
        root = self.data_dir.absolute()
        make_private_dirs(root)
        cipher = cipher_for(key)
        self.encrypted = cipher is not None
        sweep_temp_files(root)
        self._sealer = Sealer(audit_key)
        self.keyed = self._sealer.keyed
        self._hot = HotStore(root / "hot.json", cipher)
        self._ledger = Ledger(root / LEDGER_NAME, self._sealer)
        self._archive = Archive(root / "records", cipher, self._ledger, self._sealer)
        self._hot.on_alerts = self._log_alerts
        self._archive.sweep()
        self._hot.check()
        self._archive.check()
        open_checks(self, strict=strict)

    def __repr__(self) -> str:
        return f"TinyDBStore({str(self.data_dir)!r}, encrypted={self.encrypted})"

    # -- sessions (hot) ---------------------------------------------------
    def get_session(self, session_id: str) -> Doc | None:
        return self._hot.get_session(session_id)

    def save_session(self, session: Doc) -> None:
        self._hot.save_session(session)

    def update_session(self, session_id: str, mutate: Mutator) -> Doc:
        return self._hot.update_session(session_id, mutate)

    def sessions_for_user(self, user_id: str, *, statuses: tuple[str, ...] = ()) -> list[Doc]:
        return self._hot.sessions_for_user(user_id, statuses)

    def delete_sessions(self, session_ids: list[str]) -> int:
        return self._hot.delete_sessions(session_ids)

    def all_sessions(self) -> list[Doc]:
        return self._hot.all_sessions()

    def sessions_with_pending_events(self) -> list[Doc]:
        return self._hot.sessions_with_pending_events()

    def delete_session(self, session_id: str) -> None:
        self._hot.delete_session(session_id)

    # -- records (archive) ------------------------------------------------
    def create_record(self, record: Doc) -> Doc:
        return self._archive.create(record)

    def get_record(self, record_id: str) -> Doc | None:
        return self._archive.get(record_id)

    def record_for_session(self, session_id: str) -> Doc | None:
        return self._archive.for_session(session_id)

    def update_record(self, record_id: str, mutate: Mutator) -> Doc:
        return self._archive.update(record_id, mutate)

    def list_records(
        self,
        *,
        recorded_by: str | None = None,
        review_status: str | None = None,
        undelivered: bool = False,
        limit: int | None = None,
    ) -> list[Doc]:
        return self._archive.list(
            recorded_by=recorded_by,
            review_status=review_status,
            undelivered=undelivered,
            limit=limit,
        )

    def iter_records(self) -> Iterator[Doc]:
        return self._archive.iter()

    def delete_records(self, record_ids: list[str], *,
                       note: dict[str, Any] | None = None) -> int:
        return self._archive.delete(record_ids, note)

    def count_records(self) -> int:
        return self._archive.count()

    def issued(self) -> dict[int, int]:
        return self._archive.issued()

    # -- integrity ----------------------------------------------------------
    def _log_alerts(self, raised: list[str], sent: list[str]) -> None:
        with lock_for(self._archive.root).held():
            self._ledger.append("alert", raised=raised, sent=sent)

    def verify_integrity(self, check_record: Callable[[Doc], list[str]] | None = None,
                         anchor: tuple[int, str] | None = None) -> Report:
        """Every record against its keyed chain and the ledger, the ledger
        against its own chain and, given one, the anchor (line, MAC)."""
        return verify(self, check_record, anchor)

    def check_counts(self) -> None:
        """Refuse (StoreError) if a block holds fewer or more records than
        the ledger says; run once at start-up by the serving commands."""
        check_counts(self)

    def ledger_head(self) -> tuple[int, str, str]:
        """(number, MAC, time) of the ledger's last line: what is anchored."""
        with lock_for(self._archive.root).held():
            self._ledger.catch_up()
            state = self._ledger.state
            return state.n, state.mac, state.last_at

    def note_anchor(self, head: int, where: str) -> None:
        """Record in the ledger that its head ``head`` was anchored outside
        the store (``where``: the message ts)."""
        with lock_for(self._archive.root).held():
            self._ledger.append("anchor", head=head, ts=where)

    def purges(self) -> list[dict[str, Any]]:
        """Every purge in the ledger, oldest first (ids as runs)."""
        return [e for e in self._ledger.entries() if e.get("op") == "purge"]

    # -- idempotency and delivery state -----------------------------------
    def claim(self, key: str) -> bool:
        return self._hot.claim(key)

    def get_meta(self, key: str, default: Any = None) -> Any:
        return self._hot.get_meta(key, default)

    def set_meta(self, key: str, value: Any) -> None:
        self._hot.set_meta(key, value)

    def update_meta(self, key: str, mutate: Callable[[Any], Any]) -> Any:
        return self._hot.update_meta(key, mutate)

    def close(self) -> None:
        """Every write is already durable; this only drops caches and
        descriptors."""
        self._hot.close()
        self._archive.close()


__all__ = ["TinyDBStore"]
