"""Storage for Jigsaw: the :class:`Store` interface and its TinyDB backend.

Open the configured store with :func:`open_store`; everything else in the
app should depend only on :class:`Store`.
"""

from __future__ import annotations

from pathlib import Path

from .base import (
    SUMMARY_FIELDS,
    Delivery,
    NotFound,
    RecordSummary,
    SessionEvent,
    Store,
    StoreError,
)
from .crypto import ENV_KEY, generate_key
from .locking import DataDirInUse, DataDirLock
from .seal import ENV_AUDIT_KEY, ENV_AUDIT_KEY_FILE, generate_audit_key, load_audit_key
from .tinydb_store import TinyDBStore


def open_store(data_dir: str | Path, *, key: str = "", audit_key: str = "",
               audit_key_file: str = "", strict: bool = True, database_url: str = "",
               school: str = "") -> Store:
    """The store in ``data_dir``: encrypted with ``key`` (``JIGSAW_DATA_KEY``)
    when given, sealed with ``audit_key`` or the key in ``audit_key_file``.

    Raises StoreError if a key is malformed or does not open the existing
    files, or if files the store needs are missing or empty.

    Given a ``postgresql://`` ``database_url`` instead, the store is school
    ``school``'s in that database (see :mod:`storage.postgres`), with the
    same keys; ``data_dir`` then only matters for refusing an audit key file
    kept inside it.
    """
    sealing = load_audit_key(data_dir, audit_key, audit_key_file)
    key_bytes = key.encode("ascii") if key else None
    if database_url:
        from .postgres import DEFAULT_SCHOOL, Database, PostgresStore

        db = Database(database_url, key=key_bytes, audit_key=sealing)
        try:
            db.store(school or DEFAULT_SCHOOL)
        except BaseException:
            db.close()
            raise
        return PostgresStore(db, school or DEFAULT_SCHOOL, owns_db=True)
    from .rotate import rotating_copy

    if not Path(data_dir).exists() and rotating_copy(Path(data_dir).absolute()).exists():
        raise StoreError(f"{data_dir} is missing but a key rotation's new copy is beside it: "
                         "run `jigsaw rotate-key` again to finish it")
    try:
        return TinyDBStore(data_dir, key=key_bytes, audit_key=sealing, strict=strict,
                           school=school)
    except OSError as exc:  # e.g. ledger.jsonl made a directory, a file not readable
        where = exc.filename or data_dir
        what = "is a directory, not a file" if isinstance(exc, IsADirectoryError) else (
            exc.strerror or type(exc).__name__)
        raise StoreError(f"cannot open the store in {data_dir}: {where} {what}") from None


__all__ = [
    "ENV_AUDIT_KEY",
    "ENV_AUDIT_KEY_FILE",
    "DataDirInUse",
    "Delivery",
    "RecordSummary",
    "SessionEvent",
    "DataDirLock",
    "generate_audit_key",
    "load_audit_key",
    "ENV_KEY",
    "SUMMARY_FIELDS",
    "NotFound",
    "Store",
    "StoreError",
    "TinyDBStore",
    "generate_key",
    "open_store",
]
