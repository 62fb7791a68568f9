"""The archive of submitted decision records, in blocks of 256.

Layout::

    records/2026/block-0000.json   ISD-2026-0001 .. ISD-2026-0256
    records/2026/block-0001.json   ISD-2026-0257 .. ISD-2026-0512

A block file is ``{"high": <last sequence given out in it>, "records":
{id: record}}``. Writing a record rewrites only its block, so a write costs
the same with 50 or 50,000 records stored.

The per-year counter lives in the blocks themselves and in the ledger
(:mod:`storage.ledger`): the next sequence is one more than the highest of
the two, so a block emptied or deleted by hand never makes an id be given out
again. A purge keeps the year's last block file (even when empty).

Every write appends a ledger line first (the record's id and the digest of
its stored text), and seals new audit entries with the audit key
(:mod:`storage.seal`).

All writes hold one archive-wide lock: creating a record must see every block
to stay idempotent per session, and writes are rare next to clicks.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .base import Doc, Mutator, NotFound, StoreError
from .crypto import Cipher
from .files import Snapshot, fsync_dir, make_private_dirs, sweep_temp_files
from .index import RecordIndex, format_record_id, parse_record_id
from .jsonfile import JSONFile, clone
from .ledger import Ledger, ranges
from .locking import lock_for
from .seal import Sealer, digest

BLOCK_SIZE = 256
# Parsed blocks kept in memory for get/update; the index holds the rest.
CACHED_BLOCKS = 8

_BLOCK_NAME = re.compile(r"block-(\d{4,})\.json")
_YEAR_NAME = re.compile(r"\d{4}")
_CREATED_YEAR = re.compile(r"(\d{4})(?:-.*)?", re.DOTALL)


def year_of(created_at: Any) -> int:
    """The year of an ISO-8601 ``created_at`` such as ``2026-11-25T13:40:00Z``."""
    match = _CREATED_YEAR.fullmatch(created_at) if isinstance(created_at, str) else None
    if match is not None:
        return int(match[1])
    raise ValueError(f"record needs created_at as an ISO-8601 string, got {created_at!r}")


class Archive:
    """Decision records under ``root`` (see module docstring)."""

    def __init__(self, root: Path, cipher: Cipher | None, ledger: Ledger, sealer: Sealer
                 ) -> None:
        self.root = root
        self._cipher = cipher
        self.ledger = ledger
        self.sealer = sealer
        make_private_dirs(root)
        self._index = RecordIndex()
        self._index_lock = threading.RLock()
        self._files: OrderedDict[str, JSONFile] = OrderedDict()
        self._files_lock = threading.Lock()
        # Each recently written block's records as JSON text, with the version
        # they belong to: rewriting a block then encodes only what changed,
        # not 256 records in one long call that holds the interpreter lock
        # while Slack waits for an ack.
        self._texts: OrderedDict[str, tuple[Snapshot, dict[str, str]]] = OrderedDict()
        # Every write, by any process, bumps this counter; list views skip
        # the stat of every block file while it is unchanged.
        self._generation_file = root / "generation"
        self._listed: str | None = None

    # -- files ------------------------------------------------------------
    def block_path(self, year: int, seq: int) -> Path:
        return self.root / str(year) / f"block-{(seq - 1) // BLOCK_SIZE:04d}.json"

    def _file(self, path: Path) -> JSONFile:
        """The cached handle for a block (least recently used ones dropped)."""
        key = str(path)
        with self._files_lock:
            found = self._files.get(key)
            if found is not None:
                self._files.move_to_end(key)
                return found
            found = self._files[key] = JSONFile(path, self._cipher)
            while len(self._files) > CACHED_BLOCKS:
                self._files.popitem(last=False)
            return found

    def _load(self, jf: JSONFile) -> tuple[dict[str, Any], Snapshot] | None:
        """(block, snapshot) as on disk now, shared with the cache."""
        current = jf.current()
        if current is None:
            return None
        block, snapshot = current
        if not (isinstance(block, dict) and isinstance(block.get("records"), dict)):
            raise StoreError(f"{jf.path} is not an archive block; restore it from backup")
        return block, snapshot

    def _block_files(self) -> Iterator[tuple[str, int, int, os.DirEntry[str]]]:
        """(path, year, block number, entry) for every block file on disk."""
        for year_entry in _scan(self.root):
            if not (_YEAR_NAME.fullmatch(year_entry.name) and year_entry.is_dir()):
                continue
            year = int(year_entry.name)
            for entry in _scan(Path(year_entry.path)):
                match = _BLOCK_NAME.fullmatch(entry.name)
                if match:
                    yield entry.path, year, int(match[1]), entry

    def check(self) -> None:
        """Read one block, so a wrong key or damaged file fails at startup."""
        for path, _, _, _ in self._block_files():
            self._load(JSONFile(path, self._cipher))
            return

    def sweep(self) -> None:
        """Remove temporary files left by writers that crashed."""
        for year_entry in _scan(self.root):
            if year_entry.is_dir():
                sweep_temp_files(Path(year_entry.path))

    # -- index ------------------------------------------------------------
    def _refresh(self) -> None:
        """Bring the index up to date, re-reading only changed blocks.

        Costs one ``stat`` per block file when nothing changed. Caller holds
        the index lock.
        """
        index = self._index
        seen: set[str] = set()
        for path, year, number, entry in self._block_files():
            seen.add(path)
            known = index.blocks.get(path)
            try:
                if known is not None and known.snapshot.matches(entry.stat()):
                    continue
            except FileNotFoundError:
                continue
            loaded = self._load(self._file(Path(path)))
            if loaded is None:
                index.drop_block(path)
                continue
            block, snapshot = loaded
            index.set_block(
                path,
                snapshot,
                year=year,
                number=number,
                high=_high(block),
                records=block["records"],
            )
        for gone in index.blocks.keys() - seen:
            index.drop_block(gone)

    def _reindex_written(
        self,
        path: Path,
        number: int,
        previous: Snapshot | None,
        block: dict[str, Any],
        snapshot: Snapshot,
        changed: set[str],
    ) -> None:
        """Tell the index about a block this process just wrote.

        When the index held exactly the version we replaced, only the changed
        records are re-summarised; otherwise the whole block is compared.
        """
        with self._index_lock:
            known = self._index.blocks.get(str(path))
            exact = known is not None and previous is not None and known.snapshot is previous
            self._index.set_block(
                str(path),
                snapshot,
                year=int(path.parent.name),
                number=number,
                high=_high(block),
                records=block["records"],
                only=changed if exact else None,
            )

    # -- records ----------------------------------------------------------
    def create(self, record: Doc) -> Doc:
        doc = clone(record)
        year = year_of(doc.get("created_at"))
        session_id = doc.get("session_id")
        with lock_for(self.root).held(), self._index_lock:
            self._refresh()
            existing_id = (
                self._index.by_session.get(session_id) if isinstance(session_id, str) else None
            )
            if existing_id is not None:
                existing = self.get(existing_id)
                if existing is not None:
                    return existing
            self.ledger.catch_up()
            seq = max(self._index.high(year), self.ledger.state.high(year)) + 1
            record_id = format_record_id(year, seq)
            path = self.block_path(year, seq)
            make_private_dirs(path.parent)
            jf = self._file(path)
            loaded = self._load(jf)
            previous = None if loaded is None else loaded[1]
            records = {} if loaded is None else dict(loaded[0]["records"])
            doc.pop("id", None)
            doc = {"id": record_id, **doc}
            self.sealer.seal_audit(record_id, doc.get("audit"), start=0)
            records[record_id] = doc
            block = {"high": seq, "records": records}
            self._save(jf, path, block, previous, {record_id}, written=("create", record_id))
        return clone(doc)

    def get(self, record_id: str) -> Doc | None:
        parsed = parse_record_id(record_id)
        if parsed is None:
            return None
        loaded = self._load(self._file(self.block_path(*parsed)))
        if loaded is None:
            return None
        found = loaded[0]["records"].get(record_id)
        return None if found is None else clone(found)

    def update(self, record_id: str, mutate: Mutator) -> Doc:
        parsed = parse_record_id(record_id)
        if parsed is None:
            raise NotFound(record_id)
        path = self.block_path(*parsed)
        with lock_for(self.root).held():
            jf = self._file(path)
            loaded = self._load(jf)
            if loaded is None or record_id not in loaded[0]["records"]:
                raise NotFound(record_id)
            current, previous = loaded
            old = current["records"][record_id]
            doc = clone(old)
            result = mutate(doc)
            new = clone(doc if result is None else result)
            if new.get("id") != record_id:
                raise ValueError(f"mutate changed the id of record {record_id}")
            if new == old:
                return clone(new)  # nothing changed: nothing to write or log
            sealed = len(old.get("audit") or ()) if isinstance(old.get("audit"), list) else 0
            self.sealer.seal_audit(record_id, new.get("audit"), start=sealed)
            records = dict(current["records"])
            records[record_id] = new
            block = {"high": _high(current), "records": records}
            self._save(jf, path, block, previous, {record_id}, written=("update", record_id))
        return clone(new)

    def delete(self, record_ids: list[str], note: dict[str, Any] | None = None) -> int:
        """Remove records, logging the purge in the ledger first (with
        ``note``: who, why), so verify can tell it from a loss."""
        with lock_for(self.root).held():
            present = [rid for rid in dict.fromkeys(record_ids) if self._holds(rid)]
            if not present:
                return 0
            self.ledger.append("purge", ids=ranges(present), count=len(present),
                               **(note or {}))
            return self._remove(present)

    def _holds(self, record_id: str) -> bool:
        parsed = parse_record_id(record_id)
        if parsed is None:
            return False
        loaded = self._load(self._file(self.block_path(*parsed)))
        return loaded is not None and record_id in loaded[0]["records"]

    def _remove(self, record_ids: list[str]) -> int:
        """Take records out of their blocks (caller holds the archive lock
        and has logged the purge)."""
        by_block: dict[Path, set[str]] = {}
        for record_id in record_ids:
            parsed = parse_record_id(record_id)
            if parsed is not None:
                by_block.setdefault(self.block_path(*parsed), set()).add(record_id)
        removed = 0
        for path, doomed in sorted(by_block.items()):
            jf = self._file(path)
            loaded = self._load(jf)
            if loaded is None:
                continue
            current, previous = loaded
            records = {k: v for k, v in current["records"].items() if k not in doomed}
            gone = len(current["records"]) - len(records)
            if not gone:
                continue
            removed += gone
            if not records and self._has_later_block(path):
                self._remove_block(jf, path)
                continue
            block = {"high": _high(current), "records": records}
            self._save(jf, path, block, previous, doomed)
        return removed

    def _save(
        self,
        jf: JSONFile,
        path: Path,
        block: dict[str, Any],
        previous: Snapshot | None,
        changed: set[str],
        written: tuple[str, str] | None = None,
    ) -> None:
        """Write a block (caller holds the archive lock) and index it.

        ``written`` is (ledger op, record id) for a record created or
        changed: its line goes to the ledger before the block to disk.
        """
        key = str(path)
        cached = self._texts.pop(key, None)
        known = cached[1] if cached is not None and cached[0] is previous else {}
        texts = {rid: known[rid] if rid in known and rid not in changed else _text(doc)
                 for rid, doc in block["records"].items()}
        if written is not None:
            op, record_id = written
            self.ledger.append(op, id=record_id, d=digest(texts[record_id]))
        body = ",".join(f"{_text(rid)}:{text}" for rid, text in texts.items())
        jf.save(block, hand_over=True,
                encoded=f'{{"high":{_text(block["high"])},"records":{{{body}}}}}'.encode())
        written = jf.current()
        if written is None:
            raise StoreError(f"{path} vanished right after it was written")
        self._bump()
        self._texts[key] = (written[1], texts)
        while len(self._texts) > CACHED_BLOCKS:
            self._texts.popitem(last=False)
        self._reindex_written(path, _block_number(path), previous, block, written[1], changed)

    def _has_later_block(self, path: Path) -> bool:
        """True if a later block of the same year holds the counter."""
        number = _block_number(path)
        for entry in _scan(path.parent):
            match = _BLOCK_NAME.fullmatch(entry.name)
            if match and int(match[1]) > number:
                return True
        return False

    def _remove_block(self, jf: JSONFile, path: Path) -> None:
        """Delete an emptied block file that no longer holds the year's counter."""
        os.unlink(path)
        fsync_dir(path.parent)
        self._bump()
        jf.close()
        with self._index_lock:
            self._index.drop_block(str(path))

    def _generation(self) -> str | None:
        try:
            with open(self._generation_file, "rb") as f:
                return f.read(64).decode("ascii", "replace")
        except OSError:
            return None

    def _bump(self) -> None:
        """Count a write (caller holds the archive lock). Not synced to disk:
        after a crash the index is rebuilt from the blocks anyway."""
        value = self._generation()
        number = int(value) + 1 if value and value.isdigit() else 1
        fd = os.open(self._generation_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, str(number).encode())
        finally:
            os.close(fd)

    def _refresh_for_lists(self) -> None:
        """:meth:`_refresh`, unless no process has written since the last one
        (App Home must not stat 200 block files on every open)."""
        generation = self._generation()
        if generation is None or generation != self._listed:
            self._refresh()
            self._listed = generation

    def for_session(self, session_id: str) -> Doc | None:
        with self._index_lock:
            self._refresh()
            record_id = self._index.by_session.get(session_id)
        return None if record_id is None else self.get(record_id)

    def list(
        self,
        *,
        recorded_by: str | None = None,
        review_status: str | None = None,
        undelivered: bool = False,
        limit: int | None = None,
    ) -> list[Doc]:
        with self._index_lock:
            self._refresh_for_lists()
            return self._index.query(
                recorded_by=recorded_by,
                review_status=review_status,
                undelivered=undelivered,
                limit=limit,
            )

    def count(self) -> int:
        with self._index_lock:
            self._refresh()
            return len(self._index)

    def issued(self) -> dict[int, int]:
        """Year -> highest sequence given out (the ledger's count, or a
        block's ``high`` if that is higher)."""
        with self._index_lock:
            self._refresh()
            self.ledger.catch_up()
            highs = dict(self.ledger.state.highs)
            for b in self._index.blocks.values():
                highs[b.year] = max(highs.get(b.year, 0), self._index.high(b.year))
            return dict(sorted(highs.items()))

    # -- integrity ----------------------------------------------------------
    def blocks_on_disk(self) -> Iterator[tuple[Path, int, int]]:
        """(path, year, block number) of every block file, in order."""
        found = [(Path(p), year, number) for p, year, number, _ in self._block_files()]
        return iter(sorted(found, key=lambda item: (item[1], item[2])))

    def read_block(self, path: Path) -> dict[str, Any] | None:
        """A block as on disk now, privately (not cached); None if missing."""
        loaded = self._load(JSONFile(path, self._cipher))
        return None if loaded is None else loaded[0]

    def write_block(self, path: Path, block: dict[str, Any]) -> None:
        """Replace a whole block (migration only; caller holds the lock)."""
        make_private_dirs(path.parent)
        jf = self._file(path)
        loaded = self._load(jf)
        self._texts.pop(str(path), None)
        self._save(jf, path, block, None if loaded is None else loaded[1],
                   set(block["records"]))

    def remove_records(self, record_ids: list[str]) -> int:
        """Finish a purge the ledger already holds (caller holds the lock)."""
        return self._remove([rid for rid in record_ids if self._holds(rid)])

    def block_counts(self) -> dict[tuple[int, int], int]:
        """Records per (year, block number), from the index."""
        with self._index_lock:
            self._refresh()
            return {(b.year, b.number): len(b.ids) for b in self._index.blocks.values()}

    def iter(self) -> Iterator[Doc]:
        """Every record, oldest first, each a private copy.

        Blocks are read privately (not through the cache) and dropped once
        all their records are out, so memory stays at a block or two.
        """
        with self._index_lock:
            self._refresh()
            order = self._index.ids_oldest_first()
        remaining: dict[Path, int] = {}
        paths: list[Path] = []
        for record_id in order:
            path = self.block_path(*parse_record_id(record_id))  # type: ignore[misc]
            paths.append(path)
            remaining[path] = remaining.get(path, 0) + 1
        open_blocks: dict[Path, dict[str, Any]] = {}
        for record_id, path in zip(order, paths, strict=True):
            records = open_blocks.get(path)
            if records is None:
                loaded = self._load(JSONFile(path, self._cipher))
                records = open_blocks[path] = {} if loaded is None else loaded[0]["records"]
            remaining[path] -= 1
            if not remaining[path]:
                del open_blocks[path]
            found = records.get(record_id)
            if found is not None:
                yield found

    def close(self) -> None:
        with self._files_lock:
            for jf in self._files.values():
                jf.close()
            self._files.clear()
        with self._index_lock:
            self._index = RecordIndex()


def _text(value: Any) -> str:
    """One value as the block file's JSON (see :func:`jsonfile.encode`)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _high(block: dict[str, Any]) -> int:
    """The block's counter, falling back to its largest id if unset."""
    high = block.get("high")
    if isinstance(high, int):
        return high
    seqs = [parsed[1] for rid in block["records"] if (parsed := parse_record_id(rid))]
    return max(seqs, default=0)


def _block_number(path: Path) -> int:
    match = _BLOCK_NAME.fullmatch(path.name)
    if match is None:
        raise StoreError(f"{path} is not a block file name")
    return int(match[1])


def _scan(directory: Path) -> list[os.DirEntry[str]]:
    with contextlib.suppress(FileNotFoundError), os.scandir(directory) as entries:
        return list(entries)
    return []
