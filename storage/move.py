"""Moving a school's data directory into PostgreSQL (``jigsaw move-store``).

Everything the TinyDB store holds is copied as it is: every record (its
audit trail inside it) as the exact JSON the ledger's digests were taken
of, the ledger line for line (so its head, and any anchor posted in the DSL
channel, still holds), the numbers given out each year, sessions in
progress, idempotency claims and the app's small settings (delivery claims
and the outbox are the records' own state, so they come with them).

The copy is one transaction: it lands whole or not at all. Both sides are
verified: the data directory before (a store with problems is not moved),
the database after, and then the two compared record by record.

Re-running is safe. A school moved in earlier and not used on PostgreSQL
since (its ledger head, sessions and settings are as the last move left
them) is replaced by a fresh copy, picking up whatever the data directory
gained meanwhile; a school that was used there, or that was not moved in
from this data directory, is never overwritten.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .base import Doc, StoreError
from .index import delivery_state, parse_record_id
from .integrity import Report
from .jsonfile import clone
from .postgres import (
    RECORD_COLUMNS,
    SESSION_COLUMNS,
    Database,
    PostgresStore,
    record_row,
    session_row,
)
from .records import _text
from .seal import canonical, digest
from .tinydb_store import TinyDBStore

CheckRecord = Callable[[Doc], list[str]]
# A session still being answered (bot.flow.engine's IN_PROGRESS and PAUSED).
OPEN_STATUSES = ("in_progress", "paused")


class MoveRefused(StoreError):
    """Nothing was copied: the reason says why and what to do."""


@dataclass
class Side:
    """What one side holds, as reported."""

    records: int = 0
    sessions: int = 0
    in_progress: int = 0
    delivery: dict[str | None, int] = field(default_factory=dict)  # records by delivery.state
    claims: int = 0
    ledger: tuple[int, str] = (-1, "")
    report: Report = field(default_factory=Report)


@dataclass
class Moved:
    school: str
    source: Side
    target: Side
    replaced: bool = False  # an earlier move of this school was refreshed
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.target.report.problems and not self.differences


def _side(records: int, sessions: list[Doc], delivery: dict[str | None, int], claims: int,
          head: tuple[int, str, str], report: Report) -> Side:
    return Side(records=records, sessions=len(sessions),
                in_progress=sum(1 for s in sessions if s.get("status") in OPEN_STATUSES),
                delivery=delivery, claims=claims, ledger=(head[0], head[1]), report=report)


def _state(conn: Any, school: str) -> dict[str, Any] | None:
    """What says whether a school was used since it was moved in: its ledger
    head, and a digest of its sessions and settings as stored."""
    row = conn.execute(
        "SELECT ledger_n, ledger_mac, moved_in, "
        "(SELECT md5(coalesce(string_agg(id || ':' || md5(body), ',' ORDER BY id), '')) "
        " FROM sessions WHERE school = s.id), "
        "(SELECT md5(coalesce(string_agg(key || ':' || md5(body), ',' ORDER BY key), '')) "
        " FROM meta WHERE school = s.id), "
        "(SELECT entry FROM ledger WHERE school = s.id AND n = 0) "
        "FROM schools s WHERE id = %s FOR UPDATE", (school,)).fetchone()
    if row is None:
        return None
    return {"ledger": [int(row[0]), str(row[1])], "sessions": row[3], "meta": row[4],
            "moved_in": row[2], "begin": row[5]}


def move(source: TinyDBStore, db: Database, school: str, *, name: str = "",
         settings: dict[str, Any] | None = None,
         check_record: CheckRecord | None = None) -> Moved:
    """Copy ``source`` into ``db`` as school ``school`` (see module docstring).

    Raises MoveRefused, having changed nothing, if the source does not
    verify or the school may not be overwritten. The caller holds the data
    directory's lock, so nothing is written to the source meanwhile.
    """
    before = source.verify_integrity(check_record)
    if before.problems:
        raise MoveRefused(f"the data directory has {len(before.problems)} problem(s) "
                          "(`jigsaw verify` lists them): nothing was moved")
    if source.keyed != db.sealer.keyed:
        raise MoveRefused("the data directory and the database must be opened with the same "
                          "audit key: nothing was moved")
    entries = list(source.ledger_entries())
    begin = canonical(entries[0]).decode("utf-8")
    sessions = sorted(source.all_sessions(), key=lambda s: str(s["id"]))
    claims = source.claims()
    meta = source.meta()
    issued = source.issued()
    digests: dict[str, str] = {}
    delivery: dict[str | None, int] = {}
    replaced = False

    with db.tx() as conn:
        found = _state(conn, school)
        if found is not None:
            _may_replace(found, begin, school)
            replaced = True
            for table in ("records", "sessions", "claims", "meta", "counters", "ledger"):
                conn.execute(f"DELETE FROM {table} WHERE school = %s", (school,))
            conn.execute("UPDATE schools SET name = coalesce(nullif(%s, ''), name), "
                         "settings = CASE WHEN settings = '{}'::jsonb THEN %s::jsonb "
                         "ELSE settings END WHERE id = %s",
                         (name, db.settings_json(settings), school))
        else:
            conn.execute("INSERT INTO schools (id, name, settings) VALUES (%s, %s, %s::jsonb)",
                         (school, name, db.settings_json(settings)))
        cur = conn.cursor()
        with cur.copy("COPY ledger (school, n, entry) FROM STDIN") as copy:
            for entry in entries:
                copy.write_row((school, entry["n"], canonical(entry).decode("utf-8")))
        columns = ", ".join(("school", "id", "year", "seq", *RECORD_COLUMNS))
        with cur.copy(f"COPY records ({columns}) FROM STDIN") as copy:
            for doc in source.iter_records():
                record_id = str(doc["id"])
                year, seq = parse_record_id(record_id) or (0, 0)
                text = _text(doc)
                digests[record_id] = digest(text)
                state = delivery_state(doc)
                delivery[state] = delivery.get(state, 0) + 1
                copy.write_row((school, record_id, year, seq, *record_row(db, doc, text)))
        with cur.copy(f"COPY sessions ({', '.join(SESSION_COLUMNS)}) FROM STDIN") as copy:
            for session in sessions:
                copy.write_row(session_row(db, school, session))
        for key, at in claims.items():
            conn.execute("INSERT INTO claims (school, key, at) VALUES (%s, %s, "
                         "to_timestamp(%s))", (school, key, at))
        for key, value in meta.items():
            conn.execute("INSERT INTO meta (school, key, body) VALUES (%s, %s, %s)",
                         (school, key, db.dump(_text(clone(value)))))
        for year, high in issued.items():
            conn.execute("INSERT INTO counters (school, year, high) VALUES (%s, %s, %s)",
                         (school, year, high))
        head = entries[-1]
        conn.execute("UPDATE schools SET ledger_n = %s, ledger_mac = %s, ledger_at = %s, "
                     "live = %s WHERE id = %s",
                     (head["n"], head["mac"], head["at"], len(digests), school))
        after = _state(conn, school)
        assert after is not None
        marker = {"from": str(source.data_dir.absolute()),
                  "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "ledger": after["ledger"], "sessions": after["sessions"],
                  "meta": after["meta"]}
        conn.execute("UPDATE schools SET moved_in = %s::jsonb WHERE id = %s",
                     (json.dumps(marker), school))

    source_side = _side(len(digests), sessions, delivery, len(claims),
                        source.ledger_head(), before)
    return _compare(source, PostgresStore(db, school), school, source_side, digests,
                    check_record, replaced)


def _may_replace(found: dict[str, Any], begin: str, school: str) -> None:
    marker = found["moved_in"]
    if not marker:
        raise MoveRefused(f"school {school!r} is already in the database and was not moved "
                          "in from a data directory: choose another --school; nothing was "
                          "moved")
    if found["begin"] != begin:
        raise MoveRefused(f"school {school!r} was moved in from another data directory "
                          f"({marker.get('from')}): choose another --school; nothing was moved")
    if [found["ledger"], found["sessions"], found["meta"]] != [
            marker.get("ledger"), marker.get("sessions"), marker.get("meta")]:
        raise MoveRefused(f"school {school!r} has been used on PostgreSQL since it was moved "
                          f"in ({marker.get('at')}); it is not overwritten: nothing was moved")


def _compare(source: TinyDBStore, target: PostgresStore, school: str, source_side: Side,
             digests: dict[str, str], check_record: CheckRecord | None,
             replaced: bool) -> Moved:
    """Verify the copy and hold it up against the original."""
    report = target.verify_integrity(check_record)
    differences: list[str] = []
    seen: dict[str, str] = {}
    delivery: dict[str | None, int] = {}
    for doc in target.iter_records():
        seen[str(doc["id"])] = digest(_text(doc))
        state = delivery_state(doc)
        delivery[state] = delivery.get(state, 0) + 1
    for record_id in sorted(set(digests) | set(seen)):
        if record_id not in seen:
            differences.append(f"{record_id}: not in the database")
        elif record_id not in digests:
            differences.append(f"{record_id}: in the database only")
        elif seen[record_id] != digests[record_id]:
            differences.append(f"{record_id}: differs from the data directory's")
    sessions = sorted(target.all_sessions(), key=lambda s: str(s["id"]))
    if sessions != sorted(source.all_sessions(), key=lambda s: str(s["id"])):
        differences.append("sessions differ")
    meta = source.meta()
    if any(target.get_meta(k) != v for k, v in meta.items()):
        differences.append("settings kept by the app differ")
    if target.issued() != source.issued():
        differences.append("the numbers given out each year differ")
    head = target.ledger_head()
    if (head[0], head[1]) != source_side.ledger:
        differences.append("the ledgers end differently")
    with target.db.connection() as conn:
        row = conn.execute("SELECT count(*) FROM claims WHERE school = %s",
                           (school,)).fetchone()
    claims = int(row[0]) if row else 0
    if claims != source_side.claims:
        differences.append("idempotency claims differ")
    target_side = _side(len(seen), sessions, delivery, claims, head, report)
    return Moved(school, source_side, target_side, replaced, differences)


__all__ = ["MoveRefused", "Moved", "Side", "move"]
