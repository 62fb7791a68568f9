"""Storage for Jigsaw: the :class:`Store` interface and its TinyDB backend.

Open the configured store with :func:`open_store`; everything else in the
app should depend only on :class:`Store`.
"""

from __future__ import annotations

import os
from pathlib import Path

from .base import SUMMARY_FIELDS, NotFound, Store, StoreError
from .crypto import ENV_KEY, generate_key, key_from_env
from .tinydb_store import TinyDBStore

ENV_DATA_DIR = "JIGSAW_DATA_DIR"
DEFAULT_DATA_DIR = "./data"


def open_store(data_dir: str | Path | None = None) -> TinyDBStore:
    """The store in ``data_dir``, else ``$JIGSAW_DATA_DIR``, else ``./data``.

    Encrypted when ``JIGSAW_DATA_KEY`` holds a key. Raises StoreError if the
    key is malformed or does not open the existing files.
    """
    if data_dir is None:
        data_dir = os.environ.get(ENV_DATA_DIR, "").strip() or DEFAULT_DATA_DIR
    return TinyDBStore(data_dir, key=key_from_env())


__all__ = [
    "DEFAULT_DATA_DIR",
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
