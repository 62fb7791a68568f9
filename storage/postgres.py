"""The PostgreSQL :class:`~storage.base.Store`: many schools, many app instances.

One :class:`Database` (a psycopg 3 connection pool) serves every school; a
:class:`PostgresStore` is one school's view of it, and every statement it
runs is scoped by that school's id, so no query can reach another school's
rows.

The guarantees are the TinyDB store's, kept by the database instead of file
locks:

* a record is written in one transaction together with its ledger line and
  the year's counter, so a crash leaves all or nothing;
* a session becomes one record (``UNIQUE (school, session_id)``) and a key
  is claimed once (``PRIMARY KEY (school, key)``), whichever instance asks;
* a record's delivery is claimed with ``SELECT ... FOR UPDATE SKIP LOCKED``,
  so an instance never waits on, or posts, an item another one is claiming;
* the keyed ledger and audit chain are the same lines, one chain per school,
  checked by the same code (:func:`storage.ledger.check_chain`).

Record, session and meta bodies are stored as the exact JSON text (so the
ledger's digests hold), encrypted with ``JIGSAW_DATA_KEY`` when one is set.
With the key set, the record columns that could name a child or a person
(child reference, recorded by, decision, status), each school's settings
and the Slack tokens (:mod:`bot.slack.tenants`) are encrypted too; rows are
found by child reference or recorder through a keyed hash of the value
(``child_ref_mac``, ``recorded_by_mac``), never the value itself.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Unpack

import psycopg
from psycopg import sql as sql_lib
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

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
from .crypto import Cipher, cipher_for, is_encrypted_text
from .hot import CLAIM_TTL, PRUNE_EVERY, alert_states
from .index import delivery_state, format_record_id, parse_record_id
from .integrity import Report, record_problems
from .jsonfile import clone
from .ledger import FORMAT, Entry, LedgerState, check_chain, clock_back, now_iso, ranges
from .migrate import require_current
from .records import _text, mutated, year_of
from .seal import ENV_AUDIT_KEY, ENV_AUDIT_KEY_FILE, Sealer, canonical, digest

log = logging.getLogger(__name__)

SCHOOL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
DEFAULT_SCHOOL = "default"
# Sessions and settings each store remembers, to go on with while the
# database is away (PostgresStore._last_seen).
SEEN_ITEMS = 2000
_RAISE = object()
_MISSING = object()
# Seconds a request waits for a connection before its write is refused (and
# kept by the app, as on a disk refusing writes): well inside Slack's 3.
POOL_WAIT = 2.0
DOWN_WAIT = 0.1  # ... once the database has been found unavailable


class DatabaseUnavailable(OSError):
    """The database cannot be reached now; nothing was written."""
_SUMMARY_COLUMNS = ", ".join(SUMMARY_FIELDS)


def is_postgres_url(url: str | None) -> bool:
    return bool(url) and str(url).startswith(("postgresql://", "postgres://"))


def where(url: str) -> str:
    """The database named without its password, for messages and logs."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "the configured database"
    return f"{parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"


class Database:
    """A pool of connections to one Jigsaw database (see module docstring).

    Refuses (StoreError) a database that cannot be reached or whose schema
    is behind this code: ``jigsaw migrate-db`` brings it up to date.
    """

    def __init__(self, url: str, *, key: bytes | str | None = None,
                 audit_key: bytes | None = None, min_size: int = 1, max_size: int = 8) -> None:
        self.url = url
        self.where = where(url)
        self.cipher: Cipher | None = cipher_for(key)
        self.sealer = Sealer(audit_key)
        try:
            with psycopg.connect(url, connect_timeout=10) as conn:
                require_current(conn, self.where)
        except psycopg.OperationalError as exc:
            raise StoreError(f"cannot reach the database at {self.where}: "
                             f"{str(exc).strip().splitlines()[0]}") from None
        # Each connection is checked as it is taken, so one the server dropped
        # (a restart, a fail-over) is replaced instead of failing a request.
        self.pool = ConnectionPool(url, min_size=min_size, max_size=max_size, open=True,
                                   name="jigsaw", check=ConnectionPool.check_connection)
        self._next_prune = 0.0
        self._failed_at: float | None = None

    @contextmanager
    def tx(self) -> Iterator[psycopg.Connection]:
        """A connection inside one transaction (committed on success)."""
        with self.connection() as conn, conn.transaction():
            yield conn

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A connection from the pool. A database that cannot be reached, or
        drops the connection, is :class:`DatabaseUnavailable` (an OSError,
        as a disk refusing writes is): the write did not happen."""
        # Once it has failed, later calls wait only briefly (the pool keeps
        # trying in the background), so a request that makes several store
        # calls still answers inside Slack's deadline.
        wait = POOL_WAIT if self._failed_at is None else DOWN_WAIT
        try:
            with self.pool.connection(timeout=wait) as conn:
                yield conn
        except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as exc:
            self._failed_at = time.monotonic()
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DatabaseUnavailable(f"the database at {self.where} is unavailable: "
                                      f"{first}") from None
        self._failed_at = None

    # -- bodies -----------------------------------------------------------
    def dump(self, text: str) -> str:
        if self.cipher is None:
            return text
        return self.cipher.encrypt(text.encode("utf-8")).decode("ascii")

    def load_text(self, body: str, what: str) -> str:
        """The JSON text a stored body holds, exactly as written."""
        return (body if self.cipher is None
                else self.cipher.decrypt(body.encode("ascii"), what).decode("utf-8"))

    def load(self, body: str, what: str) -> Any:
        text = self.load_text(body, what)
        try:
            return json.loads(text)
        except ValueError:
            raise StoreError(f"{what} in {self.where} is damaged or encrypted with "
                             "another key") from None

    # -- columns ------------------------------------------------------------
    def seal_text(self, value: str | None) -> str | None:
        """A column value as stored: encrypted when a data key is set."""
        if value is None or self.cipher is None:
            return value
        return self.cipher.encrypt_text(value)

    def open_text(self, value: str | None, what: str) -> str | None:
        """A stored column value as written (see :meth:`seal_text`)."""
        if value is None or self.cipher is None:
            return value
        if not is_encrypted_text(value):
            raise StoreError(f"{what} in {self.where} is not encrypted but "
                             "JIGSAW_DATA_KEY is set")
        return self.cipher.decrypt_text(value, what)

    def lookup(self, field: str, value: str | None) -> str | None:
        """The keyed hash rows are found by, with a data key set (else None)."""
        if value is None or self.cipher is None:
            return None
        return self.cipher.lookup(field, value)

    def settings_json(self, settings: dict[str, Any] | None) -> str:
        """A school's settings as stored in ``schools.settings`` (jsonb):
        ``{"sealed": <ciphertext>}`` when a data key is set (no settings
        stay ``{}``)."""
        text = json.dumps(settings or {})
        if self.cipher is None or not settings:
            return text
        return json.dumps({"sealed": self.cipher.encrypt_text(text)})

    def settings_of(self, stored: Any, school_id: str) -> dict[str, Any]:
        """The settings held in a ``schools.settings`` value."""
        found = dict(stored or {})
        if set(found) != {"sealed"} or not isinstance(found["sealed"], str):
            if found and self.cipher is not None:
                raise StoreError(f"the settings of school {school_id!r} in {self.where} are "
                                 "not encrypted but JIGSAW_DATA_KEY is set")
            return found
        if self.cipher is None:
            raise StoreError(f"the settings of school {school_id!r} in {self.where} are "
                             "encrypted: set JIGSAW_DATA_KEY to read them")
        value = json.loads(self.cipher.decrypt_text(found["sealed"],
                                                    f"the settings of school {school_id!r}"))
        return dict(value)

    # -- schools ----------------------------------------------------------
    def add_school(self, school_id: str, *, name: str = "",
                   settings: dict[str, Any] | None = None) -> None:
        """Create a school (tenant), or update its name and settings."""
        if not SCHOOL_ID.fullmatch(school_id):
            raise ValueError(f"a school id is letters, digits, '.', '-' or '_' (up to 64), "
                             f"not {school_id!r}")
        body = self.settings_json(settings)
        with self.tx() as conn:
            created = conn.execute(
                "INSERT INTO schools (id, name, settings) VALUES (%s, %s, %s::jsonb) "
                "ON CONFLICT (id) DO NOTHING RETURNING id", (school_id, name, body)).fetchone()
            if created:
                self._begin(conn, school_id)
            elif settings is not None or name:
                conn.execute("UPDATE schools SET name = coalesce(nullif(%s, ''), name), "
                             "settings = CASE WHEN %s THEN %s::jsonb ELSE settings END "
                             "WHERE id = %s", (name, settings is not None, body, school_id))

    def _begin(self, conn: psycopg.Connection, school_id: str) -> None:
        """The school's ledger starts with a line naming the audit key's kind."""
        # The school's id is in its sealed first line: a chain copied over
        # another school's is caught (PostgresStore.verify_integrity).
        entry = {"n": 0, "at": now_iso(), "op": "begin", "format": FORMAT,
                 "keyed": self.sealer.keyed, "key_id": self.sealer.key_id, "why": "new",
                 "school": school_id, "prev": ""}
        entry["mac"] = self.sealer.mac("ledger", entry)
        conn.execute("INSERT INTO ledger (school, n, entry) VALUES (%s, 0, %s)",
                     (school_id, canonical(entry).decode("utf-8")))
        conn.execute("UPDATE schools SET ledger_n = 0, ledger_mac = %s, ledger_at = %s "
                     "WHERE id = %s", (entry["mac"], entry["at"], school_id))

    def schools(self) -> list[dict[str, Any]]:
        """Every school: id, name and settings."""
        with self.connection() as conn:
            rows = conn.execute("SELECT id, name, settings FROM schools ORDER BY id").fetchall()
        return [{"id": r[0], "name": r[1], "settings": self.settings_of(r[2], r[0])}
                for r in rows]

    def school_settings(self, school_id: str) -> dict[str, Any] | None:
        with self.connection() as conn:
            row = conn.execute("SELECT settings FROM schools WHERE id = %s",
                               (school_id,)).fetchone()
        return None if row is None else self.settings_of(row[0], school_id)

    def link_workspace(self, school_id: str, *, team_id: str | None,
                       enterprise_id: str | None) -> None:
        """Say which Slack workspace (or, for an org-wide install, which
        Enterprise Grid organisation) is this school's."""
        with self.tx() as conn:
            conn.execute("UPDATE schools SET slack_team_id = %s, slack_enterprise_id = %s "
                         "WHERE id = %s", (team_id, enterprise_id, school_id))

    def workspace_of(self, school_id: str) -> tuple[str | None, str | None]:
        """The school's Slack workspace and Grid organisation, if set."""
        with self.connection() as conn:
            row = conn.execute("SELECT slack_team_id, slack_enterprise_id FROM schools "
                               "WHERE id = %s", (school_id,)).fetchone()
        return (None, None) if row is None else (row[0], row[1])

    def school_for(self, *, team_id: str | None, enterprise_id: str | None,
                   enterprise_install: bool = False) -> str | None:
        """The school a Slack request belongs to: by its workspace (a
        workspace registered as its own school stays with it, even under an
        org-wide install), else by its Grid organisation for an org-wide
        install (or a workspace of that organisation no school has claimed)."""
        with self.connection() as conn:
            if team_id:
                row = conn.execute("SELECT id FROM schools WHERE slack_team_id = %s",
                                   (team_id,)).fetchone()
                if row:
                    return str(row[0])
            if enterprise_id:
                row = conn.execute("SELECT id FROM schools WHERE slack_enterprise_id = %s "
                                   "AND slack_team_id IS NULL ORDER BY id LIMIT 1",
                                   (enterprise_id,)).fetchone()
                if row:
                    return str(row[0])
        return None

    def store(self, school_id: str = DEFAULT_SCHOOL, *, create: bool = True) -> PostgresStore:
        """One school's store (the school is created if new and ``create``)."""
        with self.connection() as conn:
            exists = conn.execute("SELECT 1 FROM schools WHERE id = %s", (school_id,)).fetchone()
        if not exists:
            if not create:
                raise StoreError(f"no school {school_id!r} in the database at {self.where}")
            self.add_school(school_id)
        return PostgresStore(self, school_id)

    def prune_claims(self) -> None:
        """Claims older than Slack's last retry are dropped now and then."""
        now = time.time()
        if now < self._next_prune:
            return
        self._next_prune = now + PRUNE_EVERY
        with self.tx() as conn:
            conn.execute("DELETE FROM claims WHERE at < now() - make_interval(secs => %s)",
                         (CLAIM_TTL,))

    def close(self) -> None:
        self.pool.close()


class PostgresStore:
    """One school's records in PostgreSQL (implements ``Store``).

    Safe to share between threads and between app instances. As with the
    TinyDB store, ``mutate`` callbacks run inside the write (here: holding
    the row lock): keep them pure and never call the store from one.
    """

    def __init__(self, db: Database, school: str, *, owns_db: bool = False) -> None:
        self.db = db
        self.school = school
        self.keyed = db.sealer.keyed
        self.encrypted = db.cipher is not None
        self._owns_db = owns_db
        # Sessions this instance last read or wrote (see _last_seen).
        self._seen: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._seen_lock = threading.Lock()
        self._check_key()

    def __repr__(self) -> str:
        return f"PostgresStore({self.db.where!r}, school={self.school!r})"

    def _check_key(self) -> None:
        with self.db.connection() as conn:
            row = conn.execute("SELECT entry FROM ledger WHERE school = %s AND n = 0",
                               (self.school,)).fetchone()
        if row is None:
            raise StoreError(f"school {self.school!r}: its ledger has no beginning; "
                             "restore the database from backup")
        begin = json.loads(row[0])
        sealer = self.db.sealer
        if begin.get("keyed") and not sealer.keyed:
            raise StoreError(f"school {self.school!r} is sealed with an audit key: set "
                             f"{ENV_AUDIT_KEY} (or {ENV_AUDIT_KEY_FILE}) to open it "
                         "(if it is lost, the records are not: `jigsaw rotate-key "
                         "--audit-key-lost` reads them with the data key alone and seals "
                         "them with a new audit key)")
        if begin.get("keyed") and begin.get("key_id") != sealer.key_id:
            raise StoreError(f"wrong {ENV_AUDIT_KEY}: school {self.school!r} was sealed with a "
                             "different audit key")
        if not begin.get("keyed") and sealer.keyed:
            raise StoreError(f"school {self.school!r} was started without an audit key and "
                             f"is not sealed in place on PostgreSQL: open it without "
                             f"{ENV_AUDIT_KEY}, or seal its data directory (open it with the "
                             "key) before moving it in with `jigsaw move-store`")

    # -- ledger -----------------------------------------------------------
    def _append(self, conn: psycopg.Connection, op: str, **fields: Any) -> Entry:
        """Seal and append one ledger line (takes the school's row lock, so
        lines from every instance come in order; committed with the write)."""
        row = conn.execute("SELECT ledger_n, ledger_mac, ledger_at FROM schools WHERE id = %s "
                           "FOR UPDATE", (self.school,)).fetchone()
        if row is None:
            raise StoreError(f"school {self.school!r} is not in the database")
        n, prev, at = int(row[0]) + 1, str(row[1]), now_iso()
        entry: Entry = {"n": n, "at": at, "op": op, **fields,
                        **clock_back(at, str(row[2] or "")), "prev": prev}
        entry["mac"] = self.db.sealer.mac("ledger", entry)
        conn.execute("INSERT INTO ledger (school, n, entry) VALUES (%s, %s, %s)",
                     (self.school, n, canonical(entry).decode("utf-8")))
        conn.execute("UPDATE schools SET ledger_n = %s, ledger_mac = %s, ledger_at = %s "
                     "WHERE id = %s", (n, entry["mac"], entry["at"], self.school))
        return entry

    def _ledger_entries(self) -> Iterator[Entry]:
        with self.db.connection() as conn, conn.cursor(name="ledger") as cur:
            cur.itersize = 2000
            cur.execute("SELECT entry FROM ledger WHERE school = %s ORDER BY n", (self.school,))
            for (text,) in cur:
                try:
                    entry = json.loads(text)
                except ValueError:
                    entry = None
                yield entry if isinstance(entry, dict) else {"damaged": True}

    # -- sessions (hot) ---------------------------------------------------
    def _session_row(self, doc: Doc) -> tuple[Any, ...]:
        return session_row(self.db, self.school, doc)

    def _load_session(self, body: str) -> Doc:
        return dict(self.db.load(body, f"a session of school {self.school!r}"))

    def _remember(self, kind: str, key: str, value: Any) -> None:
        kept = value if value is _MISSING else clone(value)
        with self._seen_lock:
            self._seen[(kind, key)] = kept
            self._seen.move_to_end((kind, key))
            while len(self._seen) > SEEN_ITEMS:
                self._seen.popitem(last=False)

    def _forget(self, kind: str, keys: list[str]) -> None:
        with self._seen_lock:
            for key in keys:
                self._seen.pop((kind, key), None)

    def _last_seen(self, kind: str, key: str, exc: DatabaseUnavailable,
                   default: Any = _RAISE) -> Any:
        """While the database is away, this instance's last copy of a
        session or setting, so a person can go on (the app keeps their
        answers, as on a disk refusing writes, and alerts go from memory).
        A session this instance never saw raises; a setting is its default."""
        with self._seen_lock:
            found = self._seen.get((kind, key), _RAISE)
        if found is _RAISE:
            if default is _RAISE:
                raise exc
            return default
        log.warning("database unavailable: %s read from this instance's last copy", kind)
        return found if found is _MISSING else clone(found)

    def get_session(self, session_id: str) -> Doc | None:
        try:
            with self.db.connection() as conn:
                row = conn.execute("SELECT body FROM sessions WHERE school = %s AND id = %s",
                                   (self.school, session_id)).fetchone()
        except DatabaseUnavailable as exc:
            seen: Doc | None = self._last_seen("session", session_id, exc)
            return seen
        if row is None:
            return None
        doc: Doc = self._load_session(row[0])
        self._remember("session", session_id, doc)
        return doc

    def save_session(self, session: Doc) -> None:
        doc = clone(session)
        session_id = doc.get("id")
        if not isinstance(session_id, str) or not session_id:
            raise ValueError("a session needs a non-empty string 'id'")
        with self.db.tx() as conn:
            old = conn.execute("SELECT body FROM sessions WHERE school = %s AND id = %s "
                               "FOR UPDATE", (self.school, session_id)).fetchone()
            before = alert_states(None if old is None else self._load_session(old[0]))
            self._put_session(conn, doc)
            self._log_alerts(conn, before, alert_states(doc))
        self._remember("session", session_id, doc)

    def _put_session(self, conn: psycopg.Connection, doc: Doc) -> None:
        conn.execute(
            "INSERT INTO sessions (school, id, user_id, status, updated_at, body) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (school, id) DO UPDATE SET "
            "user_id = excluded.user_id, status = excluded.status, "
            "updated_at = excluded.updated_at, body = excluded.body",
            self._session_row(doc))

    def update_session(self, session_id: str, mutate: Mutator) -> Doc:
        with self.db.tx() as conn:
            row = conn.execute("SELECT body FROM sessions WHERE school = %s AND id = %s "
                               "FOR UPDATE", (self.school, session_id)).fetchone()
            if row is None:
                raise NotFound(session_id)
            current = self._load_session(row[0])
            before = alert_states(current)
            doc = clone(current)
            result = mutate(doc)
            new: Doc = clone(doc if result is None else result)
            if new.get("id") != session_id:
                raise ValueError(f"mutate changed the id of session {session_id}")
            self._put_session(conn, new)
            self._log_alerts(conn, before, alert_states(new))
        self._remember("session", session_id, new)
        return new

    def _log_alerts(self, conn: psycopg.Connection, before: dict[str, bool],
                    after: dict[str, bool]) -> None:
        """Urgent alerts raised or delivered go to the ledger in the same
        transaction as the session holding them."""
        raised = sorted(e for e, sent in after.items() if not sent and e not in before)
        sent = sorted(e for e, done in after.items() if done and before.get(e) is False)
        if raised or sent:
            self._append(conn, "alert", raised=raised, sent=sent)

    def sessions_for_user(self, user_id: str, *, statuses: tuple[str, ...] = ()) -> list[Doc]:
        with self.db.connection() as conn:
            if statuses:
                rows = conn.execute(
                    "SELECT body FROM sessions WHERE school = %s AND user_id = %s AND "
                    "status = ANY(%s) ORDER BY updated_at DESC",
                    (self.school, user_id, list(statuses))).fetchall()
            else:
                rows = conn.execute("SELECT body FROM sessions WHERE school = %s AND "
                                    "user_id = %s ORDER BY updated_at DESC",
                                    (self.school, user_id)).fetchall()
        return [self._load_session(r[0]) for r in rows]

    def delete_sessions(self, session_ids: list[str]) -> int:
        if not session_ids:
            return 0
        with self.db.tx() as conn:
            cur = conn.execute("DELETE FROM sessions WHERE school = %s AND id = ANY(%s)",
                               (self.school, list(session_ids)))
        self._forget("session", session_ids)
        return cur.rowcount

    def all_sessions(self) -> list[Doc]:
        with self.db.connection() as conn:
            rows = conn.execute("SELECT body FROM sessions WHERE school = %s ORDER BY id",
                                (self.school,)).fetchall()
        return [self._load_session(r[0]) for r in rows]

    def delete_session(self, session_id: str) -> None:
        self.delete_sessions([session_id])

    # -- records (archive) ------------------------------------------------
    def _record_row(self, doc: Doc, text: str) -> tuple[Any, ...]:
        return record_row(self.db, doc, text)

    def _load_record(self, body: str) -> Doc:
        return dict(self.db.load(body, f"a record of school {self.school!r}"))

    def create_record(self, record: Doc) -> Doc:
        doc = clone(record)
        year = year_of(doc.get("created_at"))
        session_id = doc.get("session_id")
        if isinstance(session_id, str):
            found = self.record_for_session(session_id)
            if found is not None:
                return found
        try:
            return self._create(doc, year)
        except _Exists:
            # Another instance made this session's record first: the unique
            # constraint said so, and the transaction (and its number) was undone.
            found = self.record_for_session(str(session_id))
            if found is None:
                raise StoreError("a record for this session was made and then removed "
                                 "meanwhile") from None
            return found

    def _create(self, doc: Doc, year: int) -> Doc:
        with self.db.tx() as conn:
            row = conn.execute(
                "INSERT INTO counters (school, year, high) VALUES (%s, %s, 1) "
                "ON CONFLICT (school, year) DO UPDATE SET high = counters.high + 1 "
                "RETURNING high", (self.school, year)).fetchone()
            assert row is not None
            seq = int(row[0])
            record_id = format_record_id(year, seq)
            doc.pop("id", None)
            doc = {"id": record_id, **doc}
            self.db.sealer.seal_audit(record_id, doc.get("audit"), start=0)
            text = _text(doc)
            inserted = conn.execute(
                _INSERT_RECORD,
                (self.school, record_id, year, seq, *self._record_row(doc, text))).fetchone()
            if inserted is None:
                raise _Exists(record_id)
            self._append(conn, "create", id=record_id, d=digest(text))
            conn.execute("UPDATE schools SET live = live + 1 WHERE id = %s", (self.school,))
        made: Doc = clone(doc)
        return made

    def get_record(self, record_id: str) -> Doc | None:
        with self.db.connection() as conn:
            row = conn.execute("SELECT body FROM records WHERE school = %s AND id = %s",
                               (self.school, record_id)).fetchone()
        return None if row is None else self._load_record(row[0])

    def get_records(self, record_ids: list[str], fields: tuple[str, ...] = ()
                    ) -> list[Doc]:
        if not record_ids:
            return []
        with self.db.connection() as conn:
            rows = conn.execute("SELECT id, body FROM records WHERE school = %s AND id = ANY(%s)",
                                (self.school, list(record_ids))).fetchall()
        found = {row[0]: self._load_record(row[1]) for row in rows}
        if fields:
            found = {i: {f: r[f] for f in fields if f in r} for i, r in found.items()}
        return [found[i] for i in record_ids if i in found]

    def record_for_session(self, session_id: str) -> Doc | None:
        with self.db.connection() as conn:
            row = conn.execute("SELECT body FROM records WHERE school = %s AND session_id = %s",
                               (self.school, session_id)).fetchone()
        return None if row is None else self._load_record(row[0])

    def update_record(self, record_id: str, mutate: Mutator) -> Doc:
        found = self._update(record_id, mutate, skip_locked=False)
        assert found is not None
        return found

    def try_update_record(self, record_id: str, mutate: Mutator) -> Doc | None:
        """As :meth:`update_record`, but None at once if another transaction
        (another instance claiming it) holds the record: ``SKIP LOCKED``."""
        return self._update(record_id, mutate, skip_locked=True)

    def _update(self, record_id: str, mutate: Mutator, *, skip_locked: bool) -> Doc | None:
        lock = "FOR UPDATE SKIP LOCKED" if skip_locked else "FOR UPDATE"
        with self.db.tx() as conn:
            row = conn.execute(f"SELECT body FROM records WHERE school = %s AND id = %s {lock}",
                               (self.school, record_id)).fetchone()
            if row is None:
                if skip_locked and self._exists(conn, record_id):
                    return None
                raise NotFound(record_id)
            old = self._load_record(row[0])
            new = mutated(old, mutate, record_id)
            if new == old:
                return new
            audit = old.get("audit")
            sealed = len(audit) if isinstance(audit, list) else 0
            self.db.sealer.seal_audit(record_id, new.get("audit"), start=sealed)
            text = _text(new)
            conn.execute(UPDATE_RECORD, (*self._record_row(new, text), self.school, record_id))
            self._append(conn, "update", id=record_id, d=digest(text))
        return new

    def update_records(self, record_ids: list[str], mutate: Mutator) -> list[Doc]:
        """``mutate`` applied to each record in one transaction with one
        ledger line (an export of thousands audited at once)."""
        ids = list(dict.fromkeys(record_ids))
        with self.db.tx() as conn:
            rows = conn.execute("SELECT id, body FROM records WHERE school = %s AND id = ANY(%s) "
                                "ORDER BY id FOR UPDATE", (self.school, ids)).fetchall()
            olds = {str(rid): self._load_record(body) for rid, body in rows}
            for record_id in ids:
                if record_id not in olds:
                    raise NotFound(record_id)
            news = {rid: mutated(old, mutate, rid) for rid, old in olds.items()}
            ds: dict[str, str] = {}
            params = []
            for rid in ids:
                new, old = news[rid], olds[rid]
                if new == old:
                    continue
                audit = old.get("audit")
                self.db.sealer.seal_audit(rid, new.get("audit"),
                                          start=len(audit) if isinstance(audit, list) else 0)
                text = _text(new)
                ds[rid] = digest(text)
                params.append((*self._record_row(new, text), self.school, rid))
            if params:
                with conn.cursor() as cur:
                    cur.executemany(UPDATE_RECORD, params)
                self._append(conn, "updates", docs=ds)
        return [clone(news[rid]) for rid in ids]

    def _exists(self, conn: psycopg.Connection, record_id: str) -> bool:
        return conn.execute("SELECT 1 FROM records WHERE school = %s AND id = %s",
                            (self.school, record_id)).fetchone() is not None

    def list_records(self, **filters: Unpack[RecordFilters]) -> list[RecordSummary]:
        q = RecordQuery(**filters)
        recorded_by, review_status, limit = q.recorded_by, q.review_status, q.limit
        delivery_state_not_in = q.delivery_state_not_in
        if limit is not None and limit <= 0:
            return []
        sql = [f"SELECT {_SUMMARY_COLUMNS} FROM records WHERE school = %s"]
        args: list[Any] = [self.school]
        if recorded_by is not None and self.db.cipher is not None:
            sql.append("AND recorded_by_mac = %s")
            args.append(self.db.lookup("recorded_by", recorded_by))
        elif recorded_by is not None:
            sql.append("AND recorded_by = %s")
            args.append(recorded_by)
        if review_status is not None:
            sql.append("AND review_status = %s")
            args.append(review_status)
        if delivery_state_not_in:
            # Inlined, not a parameter, so the planner can match the partial
            # index kept for the outbox's question (0001_store.sql).
            states = sql_lib.SQL(", ").join(
                sql_lib.Literal(str(v)) for v in sorted(set(delivery_state_not_in)))
            sql.append(sql_lib.SQL("AND (delivery_state IS NULL OR delivery_state <> ALL "
                                   "(ARRAY[{}]::text[]))").format(states)
                       .as_string(None))
        sql.append("ORDER BY created_at DESC, year DESC, seq DESC")
        if limit is not None:
            sql.append("LIMIT %s")
            args.append(limit)
        with self.db.connection() as conn:
            rows = conn.execute(" ".join(sql), args).fetchall()
        return [self._summary(row) for row in rows]

    def _summary(self, row: tuple[Any, ...]) -> RecordSummary:
        summary: dict[str, Any] = dict(zip(SUMMARY_FIELDS, row, strict=True))
        delivery = summary.get("delivery")
        summary["delivery"] = None if delivery is None else json.loads(delivery)
        for column in SEALED_COLUMNS:
            summary[column] = self.db.open_text(summary.get(column),
                                                f"{column} of record {summary.get('id')}")
        return summary  # type: ignore[return-value]

    def records_for_child(self, child_ref: str) -> list[RecordSummary]:
        """Summaries of this school's records about ``child_ref`` (compared
        NFKC, case-folded and trimmed), newest first. With a data key set
        they are found by the keyed hash, the reference never in clear."""
        if self.db.cipher is not None:
            test, arg = "child_ref_mac = %s", self.db.lookup("child_ref", child_ref)
        else:
            test, arg = "lower(btrim(child_ref)) = %s", _folded(child_ref)
        with self.db.connection() as conn:
            rows = conn.execute(f"SELECT {_SUMMARY_COLUMNS} FROM records WHERE school = %s "
                                f"AND {test} ORDER BY created_at DESC, year DESC, seq DESC",
                                (self.school, arg)).fetchall()
        return [self._summary(row) for row in rows]

    def iter_records(self) -> Iterator[Doc]:
        with self.db.connection() as conn, conn.cursor(name="records") as cur:
            cur.itersize = 500
            cur.execute("SELECT body FROM records WHERE school = %s "
                        "ORDER BY created_at, year, seq", (self.school,))
            for (body,) in cur:
                yield self._load_record(body)

    def delete_records(self, record_ids: list[str], *,
                       note: dict[str, Any] | None = None) -> int:
        wanted = list(dict.fromkeys(r for r in record_ids if parse_record_id(r)))
        if not wanted:
            return 0
        with self.db.tx() as conn:
            # Rows first, then the school's ledger lock: the order every write takes.
            present = [r[0] for r in conn.execute(
                "SELECT id FROM records WHERE school = %s AND id = ANY(%s) ORDER BY id "
                "FOR UPDATE", (self.school, wanted)).fetchall()]
            if not present:
                return 0
            self._append(conn, "purge", ids=ranges(present), count=len(present), **(note or {}))
            conn.execute("DELETE FROM records WHERE school = %s AND id = ANY(%s)",
                         (self.school, present))
            conn.execute("UPDATE schools SET live = live - %s WHERE id = %s",
                         (len(present), self.school))
        return len(present)

    def count_records(self) -> int:
        with self.db.connection() as conn:
            row = conn.execute("SELECT count(*) FROM records WHERE school = %s",
                               (self.school,)).fetchone()
        return int(row[0]) if row else 0

    def issued(self) -> dict[int, int]:
        with self.db.connection() as conn:
            rows = conn.execute("SELECT year, high FROM counters WHERE school = %s",
                                (self.school,)).fetchall()
        return {int(y): int(h) for y, h in rows}

    # -- integrity ----------------------------------------------------------
    def verify_integrity(self, check_record: Callable[[Doc], list[str]] | None = None,
                         anchor: tuple[int, str] | None = None) -> Report:
        """The TinyDB store's checks, over this school's rows: every record
        against its keyed chain and the ledger, the ledger against its own
        chain (and the anchor), and no number given out gone missing."""
        sealer = self.db.sealer
        state, problems = check_chain(self._ledger_entries(), sealer, anchor)
        report = Report(problems=problems, head=(state.n, state.mac))
        if state.school and state.school != self.school:
            report.problems.append(f"ledger: begun for school {state.school!r}, not "
                                   f"{self.school!r}: copied from another school")
        seen: set[str] = set()
        for doc in self._raw_records(report):
            record_id = str(doc.get("id"))
            report.checked += 1
            seen.add(record_id)
            report.problems.extend(record_problems(doc, record_id, state, sealer, check_record))
        missing = set(state.docs) - seen
        for year, high in state.highs.items():
            missing.update(rid for rid in (format_record_id(year, s) for s in range(1, high + 1))
                           if rid not in seen and rid not in state.purged
                           and rid not in state.void)
        for record_id in sorted(missing, key=lambda r: parse_record_id(r) or (0, 0)):
            report.problems.append(f"{record_id}: missing, and no purge recorded")
        for year, high in sorted(self.issued().items()):
            if high > state.highs.get(year, 0):
                report.problems.append(f"counter {year}: counts {high} ids, the ledger only "
                                       f"{state.highs.get(year, 0)}")
        held = {e for s in self.all_sessions() for e in alert_states(s)}
        for event in sorted(state.alerts - held):
            report.problems.append(f"sessions: urgent alert {event} is waiting to be sent but "
                                   "is no longer held")
        if not sealer.keyed:
            report.notes.append(f"note: no audit key is set ({ENV_AUDIT_KEY}), so someone who "
                                "can write the database could rewrite it undetected")
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

    def _raw_records(self, report: Report) -> Iterator[Doc]:
        with self.db.connection() as conn, conn.cursor(name="verify") as cur:
            cur.itersize = 500
            cur.execute("SELECT id, body FROM records WHERE school = %s ORDER BY year, seq",
                        (self.school,))
            for record_id, body in cur:
                try:
                    doc = self._load_record(body)
                except StoreError as exc:
                    report.problems.append(f"{record_id}: {exc}")
                    continue
                if doc.get("id") != record_id:
                    report.problems.append(f"{record_id}: stored under the wrong id")
                yield doc

    def check_counts(self) -> None:
        """StoreError if rows went missing or appeared outside Jigsaw (the
        count kept with every write differs from the rows there are)."""
        with self.db.connection() as conn:
            row = conn.execute("SELECT live, (SELECT count(*) FROM records WHERE school = %s) "
                               "FROM schools WHERE id = %s",
                               (self.school, self.school)).fetchone()
        if row is None:
            raise StoreError(f"school {self.school!r} is not in the database")
        if int(row[0]) != int(row[1]):
            raise StoreError(f"school {self.school!r} holds {row[1]} record(s), its ledger "
                             f"says {row[0]}: restore from backup (`jigsaw verify` lists each "
                             "record)")

    def ledger_head(self) -> tuple[int, str, str]:
        with self.db.connection() as conn:
            row = conn.execute("SELECT ledger_n, ledger_mac, ledger_at FROM schools "
                               "WHERE id = %s", (self.school,)).fetchone()
        if row is None:
            raise StoreError(f"school {self.school!r} is not in the database")
        return int(row[0]), str(row[1]), str(row[2])

    def note_anchor(self, head: int, where: str, when: str = "") -> None:
        with self.db.tx() as conn:
            self._append(conn, "anchor", head=head, ts=where, **({"when": when} if when else {}))

    def last_anchor(self) -> tuple[str, str]:
        """(when the head was last anchored, or "", when the ledger began)."""
        with self.db.connection() as conn:
            first = conn.execute("SELECT entry FROM ledger WHERE school = %s ORDER BY n LIMIT 1",
                                 (self.school,)).fetchone()
            last = conn.execute("SELECT entry FROM ledger WHERE school = %s AND "
                                "entry::jsonb->>'op' = 'anchor' ORDER BY n DESC LIMIT 1",
                                (self.school,)).fetchone()
        began = str(json.loads(first[0]).get("at", "")) if first else ""
        entry = json.loads(last[0]) if last else {}
        return str(entry.get("when") or entry.get("at") or ""), began

    def note_escalations(self, *, raised: Iterable[str] = (),
                         done: Iterable[str] = ()) -> None:
        with self.db.tx() as conn:
            self._append(conn, "escalation", raised=sorted(raised), done=sorted(done))

    def pending_escalations(self) -> set[str]:
        state = LedgerState()
        with self.db.connection() as conn:
            rows = conn.execute("SELECT entry FROM ledger WHERE school = %s AND "
                                "entry::jsonb->>'op' IN ('begin', 'escalation') ORDER BY n",
                                (self.school,)).fetchall()
        for (text,) in rows:
            entry = json.loads(text)
            if entry.get("op") == "begin":
                state.escalations.update(str(e) for e in entry.get("escalations") or ())
            else:
                state.apply(entry)
        return state.escalations

    def purges(self) -> list[dict[str, Any]]:
        return [e for e in self._ledger_entries() if e.get("op") == "purge"]

    # -- idempotency and delivery state -----------------------------------
    def claim(self, key: str) -> bool:
        self.db.prune_claims()
        with self.db.tx() as conn:
            cur = conn.execute("INSERT INTO claims (school, key) VALUES (%s, %s) "
                               "ON CONFLICT DO NOTHING", (self.school, key))
            return cur.rowcount == 1

    def get_meta(self, key: str, default: Any = None) -> Any:
        try:
            with self.db.connection() as conn:
                row = conn.execute("SELECT body FROM meta WHERE school = %s AND key = %s",
                                   (self.school, key)).fetchone()
        except DatabaseUnavailable as exc:
            found = self._last_seen("meta", key, exc, default=_MISSING)
            return default if found is _MISSING else found
        value = _MISSING if row is None else self.db.load(row[0], f"setting {key!r}")
        self._remember("meta", key, value)
        return default if value is _MISSING else value

    def set_meta(self, key: str, value: Any) -> None:
        body = self.db.dump(_text(clone(value)))
        with self.db.tx() as conn:
            conn.execute("INSERT INTO meta (school, key, body) VALUES (%s, %s, %s) "
                         "ON CONFLICT (school, key) DO UPDATE SET body = excluded.body",
                         (self.school, key, body))
        self._remember("meta", key, value)

    def update_meta(self, key: str, mutate: Callable[[Any], Any]) -> Any:
        with self.db.tx() as conn:
            # Make sure the row exists so it can be locked; a new key starts as null.
            conn.execute("INSERT INTO meta (school, key, body) VALUES (%s, %s, %s) "
                         "ON CONFLICT DO NOTHING", (self.school, key, self.db.dump("null")))
            row = conn.execute("SELECT body FROM meta WHERE school = %s AND key = %s "
                               "FOR UPDATE", (self.school, key)).fetchone()
            current = None if row is None else self.db.load(row[0], f"setting {key!r}")
            value = clone(mutate(clone(current)))
            if value != current:
                conn.execute("UPDATE meta SET body = %s WHERE school = %s AND key = %s",
                             (self.db.dump(_text(value)), self.school, key))
        self._remember("meta", key, value)
        return value

    def close(self) -> None:
        if self._owns_db:
            self.db.close()


class _Exists(Exception):
    """The session's record was made by another writer meanwhile."""


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


# Columns after (school, id, year, seq) of ``records``, and of ``sessions``;
# shared with storage.move, which copies a data directory in with COPY.
RECORD_COLUMNS = ("session_id", "created_at", "updated_at", "recorded_by", "child_ref",
                  "decision", "status", "review_status", "delivery", "delivery_state", "body",
                  "child_ref_mac", "recorded_by_mac")
# ... of which these hold ciphertext when a data key is set.
SEALED_COLUMNS = ("recorded_by", "child_ref", "decision", "status")
_INSERT_RECORD = (f"INSERT INTO records (school, id, year, seq, {', '.join(RECORD_COLUMNS)}) "
                  f"VALUES ({', '.join(['%s'] * (4 + len(RECORD_COLUMNS)))}) "
                  "ON CONFLICT (school, session_id) DO NOTHING RETURNING id")
UPDATE_RECORD = (f"UPDATE records SET {', '.join(f'{c} = %s' for c in RECORD_COLUMNS)} "
                  "WHERE school = %s AND id = %s")


def _folded(value: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKC", value).strip().casefold()
SESSION_COLUMNS = ("school", "id", "user_id", "status", "updated_at", "body")


def record_row(db: Database, doc: Doc, text: str) -> tuple[Any, ...]:
    """The RECORD_COLUMNS of a record whose stored JSON is ``text``."""
    delivery = doc.get("delivery")
    recorded_by, child_ref = _opt(doc.get("recorded_by")), _opt(doc.get("child_ref"))
    return (_opt(doc.get("session_id")), str(doc.get("created_at")),
            _opt(doc.get("updated_at")), db.seal_text(recorded_by), db.seal_text(child_ref),
            db.seal_text(_opt(doc.get("decision"))), db.seal_text(_opt(doc.get("status"))),
            _opt(doc.get("review_status")),
            None if delivery is None else _text(delivery), delivery_state(doc),
            db.dump(text), db.lookup("child_ref", child_ref),
            db.lookup("recorded_by", recorded_by))


def session_row(db: Database, school: str, doc: Doc) -> tuple[Any, ...]:
    """The SESSION_COLUMNS of a session."""
    return (school, doc["id"], _opt(doc.get("user")), _opt(doc.get("status")),
            str(doc.get("updated_at") or ""), db.dump(_text(doc)))


__all__ = ["DEFAULT_SCHOOL", "Database", "DatabaseUnavailable", "PostgresStore",
           "is_postgres_url", "where"]
