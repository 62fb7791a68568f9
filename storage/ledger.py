"""The ledger: an append-only, keyed log of every change to the archive.

``<data>/ledger.jsonl`` holds one JSON object a line. Every record created
or rewritten (a review, a view, a refusal, a delivery state change) appends
a line with the record id and a digest of the record exactly as stored;
every purge appends the ids it removed. Each line carries its number, the
MAC of the line before and its own MAC under the audit key, so:

* a record edited, rolled back, swapped with another or deleted no longer
  matches its last line (whatever hashes inside it were recomputed);
* ids are never reused: the ledger, not the block files, says which numbers
  were given out, and a purge is only a purge if the ledger says so;
* cutting lines from the end is caught against the last *anchor*: the
  head's number and MAC, posted outside the store (see
  :mod:`bot.slack.delivery`) and passed to ``jigsaw verify``.

Lines hold ids, digests and times, never a child's details, so the ledger
is plaintext even when the data files are encrypted.

A line is written (and fsynced) before the block it describes, under the
archive lock, and the record as it will be written is kept first in the
write-ahead file (:mod:`storage.records`). A write that fails takes its
line back (:meth:`Ledger.retract`), so the ledger is as it was and the
number is given out again. After a crash between line and block, the next
start completes the write from the write-ahead file; a last line whose
write is neither in its block nor in the write-ahead file was undone by
someone, not by a crash, and is reported. (Ledgers written before the
write-ahead file may hold ``interrupted`` lines: verify lists those.)
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from . import checkpoint
from .base import StoreError
from .files import FILE_MODE
from .index import format_record_id, parse_record_id
from .seal import Sealer, canonical

log = logging.getLogger(__name__)

LEDGER_NAME = "ledger.jsonl"
BLOCK_SIZE = 256  # records a block file holds
FORMAT = 1
PARSE_BATCH = 2048  # ledger lines parsed at once when reading

Entry = dict[str, Any]


def now_iso(epoch: float | None = None) -> str:
    when = datetime.now(UTC) if epoch is None else datetime.fromtimestamp(epoch, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def clock_back(at: str, last_at: str) -> dict[str, str]:
    """The field a line carries when the wall clock is behind the line
    before's time: the clock was set back (lines stay in order by
    number; the jump is recorded where the seal covers it)."""
    return {"clock_back_from": last_at} if last_at and at < last_at else {}


def ranges(ids: list[str]) -> list[list[int]]:
    """Ids as ``[year, first, last]`` runs: purges remove long runs."""
    runs: list[list[int]] = []
    for year, seq in sorted({p for p in map(parse_record_id, ids) if p}):
        if runs and runs[-1][0] == year and runs[-1][2] == seq - 1:
            runs[-1][2] = seq
        else:
            runs.append([year, seq, seq])
    return runs


def expand(runs: Any) -> list[str]:
    ids: list[str] = []
    for year, first, last in runs or ():
        ids.extend(format_record_id(int(year), n) for n in range(int(first), int(last) + 1))
    return ids


def block_of(record_id: str) -> tuple[int, int] | None:
    parsed = parse_record_id(record_id)
    return None if parsed is None else (parsed[0], (parsed[1] - 1) // BLOCK_SIZE)


@dataclass
class LedgerState:
    """What the ledger says the archive holds, replayed line by line."""

    n: int = -1
    mac: str = ""
    keyed: bool | None = None
    key_id: str = ""
    last_at: str = ""
    docs: dict[str, str] = field(default_factory=dict)  # id -> digest of last write
    created: dict[str, int] = field(default_factory=dict)  # id -> line that issued it
    purged: dict[str, int] = field(default_factory=dict)  # id -> purge line
    void: dict[str, int] = field(default_factory=dict)  # interrupted creates
    highs: dict[int, int] = field(default_factory=dict)  # year -> last number issued
    live: dict[tuple[int, int], int] = field(default_factory=dict)  # block -> records
    last: Entry | None = None
    interrupted: list[Entry] = field(default_factory=list)
    alerts: set[str] = field(default_factory=set)  # urgent alerts raised, not yet sent
    # Urgent alerts whose escalation is in the schedule, not yet finished with.
    escalations: set[str] = field(default_factory=set)
    blocks: int = 1  # layout of the record blocks (see storage.integrity)
    began: str = ""  # when the ledger began (its first line)
    meta_file: bool = False  # meta.json is known to exist: from now on missing means lost
    anchored: str = ""  # when its head was last anchored outside the store (the app's clock)
    # line -> its MAC under the audit key before the last key rotation (jigsaw
    # rotate-key), for the lines anchored outside the store before it.
    rekeyed: dict[int, str] = field(default_factory=dict)
    clock_back: list[tuple[int, str, str]] = field(default_factory=list)  # (n, from, to)
    lost_key_at: int = -1  # the line sealing it again after its audit key was lost
    school: str = ""  # the school the chain was begun for, or bound to
    # (n, id, digest before) of the last write, so an interrupted line can be undone.
    _undo: tuple[int, str, str | None] | None = None

    def apply(self, entry: Entry) -> None:
        op = entry.get("op")
        n = entry.get("n")
        self.n = n if isinstance(n, int) else self.n + 1
        self.mac = str(entry.get("mac", ""))
        if entry.get("clock_back_from"):
            self.clock_back.append((self.n, str(entry["clock_back_from"]),
                                    str(entry.get("at", ""))))
        self.last_at = max(self.last_at, str(entry.get("at", "")))
        self.last = entry
        if self.n == 0:
            self.began = str(entry.get("at", ""))
        if op == "anchor":
            self.anchored = str(entry.get("when") or entry.get("at", ""))
        if op == "begin":
            self.keyed = bool(entry.get("keyed"))
            self.key_id = str(entry.get("key_id", ""))
            self.blocks = int(entry.get("blocks", 1))
            self.meta_file = bool(entry.get("meta"))
            self.school = str(entry.get("school") or "")
            self._carry(entry)
        elif op == "school":  # a data directory bound to its school (see TinyDBStore)
            self.school = str(entry.get("id") or "")
        elif op == "format":
            self.blocks = int(entry.get("blocks", 1))
            self.meta_file = self.meta_file or bool(entry.get("meta"))
        elif op in ("create", "update", "seal"):
            record_id = str(entry.get("id"))
            self._undo = (self.n, record_id, self.docs.get(record_id))
            if record_id not in self.docs and op != "update":
                self._issue(record_id, self.n)
            self.docs[record_id] = str(entry.get("d"))
        elif op == "updates":  # one write of many records (never creates one)
            self._undo = None
            for line, old_mac in (entry.get("anchors") or {}).items():
                self.rekeyed[int(line)] = str(old_mac)
            if entry.get("old_key_lost"):
                self.lost_key_at = self.n
            for record_id, d in (entry.get("docs") or {}).items():
                self.docs[str(record_id)] = str(d)
        elif op == "alert":
            self.alerts.update(str(e) for e in entry.get("raised") or ())
            self.alerts.difference_update(str(e) for e in entry.get("sent") or ())
        elif op == "escalation":
            self.escalations.update(str(e) for e in entry.get("raised") or ())
            self.escalations.difference_update(str(e) for e in entry.get("done") or ())
        elif op == "counter":
            year, high = int(entry["year"]), int(entry["high"])
            self.highs[year] = max(self.highs.get(year, 0), high)
        elif op == "purge":
            for record_id in expand(entry.get("ids")):
                self.purged[record_id] = self.n
                if self.docs.pop(record_id, None) is not None:
                    self._count(record_id, -1)
        elif op == "interrupted":
            self.interrupted.append(entry)
            undo, self._undo = self._undo, None
            if undo is None or undo[0] != entry.get("of"):
                return
            _, record_id, before = undo
            if before is None:
                self.docs.pop(record_id, None)
                self.created.pop(record_id, None)
                self.void[record_id] = self.n
                self._count(record_id, -1)
            else:
                self.docs[record_id] = before

    def _issue(self, record_id: str, n: int) -> None:
        self.created[record_id] = n
        parsed = parse_record_id(record_id)
        if parsed is not None:
            self.highs[parsed[0]] = max(self.highs.get(parsed[0], 0), parsed[1])
        self._count(record_id, 1)

    def _count(self, record_id: str, delta: int) -> None:
        block = block_of(record_id)
        if block is not None:
            self.live[block] = self.live.get(block, 0) + delta

    def _carry(self, entry: Entry) -> None:
        """A ledger rebuilt (migration, new key) starts with what the old
        one knew: numbers given out, purges and interrupted creates."""
        for year, high in (entry.get("highs") or {}).items():
            self.highs[int(year)] = max(self.highs.get(int(year), 0), int(high))
        for record_id in expand(entry.get("purged")):
            self.purged[record_id] = self.n
        for record_id in expand(entry.get("void")):
            self.void[record_id] = self.n
        self.alerts.update(str(e) for e in entry.get("alerts") or ())
        self.escalations.update(str(e) for e in entry.get("escalations") or ())

    def high(self, year: int) -> int:
        return self.highs.get(year, 0)

    def dump(self) -> dict[str, Any]:
        """The state as JSON (see :mod:`storage.checkpoint`)."""
        return {"n": self.n, "mac": self.mac, "keyed": self.keyed, "key_id": self.key_id,
                "last_at": self.last_at, "docs": self.docs, "created": self.created,
                "purged": self.purged, "void": self.void,
                "highs": {str(k): v for k, v in self.highs.items()},
                "live": [[y, b, c] for (y, b), c in self.live.items()],
                "last": self.last, "interrupted": self.interrupted,
                "alerts": sorted(self.alerts), "blocks": self.blocks, "began": self.began,
                "meta_file": self.meta_file, "anchored": self.anchored,
                "rekeyed": {str(k): v for k, v in self.rekeyed.items()},
                "lost_key_at": self.lost_key_at, "school": self.school,
                "escalations": sorted(self.escalations),
                "clock_back": [list(c) for c in self.clock_back],
                "undo": None if self._undo is None else list(self._undo)}

    @classmethod
    def restored(cls, value: dict[str, Any]) -> LedgerState:
        """The state :meth:`dump` gave (raises KeyError, TypeError or
        ValueError if it is not one)."""
        undo = value["undo"]
        state = cls(
            n=int(value["n"]), mac=str(value["mac"]), keyed=value["keyed"],
            key_id=str(value["key_id"]), last_at=str(value["last_at"]),
            docs=_mapping(value["docs"]), created=_mapping(value["created"]),
            purged=_mapping(value["purged"]), void=_mapping(value["void"]),
            highs={int(k): int(v) for k, v in value["highs"].items()},
            live={(int(y), int(b)): int(c) for y, b, c in value["live"]},
            last=value["last"], interrupted=list(value["interrupted"]),
            alerts=set(value["alerts"]), blocks=int(value["blocks"]),
            began=str(value["began"]), meta_file=bool(value["meta_file"]),
            anchored=str(value["anchored"]),
            rekeyed={int(k): str(v) for k, v in value["rekeyed"].items()},
            lost_key_at=int(value["lost_key_at"]), school=str(value["school"]),
            escalations=set(value["escalations"]),
            clock_back=[(int(n), str(a), str(b)) for n, a, b in value["clock_back"]])
        state._undo = None if undo is None else (int(undo[0]), str(undo[1]), undo[2])
        return state


def _mapping(value: Any) -> dict[str, Any]:
    """A dict from JSON as it is (not copied: 50,000 entries each)."""
    if not isinstance(value, dict):
        raise TypeError("not a mapping")
    return value


class Ledger:
    """The ledger file as this process knows it (see module docstring).

    Callers hold the archive lock around :meth:`catch_up` and
    :meth:`append`, so lines from several processes interleave whole and in
    order.
    """

    def __init__(self, path: Path, sealer: Sealer,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.sealer = sealer
        self.clock = clock  # the wall clock, seconds since the epoch
        self.state = LedgerState()
        self._offset = 0
        self._identity: tuple[int, int] | None = None
        # Records named by lines applied since the list index last looked.
        self.changed: set[str] = set()
        self.checkpoint_path = path.parent / checkpoint.CHECKPOINT_NAME
        # Block files as last counted (see storage.checkpoint).
        self.counted: checkpoint.Counted = {}
        # (ledger offset, counted) the checkpoint on disk was written for.
        self._checkpointed: tuple[int, checkpoint.Counted] = (0, {})
        self.replayed = 0  # lines replayed by the last load

    def exists(self) -> bool:
        return self.path.exists()

    def behind(self) -> bool:
        """True if the file has lines (or is another file) this process has
        not read: another process wrote. One ``stat``."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return bool(self._offset)
        return st.st_size != self._offset or (st.st_dev, st.st_ino) != self._identity

    def _apply(self, entry: Entry) -> None:
        self.state.apply(entry)
        if entry.get("op") == "purge":
            self.changed.update(expand(entry.get("ids")))
        elif "id" in entry:
            self.changed.add(str(entry["id"]))
        elif entry.get("op") == "updates":
            self.changed.update(str(k) for k in entry.get("docs") or {})

    # -- reading ------------------------------------------------------------
    def catch_up(self) -> None:
        """Apply lines other processes appended since the last read.

        A ledger that got shorter, or was replaced by another file, was cut or
        swapped: that is refused, never silently re-read.
        """
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if self._offset:
                raise StoreError(f"{self.path} has disappeared: restore it from backup "
                                 "(it proves which records exist)") from None
            return
        identity = (st.st_dev, st.st_ino)
        if self._identity is not None and identity != self._identity:
            raise StoreError(f"{self.path} was replaced while in use: restore it from backup")
        if st.st_size < self._offset:
            raise StoreError(f"{self.path} is shorter than when it was last read: it was "
                             "truncated; restore it from backup")
        if st.st_size == self._offset:
            self._identity = identity
            return
        with open(self.path, "rb") as f:
            f.seek(self._offset)
            chunk = f.read()
        complete = chunk.rfind(b"\n") + 1
        lines = [line for line in chunk[:complete].splitlines() if line.strip()]
        del chunk
        # In batches, so a long ledger is never all parsed at once (peak memory).
        for at in range(0, len(lines), PARSE_BATCH):
            for entry in self._parse_lines(lines[at:at + PARSE_BATCH]):
                self._apply(entry)
        self.replayed += len(lines)
        self._offset += complete
        self._identity = identity

    def load(self, *, repair: bool) -> None:
        """Read the whole file. With ``repair`` (caller holds the lock), a
        last line cut short by a crash is removed: it was fsynced before its
        block, so the block was never written either."""
        self.state = LedgerState()
        self._offset = 0
        self._identity = None
        self.changed = set()
        self.replayed = 0
        if repair:
            self._drop_torn_tail()
        self._from_checkpoint()
        self.catch_up()

    def _from_checkpoint(self) -> None:
        """Start from the checkpoint if the ledger still begins with what
        it was read from (see :mod:`storage.checkpoint`)."""
        found = checkpoint.load(self.checkpoint_path, self.sealer, self.path)
        if found is None:
            return
        offset, state, counted = found
        try:
            self.state = LedgerState.restored(state)
        except (KeyError, TypeError, ValueError, AttributeError):
            self.state = LedgerState()
            return
        self._offset = offset
        self.counted = {name: list(entry) for name, entry in counted.items()
                        if isinstance(entry, list) and len(entry) == 3}
        self._checkpointed = (offset, self.counted)

    def save_checkpoint(self) -> None:
        """Write the checkpoint for the ledger as read so far, unless the
        one on disk already says the same (caller holds the archive lock)."""
        if self._offset <= 0 or self._checkpointed == (self._offset, self.counted):
            return
        prefix = checkpoint.prefix_digest(self.path, self._offset)
        if prefix is None:
            return
        counted = {name: list(entry) for name, entry in self.counted.items()}
        checkpoint.save(self.checkpoint_path, self.sealer, offset=self._offset, prefix=prefix,
                        state=self.state.dump(), counted=counted)
        self._checkpointed = (self._offset, counted)

    def _drop_torn_tail(self) -> None:
        try:
            size = os.path.getsize(self.path)
        except FileNotFoundError:
            return
        if not size:
            return
        with open(self.path, "rb+") as f:
            f.seek(max(0, size - 65536))
            tail = f.read()
            if tail.endswith(b"\n"):
                return
            keep = size - len(tail) + tail.rfind(b"\n") + 1
            log.warning("ledger: removing a line cut short by a crash")
            f.truncate(keep)
            f.flush()
            os.fsync(f.fileno())

    def _parse_lines(self, lines: list[bytes]) -> list[Entry]:
        """Non-blank lines, parsed: as one JSON array (several times faster
        than line by line), else line by line to name the damage."""
        if len(lines) > 1:
            try:
                entries = json.loads(b"[" + b",".join(lines) + b"]")
            except ValueError:
                pass
            else:
                if len(entries) == len(lines) and all(isinstance(e, dict) for e in entries):
                    return cast(list[Entry], entries)
        return [self._parse(line) for line in lines]

    def _parse(self, line: bytes) -> Entry:
        try:
            entry = json.loads(line)
        except ValueError:
            raise StoreError(f"{self.path} has a damaged line; restore it from backup") from None
        if not isinstance(entry, dict):
            raise StoreError(f"{self.path} has a damaged line; restore it from backup")
        return entry

    def entries(self) -> Iterator[Entry]:
        """Every line, parsed (for verify); a damaged line is yielded as
        ``{"damaged": True}`` so verify can report it and go on."""
        with contextlib.suppress(FileNotFoundError), open(self.path, "rb") as f:
            for line in f:
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    entry = None
                yield entry if isinstance(entry, dict) else {"damaged": True}

    # -- writing ------------------------------------------------------------
    def append(self, op: str, **fields: Any) -> Entry:
        """Seal and durably append one line (caller holds the archive lock)."""
        self.catch_up()
        at, before = now_iso(self.clock()), str((self.state.last or {}).get("at", ""))
        entry: Entry = {"n": self.state.n + 1, "at": at, "op": op, **fields,
                        **clock_back(at, before), "prev": self.state.mac}
        entry["mac"] = self.sealer.mac("ledger", entry)
        line = canonical(entry) + b"\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT
                     | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
        try:
            start = os.fstat(fd).st_size
            try:
                view = memoryview(line)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            except BaseException:
                # A full disk can take part of the line: take it back, so
                # the next line does not follow a torn one.
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, start)
                    os.fsync(fd)
                raise
            st = os.fstat(fd)
        finally:
            os.close(fd)
        self._offset = st.st_size
        self._identity = (st.st_dev, st.st_ino)
        self._apply(entry)
        return entry

    def retract(self, entry: Entry) -> None:
        """Take back ``entry``, the last line this process appended, because
        the write it describes failed and left its file as it was (caller
        holds the archive lock, so no other process has read it). The file
        ends where it did before, so the next write gets the same number."""
        line = canonical(entry) + b"\n"
        with open(self.path, "rb+") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - len(line)))
            if f.read() != line:
                raise StoreError(f"{self.path} changed under the archive lock")
            f.truncate(size - len(line))
            f.flush()
            os.fsync(f.fileno())
        changed = self.changed
        self.load(repair=False)
        self.changed = changed

    def rebuild(self, carry: dict[str, Any], entries: list[Entry]) -> None:
        """Write a whole new ledger atomically: a ``begin`` line carrying what
        the old evidence knew, then ``entries`` (migration and re-keying only)."""
        from .files import write_atomic

        lines: list[bytes] = []
        prev = ""
        head: Entry = {"op": "begin", "format": FORMAT, "keyed": self.sealer.keyed,
                       "key_id": self.sealer.key_id, **carry}
        for n, item in enumerate([head, *entries]):
            entry = {"n": n, "at": now_iso(self.clock()), **item, "prev": prev}
            entry["mac"] = self.sealer.mac("ledger", entry)
            prev = entry["mac"]
            lines.append(canonical(entry) + b"\n")
        write_atomic(self.path, b"".join(lines)).release()
        self.load(repair=False)


def check_chain(entries: Iterator[Entry], sealer: Sealer,
                anchor: tuple[int, str] | None = None) -> tuple[LedgerState, list[str]]:
    """Replay the ledger checking every line's number, link and MAC.

    Returns the state and the problems; with ``anchor`` (line number, MAC)
    also checks the ledger still reaches that line, unchanged.
    """
    state = LedgerState()
    problems: list[str] = []
    expected_prev = ""
    anchored_mac: str | None = None
    for position, entry in enumerate(entries):
        if entry.get("damaged"):
            problems.append(f"ledger: line {position + 1} is damaged")
            continue
        n = entry.get("n")
        if n != position:
            problems.append(f"ledger: line {position + 1} is numbered {n}: lines were "
                            "removed, added or reordered")
        if position == 0 and entry.get("op") != "begin":
            problems.append("ledger: the first line is not its beginning: lines were removed")
        if entry.get("prev") != expected_prev:
            problems.append(f"ledger: entry {n} does not follow entry {position - 1}")
        body = {k: v for k, v in entry.items() if k != "mac"}
        if not sealer.same(str(entry.get("mac", "")), sealer.mac("ledger", body)):
            problems.append(f"ledger: entry {n} is not sealed with the audit key "
                            "(forged or altered)")
        if anchor is not None and n == anchor[0]:
            anchored_mac = str(entry.get("mac", ""))
        expected_prev = str(entry.get("mac", ""))
        state.apply(entry)
    if state.n < 0:
        problems.append("ledger: empty or missing: restore it from backup")
    if anchor is not None:
        if anchored_mac is None:
            problems.append(f"ledger: ends at entry {state.n}, but entry {anchor[0]} was "
                            "anchored outside the store: the ledger was cut or rolled back")
        elif not sealer.same(anchored_mac, anchor[1]) and not sealer.same(
                state.rekeyed.get(anchor[0], ""), anchor[1]):
            problems.append(f"ledger: entry {anchor[0]} differs from its anchor: the ledger "
                            "was rewritten")
    return state, problems
