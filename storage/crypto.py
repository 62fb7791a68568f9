"""Optional encryption at rest, with a key from ``JIGSAW_DATA_KEY``.

Fernet is authenticated (AES-CBC with an HMAC), so a wrong key or a damaged
file is detected rather than decoded into garbage. Any such failure is a
:class:`StoreError` raised while *reading*; nothing is ever written after a
failed read, so a wrong key cannot overwrite good data.
"""

from __future__ import annotations

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


def cipher_for(key: bytes | str | None) -> Cipher | None:
    """A :class:`Cipher` for ``key``, or None to store plaintext."""
    return None if key is None else Cipher(key)


def seal(plaintext: bytes, cipher: Cipher | None) -> bytes:
    """File bytes for ``plaintext``: encrypted when a cipher is configured."""
    return plaintext if cipher is None else cipher.encrypt(plaintext)


def unseal(raw: bytes, cipher: Cipher | None, path: Path | str) -> bytes:
    """The JSON text held in file bytes ``raw``.

    Refuses to mix modes, so a missing or extra key is reported plainly
    instead of as a parse error (and never silently "fixed" by a write).
    """
    plain = raw.lstrip()[:1] in (b"{", b"[")
    if cipher is None:
        if not plain and raw.startswith(_FERNET_PREFIX):
            raise StoreError(f"{path} is encrypted: set {ENV_KEY} to read it")
        return raw
    if plain:
        raise StoreError(
            f"{path} is not encrypted but {ENV_KEY} is set: unset it, or migrate the data"
        )
    return cipher.decrypt(raw, path)
