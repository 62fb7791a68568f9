"""The list index kept on disk between runs: ``records/index.json``.

Building the index means parsing every block (5 s at 50,000 records). The
file keeps, for each block, the block file's size and modification time
and the summary of each record in it with the ledger's digest of the write
it summarises, by column (so reading it back is the JSON parser's and the
interpreter's own loops, not Python code run for each record; nested
values such as ``delivery`` are kept as their JSON text, as the index
holds them), one line a block, each parsed only as the index takes it (so
the index is built in the background while the app serves, never holding
the interpreter long, nor the whole file parsed at once). At start-up a
block's summaries are taken from the file only if the block is still the
same file (size and time) and the ledger still names the same digest for
each of its records; any other block is read.
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
from itertools import compress
from pathlib import Path
from typing import Any

from .base import SUMMARY_FIELDS
from .crypto import Cipher, seal, unseal
from .files import write_atomic
from .seal import Sealer

log = logging.getLogger(__name__)

INDEX_NAME = "index.json"
# The same for the records whose delivery is not settled (the outbox's),
# with every block's key: small, so read at start-up before the index.
UNDELIVERED_NAME = "undelivered.json"
# Delivery states after which the outbox has nothing to post.
SETTLED = frozenset({"posted", "held"})
VERSION = 3
_ATOMIC = {str, int, float, bool, type(None)}
_ID_AT = SUMMARY_FIELDS.index("id")


@dataclass
class Block:
    """One block's summaries: the ledger digest of each record's last write,
    the :data:`SUMMARY_FIELDS` columns (values as the index freezes them)
    and each record's delivery state."""

    key: list[Any]
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


def _mac(sealer: Sealer, payload: bytes | memoryview) -> str:
    return sealer.mac("index", hashlib.sha256(payload).hexdigest())


class Cached:
    """The blocks a cache file describes, each parsed only when taken, so
    no one parse holds the interpreter for long (the index is built while
    the app serves) and only one block's values are ever held unparsed."""

    def __init__(self, text: bytes = b"", lines: dict[str, tuple[int, int]] | None = None
                 ) -> None:
        self._text = text
        self._lines = lines or {}

    def __len__(self) -> int:
        return len(self._lines)

    def __bool__(self) -> bool:
        return bool(self._lines)

    def pop(self, name: str) -> Block | None:
        """The block named ``name`` (taken out), or None if absent or damaged."""
        at = self._lines.pop(name, None)
        if at is None:
            return None
        try:
            return _block(json.loads(self._text[at[0]:at[1]]))
        except ValueError:
            return None


_OPEN = b'{"mac":"'
_HEAD = len(_OPEN) + 64  # then the MACed part, up to the end


def _header() -> bytes:
    """What follows the MAC, up to the first block's line."""
    return (b'","index":{"v":' + str(VERSION).encode("ascii") + b',"fields":'
            + json.dumps(list(SUMMARY_FIELDS), separators=(",", ":")).encode("ascii")
            + b',"blocks":{')


def load(path: Path, cipher: Cipher | None, sealer: Sealer) -> Cached:
    """The cached blocks, or nothing if the file is absent, damaged, of
    another version or key, or its MAC does not match.

    JSON, ``{"mac":…,"index":{"v":…,"fields":…,"blocks":{`` then one line
    a block, ``"<name>":<entry>,``, then ``}}}``; the MAC covers everything
    after its own value."""
    try:
        text = unseal(path.read_bytes(), cipher, path)
    except FileNotFoundError:
        return Cached()
    except Exception:  # noqa: BLE001 - any bad cache is only a rebuild
        log.warning("%s cannot be read: rebuilding the record index", path)
        return Cached()
    head = _header()
    first = text.find(b"\n")
    try:
        if not (text.startswith(_OPEN) and first == _HEAD + len(head)
                and text[_HEAD:first] == head and text.endswith(b"\n}}}")
                and hmac.compare_digest(text[len(_OPEN):_HEAD].decode("ascii"),
                                        _mac(sealer, memoryview(text)[_HEAD:]))):
            log.warning("%s does not match its MAC or version: rebuilding the record index",
                        path)
            return Cached()
    except ValueError:
        return Cached()
    lines: dict[str, tuple[int, int]] = {}
    at, stop = first + 1, len(text) - len(b"\n}}}")
    while at < stop:
        end = text.find(b"\n", at, stop)
        end = stop if end < 0 else end
        colon = text.find(b'":', at, end)
        if colon > at:
            try:
                name = json.loads(text[at:colon + 1])
            except ValueError:
                name = None
            if isinstance(name, str):
                last = end - 1 if text[end - 1:end] == b"," else end
                lines[name] = (colon + 2, last)
        at = end + 1
    return Cached(text, lines)


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


def unsettled(block: Block, seal: str) -> Block:
    """``block`` with only its records whose delivery is not settled, its
    key with ``seal`` (what stands for all its records' digests) added."""
    keep = [state not in SETTLED for state in block.states]
    return Block([*block.key, seal], list(compress(block.digests, keep)),
                 [list(compress(column, keep)) for column in block.columns],
                 list(compress(block.states, keep)))


def _encoded(column: list[Any]) -> Any:
    """A column as the file holds it: as it is, or, holding a nested value
    (bytes of JSON text), every value as JSON text."""
    if not any(type(v) is bytes for v in column):
        return column
    return {"json": [v.decode("ascii") if type(v) is bytes
                     else json.dumps(v, separators=(",", ":")) for v in column]}


def save(path: Path, blocks: Blocks, cipher: Cipher | None, sealer: Sealer) -> None:
    """Replace the file atomically; a failure only loses the cache."""
    body = b",\n".join(json.dumps(name).encode("ascii") + b":" + json.dumps(
        [b.key, b.digests, [_encoded(c) for c in b.columns], b.states],
        ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        for name, b in blocks.items())
    payload = _header() + b"\n" + body + b"\n}}}"
    data = seal(_OPEN + _mac(sealer, payload).encode("ascii") + payload, cipher)
    try:
        write_atomic(path, data)
    except OSError as exc:
        log.warning("record index not saved (%s): the next start reads every block", exc)
        with contextlib.suppress(OSError):
            path.unlink()
