"""Versioned schema migrations for the PostgreSQL store.

Each migration is numbered, in ``storage/migrations``: an SQL file
(``0001_store.sql``), or a module whose ``sql()`` makes the statements from a
library's own table definitions (``0002_slack_oauth.py``). Each is applied
once, in order, in its own transaction, and recorded in ``jigsaw_schema``.
``jigsaw migrate-db`` runs them; the app refuses to start on a database whose
schema is behind, rather than run new code on old tables.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from importlib import resources

import psycopg

from .base import StoreError

_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.(sql|py)")
# Taken for the whole run, so two instances started at once migrate once.
_LOCK_ID = 0x4A1653A  # with the schema's hash: one lock per schema


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    load: Callable[[], str]  # its statements, read only when it is applied

    @property
    def sql(self) -> str:
        return self.load()


def migrations() -> list[Migration]:
    """Every migration shipped with this version, in order."""
    found = []
    for item in resources.files("storage.migrations").iterdir():
        match = _NAME.fullmatch(item.name)
        if match is None:
            continue
        load = (partial(item.read_text, encoding="utf-8") if match[3] == "sql" else
                partial(_module_sql, f"{__package__}.migrations.{item.name.removesuffix('.py')}"))
        found.append(Migration(int(match[1]), match[2], load))
    found.sort(key=lambda m: m.version)
    return found


def _module_sql(module: str) -> str:
    return str(importlib.import_module(module).sql())


LATEST = migrations()[-1].version


def current_version(conn: psycopg.Connection) -> int:
    """The schema version of the database (0 if never migrated)."""
    exists = conn.execute("SELECT to_regclass('jigsaw_schema') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM jigsaw_schema").fetchone()
    return int(row[0]) if row else 0


def migrate(conninfo: str) -> list[Migration]:
    """Bring the database up to the latest schema; returns what was applied."""
    applied: list[Migration] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s, hashtext(current_schema()))", (_LOCK_ID,))
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS jigsaw_schema (version integer PRIMARY "
                         "KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT "
                         "now())")
            have = current_version(conn)
            for migration in migrations():
                if migration.version <= have:
                    continue
                with conn.transaction():
                    conn.execute(migration.sql.encode("utf-8"))
                    conn.execute("INSERT INTO jigsaw_schema (version, name) VALUES (%s, %s)",
                                 (migration.version, migration.name))
                applied.append(migration)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s, hashtext(current_schema()))",
                         (_LOCK_ID,))
    return applied


def require_current(conn: psycopg.Connection, where: str) -> None:
    """StoreError unless the schema is exactly the one this code was written for."""
    have = current_version(conn)
    if have < LATEST:
        raise StoreError(f"the database at {where} is at schema version {have}, this version "
                         f"of Jigsaw needs {LATEST}: run `jigsaw migrate-db` first")
    if have > LATEST:
        raise StoreError(f"the database at {where} is at schema version {have}, newer than "
                         f"this version of Jigsaw knows ({LATEST}): upgrade Jigsaw")
