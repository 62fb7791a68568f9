"""Start-up checks, migration to a sealed store, and the full verify.

At start-up (:func:`open_checks`, under the archive lock):

* a data directory made before the ledger existed is sealed once: every
  audit entry gets its MAC and a ledger is built from the records as they
  are, carrying the block counters and the purge log, so nothing is lost and
  ids already given out stay given out;
* a ledger cut short by a crash loses its torn last line, and a last write
  the crash interrupted is completed from the write-ahead file (or a purge
  finished); one that cannot be was undone by hand, and is refused;
* missing or empty files the ledger says should hold records, and a missing
  or empty ``hot.json``, are corruption: the store refuses to open and says
  what to restore.

:func:`verify` is the full check behind ``jigsaw verify``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .base import Doc, StoreError
from .checkpoint import REPLAYED_ENOUGH
from .hot import alert_states
from .index import format_record_id, parse_record_id
from .ledger import BLOCK_SIZE, LedgerState, check_chain, expand, ranges
from .locking import lock_for
from .records import TABLE, _high, _text
from .seal import ENV_AUDIT_KEY, ENV_AUDIT_KEY_FILE, Sealer, digest

if TYPE_CHECKING:
    from .tinydb_store import TinyDBStore

log = logging.getLogger(__name__)

# Where the old purge log lived (hot store meta), read once when migrating.
OLD_PURGE_LOG = "purge_log"
SHOWN = 5  # files named in one start-up error
# Block layout: 1 is {"high": n, "records": {...}}; 2 is a TinyDB database;
# 3 is the same with every closed block compressed.
BLOCKS_FORMAT = 3


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checked: int = 0
    head: tuple[int, str] = (-1, "")


def _blank(path: Path) -> bool | None:
    """None if ``path`` is missing, True if it holds nothing but whitespace."""
    # Read only until something that is not whitespace: start-up checks
    # every block, and reading each whole file cost more than the rest.
    try:
        with open(path, "rb") as f:
            while chunk := f.read(65536):
                if chunk.strip():
                    return False
    except FileNotFoundError:
        return None
    return True


def open_checks(store: TinyDBStore, *, strict: bool = True) -> None:
    """Everything the store does at start-up (see module docstring).

    Not ``strict`` (for verify, whose job is to list every problem): missing
    and damaged files are left for :func:`verify` to report."""
    archive, ledger, hot_path = store, store._ledger, store.hot_path
    if not ledger.exists() and not hot_path.exists():
        # Written outside the archive lock: hot writes take it after their own.
        store.create_hot()
    with lock_for(archive.records_root).held():
        if not ledger.exists():
            existed = bool(store.all_sessions() or store.get_meta(OLD_PURGE_LOG)) \
                or any(True for _ in archive.blocks_on_disk())
            _seal_existing(store, carry=_old_evidence(store) if existed else {},
                           why="migrated" if existed else "new")
        else:
            ledger.load(repair=True)
            if ledger.state.n < 0:
                raise StoreError(f"{ledger.path} is empty. It proves which records exist: "
                                 "restore it from the latest backup")
            _check_key(store, strict=strict)
            _recover(store, strict=strict)
            if strict:
                _catch_up_alerts(store)
                if ledger.state.blocks < BLOCKS_FORMAT:
                    _migrate_blocks(store)
        if strict:
            bind_school(store)
            _check_meta(store)
            _check_hot(hot_path, fresh=False)
            _check_blocks(store)
            lost = lost_alerts(store)
            if lost:
                raise StoreError(f"{hot_path} has lost {len(lost)} urgent alert(s) the DSL has "
                                 "not been sent yet; restore hot.json from the latest backup")


def _check_key(store: TinyDBStore, *, strict: bool) -> None:
    state, sealer = store._ledger.state, store._sealer
    if state.keyed and not sealer.keyed:
        raise StoreError(f"this data directory is sealed with an audit key: set "
                         f"{ENV_AUDIT_KEY} (or {ENV_AUDIT_KEY_FILE}) to open it "
                         "(if it is lost, the records are not: `jigsaw rotate-key "
                         "--audit-key-lost` reads them with the data key alone and seals "
                         "them with a new audit key)")
    if state.keyed and state.key_id != sealer.key_id:
        raise StoreError(f"wrong {ENV_AUDIT_KEY}: the data directory was sealed with "
                         "a different audit key")
    if not state.keyed and sealer.keyed:
        _rekey(store)
        return
    last = state.last
    if last is not None and strict:
        body = {k: v for k, v in last.items() if k != "mac"}
        if not sealer.same(str(last.get("mac", "")), sealer.mac("ledger", body)):
            raise StoreError(f"{store._ledger.path}: its last line is not sealed with the "
                             "audit key; restore the ledger from backup (jigsaw verify "
                             "says more)")


def _recover(store: TinyDBStore, *, strict: bool) -> None:
    """Settle the one write a crash can have cut in half (writes are
    serialised, and the ledger line goes first)."""
    archive, ledger = store, store._ledger
    last = ledger.state.last
    if last is None:
        return
    op = last.get("op")
    if op == "purge":
        left = archive.remove_records(expand(last.get("ids")))
        if left:
            log.warning("finished a purge a crash interrupted", extra={"count": left})
        return
    if op == "updates":
        _recover_many(store, last, strict=strict)
        return
    if op not in ("create", "update"):
        return
    record_id = str(last.get("id"))
    parsed = parse_record_id(record_id)
    if parsed is None:
        return
    path = archive.block_path(*parsed)
    try:
        block = archive.read_block(path)
    except StoreError:
        if strict:
            raise
        return
    record = None if block is None else block[TABLE].get(record_id)
    if record is not None and digest(_text(record)) == last.get("d"):
        archive.clear_write_ahead()
        return
    ahead = archive.read_write_ahead()
    if (ahead is None or ahead.get("id") != record_id or ahead.get("d") != last.get("d")
            or digest(_text(ahead["doc"])) != last.get("d")):
        # Nothing to complete it from: no crash leaves a store so.
        if strict:
            raise StoreError(unfinished(record_id, last))
        return
    records = dict(block[TABLE]) if block is not None else {}
    records[record_id] = ahead["doc"]
    archive.write_block(path, records)
    archive.clear_write_ahead()
    log.warning("completed a write a crash cut short", extra={"record_id": record_id})


def _recover_many(store: TinyDBStore, last: dict[str, Any], *, strict: bool) -> None:
    """:func:`_recover` for one write of many records."""
    ds = {str(k): str(v) for k, v in (last.get("docs") or {}).items()}
    lacking: dict[Path, dict[str, Doc]] = {}
    ahead = store.read_write_ahead() or {}
    kept = ahead.get("docs") if ahead.get("ds") == ds else None
    for record_id, d in ds.items():
        parsed = parse_record_id(record_id)
        if parsed is None:
            continue
        path = store.block_path(*parsed)
        block = store.read_block(path)
        record = None if block is None else block[TABLE].get(record_id)
        if record is not None and digest(_text(record)) == d:
            continue
        doc = kept.get(record_id) if isinstance(kept, dict) else None
        if not isinstance(doc, dict) or digest(_text(doc)) != d:
            if strict:
                raise StoreError(unfinished(record_id, last))
            return
        lacking.setdefault(path, {})[record_id] = doc
    for path, docs in lacking.items():
        block = store.read_block(path)
        store.write_block(path, {**(block[TABLE] if block else {}), **docs})
    store.clear_write_ahead()
    if lacking:
        log.warning("completed a write a crash cut short",
                    extra={"count": sum(map(len, lacking.values()))})


def unfinished(record_id: str, last: dict[str, Any]) -> str:
    return (f"{record_id}: its last write (ledger entry {last.get('n')}) is not in its block, "
            "and no write-ahead copy is there to complete it. A crash cannot leave a store "
            "so: the block was put back or the write erased. Restore from backup")


def _migrate_blocks(store: TinyDBStore) -> None:
    """Blocks of the layout before TinyDB (``{"high": n, "records": {...}}``)
    become TinyDB databases, and closed blocks written before they were
    compressed are compressed, once. The ledger learns each block's counter
    first, each block is read back and compared before the next, and the
    ledger is told when all are done; a crash part way leaves every block
    whole in one layout or the other (the same records either way), and the
    next start carries on."""
    ledger = store._ledger
    moved = packed = 0
    for path, year, _ in store.blocks_on_disk():
        block = store.read_block(path)
        if block is None:
            continue
        old = set(block) != {TABLE}
        if not old and not store.is_closed(path, block[TABLE]):
            continue
        high = _high(block)
        if high > ledger.state.high(year):
            ledger.append("counter", year=year, high=high)
        store.write_block(path, block[TABLE])
        if store.read_block(path) != {TABLE: block[TABLE]}:
            raise StoreError(f"{path} did not read back as written while moving it to the "
                             "new layout; restore the data directory from backup")
        moved += old
        packed += store.is_closed(path, block[TABLE])
    # The old engine's write counter; the ledger does its job now.
    (store.records_root / "generation").unlink(missing_ok=True)
    store.create_meta()  # (see _check_meta): told in the same line
    ledger.append("format", blocks=BLOCKS_FORMAT, moved=moved, meta=True)
    if moved:
        log.warning("record blocks moved to the TinyDB layout", extra={"count": moved})
    if packed:
        log.warning("closed record blocks compressed", extra={"count": packed})


def _check_hot(path: Path, *, fresh: bool) -> None:
    blank = _blank(path)
    what = ("It holds conversations in progress, urgent alerts not yet delivered and "
            "delivery state")
    if blank is None and not fresh:
        raise StoreError(f"{path} is missing. {what}: restore it from the latest backup "
                         "(the records are kept elsewhere and are safe)")
    if blank:
        raise StoreError(f"{path} is empty. {what}: restore it from the latest backup "
                         "(the records are kept elsewhere and are safe)")


def meta_problem(store: TinyDBStore) -> str | None:
    """meta.json (the follow-up and escalation schedule, when the ledger was
    last anchored) missing or emptied, once the ledger says it exists."""
    if not store._ledger.state.meta_file:
        return None
    blank = _blank(store.meta_path)
    if blank is False:
        return None
    return (f"{store.meta_path} is {'missing' if blank is None else 'empty'}. It holds the "
            "follow-up and escalation schedule: restore it from the latest backup")


def school_problem(store: TinyDBStore, state: LedgerState) -> str | None:
    """The ledger bound to another school than the one this process serves
    (``JIGSAW_SCHOOL``): the directory was copied from another school."""
    expected = store.school
    if expected and state.school and state.school != expected:
        return (f"ledger: this data directory is bound to school {state.school!r}, not "
                f"{expected!r}: it was copied from another school; restore this school's "
                "own from backup")
    return None


def bind_school(store: TinyDBStore) -> None:
    """Once, under the archive lock: a data directory not yet bound to a
    school is bound to the one this process serves, in the sealed ledger.
    One bound to another is refused."""
    if not store.school:
        return
    problem = school_problem(store, store._ledger.state)
    if problem:
        raise StoreError(problem)
    if not store._ledger.state.school:
        store._ledger.append("school", id=store.school)


def _check_meta(store: TinyDBStore) -> None:
    """Once, for a store made before this check: meta.json made if it is not
    there yet, and the ledger told, so from then on its loss is noticed."""
    if not store._ledger.state.meta_file:
        store.create_meta()
        store._ledger.append("format", blocks=store._ledger.state.blocks, meta=True)
    problem = meta_problem(store)
    if problem:
        raise StoreError(problem)


def lost_alerts(store: TinyDBStore) -> list[str]:
    """Urgent alerts the ledger says are waiting that hot.json (the only copy
    the outbox sends from) no longer holds at all."""
    waiting = store._ledger.state.alerts
    if not waiting:
        return []
    held = {event for session in store.all_sessions() for event in alert_states(session)}
    return sorted(waiting - held)


def _catch_up_alerts(store: TinyDBStore) -> None:
    """Alerts hot.json shows delivered but the ledger does not: a crash came
    between the two writes. The ledger is told now."""
    waiting = store._ledger.state.alerts
    if not waiting:
        return
    sent = sorted({event for session in store.all_sessions()
                   for event, done in alert_states(session).items() if done} & waiting)
    if sent:
        store._ledger.append("alert", raised=[], sent=sent)


def _check_blocks(store: TinyDBStore) -> None:
    """Every block the ledger says holds records must be there, not empty."""
    archive = store
    gone: list[str] = []
    for (year, number), count in sorted(store._ledger.state.live.items()):
        if count <= 0:
            continue
        path = archive.block_path(year, number * 256 + 1)
        if _blank(path) is not False:
            first = format_record_id(year, number * 256 + 1)
            gone.append(f"{path.relative_to(archive.records_root.parent)} ({count} record(s) "
                        f"from {first})")
    if gone:
        shown = "; ".join(gone[:SHOWN]) + (f"; and {len(gone) - SHOWN} more"
                                           if len(gone) > SHOWN else "")
        raise StoreError(f"{len(gone)} archive file(s) missing or empty although the ledger "
                         f"says they hold records: {shown}. Restore them from backup; "
                         "record ids are never given out again")


def check_counts(store: TinyDBStore) -> None:
    """Each block holds as many records as the ledger says (the counts of
    blocks unchanged since the ledger checkpoint come from it). A long
    replay since the checkpoint is saved as a new one."""
    held = {k: v for k, v in store.counted_blocks().items() if v > 0}
    live = {k: v for k, v in store._ledger.state.live.items() if v > 0}
    wrong = [f"records/{year}/block-{number:04d}.json holds {held.get((year, number), 0)} "
             f"record(s), the ledger says {live.get((year, number), 0)}"
             for year, number in sorted(live.keys() | held.keys())
             if held.get((year, number), 0) != live.get((year, number), 0)]
    if wrong:
        raise StoreError(f"{'; '.join(wrong[:SHOWN])}: restore from backup "
                         "(`jigsaw verify` lists each record)")
    if store._ledger.replayed > REPLAYED_ENOUGH:
        store.save_checkpoint()


# -- sealing a store --------------------------------------------------------

def _old_evidence(store: TinyDBStore) -> dict[str, Any]:
    """What a store made before the ledger knew about purges."""
    purged: list[str] = []
    for entry in store.get_meta(OLD_PURGE_LOG, []) or []:
        if isinstance(entry, dict):
            purged.extend(expand(entry.get("ranges")))
    return {"purged": ranges(purged)} if purged else {}


def _seal_existing(store: TinyDBStore, *, carry: dict[str, Any], why: str,
                   restart: bool = False) -> None:
    """Seal every record with the current key and write a ledger listing
    them. ``restart`` reseals entries that carry an old seal (re-keying);
    otherwise a record that already has one means a ledger went missing."""
    archive, sealer = store, store._sealer
    entries: list[dict[str, Any]] = []
    highs: dict[int, int] = {int(y): int(h) for y, h in (carry.get("highs") or {}).items()}
    on_disk = list(archive.blocks_on_disk())
    # Every id below a year's last block on disk was given out: the blocks
    # before it are closed (the ledger, which would say so, is written last).
    given = {year: number * BLOCK_SIZE for _, year, number in on_disk}
    for path, year, _ in on_disk:
        block = archive.read_block(path)
        if block is None:
            continue
        for record_id, doc in block["records"].items():
            audit = doc.get("audit") if isinstance(doc, dict) else None
            if not restart and isinstance(audit, list) and any(
                    isinstance(e, dict) and "mac" in e for e in audit):
                raise StoreError(f"{store._ledger.path} is missing but the records were "
                                 "sealed: restore the ledger from backup")
            sealer.seal_audit(record_id, audit, start=0)
        highs[year] = max(highs.get(year, 0), _high(block))
        archive.write_block(path, block[TABLE], high=max(highs[year], given[year]))
        entries.extend({"op": "seal", "id": rid, "d": digest(_text(doc))}
                       for rid, doc in block["records"].items())
    store.create_meta()
    carried = {**carry, "why": why, "blocks": BLOCKS_FORMAT, "meta": True}
    if highs:
        carried["highs"] = {str(y): h for y, h in sorted(highs.items())}
    store._ledger.rebuild(carried, entries)
    if why != "new":
        log.warning("sealed the store", extra={"count": len(entries), "action": why})
    _check_hot(store.hot_path, fresh=True)


def _rekey(store: TinyDBStore) -> None:
    """An unkeyed store given a key: check it under the public seal first,
    then seal it with the key, carrying the old ledger's evidence."""
    from .locking import DataDirInUse, DataDirLock

    try:  # resealing replaces the ledger: not under a running app
        with DataDirLock(store.records_root.parent):
            pass
    except DataDirInUse:
        raise StoreError(f"the app is running on this data directory without "
                         f"{ENV_AUDIT_KEY}: stop it, then start it with the key") from None
    old = Sealer(None)
    state, problems = check_chain(store._ledger.entries(), old)
    problems += _compare(store, old, state, None, Report()).problems
    if problems:
        raise StoreError(f"cannot seal this data directory with the new audit key: "
                         f"{len(problems)} problem(s) found; run `jigsaw verify` without "
                         f"{ENV_AUDIT_KEY} to see them")
    carry = {"highs": {str(y): h for y, h in state.highs.items()},
             "purged": ranges(list(state.purged)), "void": ranges(list(state.void)),
             "alerts": sorted(state.alerts), "escalations": sorted(state.escalations),
             **({"school": state.school} if state.school else {}),
             "rekeyed_from": [state.n, state.mac]}
    _seal_existing(store, carry=carry, why="rekeyed", restart=True)


# -- verify -----------------------------------------------------------------

def record_problems(doc: Doc, record_id: str, state: LedgerState, sealer: Sealer,
                    check_record: Callable[[Doc], list[str]] | None) -> list[str]:
    """What is wrong with one stored record: its own checks, its sealed audit
    trail, and whether it is the last write the ledger recorded for it."""
    found: list[str] = []
    if check_record is not None:
        found.extend(check_record(doc))
    found.extend(sealer.check_audit(record_id, doc.get("audit")))
    expected = state.docs.get(record_id)
    if expected is None:
        if record_id in state.purged:
            found.append(f"{record_id}: purged (ledger entry {state.purged[record_id]}) but "
                         "still present")
        else:
            found.append(f"{record_id}: not in the ledger (added by hand?)")
    elif not sealer.same(digest(_text(doc)), expected):
        found.append(f"{record_id}: differs from its last recorded write (edited, rolled "
                     "back or swapped)")
    return list(dict.fromkeys(found))


def verify(store: TinyDBStore, check_record: Callable[[Doc], list[str]] | None = None,
           anchor: tuple[int, str] | None = None) -> Report:
    """Every check there is, reading every file (see ``jigsaw verify``)."""
    sealer = store._sealer
    with lock_for(store.records_root).held():
        state, problems = check_chain(store._ledger.entries(), sealer, anchor)
        report = Report(problems=problems, head=(state.n, state.mac))
        _compare(store, sealer, state, check_record, report)
    problem = meta_problem(store)
    if problem:
        report.problems.append(problem)
    problem = school_problem(store, state)
    if problem:
        report.problems.append(problem)
    for event in lost_alerts(store):
        report.problems.append(f"hot.json: urgent alert {event} is waiting to be sent but "
                               "is no longer held (restore hot.json)")
    if not sealer.keyed:
        report.notes.append(f"note: no audit key is set ({ENV_AUDIT_KEY}), so someone who can "
                            "write the data directory could rewrite it undetected")
    for entry in state.interrupted:
        report.notes.append(f"note: ledger entry {entry.get('of')} ({entry.get('id')}) was "
                            f"cut short by a crash and not applied (found at {entry.get('at')})")
    for n, was, now in state.clock_back:
        report.notes.append(f"note: the wall clock was set back at ledger entry {n}, from "
                            f"{was} to {now} (the schedule keeps time by the monotonic clock)")
    if state.lost_key_at >= 0:
        report.notes.append(f"note: the audit key was lost and replaced at ledger entry "
                            f"{state.lost_key_at}: what was written before then was sealed "
                            "again without being checked")
    if state.keyed is not None and state.keyed != sealer.keyed:
        report.problems.append("ledger: sealed with a different kind of key")
    return report


def _compare(store: TinyDBStore, sealer: Sealer, state: LedgerState,
             check_record: Callable[[Doc], list[str]] | None, report: Report) -> Report:
    archive = store
    seen: set[str] = set()
    block_highs: dict[int, int] = {}
    for path, year, number in archive.blocks_on_disk():
        name = f"records/{year}/{path.name}"
        try:
            block = archive.read_block(path)
        except StoreError as exc:
            report.problems.append(f"{name}: {exc}")
            continue
        if block is None:
            continue
        block_highs[year] = max(block_highs.get(year, 0), _high(block))
        for record_id, doc in block["records"].items():
            report.checked += 1
            problems: list[str] = []
            parsed = parse_record_id(record_id)
            if (not isinstance(doc, dict) or doc.get("id") != record_id or parsed is None
                    or parsed[0] != year or (parsed[1] - 1) // 256 != number):
                problems.append(f"{record_id}: stored under the wrong id or in the wrong file")
            if isinstance(doc, dict):
                problems.extend(p for p in record_problems(doc, record_id, state, sealer,
                                                           check_record) if p not in problems)
            seen.add(record_id)
            report.problems.extend(problems)
    missing = set(state.docs) - seen
    for year, high in state.highs.items():
        for seq in range(1, high + 1):
            record_id = format_record_id(year, seq)
            if (record_id not in seen and record_id not in state.purged
                    and record_id not in state.void):
                missing.add(record_id)
    for record_id in sorted(missing, key=lambda r: parse_record_id(r) or (0, 0)):
        report.problems.append(f"{record_id}: missing, and no purge recorded")
    for year, high in sorted(block_highs.items()):
        if high > state.highs.get(year, 0):
            report.problems.append(f"records/{year}: a block counts {high} ids, the ledger "
                                   f"only {state.highs.get(year, 0)}")
    return report
