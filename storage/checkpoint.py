"""A sealed checkpoint of the ledger as last read: ``<data>/ledger.checkpoint``.

Replaying 50,000 ledger lines at every start-up costs about a second. The
checkpoint keeps what the replay gave (:class:`~storage.ledger.LedgerState`)
with the length of the ledger it was read from and the SHA-256 of those
bytes, MACed with the audit key. At start-up the state is taken from it
only if the ledger still begins with exactly those bytes; the lines after
them are replayed as before. A missing, damaged, hand-edited or stale
checkpoint only costs a full replay, never a different state. The full
check of the chain (every line's number, link and MAC) stays in ``jigsaw
verify``.

It also keeps, for each block file, its size, modification time and how
many records it held when last counted, so the start-up count check reads
only the blocks changed since.

Ids, digests and counts only, never a child's details: plaintext, like the
ledger (and named so that re-encrypting the ``*.json`` files leaves it be).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from .files import write_atomic
from .seal import Sealer

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "ledger.checkpoint"
VERSION = 1
# Lines replayed at start-up beyond the checkpoint before a new one is written.
REPLAYED_ENOUGH = 1024

# block path relative to the records root -> [size, mtime_ns, records held]
Counted = dict[str, list[int]]


def prefix_digest(ledger: Path, length: int) -> str | None:
    """SHA-256 of the ledger's first ``length`` bytes, None if shorter."""
    h = hashlib.sha256()
    remaining = length
    try:
        with open(ledger, "rb") as f:
            while remaining:
                chunk = f.read(min(remaining, 1 << 20))
                if not chunk:
                    return None
                h.update(chunk)
                remaining -= len(chunk)
    except OSError:
        return None
    return h.hexdigest()


def _mac(sealer: Sealer, payload: bytes) -> str:
    return sealer.mac("checkpoint", hashlib.sha256(payload).hexdigest())


def save(path: Path, sealer: Sealer, *, offset: int, prefix: str, state: dict[str, Any],
         counted: Counted) -> None:
    """Replace the checkpoint atomically; a failure only loses it."""
    payload = json.dumps({"v": VERSION, "offset": offset, "prefix": prefix, "state": state,
                          "counted": counted},
                         separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    data = _mac(sealer, payload).encode("ascii") + b"\n" + payload
    try:
        write_atomic(path, data).release()
    except OSError as exc:
        log.warning("ledger checkpoint not saved (%s): the next start reads the whole "
                    "ledger", exc)


def load(path: Path, sealer: Sealer, ledger: Path) -> tuple[int, dict[str, Any], Counted] | None:
    """(offset, state, counted) if the checkpoint is sealed with this key
    and the ledger still begins with the bytes it was read from; else None."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    mac, _, payload = raw.partition(b"\n")
    try:
        if not sealer.same(mac.decode("ascii"), _mac(sealer, payload)):
            log.warning("%s does not match its MAC: reading the whole ledger", path)
            return None
        value = json.loads(payload)
    except ValueError:
        return None
    if not (isinstance(value, dict) and value.get("v") == VERSION
            and isinstance(value.get("offset"), int) and isinstance(value.get("state"), dict)
            and isinstance(value.get("counted"), dict)):
        return None
    offset = int(value["offset"])
    if offset <= 0 or prefix_digest(ledger, offset) != value.get("prefix"):
        return None
    return offset, value["state"], value["counted"]
