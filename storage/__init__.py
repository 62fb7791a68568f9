"""Storage for Jigsaw: the :class:`Store` interface and its TinyDB backend.

Open the configured store with :func:`open_store`; everything else in the
app should depend only on :class:`Store`.
"""

from __future__ import annotations

import os
from pathlib import Path

from .base import SUMMARY_FIELDS, NotFound, Store, StoreError
from .crypto import ENV_KEY, generate_key, key_from_env
from .locking import DataDirInUse, DataDirLock
from .seal import ENV_AUDIT_KEY, ENV_AUDIT_KEY_FILE, audit_key_from_env, generate_audit_key
from .tinydb_store import TinyDBStore

ENV_DATA_DIR = "JIGSAW_DATA_DIR"
DEFAULT_DATA_DIR = "./data"


def open_store(data_dir: str | Path | None = None, *, strict: bool = True) -> TinyDBStore:
    """The store in ``data_dir``, else ``$JIGSAW_DATA_DIR``, else ``./data``.

    Encrypted when ``JIGSAW_DATA_KEY`` holds a key; sealed with the audit
    key from ``JIGSAW_AUDIT_KEY`` or ``JIGSAW_AUDIT_KEY_FILE``. Raises
    StoreError if a key is malformed or does not open the existing files, or
    if files the store needs are missing or empty.
    """
    if data_dir is None:
        data_dir = os.environ.get(ENV_DATA_DIR, "").strip() or DEFAULT_DATA_DIR
    key = key_from_env()
    return TinyDBStore(data_dir, key=key, audit_key=audit_key_from_env(data_dir),
                       strict=strict)


__all__ = [
    "DEFAULT_DATA_DIR",
    "ENV_AUDIT_KEY",
    "ENV_AUDIT_KEY_FILE",
    "DataDirInUse",
    "DataDirLock",
    "audit_key_from_env",
    "generate_audit_key",
    "ENV_DATA_DIR",
    "ENV_KEY",
    "SUMMARY_FIELDS",
    "NotFound",
    "Store",
    "StoreError",
    "TinyDBStore",
    "generate_key",
    "open_store",
]
