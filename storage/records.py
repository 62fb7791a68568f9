"""Decision records: one TinyDB database per block of 256 records.

Layout::

    records/2026/block-0000.json   ISD-2026-0001 .. ISD-2026-0256
    records/2026/block-0001.json   ISD-2026-0257 .. ISD-2026-0512

Each block file is a TinyDB database with one table, ``records``, keyed by
record id, kept through :class:`BlockStorage` (atomic replace, 0600,
optionally encrypted). Writing a record rewrites only its block, so a write
costs the same with 50 or 50,000 records stored.

Numbers given out per year are the ledger's (:mod:`storage.ledger`), which
gets a line (the record's id and the digest of its stored text) before every
write, so an id is never given out twice, whatever happens to a block. The
ledger is also how every process learns what another one changed: the list
index re-reads the records named in lines it has not seen.

A block is closed once every id in its range has been given out: nothing
is appended to it again, so it is stored compressed (see
:mod:`storage.jsonfile`; a tenth of the size) and the year's open block, which
every new record rewrites, is not. Reading takes either form.

Blocks written before this layout (``{"high": n, "records": {...}}``), or
before closed blocks were compressed, are rewritten once at start-up
(:func:`storage.integrity.open_checks`).

All writes hold one archive-wide lock: creating a record must see every
record to stay idempotent per session, and writes are rare next to clicks.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import json
import logging
import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Unpack, cast

from tinydb import TinyDB

from . import index_cache
from .atomic import AtomicJSONStorage
from .base import (
    SUMMARY_FIELDS,
    Doc,
    Mutator,
    NotFound,
    RecordFilters,
    RecordQuery,
    RecordSummary,
    StoreError,
)
from .checkpoint import Counted
from .crypto import Cipher, seal, unseal
from .files import fsync_dir, make_private_dirs, sweep_temp_files, write_atomic
from .hot import KeyedTable
from .index import Frozen, RecordIndex, format_record_id, parse_record_id
from .jsonfile import JSONFile, clone, encode
from .ledger import BLOCK_SIZE, Ledger, ranges
from .locking import lock_for
from .seal import Sealer, digest

# Block databases kept open (each with its parsed file) for get and update.
log = logging.getLogger(__name__)

# The DSL's inbox reads the newest records awaiting review, acknowledged and
# in follow-up: about ten blocks at 50,000 records, and a cache smaller than
# the blocks read in turn misses on every one (App Home 400 ms against 60).
CACHED_BLOCKS = 12
# Changed block files counted by reading them; beyond this the index counts.
READ_TO_COUNT = 16
TABLE = "records"
# The record about to be written, kept until its block holds it.
WRITE_AHEAD = "write-ahead.json"

_ID_AT = SUMMARY_FIELDS.index("id")
_BLOCK_NAME = re.compile(r"block-(\d{4,})\.json")
_YEAR_NAME = re.compile(r"\d{4}")
_CREATED_YEAR = re.compile(r"(\d{4})(?:-.*)?", re.DOTALL)


def mutated(old: Doc, mutate: Mutator, record_id: str) -> Doc:
    """``mutate`` applied to a private copy of a stored record: the caller's
    copy is never touched, and a record's id never changes."""
    doc = clone(old)
    result = mutate(doc)
    new: Doc = clone(doc if result is None else result)
    if new.get("id") != record_id:
        raise ValueError(f"mutate changed the id of record {record_id}")
    return new


def year_of(created_at: Any) -> int:
    """The year of an ISO-8601 ``created_at`` such as ``2026-11-25T13:40:00Z``."""
    match = _CREATED_YEAR.fullmatch(created_at) if isinstance(created_at, str) else None
    if match is not None:
        return int(match[1])
    raise ValueError(f"record needs created_at as an ISO-8601 string, got {created_at!r}")


class BlockStorage(AtomicJSONStorage):
    """:class:`AtomicJSONStorage` for a block: ``read`` gives each document
    as a fresh dict whose nested values are shared with the parsed file.

    TinyDB only ever replaces a document's top-level fields (``update``) or
    whole documents, so that is as deep as a write can reach; copying 256
    whole records on every read would cost more than the read itself.
    Documents must leave the store through :func:`clone`.

    ``closed`` tells from the records about to be written whether the block
    is closed, and so written compressed.
    """

    def __init__(self, path: str | Path, cipher: Cipher | None = None, *,
                 create_dirs: bool = True,
                 closed: Callable[[dict[str, Any]], bool] | None = None) -> None:
        super().__init__(path, cipher, create_dirs=create_dirs)
        self._closed = closed

    def read(self) -> dict[str, dict[str, Any]] | None:
        data = self.shared()
        if data is None:
            return None
        return {name: {k: dict(v) for k, v in table.items()} if name == TABLE else table
                for name, table in data.items()}

    def shared(self) -> dict[str, Any] | None:
        """The block as parsed, shared with the cache (read-only: clone what
        leaves the store), or None if the file is missing or empty."""
        parses = JSONFile.parses
        data = self._file.load()
        if not isinstance(data, dict) or not isinstance(data.get(TABLE), dict):
            if data is None:
                return None
            raise StoreError(f"{self.path} is not a records block; restore it from backup")
        if JSONFile.parses != parses:
            share_equal(data[TABLE])
            _settle_cached()
        return data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        make_private_dirs(self.path.parent)
        compress = self._closed is not None and self._closed(data.get(TABLE) or {})
        self._file.save(data, hand_over=True, compress=compress)
        _settle_cached()


# Distinct values of one field (and size) a block's records are compared with.
_SHARED_KINDS = 4
# Fields of a record that hold the same large value in many records.
SHARED_FIELDS = ("pack", "guidance_cited")


def share_equal(records: dict[str, Any]) -> None:
    """Make records of a block just parsed hold one object for each value of
    :data:`SHARED_FIELDS` identical in several (the same for every record of
    a guidance version: half of a parsed block). Identical means the same
    JSON text, not only equal (``1 == True``, or keys in another order).
    Nested values are shared with the cache already and never changed in
    place (see :class:`BlockStorage`), so this changes nothing a reader
    sees; a block kept parsed for the App Home takes 3 MB rather than 5."""
    seen: dict[str, list[list[Any]]] = {name: [] for name in SHARED_FIELDS}
    for record in records.values():
        if type(record) is not dict:
            continue
        for name, kinds in seen.items():
            value = record.get(name)
            if not value or (type(value) is not dict and type(value) is not list):
                continue
            text = None
            for kind in kinds:
                if kind[0] is value:
                    break
                if kind[0] == value:
                    if kind[1] is None:
                        kind[1] = _text(kind[0])
                    text = _text(value) if text is None else text
                    if kind[1] == text:
                        record[name] = kind[0]
                        break
            else:
                if len(kinds) < _SHARED_KINDS:
                    kinds.append([value, text])


def _settle_cached() -> None:
    """A block just parsed or written stays cached (up to
    :data:`CACHED_BLOCKS` of them): thousands of objects that every young
    collection would walk until they reached the old generation, in
    whichever thread happened to allocate next, often one answering Slack
    (pauses of 5 to 10 ms with full blocks). Move them there now, on the
    writer's or reader's own time."""
    gc.collect(1)


def _only(record: Doc, fields: tuple[str, ...]) -> Doc:
    """The record's ``fields`` it has (the whole record given none)."""
    return {f: record[f] for f in fields if f in record} if fields else record


class BlockDB(TinyDB):
    table_class = KeyedTable
    default_table_name = TABLE


def open_block(path: Path, cipher: Cipher | None,
               closed: Callable[[dict[str, Any]], bool] | None = None) -> BlockDB:
    return BlockDB(path, storage=BlockStorage, cipher=cipher, create_dirs=False,
                   closed=closed)


class Records:
    """The record methods of :class:`~storage.base.Store` over the blocks
    under ``records_root`` (see module docstring)."""

    def __init__(self, root: Path, cipher: Cipher | None, ledger: Ledger, sealer: Sealer
                 ) -> None:
        self.records_root = root
        self._cipher = cipher
        self._ledger = ledger
        self._sealer = sealer
        make_private_dirs(root)
        self._index: RecordIndex | None = None
        # Until the index is built: the records records/undelivered.json
        # names as not settled, with every block changed since read whole,
        # so the outbox and /health are answered at once (see warm_up).
        self._undelivered: RecordIndex | None = None
        self._building: threading.Thread | None = None
        # The index changed since records/index.json was last written.
        self._index_dirty = False
        self._index_lock = threading.RLock()
        self._block = functools.lru_cache(maxsize=CACHED_BLOCKS)(self._open)

    # -- files ------------------------------------------------------------
    def block_path(self, year: int, seq: int) -> Path:
        return self.records_root / str(year) / f"block-{(seq - 1) // BLOCK_SIZE:04d}.json"

    def _open(self, path: Path) -> KeyedTable:
        closed = functools.partial(self.is_closed, path)
        return open_block(path, self._cipher, closed).table(TABLE, cache_size=0)  # type: ignore[return-value]

    def is_closed(self, path: Path, records: dict[str, Any], high: int = 0) -> bool:
        """Whether the block at ``path`` is closed: the ledger (or ``high``,
        a count of ids known given out in its year) is past its last id, or
        it holds its last id. Ids are given out in order, and the ledger
        line goes before the block write, so the write that adds a block's
        last record already compresses it."""
        match = _BLOCK_NAME.fullmatch(path.name)
        if match is None or not _YEAR_NAME.fullmatch(path.parent.name):
            return False
        year, last = int(path.parent.name), (int(match[1]) + 1) * BLOCK_SIZE
        return (max(high, self._ledger.state.high(year)) >= last
                or format_record_id(year, last) in records)

    def _table_of(self, record_id: str) -> KeyedTable | None:
        parsed = parse_record_id(record_id)
        return None if parsed is None else self._block(self.block_path(*parsed))

    def blocks_on_disk(self) -> Iterator[tuple[Path, int, int]]:
        """(path, year, block number) of every block file, in order."""
        found = []
        for year_entry in _scan(self.records_root):
            if _YEAR_NAME.fullmatch(year_entry.name) and year_entry.is_dir():
                for entry in _scan(Path(year_entry.path)):
                    match = _BLOCK_NAME.fullmatch(entry.name)
                    if match:
                        found.append((Path(entry.path), int(year_entry.name), int(match[1])))
        return iter(sorted(found, key=lambda item: (item[1], item[2])))

    def read_block(self, path: Path) -> dict[str, Any] | None:
        """A block file's content as on disk now, privately (not cached);
        None if missing or empty. Blocks of the old layout come as they are."""
        data = JSONFile(path, self._cipher).load()
        if data is None:
            return None
        if not (isinstance(data, dict) and isinstance(data.get(TABLE), dict)):
            raise StoreError(f"{path} is not a records block; restore it from backup")
        return data

    def write_block(self, path: Path, records: dict[str, Doc], high: int = 0) -> None:
        """Replace a whole block (migration and sealing only; caller holds
        the lock and has the ledger in step, or gives its year's ``high``),
        compressed if it is closed."""
        closed = functools.partial(self.is_closed, path, high=high)
        BlockStorage(path, self._cipher, closed=closed).write({TABLE: records})
        with self._index_lock:
            self._index = self._undelivered = None

    def check_archive(self) -> None:
        """Read one block, so a wrong key or damaged file fails at startup:
        the smallest, as any one tells whether the key is right."""
        sizes = []
        for path, _, _ in self.blocks_on_disk():
            with contextlib.suppress(FileNotFoundError):
                sizes.append((os.stat(path).st_size, path))
        if sizes:
            self.read_block(min(sizes)[1])

    def sweep_archive(self) -> None:
        """Remove temporary files left by writers that crashed (the
        write-ahead copy's among them)."""
        if self.records_root.is_dir():
            sweep_temp_files(self.records_root)
        for year_entry in _scan(self.records_root):
            if year_entry.is_dir():
                sweep_temp_files(Path(year_entry.path))

    # -- index ------------------------------------------------------------
    def _synced(self) -> RecordIndex:
        """The index, brought up to date with every write the ledger shows
        (by any process). Costs one ``stat`` of the ledger when nothing
        changed; otherwise takes the archive lock (before the index lock,
        as writers do), so no write is seen half done."""
        index = self._index
        if index is not None and not self._ledger.changed and not self._ledger.behind():
            return index
        with lock_for(self.records_root).held():
            if self._index is None:
                # Built holding the archive lock (so no write is half seen)
                # but not the index lock, so the undelivered records are
                # answered meanwhile.
                self._ledger.catch_up()
                self._ledger.changed = set()
                built = self._build()
                with self._index_lock:
                    self._index, self._undelivered = built, None
                return built
            return self._apply_changed()

    def _apply_changed(self) -> RecordIndex:
        """Bring the built index in step with the ledger (caller holds the
        archive lock)."""
        with self._index_lock:
            self._ledger.catch_up()
            changed, self._ledger.changed = self._ledger.changed, set()
            index = self._index
            assert index is not None
            self._index_dirty = self._index_dirty or bool(changed)
            for record_id in changed:
                table = self._table_of(record_id)
                doc = None if table is None else table.get(doc_id=record_id)  # type: ignore[call-overload]
                if doc is None:
                    index.remove(record_id)
                else:
                    index.set(record_id, doc)
            return index

    @property
    def index_path(self) -> Path:
        return self.records_root / index_cache.INDEX_NAME

    @property
    def undelivered_path(self) -> Path:
        return self.records_root / index_cache.UNDELIVERED_NAME

    def warm_up(self) -> None:
        """Make the records the outbox has to post ready now, from
        ``records/undelivered.json`` and the blocks changed since it was
        written, and build the whole index in a background thread: a
        start-up with years of records serves at once. Queries other than
        the outbox's wait for the index."""
        with lock_for(self.records_root).held():
            if self._index is not None:
                return
            self._ledger.catch_up()
            # Without the file (a first start) the outbox waits for the index.
            small = self._build(self.undelivered_path, save=False) \
                if self.undelivered_path.exists() else None
            # Both indexes are built from the blocks as the ledger now says.
            self._ledger.changed = set()
            with self._index_lock:
                if self._index is None:
                    self._undelivered = small
        if self._building is None:
            self._building = threading.Thread(target=self._build_quietly,
                                              name="jigsaw-index", daemon=True)
            self._building.start()

    def _block_seal(self, year: int, number: int) -> str:
        """The ledger's digests of every record of a block, in one: a block
        whose records the file lists only some of is taken from it only if
        none of the others changed either."""
        docs, first = self._ledger.state.docs, number * BLOCK_SIZE + 1
        h = hashlib.sha256()
        for seq in range(first, first + BLOCK_SIZE):
            d = docs.get(format_record_id(year, seq))
            h.update(b"-" if d is None else d.encode("ascii"))
        return h.hexdigest()

    def _build_quietly(self) -> None:
        try:
            self._synced()
        except Exception:  # noqa: BLE001 - the first query builds it again, and says why
            log.exception("record index not built in the background")

    def index_built(self) -> bool:
        """Whether the whole index is built (queries no longer wait)."""
        return self._index is not None

    def _build(self, cache: Path | None = None, *, save: bool = True) -> RecordIndex:
        """The index, from ``records/index.json`` (or ``cache``) for every
        block it still describes (see :mod:`storage.index_cache`), reading
        the others; the file is rewritten if any block had to be read (and
        ``save``). Caller holds the archive lock, with the ledger caught up."""
        cached = index_cache.load(cache or self.index_path, self._cipher, self._sealer)
        blocks_cached = len(cached)
        digests = self._ledger.state.docs
        index = RecordIndex()
        read = 0
        names = set()
        for path, year, number in self.blocks_on_disk():
            name = f"{year}/{path.name}"
            try:
                key: list[Any] = index_cache.block_key(os.stat(path))
            except FileNotFoundError:
                continue
            if cache is not None:
                key = [*key, self._block_seal(year, number)]
            names.add(name)
            hit = cached.pop(name)
            if hit is not None and hit.key == key and list(map(digests.get, hit.ids)) == \
                    hit.digests:
                index.add_columns(hit.columns, hit.states)
                continue
            read += 1
            block = self.read_block(path)
            index.add_many(([doc.get(f) if f != "id" else record_id for f in SUMMARY_FIELDS]
                            for record_id, doc in (block or {}).get(TABLE, {}).items()
                            if isinstance(doc, dict)), sort=False)
        index.sort()
        if not save:
            return index
        self._index_dirty = bool(read) or bool(cached) or len(names) != blocks_cached
        if self._index_dirty or not self.undelivered_path.exists():
            self._save_index(index)
        return index

    def _save_index(self, index: RecordIndex) -> None:
        """Write ``records/index.json`` for ``index`` (caller holds the
        archive lock, with the index in step with the ledger)."""
        digests = self._ledger.state.docs
        states = index.delivery_states()
        rows: dict[str, tuple[list[int], list[Frozen]]] = {}
        for record_id, frozen in index.frozen_items():
            parsed = parse_record_id(record_id)
            if parsed is None:
                continue
            path = self.block_path(*parsed)
            name = f"{parsed[0]}/{path.name}"
            entry = rows.get(name)
            if entry is None:
                try:
                    key = index_cache.block_key(os.stat(path))
                except FileNotFoundError:
                    continue
                entry = rows[name] = (key, [])
            entry[1].append(frozen)
        blocks = {name: index_cache.Block(
            key, [digests.get(f[_ID_AT]) for f in held], [list(c) for c in zip(*held, strict=True)],
            [states.get(f[_ID_AT]) for f in held]) for name, (key, held) in rows.items()}
        index_cache.save(self.index_path, blocks, self._cipher, self._sealer)
        # Every block's key, with only its records the outbox may still
        # have to post: what warm_up reads.
        index_cache.save(self.undelivered_path, {name: index_cache.unsettled(
            block, self._block_seal(*_block_of(name))) for name, block in blocks.items()},
                         self._cipher, self._sealer)
        self._index_dirty = False

    def save_index(self) -> None:
        """Bring ``records/index.json`` up to date if the index changed."""
        if self._index is None or not (self._index_dirty or self._ledger.changed
                                       or self._ledger.behind()):
            return
        with lock_for(self.records_root).held(), self._index_lock:
            index = self._synced()
            if self._index_dirty:
                self._save_index(index)

    # -- records ----------------------------------------------------------
    def create_record(self, record: Doc) -> Doc:
        doc = clone(record)
        year = year_of(doc.get("created_at"))
        session_id = doc.get("session_id")
        with lock_for(self.records_root).held(), self._index_lock:
            index = self._synced()
            existing_id = index.by_session.get(session_id) if isinstance(session_id, str) \
                else None
            if existing_id is not None:
                existing = self.get_record(existing_id)
                if existing is not None:
                    return existing
            seq = max(index.high(year), self._ledger.state.high(year)) + 1
            record_id = format_record_id(year, seq)
            doc.pop("id", None)
            doc = {"id": record_id, **doc}
            self._sealer.seal_audit(record_id, doc.get("audit"), start=0)
            self._write("create", record_id, doc, exists=False)
        return cast(dict[str, Any], clone(doc))

    def _write(self, op: str, record_id: str, doc: Doc, *, exists: bool) -> None:
        """Keep the write ahead, log it, then write one record (caller holds
        the archive lock). A write that fails leaves every file as it was."""
        d = digest(_text(doc))
        self.write_ahead(record_id, d, doc)
        try:
            entry = self._ledger.append(op, id=record_id, d=d)
        except BaseException:
            self.clear_write_ahead()
            raise
        table = self._table_of(record_id)
        assert table is not None
        try:
            table.put(record_id, doc, exists=exists)
        except BaseException:
            if self._on_disk(record_id) != d:
                self._ledger.retract(entry)
                self.clear_write_ahead()
                raise
            # The block was replaced; only making that durable failed.
        self.clear_write_ahead()
        with self._index_lock:
            self._ledger.changed.discard(record_id)
            if self._index is not None:
                self._index.set(record_id, doc)
                self._index_dirty = True
            if self._undelivered is not None:
                self._undelivered.set(record_id, doc)

    # -- the write-ahead file ---------------------------------------------
    @property
    def write_ahead_path(self) -> Path:
        return self.records_root / WRITE_AHEAD

    def write_ahead(self, record_id: str, d: str, doc: Doc) -> None:
        """Keep the record about to be written (``d``: its digest), durably,
        before its ledger line: a crash between line and block then leaves
        what start-up needs to complete the write. Written atomically (a
        temporary file, fsync, rename, the directory fsynced), so the copy
        is whole or absent, and a link put in its place is replaced, never
        written through."""
        self._keep_ahead({"id": record_id, "d": d, "doc": doc})

    def _keep_ahead(self, value: Doc) -> None:
        try:
            write_atomic(self.write_ahead_path, seal(encode(value), self._cipher)).release()
        except BaseException:
            self.clear_write_ahead()
            raise

    def write_ahead_many(self, ds: dict[str, str], docs: dict[str, Doc]) -> None:
        """:meth:`write_ahead` for one write of many records."""
        self._keep_ahead({"ds": ds, "docs": docs})

    def clear_write_ahead(self) -> None:
        """The write is in its block (or never happened): nothing to
        complete. Not fsynced: a copy that comes back after a power cut
        names a write its block already holds."""
        with contextlib.suppress(OSError):
            os.unlink(self.write_ahead_path)

    def read_write_ahead(self) -> Doc | None:
        """The write-ahead copy ({"id", "d", "doc"}) if there is a whole one."""
        try:
            raw = self.write_ahead_path.read_bytes()
        except OSError:
            return None
        try:
            value = json.loads(unseal(raw, self._cipher, self.write_ahead_path))
        except (ValueError, StoreError):
            return None
        if not isinstance(value, dict):
            return None
        if isinstance(value.get("docs"), dict):  # many records (see write_ahead_many)
            return value
        return value if isinstance(value.get("doc"), dict) else None

    def _on_disk(self, record_id: str) -> str | None:
        """The digest of the record as its block file holds it now."""
        parsed = parse_record_id(record_id)
        if parsed is None:
            return None
        with contextlib.suppress(OSError, StoreError):
            block = self.read_block(self.block_path(*parsed))
            record = None if block is None else block[TABLE].get(record_id)
            return None if record is None else digest(_text(record))
        return None

    def get_record(self, record_id: str) -> Doc | None:
        table = self._table_of(record_id)
        found = None if table is None else table.get(doc_id=record_id)  # type: ignore[call-overload]
        return None if found is None else clone(found)

    def get_records(self, record_ids: list[str], fields: tuple[str, ...] = ()
                    ) -> list[Doc]:
        by_block: dict[Path, list[str]] = {}
        for record_id in record_ids:
            parsed = parse_record_id(record_id)
            if parsed is not None:
                by_block.setdefault(self.block_path(*parsed), []).append(record_id)
        found: dict[str, Doc] = {}
        for path, ids in by_block.items():
            # The block's parsed content, shared with the cache: only the
            # records wanted are copied, not the whole table (as a get does).
            storage = cast(BlockStorage, self._block(path).storage)
            data = storage.shared()
            table = {} if data is None else data[TABLE]
            for record_id in ids:
                if record_id in table:
                    found[record_id] = clone(_only(table[record_id], fields))
        return [found[i] for i in record_ids if i in found]

    def update_record(self, record_id: str, mutate: Mutator) -> Doc:
        table = self._table_of(record_id)
        if table is None:
            raise NotFound(record_id)
        with lock_for(self.records_root).held():
            old = table.get(doc_id=record_id)  # type: ignore[call-overload]
            if old is None:
                raise NotFound(record_id)
            new = mutated(old, mutate, record_id)
            if new == old:
                return new  # nothing changed: nothing to write or log
            audit = old.get("audit")
            self._sealer.seal_audit(record_id, new.get("audit"),
                                    start=len(audit) if isinstance(audit, list) else 0)
            self._write("update", record_id, new, exists=True)
        copy: Doc = clone(new)
        return copy

    def update_records(self, record_ids: list[str], mutate: Mutator) -> list[Doc]:
        """``mutate`` applied to each record, in one ledger line and one
        write a block (an export of thousands of records audited at once).
        Raises NotFound, writing nothing, if any record is absent."""
        ids = list(dict.fromkeys(record_ids))
        with lock_for(self.records_root).held():
            olds: dict[str, Doc] = {}
            for record_id in ids:
                table = self._table_of(record_id)
                old = None if table is None else table.get(doc_id=record_id)  # type: ignore[call-overload]
                if old is None:
                    raise NotFound(record_id)
                olds[record_id] = old
            news = {rid: mutated(old, mutate, rid) for rid, old in olds.items()}
            changed = {rid: new for rid, new in news.items() if new != olds[rid]}
            for rid, new in changed.items():
                audit = olds[rid].get("audit")
                self._sealer.seal_audit(rid, new.get("audit"),
                                        start=len(audit) if isinstance(audit, list) else 0)
            if changed:
                self._write_many(changed)
        return [cast(Doc, clone(news[rid])) for rid in ids]

    def _write_many(self, docs: dict[str, Doc]) -> None:
        """:meth:`_write` for many records: one write-ahead copy, one ledger
        line, then each block once. A block that fails puts back the blocks
        already written and takes the line back; if even that fails, the
        write-ahead copy stays for start-up to complete."""
        ds = {rid: digest(_text(doc)) for rid, doc in docs.items()}
        self.write_ahead_many(ds, docs)
        try:
            entry = self._ledger.append("updates", docs=ds)
        except BaseException:
            self.clear_write_ahead()
            raise
        by_block: dict[Path, dict[str, Doc]] = {}
        for rid, doc in docs.items():
            parsed = parse_record_id(rid)
            assert parsed is not None
            by_block.setdefault(self.block_path(*parsed), {})[rid] = doc
        written: list[tuple[Path, dict[str, Doc]]] = []
        try:
            for path, changed in by_block.items():
                before = self._put_block(path, changed)
                written.append((path, before))
        except BaseException:
            try:
                for path, before in written:
                    self._put_block(path, before)
            except BaseException:
                log.error("a failed write of %d records could not be put back: "
                          "start-up completes it", len(docs))
                raise
            self._ledger.retract(entry)
            self.clear_write_ahead()
            raise
        self.clear_write_ahead()
        with self._index_lock:
            self._ledger.changed.difference_update(docs)
            if self._index is not None:
                for rid, doc in docs.items():
                    self._index.set(rid, doc)
                self._index_dirty = True
            if self._undelivered is not None:
                for rid, doc in docs.items():
                    self._undelivered.set(rid, doc)

    def _put_block(self, path: Path, docs: dict[str, Doc]) -> dict[str, Doc]:
        """Replace some records of one block in one write; the old ones."""
        table = self._block(path)
        data = table.storage.read() or {}
        held = dict(data.get(TABLE) or {})
        before = {rid: held[rid] for rid in docs if rid in held}
        held.update(docs)
        table.storage.write({**data, TABLE: held})
        return before

    def delete_records(self, record_ids: list[str], *,
                       note: dict[str, Any] | None = None) -> int:
        """Remove records, logging the purge in the ledger first (with
        ``note``: who, why), so verify can tell it from a loss."""
        with lock_for(self.records_root).held():
            present = [rid for rid in dict.fromkeys(record_ids) if self._holds(rid)]
            if not present:
                return 0
            self._ledger.append("purge", ids=ranges(present), count=len(present),
                                **(note or {}))
            return self.remove_records(present)

    def _holds(self, record_id: str) -> bool:
        table = self._table_of(record_id)
        return table is not None and table.contains(doc_id=record_id)  # type: ignore[arg-type]

    def remove_records(self, record_ids: list[str]) -> int:
        """Take records out of their blocks, one write a block (caller holds
        the archive lock and has logged the purge). A block left empty is
        removed unless it is its year's last."""
        by_block: dict[Path, list[str]] = {}
        for record_id in record_ids:
            parsed = parse_record_id(record_id)
            if parsed is not None:
                by_block.setdefault(self.block_path(*parsed), []).append(record_id)
        removed = 0
        for path, listed in sorted(by_block.items()):
            table = self._block(path)
            doomed = [rid for rid in listed if table.contains(doc_id=rid)]  # type: ignore[arg-type]
            if not doomed:
                continue
            removed += len(table.remove(doc_ids=doomed))  # type: ignore[arg-type]
            if not len(table) and self._has_later_block(path):
                os.unlink(path)
                fsync_dir(path.parent)
        with self._index_lock:
            for index in (self._index, self._undelivered):
                if index is not None:
                    for record_id in record_ids:
                        index.remove(record_id)
            self._index_dirty = self._index_dirty or self._index is not None
            self._ledger.changed.difference_update(record_ids)
        return removed

    def _has_later_block(self, path: Path) -> bool:
        number = int(_BLOCK_NAME.fullmatch(path.name)[1])  # type: ignore[index]
        return any(int(m[1]) > number for e in _scan(path.parent)
                   if (m := _BLOCK_NAME.fullmatch(e.name)))

    def record_for_session(self, session_id: str) -> Doc | None:
        index = self._synced()
        with self._index_lock:
            record_id = index.by_session.get(session_id)
        return None if record_id is None else self.get_record(record_id)

    def list_records(self, **filters: Unpack[RecordFilters]) -> list[RecordSummary]:
        q = RecordQuery(**filters)
        if self._index is None and index_cache.SETTLED.issubset(q.delivery_state_not_in):
            # The outbox's question, before the index is built: answered
            # from the records not settled, unless another process wrote.
            with self._index_lock:
                small = self._undelivered
                if small is not None and self._index is None and not self._ledger.changed \
                        and not self._ledger.behind():
                    return small.query(q)  # type: ignore[return-value]
        index = self._synced()
        with self._index_lock:
            return index.query(RecordQuery(**filters))  # type: ignore[return-value]

    def count_records(self) -> int:
        index = self._synced()
        with self._index_lock:
            return len(index)

    def issued(self) -> dict[int, int]:
        """Year -> highest sequence given out (the ledger's count, or a
        stored id if that is higher)."""
        index = self._synced()
        with self._index_lock:
            highs = dict(self._ledger.state.highs)
            for year in index.years():
                highs[year] = max(highs.get(year, 0), index.high(year))
            return dict(sorted(highs.items()))

    def block_counts(self) -> dict[tuple[int, int], int]:
        """Records per (year, block number), from the index."""
        index = self._synced()
        with self._index_lock:
            ids = list(index.summaries)
        return dict(Counter((p[0], (p[1] - 1) // BLOCK_SIZE)
                            for p in map(parse_record_id, ids) if p))

    def counted_blocks(self) -> dict[tuple[int, int], int]:
        """Records per (year, block number) as the block files hold them:
        a block unchanged (size and time) since it was last counted keeps
        that count (:mod:`storage.checkpoint`); a changed one is read, or,
        if many changed, counted from the index."""
        with lock_for(self.records_root).held():
            self._ledger.catch_up()
            counted, counts = self._count_files(use_index=True)
            self._ledger.counted = counted
            return counts

    def _count_files(self, *, use_index: bool
                     ) -> tuple[Counted, dict[tuple[int, int], int]]:
        """(counted, counts) of the block files now (caller holds the archive
        lock). Without ``use_index``, changed blocks beyond
        :data:`READ_TO_COUNT` are left uncounted."""
        known = self._ledger.counted
        files: list[tuple[Path, int, int, str, list[int]]] = []
        for path, year, number in self.blocks_on_disk():
            try:
                key = index_cache.block_key(os.stat(path))
            except FileNotFoundError:
                continue
            files.append((path, year, number, f"{year}/{path.name}", key))
        changed = sum(1 for *_, name, key in files if (known.get(name) or [])[:2] != key)
        from_index = None
        if changed > READ_TO_COUNT and (use_index or self._index is not None):
            from_index = self.block_counts()
        counted: Counted = {}
        counts: dict[tuple[int, int], int] = {}
        for path, year, number, name, key in files:
            hit = known.get(name)
            if hit is not None and hit[:2] == key:
                held = hit[2]
            elif from_index is not None:
                held = from_index.get((year, number), 0)
            elif changed <= READ_TO_COUNT:
                held = len((self.read_block(path) or {}).get(TABLE, {}))
            else:
                continue
            counted[name] = [*key, held]
            counts[(year, number)] = held
        return counted, counts

    def save_checkpoint(self) -> None:
        """Write the ledger checkpoint with the block files' counts, if the
        ledger or the blocks changed since it was last written."""
        with lock_for(self.records_root).held():
            self._ledger.catch_up()
            self._ledger.counted, _ = self._count_files(use_index=False)
            self._ledger.save_checkpoint()

    def iter_records(self) -> Iterator[Doc]:
        """Every record, oldest first, each a private copy.

        Blocks are read privately (not through the cache) and dropped once
        all their records are out, so memory stays at a block or two.
        """
        index = self._synced()
        with self._index_lock:
            order = index.ids_oldest_first()
        paths = [self.block_path(*parse_record_id(rid)) for rid in order]  # type: ignore[misc]
        remaining = Counter(paths)
        open_blocks: dict[Path, dict[str, Any]] = {}
        for record_id, path in zip(order, paths, strict=True):
            records = open_blocks.get(path)
            if records is None:
                records = open_blocks[path] = (self.read_block(path) or {}).get(TABLE, {})
            remaining[path] -= 1
            if not remaining[path]:
                del open_blocks[path]
            found = records.get(record_id)
            if found is not None:
                yield found

    def close_archive(self) -> None:
        building, self._building = self._building, None
        if building is not None:
            building.join()
        try:
            self.save_index()
        except (OSError, StoreError) as exc:
            log.warning("record index not saved at close: %s", exc)
        try:
            self.save_checkpoint()
        except (OSError, StoreError) as exc:
            log.warning("ledger checkpoint not saved at close: %s", exc)
        self._block.cache_clear()
        with self._index_lock:
            self._index = self._undelivered = None


def _text(value: Any) -> str:
    """One value as the block file's JSON (see :func:`jsonfile.encode`)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _high(block: dict[str, Any]) -> int:
    """The block's counter (old layout), else its largest id."""
    high = block.get("high")
    if isinstance(high, int):
        return high
    seqs = [parsed[1] for rid in block[TABLE] if (parsed := parse_record_id(rid))]
    return max(seqs, default=0)


def _block_of(name: str) -> tuple[int, int]:
    """(year, block number) of a block named ``<year>/block-<n>.json``."""
    year, _, file = name.partition("/")
    match = _BLOCK_NAME.fullmatch(file)
    return (int(year), int(match[1])) if match and year.isdigit() else (0, -1)


def _scan(directory: Path) -> list[os.DirEntry[str]]:
    with contextlib.suppress(FileNotFoundError), os.scandir(directory) as entries:
        return list(entries)
    return []
