"""One JSON data file with an in-memory copy that follows the disk.

Parsing (and decrypting) a file is the expensive part of a read, so the
parsed value is kept and reused until a ``stat`` shows the file was replaced,
by this process or another one. Writes go through :func:`write_atomic`.

A file may be saved compressed (zlib, before encryption: ciphertext does not
compress); reading tells the two apart by the first byte, ``x`` for zlib,
which no JSON text starts with, so files written either way read alike.
"""

from __future__ import annotations

import json
import os
import pickle
import zlib
from pathlib import Path
from typing import Any

from .base import StoreError
from .crypto import Cipher, seal, unseal
from .files import Snapshot, read_file, write_atomic


def encode(value: Any) -> bytes:
    """Compact UTF-8 JSON; refuses NaN so every file is standard JSON."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


# zlib's first byte with its default window; JSON never starts with "x".
ZLIB_MAGIC = b"x"
# Level 6 (zlib's default) packs a block of records to under a tenth in the
# time level 1 takes to reach a seventh (20 ms for 1.5 MB); 9 gains 2% for 70%
# more time.
ZLIB_LEVEL = 6


def compressed(text: bytes) -> bool:
    """Whether ``text`` (a file's bytes after decryption) is zlib data."""
    return text[:1] == ZLIB_MAGIC


def inflate(text: bytes, path: Path | str) -> bytes:
    """The JSON text of a compressed file; StoreError if it is damaged
    (zlib's checksum covers every byte, so one flipped is caught)."""
    inflater = zlib.decompressobj()
    try:
        plain = inflater.decompress(text)
    except zlib.error as exc:
        raise StoreError(f"{path} is damaged ({exc}); restore it from backup") from None
    if not inflater.eof or inflater.unused_data:
        raise StoreError(f"{path} is damaged (compressed data cut short or followed by "
                         "more); restore it from backup")
    return plain


def pack(value: Any, cipher: Cipher | None, *, compress: bool = False) -> bytes:
    """The file bytes for ``value``: JSON, compressed if asked, then sealed."""
    text = encode(value)
    return seal(zlib.compress(text, ZLIB_LEVEL) if compress else text, cipher)


def unpack_text(raw: bytes, cipher: Cipher | None, path: Path | str) -> bytes:
    """The JSON text held in file bytes ``raw`` (either form)."""
    text = unseal(raw, cipher, path)
    return inflate(text, path) if compressed(text) else text


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
        text = unpack_text(raw, self.cipher, self.path)
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

    def save(self, value: Any, *, hand_over: bool = False, compress: bool = False) -> None:
        """Write ``value`` atomically and remember it as the current version.

        With ``hand_over`` the caller promises never to change ``value`` again,
        so it is cached as is; otherwise a frozen image is cached. With
        ``compress`` the file is zlib-compressed (before any encryption).
        """
        data = pack(value, self.cipher, compress=compress)
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
