"""The audit key, and the keyed MACs that make tampering evident.

SHA-256 alone proves nothing to someone who can write the data directory:
they can edit a record and recompute every hash. A MAC needs the key, and
the key is kept outside the data directory (``JIGSAW_AUDIT_KEY``, or a file
named by ``JIGSAW_AUDIT_KEY_FILE``), so a consistent rewrite without it is
detected.

Two things are sealed:

* each audit entry of a record gets ``mac`` = HMAC(key, record id, entry
  sequence, previous entry's MAC, entry hash): a chain per record that ties
  the entries to the record's id, so entries cannot be moved between
  records, reordered, or forged;
* every line of the ledger (:mod:`storage.ledger`).

Without a key the same code runs with a public key: the ledger and chain
still catch careless edits and accidents, but not a deliberate consistent
rewrite. ``jigsaw verify`` says so.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .base import StoreError

ENV_AUDIT_KEY = "JIGSAW_AUDIT_KEY"
ENV_AUDIT_KEY_FILE = "JIGSAW_AUDIT_KEY_FILE"
# Used when no key is configured. Public on purpose: it gives no protection
# against a deliberate rewrite, only the same checks with a known key.
UNKEYED = b"jigsaw-unkeyed-audit-seal"
MIN_KEY_CHARS = 32


def generate_audit_key() -> str:
    """A new random audit key (256 bits), as text for ``JIGSAW_AUDIT_KEY``."""
    return secrets.token_urlsafe(32)


def canonical(value: Any) -> bytes:
    """The one byte string a value is MACed and hashed as."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def digest(text: str) -> str:
    """Short content digest of a record's stored JSON text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class Sealer:
    """Computes and checks MACs with one audit key."""

    def __init__(self, key: bytes | None) -> None:
        self.keyed = key is not None
        self._key = key if key is not None else UNKEYED
        self.key_id = self.mac("key-id")[:16]

    def mac(self, *parts: Any) -> str:
        return hmac.new(self._key, canonical(list(parts)), hashlib.sha256).hexdigest()

    def entry_mac(self, record_id: str, entry: Mapping[str, Any], prev: str) -> str:
        return self.mac("audit", record_id, entry.get("seq"), prev, entry.get("hash"))

    def seal_audit(self, record_id: str, audit: Any, *, start: int) -> str:
        """Seal the entries from index ``start`` on (the ones being added) and
        return the record's tip (last MAC). Earlier entries are never
        (re)sealed, so an entry slipped in by hand stays unsealed."""
        if not isinstance(audit, list):
            return ""
        prev = ""
        for index, entry in enumerate(audit):
            if not isinstance(entry, dict):
                return prev
            if index >= start:
                entry["mac"] = self.entry_mac(record_id, entry, prev)
            prev = str(entry.get("mac", ""))
        return prev

    def check_audit(self, record_id: str, audit: Any) -> list[str]:
        """Problems with a record's keyed chain: each entry must carry the MAC
        of its own id, sequence, hash and the previous MAC."""
        if not isinstance(audit, list):
            return []
        problems = []
        prev = ""
        for index, entry in enumerate(audit, start=1):
            if not isinstance(entry, dict):
                problems.append(f"{record_id}: audit entry {index} is not an entry")
                break
            expected = self.entry_mac(record_id, entry, prev)
            if not hmac.compare_digest(str(entry.get("mac", "")), expected):
                problems.append(f"{record_id}: audit entry {index} is not sealed with the "
                                "audit key (forged, altered, reordered or moved)")
                break  # every later MAC depends on this one
            prev = expected
        return problems

    def same(self, a: str, b: str) -> bool:
        return hmac.compare_digest(a, b)


def key_file_inside(data_dir: Path | str, file_name: str) -> bool:
    """Whether a key file is in the data directory (or is it): whoever can
    rewrite the data could then read the key."""
    data = Path(data_dir).absolute().resolve()
    resolved = Path(file_name.strip()).expanduser().absolute().resolve()
    return resolved == data or data in resolved.parents


def load_audit_key(data_dir: Path | str, text: str = "", file_name: str = ""
                   ) -> bytes | None:
    """The audit key given as ``text`` (``JIGSAW_AUDIT_KEY``) or read from
    ``file_name`` (``JIGSAW_AUDIT_KEY_FILE``); None when neither is set.

    A key file inside the data directory is refused: whoever can rewrite the
    data could then read the key and reseal their edits.
    """
    text = text.strip()
    source = ENV_AUDIT_KEY
    file_name = file_name.strip()
    if not text and file_name:
        key_path = Path(file_name).expanduser()
        if key_file_inside(data_dir, file_name):
            raise StoreError(f"{ENV_AUDIT_KEY_FILE} points inside the data directory; "
                             "keep the audit key somewhere the data's writers cannot read")
        try:
            text = key_path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise StoreError(f"cannot read {ENV_AUDIT_KEY_FILE} {key_path}: "
                             f"{exc.strerror}") from None
        source = f"{ENV_AUDIT_KEY_FILE} {key_path}"
    if not text:
        return None
    if len(text) < MIN_KEY_CHARS:
        raise StoreError(f"{source} is too short to be an audit key "
                         "(make one with `jigsaw keygen --audit`)")
    return text.encode("utf-8")
