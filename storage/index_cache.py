"""The list index kept on disk between runs: ``records/index.json``.

Building the index means parsing every block (5 s at 50,000 records). The
file keeps, for each block, the block file's size and modification time
and the summary of each record in it with the ledger's digest of the write
it summarises, by column (so reading it back is the JSON parser's and the
interpreter's own loops, not Python code run for each record; nested
values such as ``delivery`` are kept as their JSON text, as the index
holds them). At start-up a block's summaries are taken from the file only
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .base import SUMMARY_FIELDS
from .crypto import Cipher, seal, unseal
from .files import write_atomic
from .seal import Sealer

log = logging.getLogger(__name__)

INDEX_NAME = "index.json"
VERSION = 2
_ATOMIC = {str, int, float, bool, type(None)}
_ID_AT = SUMMARY_FIELDS.index("id")


@dataclass
class Block:
    """One block's summaries: the ledger digest of each record's last write,
    the :data:`SUMMARY_FIELDS` columns (values as the index freezes them)
    and each record's delivery state."""

    key: list[int]
    digests: list[Any]
    columns: list[list[Any]]
    states: list[Any]

    @property
    def ids(self) -> list[Any]:
        return self.columns[_ID_AT]


# block path relative to the records root -> its summaries
Blocks = dict[str, Block]


def block_key(st: os.stat_result) -> list[int]:
    """What must not change for a block's cached rows to stand. Not the
    inode: a copied or restored store keeps its times (``cp -p``), and the
    ledger digests catch a record rewritten since."""
    return [st.st_size, st.st_mtime_ns]


_HEAD = len(b'{"mac":"') + 64 + len(b'","index":')


def _mac(sealer: Sealer, payload: bytes | memoryview) -> str:
    return sealer.mac("index", hashlib.sha256(payload).hexdigest())


def load(path: Path, cipher: Cipher | None, sealer: Sealer) -> Blocks:
    """The cached blocks, or nothing if the file is absent, damaged, of
    another version or key, or its MAC does not match."""
    try:
        text = unseal(path.read_bytes(), cipher, path)
        # {"mac":"<64 hex>","index":<payload>}: JSON, and the payload's bytes
        # are where the MAC says (hashed in place: no copy of a large file).
        head = text[:_HEAD]
        mac = head[len(b'{"mac":"'):-len(b'","index":')]
        if not (head.startswith(b'{"mac":"') and head.endswith(b'","index":')
                and text.endswith(b"}")
                and hmac.compare_digest(mac.decode("ascii"),
                                        _mac(sealer, memoryview(text)[_HEAD:-1]))):
            log.warning("%s does not match its MAC: rebuilding the record index", path)
            return {}
        whole = json.loads(text)
        del text
        value = whole["index"] if isinstance(whole, dict) else None
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
        block = _block(entry)
        if block is not None:
            blocks[name] = block
    return blocks


def _block(entry: Any) -> Block | None:
    """A block's entry as written by :func:`save`, or None if it is not one."""
    if not (isinstance(entry, list) and len(entry) == 4 and isinstance(entry[0], list)
            and all(isinstance(e, list) for e in (entry[1], entry[3]))
            and isinstance(entry[2], list) and len(entry[2]) == len(SUMMARY_FIELDS)):
        return None
    key, digests, encoded, states = entry
    n = len(digests)
    columns: list[list[Any]] = []
    for column in encoded:
        if isinstance(column, dict):
            texts = column.get("json")
            if not (isinstance(texts, list) and len(texts) == n
                    and set(map(type, texts)) <= {str}):
                return None
            try:
                columns.append([text.encode("ascii") for text in texts])
            except UnicodeEncodeError:
                return None
        elif isinstance(column, list) and len(column) == n and set(map(type, column)) <= _ATOMIC:
            columns.append(column)
        else:
            return None
    if not (len(states) == n and set(map(type, states)) <= {str, type(None)}
            and set(map(type, columns[_ID_AT])) <= {str}):
        return None
    return Block(key, digests, columns, states)


def _encoded(column: list[Any]) -> Any:
    """A column as the file holds it: as it is, or, holding a nested value
    (bytes of JSON text), every value as JSON text."""
    if not any(type(v) is bytes for v in column):
        return column
    return {"json": [v.decode("ascii") if type(v) is bytes
                     else json.dumps(v, separators=(",", ":")) for v in column]}


def save(path: Path, blocks: Blocks, cipher: Cipher | None, sealer: Sealer) -> None:
    """Replace the file atomically; a failure only loses the cache."""
    payload = json.dumps({"v": VERSION, "fields": list(SUMMARY_FIELDS),
                          "blocks": {name: [b.key, b.digests, [_encoded(c) for c in b.columns],
                                            b.states] for name, b in blocks.items()}},
                         ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    data = seal(b'{"mac":"' + _mac(sealer, payload).encode("ascii") + b'","index":' + payload
                + b"}", cipher)
    try:
        write_atomic(path, data)
    except OSError as exc:
        log.warning("record index not saved (%s): the next start reads every block", exc)
        with contextlib.suppress(OSError):
            path.unlink()
