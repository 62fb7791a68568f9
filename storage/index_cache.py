"""The list index kept on disk between runs: ``records/index.json``.

Building the index means parsing every block (5 s at 50,000 records). The
file keeps, for each block, the block file's size and modification time
and the summary of each record in it with the ledger's digest of the write
it summarises. At start-up a block's summaries are taken from the file only
if the block is still the same file (size and time) and the ledger still
names the same digest for each of its records; any other block is read.
So the file only ever saves reads: a stale, missing or damaged one costs a
rebuild, never a wrong list.

It holds child references, so it is encrypted like the blocks; with an
audit key it carries a MAC, so a hand-edited one is ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
from pathlib import Path
from typing import Any

from .base import SUMMARY_FIELDS
from .crypto import Cipher, seal, unseal
from .files import write_atomic
from .seal import Sealer

log = logging.getLogger(__name__)

INDEX_NAME = "index.json"
VERSION = 1

# rows of one block: [record id, ledger digest, *SUMMARY_FIELDS values]
Rows = list[list[Any]]
# block path relative to the records root -> ((size, mtime_ns), rows)
Blocks = dict[str, tuple[list[int], Rows]]


def block_key(st: os.stat_result) -> list[int]:
    """What must not change for a block's cached rows to stand. Not the
    inode: a copied or restored store keeps its times (``cp -p``), and the
    ledger digests catch a record rewritten since."""
    return [st.st_size, st.st_mtime_ns]


_HEAD = len(b'{"mac":"') + 64 + len(b'","index":')


def _mac(sealer: Sealer, payload: bytes) -> str:
    return sealer.mac("index", hashlib.sha256(payload).hexdigest())


def load(path: Path, cipher: Cipher | None, sealer: Sealer) -> Blocks:
    """The cached blocks, or nothing if the file is absent, damaged, of
    another version or key, or its MAC does not match."""
    try:
        raw = path.read_bytes()
        text = unseal(raw, cipher, path)
        # {"mac":"<64 hex>","index":<payload>}: JSON, and the payload's bytes
        # are where the MAC says.
        head, payload = text[:_HEAD], text[_HEAD:-1]
        mac = head[len(b'{"mac":"'):-len(b'","index":')]
        if not (head.startswith(b'{"mac":"') and head.endswith(b'","index":')
                and text.endswith(b"}")
                and hmac.compare_digest(mac.decode("ascii"), _mac(sealer, payload))):
            log.warning("%s does not match its MAC: rebuilding the record index", path)
            return {}
        value = json.loads(payload)
    except FileNotFoundError:
        return {}
    except Exception:  # noqa: BLE001 - any bad cache is only a rebuild
        log.warning("%s cannot be read: rebuilding the record index", path)
        return {}
    if not (isinstance(value, dict) and value.get("v") == VERSION
            and value.get("fields") == list(SUMMARY_FIELDS)
            and isinstance(value.get("blocks"), dict)):
        return {}
    blocks: Blocks = {}
    for name, entry in value["blocks"].items():
        if (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], list)
                and isinstance(entry[1], list)):
            blocks[name] = (entry[0], entry[1])
    return blocks


def save(path: Path, blocks: Blocks, cipher: Cipher | None, sealer: Sealer) -> None:
    """Replace the file atomically; a failure only loses the cache."""
    payload = json.dumps({"v": VERSION, "fields": list(SUMMARY_FIELDS),
                          "blocks": {name: [key, rows] for name, (key, rows) in blocks.items()}},
                         ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    data = seal(b'{"mac":"' + _mac(sealer, payload).encode("ascii") + b'","index":' + payload
                + b"}", cipher)
    try:
        write_atomic(path, data)
    except OSError as exc:
        log.warning("record index not saved (%s): the next start reads every block", exc)
        with contextlib.suppress(OSError):
            path.unlink()
