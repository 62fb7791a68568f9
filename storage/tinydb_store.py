"""The default :class:`~storage.base.Store`: files in one data directory.

::

    <data>/hot.json          sessions, claims, meta (TinyDB; small, per click)
    <data>/hot.json.lock
    <data>/records/<year>/block-<nnnn>.json   the archive, 256 records a block
    <data>/records.lock

Directories are 0700 and files 0600. With a key, every data file is
encrypted with Fernet; lock files hold nothing.
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


class TinyDBStore:
    """Embedded store for one school or trust (implements ``Store``).

    Safe to share between threads, and between processes using the same
    directory (the app, and CLI commands such as verify or purge).

    ``mutate`` callbacks run while a write lock is held: keep them pure and
    never call the store from inside one (two such calls in opposite orders
    on two threads would wait for each other forever).
    """

    def __init__(self, data_dir: str | Path, *, key: bytes | str | None = None) -> None:
        """Open (creating if needed) the store in ``data_dir``.

        ``key`` is a Fernet key (see :func:`storage.crypto.generate_key`);
        without one, files are plaintext. A wrong key, or a key that does not
        match how the files were written, raises StoreError here, before
        anything is written.
        """
        self.data_dir = Path(data_dir)
        # Absolute, so a later chdir cannot point the store elsewhere.
        root = self.data_dir.absolute()
        make_private_dirs(root)
        cipher = cipher_for(key)
        self.encrypted = cipher is not None
        sweep_temp_files(root)
        self._hot = HotStore(root / "hot.json", cipher)
        self._archive = Archive(root / "records", cipher)
        self._archive.sweep()
        self._hot.check()
        self._archive.check()

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

    def delete_records(self, record_ids: list[str]) -> int:
        return self._archive.delete(record_ids)

    def count_records(self) -> int:
        return self._archive.count()

    def issued(self) -> dict[int, int]:
        return self._archive.issued()

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
