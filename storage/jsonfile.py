"""One JSON data file with an in-memory copy that follows the disk.

Parsing (and decrypting) a file is the expensive part of a read, so the
parsed value is kept and reused until a ``stat`` shows the file was replaced,
by this process or another one. Writes go through :func:`write_atomic`.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

from .base import StoreError
from .crypto import Cipher, seal, unseal
from .files import Snapshot, read_file, write_atomic


def encode(value: Any) -> bytes:
    """Compact UTF-8 JSON; refuses NaN so every file is standard JSON."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def clone(value: Any) -> Any:
    """A deep copy exactly as a later read from disk would return it.

    Used on everything entering the store: it proves the value is JSON (so
    a bad value fails before any file is touched), turns tuples into lists,
    and detaches the caller's object from what the store caches.
    """
    return json.loads(encode(value))


class _Entry:
    """A cached version of the file: either a shared parsed value or a
    pickled image of it, whichever was produced first."""

    __slots__ = ("snapshot", "_value", "_image")

    def __init__(self, snapshot: Snapshot, value: Any = None, image: bytes | None = None) -> None:
        self.snapshot = snapshot
        self._value = value
        self._image = image

    def shared(self) -> Any:
        if self._value is None and self._image is not None:
            self._value = pickle.loads(self._image)
        return self._value

    def private(self) -> Any:
        # A pickle round trip copies JSON-shaped data about twice as fast as
        # json.loads and several times faster than copy.deepcopy.
        if self._image is None:
            self._image = pickle.dumps(self._value, protocol=pickle.HIGHEST_PROTOCOL)
        return pickle.loads(self._image)


class JSONFile:
    """A JSON document in a file, optionally encrypted, cached while unchanged.

    Reads need no lock: files are only ever replaced whole. Writers must hold
    the file's lock (see :mod:`storage.locking`) around read-modify-write.
    """

    # Files parsed since start-up, all instances together: how many reads
    # the cache saved is visible (to the benchmark and the tests).
    parses = 0

    def __init__(self, path: Path | str, cipher: Cipher | None = None) -> None:
        self.path = Path(path)
        self.cipher = cipher
        self._entry: _Entry | None = None

    def _current(self) -> _Entry | None:
        """The cache entry for what is on disk now, reading it if needed."""
        entry = self._entry
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._drop()
            return None
        if entry is not None and entry.snapshot.matches(st):
            return entry
        loaded = read_file(self.path)
        if loaded is None:
            self._drop()
            return None
        raw, snapshot = loaded
        if not raw.strip():
            self._drop()
            return None
        text = unseal(raw, self.cipher, self.path)
        JSONFile.parses += 1
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise StoreError(
                f"{self.path} is not valid JSON ({exc}); restore it from backup"
            ) from None
        fresh = _Entry(snapshot, value=value)
        self._replace(fresh)
        return fresh

    def load(self) -> Any:
        """The parsed content, or None if the file is missing or empty.

        The value is shared with the cache: treat it as read-only.
        """
        entry = self._current()
        return None if entry is None else entry.shared()

    def load_private(self) -> Any:
        """Like :meth:`load`, but a copy the caller may change freely."""
        entry = self._current()
        return None if entry is None else entry.private()

    def save(self, value: Any, *, hand_over: bool = False) -> None:
        """Write ``value`` atomically and remember it as the current version.

        With ``hand_over`` the caller promises never to change ``value`` again,
        so it is cached as is; otherwise a frozen image is cached.
        """
        data = seal(encode(value), self.cipher)
        image = None if hand_over else pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            snapshot = write_atomic(self.path, data)
        except BaseException:
            self._drop()
            raise
        self._replace(_Entry(snapshot, value=value if hand_over else None, image=image))

    def _replace(self, entry: _Entry) -> None:
        # The old snapshot is not released here: an index may still hold it,
        # and it must stay pinned for as long as anyone compares against it.
        self._entry = entry

    def _drop(self) -> None:
        self._entry = None

    def close(self) -> None:
        """Forget the cached copy and release its descriptor."""
        self._drop()
