"""A TinyDB storage that never leaves a torn file and can encrypt at rest.

TinyDB's own ``JSONStorage`` rewrites the file in place, so a crash mid-write
can leave half a file, and it re-parses the whole file on every read. This
storage writes a temporary file and renames it over the target, and keeps
the parsed data until the file changes on disk.

Usage::

    TinyDB("hot.json", storage=AtomicJSONStorage, cipher=cipher_for(key))

It does not lock: wrap each read-modify-write in :func:`storage.locking.lock_for`
when more than one thread or process may write the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tinydb.storages import Storage

from .crypto import Cipher
from .files import make_private_dirs
from .jsonfile import JSONFile


class AtomicJSONStorage(Storage):
    """JSON file storage with atomic replace, 0600 files and optional Fernet."""

    def __init__(self, path: str | Path, cipher: Cipher | None = None, *,
                 create_dirs: bool = True) -> None:
        """Use ``path``; its directory is created 0700 if missing (with
        ``create_dirs``; otherwise the subclass makes it when writing)."""
        super().__init__()
        self.path = Path(path)
        if create_dirs:
            make_private_dirs(self.path.parent)
        self._file = JSONFile(self.path, cipher)

    def read(self) -> dict[str, dict[str, Any]] | None:
        """The whole database, or None when the file is missing or empty.

        Returns a private copy: TinyDB edits what it reads before writing it
        back, and a failed edit must not leak into the cache.
        """
        data: dict[str, dict[str, Any]] | None = self._file.load_private()
        return data

    def shared(self) -> dict[str, dict[str, Any]] | None:
        """The whole database as cached, shared: read-only, for a reader
        that copies only the documents it returns."""
        data: dict[str, dict[str, Any]] | None = self._file.load()
        return data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        """Replace the file with ``data`` (atomic and durable)."""
        self._file.save(data)

    def close(self) -> None:
        """Drop the cached data and any descriptor it pins."""
        self._file.close()
