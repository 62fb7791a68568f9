"""Optional encryption at rest, with a key from ``JIGSAW_DATA_KEY``.

Fernet is authenticated (AES-CBC with an HMAC), so a wrong key or a damaged
file is detected rather than decoded into garbage. Any such failure is a
:class:`StoreError` raised while *reading*; nothing is ever written after a
failed read, so a wrong key cannot overwrite good data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from .base import StoreError

ENV_KEY = "JIGSAW_DATA_KEY"

# Every Fernet token starts with version byte 0x80, which base64 renders so.
_FERNET_PREFIX = b"gAAAAA"


def generate_key() -> str:
    """A new random key, as the text to put in ``JIGSAW_DATA_KEY``."""
    return Fernet.generate_key().decode("ascii")


class Cipher:
    """Encrypts and decrypts whole data files with one key."""

    def __init__(self, key: bytes | str) -> None:
        """Raises :class:`StoreError` if ``key`` is not a Fernet key."""
        raw = key.encode("ascii") if isinstance(key, str) else key
        try:
            self._fernet = Fernet(raw.strip())
        except (ValueError, TypeError) as exc:
            raise StoreError(
                f"{ENV_KEY} is not a valid key (expected 32 url-safe base64 bytes, "
                f"as made by storage.crypto.generate_key())"
            ) from exc
        # Lookups (a keyed hash of a value, to find rows by it without
        # storing it) use a key of their own, derived from the data key.
        self._lookup_key = hmac.new(base64.urlsafe_b64decode(raw.strip()),
                                    b"jigsaw lookup v1", hashlib.sha256).digest()

    def encrypt(self, plaintext: bytes) -> bytes:
        """The token to store on disk."""
        return self._fernet.encrypt(plaintext)

    def decrypt(self, token: bytes, path: Path | str) -> bytes:
        """The plaintext of a stored token; StoreError if it does not verify."""
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            raise StoreError(
                f"cannot decrypt {path}: wrong {ENV_KEY}? (or the file is damaged)"
            ) from None


    def encrypt_text(self, value: str) -> str:
        """``value`` encrypted, as text for a database column."""
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt_text(self, value: str, what: str) -> str:
        """The plaintext of :meth:`encrypt_text`; StoreError if it does not verify."""
        return self.decrypt(value.encode("ascii"), what).decode("utf-8")

    def lookup(self, field: str, value: str) -> str:
        """A keyed hash of ``value`` (NFKC, case-folded, trimmed) for finding
        rows by it: equal values give equal hashes, and without the data key
        the hash says nothing about the value."""
        norm = unicodedata.normalize("NFKC", value).strip().casefold()
        return hmac.new(self._lookup_key, f"{field}\0{norm}".encode(),
                        hashlib.sha256).hexdigest()


def is_encrypted_text(value: str | None) -> bool:
    """True if ``value`` is a token made by :meth:`Cipher.encrypt_text`."""
    return bool(value) and str(value).startswith(_FERNET_PREFIX.decode("ascii"))


def cipher_for(key: bytes | str | None) -> Cipher | None:
    """A :class:`Cipher` for ``key``, or None to store plaintext."""
    return None if key is None else Cipher(key)


def seal(plaintext: bytes, cipher: Cipher | None) -> bytes:
    """File bytes for ``plaintext``: encrypted when a cipher is configured."""
    return plaintext if cipher is None else cipher.encrypt(plaintext)


def unseal(raw: bytes, cipher: Cipher | None, path: Path | str) -> bytes:
    """The JSON text (or compressed JSON) held in file bytes ``raw``.

    Refuses to mix modes, so a missing or extra key is reported plainly
    instead of as a parse error (and never silently "fixed" by a write).
    """
    # Compressed files (see storage.jsonfile) start with zlib's 0x78.
    plain = raw.lstrip()[:1] in (b"{", b"[", b"x")
    if cipher is None:
        if not plain and raw.startswith(_FERNET_PREFIX):
            raise StoreError(f"{path} is encrypted: set {ENV_KEY} to read it")
        return raw
    if plain:
        raise StoreError(
            f"{path} is not encrypted but {ENV_KEY} is set: unset it, or migrate the data"
        )
    return cipher.decrypt(raw, path)
