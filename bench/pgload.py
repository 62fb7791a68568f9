"""PostgreSQL for the benchmark: a fresh schema, migrated by the app's own
migrations, holding many schools' records, loaded with ``COPY``.

The school the app serves gets realistic records built exactly as for the
TinyDB store (:func:`bench.generate.build_records`). Every other school gets
copies of those records under its own ids, each sealed for its id and with
its own ledger line, so each school's store is one the app would have
written (``jigsaw verify`` passes on any of them). Rows go in with ``COPY``,
one transaction a school, through the indexes the migrations made.

The benchmark's workspace is also installed through the database, as Slack's
OAuth flow would leave it (slack_sdk's installation store), so the app runs
as it does for a trust: every school from one process, each request routed
to its school by workspace.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import psycopg

from bench.generate import build_records
from storage.index import format_record_id
from storage.ledger import FORMAT
from storage.migrate import migrate
from storage.postgres import RECORD_COLUMNS, Database, record_row
from storage.records import _text
from storage.seal import canonical, digest

SCHOOL = "bench"


def with_schema(url: str, schema: str) -> str:
    """``url`` with every connection's search_path set to ``schema``."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


@contextlib.contextmanager
def fresh_schema(base_url: str, *, keep: bool = False) -> Iterator[str]:
    """A URL on a new schema of ``base_url``'s database, migrated; dropped after."""
    schema = f"jigsaw_bench_{secrets.token_hex(4)}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = with_schema(base_url, schema)
    try:
        migrate(url)
        yield url
    finally:
        if not keep:
            with psycopg.connect(base_url, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@dataclass
class Loaded:
    records: int
    schools: int
    school_records: int
    seconds: float
    build_seconds: float
    copy_seconds: float
    database_bytes: int


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Ledger:
    """One school's ledger lines, as :class:`storage.postgres.PostgresStore` writes them."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.lines: list[tuple[int, str]] = []
        self.mac = ""
        self.at = ""
        self.append({"op": "begin", "format": FORMAT, "keyed": db.sealer.keyed,
                     "key_id": db.sealer.key_id, "why": "new"})

    def append(self, fields: dict[str, Any]) -> None:
        n = len(self.lines)
        entry = {"n": n, "at": _now(), **fields, "prev": self.mac}
        entry["mac"] = self.db.sealer.mac("ledger", entry)
        self.mac, self.at = entry["mac"], entry["at"]
        self.lines.append((n, canonical(entry).decode("utf-8")))


def _load_school(conn: psycopg.Connection, db: Database, school: str,
                 docs: list[dict[str, Any]], *, renumber: bool) -> int:
    """One school's records, ledger, counters and row; returns bytes of JSON."""
    ledger = _Ledger(db)
    seqs: dict[int, int] = {}
    size = 0
    conn.execute("INSERT INTO schools (id, name) VALUES (%s, %s)", (school, school))
    columns = ", ".join(("school", "id", "year", "seq", *RECORD_COLUMNS))
    with conn.cursor().copy(f"COPY records ({columns}) FROM STDIN") as copy:
        for source in docs:
            doc = dict(source)
            if renumber:
                year = int(str(doc["created_at"])[:4])
                seqs[year] = seq = seqs.get(year, 0) + 1
                doc["id"] = format_record_id(year, seq)
            else:
                year, seq = (int(x) for x in str(doc["id"]).split("-")[1:])
                seqs[year] = max(seqs.get(year, 0), seq)
            record_id = str(doc["id"])
            doc["audit"] = [dict(e) for e in doc["audit"]]
            db.sealer.seal_audit(record_id, doc["audit"], start=0)
            text = _text(doc)
            size += len(text)
            copy.write_row((school, record_id, year, seq, *record_row(db, doc, text)))
            ledger.append({"op": "create", "id": record_id, "d": digest(text)})
    with conn.cursor().copy("COPY ledger (school, n, entry) FROM STDIN") as copy:
        for n, line in ledger.lines:
            copy.write_row((school, n, line))
    for year, high in seqs.items():
        conn.execute("INSERT INTO counters (school, year, high) VALUES (%s, %s, %s)",
                     (school, year, high))
    conn.execute("UPDATE schools SET ledger_n = %s, ledger_mac = %s, ledger_at = %s, "
                 "live = %s WHERE id = %s",
                 (len(ledger.lines) - 1, ledger.mac, ledger.at, len(docs), school))
    return size


def load(url: str, *, total: int, schools: int, school_records: int,
         key: bytes | None = None, seed: int = 1, say: Any = print) -> Loaded:
    """``total`` records over ``schools`` schools, ``school_records`` of them
    in the served school :data:`SCHOOL` (see module docstring)."""
    started = time.perf_counter()
    school_records = min(school_records, total)
    pool, _ = build_records(max(school_records, min(total, 2000), 1), seed=seed)
    built = time.perf_counter()
    db = Database(url, key=key, max_size=2)
    others = max(schools - 1, 0)
    rest = total - school_records
    size = 0
    try:
        with db.tx() as conn:
            conn.execute("SELECT 1 FROM schools FOR UPDATE")
            size += _load_school(conn, db, SCHOOL, pool[:school_records], renumber=False)
        for k in range(others):
            count = rest // others + (1 if k < rest % others else 0)
            offset = (k * 7919) % len(pool)
            docs = [pool[(offset + i) % len(pool)] for i in range(count)]
            docs.sort(key=lambda d: str(d["created_at"]))
            with db.tx() as conn:
                size += _load_school(conn, db, f"school-{k + 1:03d}", docs, renumber=True)
            if k % 50 == 49:
                say(f"  {k + 2} schools loaded")
        # As a database in service would be: vacuumed (autovacuum would
        # otherwise start on the new rows in the middle of the timings) and
        # its statistics gathered.
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE) schools, records, ledger, counters, sessions, meta")
        with db.connection() as conn:
            row = conn.execute("SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                               "JOIN pg_namespace n ON n.oid = c.relnamespace "
                               "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
                               ).fetchone()
    finally:
        db.close()
    done = time.perf_counter()
    return Loaded(total, max(schools, 1), school_records, done - started, built - started,
                  done - built, int(row[0] or 0) if row else 0)


def install(url: str, *, team_id: str, bot_token: str, bot_user_id: str, client_id: str,
            app_id: str = "ABENCH") -> None:
    """The benchmark's workspace installed for :data:`SCHOOL`, as the OAuth
    flow leaves it (:mod:`bot.slack.tenants`)."""
    import sqlalchemy
    from slack_sdk.oauth.installation_store import Installation
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore

    from bot.slack.tenants import sqlalchemy_url

    engine = sqlalchemy.create_engine(sqlalchemy_url(url))
    try:
        SQLAlchemyInstallationStore(client_id=client_id, engine=engine).save(Installation(
            app_id=app_id, enterprise_id=None, team_id=team_id, bot_token=bot_token,
            bot_id="BBENCH", bot_user_id=bot_user_id, bot_scopes="chat:write,commands",
            user_id="UADMIN", installed_at=time.time()))
    finally:
        engine.dispose()
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO schools (id, name) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                     (SCHOOL, SCHOOL))
        conn.execute("UPDATE schools SET slack_team_id = %s, settings = %s::jsonb "
                     "WHERE id = %s", (team_id, json.dumps(
                         {"school": {"name": "Hillside Primary School", "nation": "england"},
                          "slack": {"dsl_channel": "CDSL", "dsl_user_ids": ["UDSL1"]}}),
                     SCHOOL))
