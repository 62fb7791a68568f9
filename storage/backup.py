"""Backups and restores (``jigsaw backup`` and ``jigsaw restore``).

A backup is one file, made owner-only and never over an existing one: a
gzipped tar holding ``manifest.json`` (backend, schema version, when it was
taken, each school's ledger head) and the data exactly as stored, so it is
as encrypted as the store itself (records, sessions and settings under
``JIGSAW_DATA_KEY``; the ledger names ids and digests, no child data).

* A data directory is copied while the app runs, under the store's own
  locks, so the copy is one consistent moment (``meta.json``, the schedule,
  a moment before).
* PostgreSQL is copied table by table (``COPY``) inside one read-only,
  repeatable-read transaction: every school as of one moment.

A restore goes only into an empty place (a data directory that does not
exist or is empty; a database migrated by ``jigsaw migrate-db`` and holding
no school), is checked under the configured keys before it is put in place
(a data directory) or committed (PostgreSQL, one transaction), and leaves
nothing behind if it fails. A restored store is the store as it was at the
backup: records written since are not in it. ``jigsaw verify`` (which checks
the ledger against the newest anchor in the DSL channel, or ``--anchor``)
then lists that loss, so it is noticed and the records can be made again.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .base import StoreError
from .files import FILE_MODE, TEMP_SUFFIX, make_private_dirs

KIND = "jigsaw-backup"
MANIFEST = "manifest.json"
# The tables a database backup holds, in an order their foreign keys allow.
TABLES = ("schools", "counters", "ledger", "records", "sessions", "meta", "claims",
          "slack_installations", "slack_bots")
_SERIAL = ("slack_installations", "slack_bots")


class BackupError(StoreError):
    """A backup or restore was refused; nothing was written."""


@dataclass
class Manifest:
    backend: str
    schema: int
    taken_at: str
    heads: dict[str, list[Any]] = field(default_factory=dict)  # school -> [n, mac]
    files: int = 0

    def as_json(self) -> bytes:
        return json.dumps({"kind": KIND, **self.__dict__}, indent=1).encode("utf-8")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _new_file(out: Path) -> io.BufferedWriter:
    """``out`` created owner-only; refused if it exists."""
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        raise BackupError(f"{out} exists: a backup never overwrites a file") from None
    return os.fdopen(fd, "wb")


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), FILE_MODE, int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


def _write(out: Path, manifest: Manifest, members: list[tuple[str, bytes]]) -> None:
    with _new_file(out) as fh:
        try:
            with tarfile.open(fileobj=fh, mode="w:gz") as tar:
                _add(tar, MANIFEST, manifest.as_json())
                for name, data in members:
                    _add(tar, name, data)
            fh.flush()
            os.fsync(fh.fileno())
        except BaseException:
            out.unlink(missing_ok=True)
            raise


def read_backup(path: Path) -> tuple[Manifest, dict[str, bytes]]:
    """The manifest and members of a backup file; BackupError if it is not one."""
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            members: dict[str, bytes] = {}
            for info in tar.getmembers():
                if not info.isfile() or info.name.startswith("/") or ".." in info.name.split("/"):
                    raise BackupError(f"{path}: unexpected entry {info.name!r}")
                extracted = tar.extractfile(info)
                members[info.name] = extracted.read() if extracted else b""
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"{path} is not a Jigsaw backup ({exc})") from None
    try:
        raw = json.loads(members.pop(MANIFEST))
        if raw.pop("kind") != KIND:
            raise ValueError
        manifest = Manifest(**raw)
    except (KeyError, ValueError, TypeError):
        raise BackupError(f"{path} is not a Jigsaw backup (no manifest)") from None
    return manifest, members


# -- a data directory ----------------------------------------------------------

def _skip(path: Path) -> bool:
    return path.name.endswith((".lock", TEMP_SUFFIX)) or path.name == "app.lock"


def backup_directory(data_dir: Path | str, out: Path | str) -> Manifest:
    """Back up the data directory (the app may be running) to ``out``."""
    from .ledger import LEDGER_NAME, check_chain
    from .locking import lock_for
    from .seal import Sealer

    root = Path(data_dir).absolute()
    if not (root / LEDGER_NAME).is_file():
        raise BackupError(f"{root} holds no Jigsaw store")
    members: list[tuple[str, bytes]] = []
    meta = root / "meta.json"
    with lock_for(meta).held():
        if meta.is_file():
            members.append(("data/meta.json", meta.read_bytes()))
    # The order the app takes them: hot.json's, then the archive's.
    with lock_for(root / "hot.json").held(), lock_for(root / "records").held():
        for path in sorted(root.rglob("*")):
            if path.is_file() and not _skip(path) and path != meta:
                members.append((f"data/{path.relative_to(root).as_posix()}", path.read_bytes()))
    ledger = next(d for n, d in members if n == f"data/{LEDGER_NAME}")
    entries = [json.loads(line) for line in ledger.splitlines() if line.strip()]
    state, _ = check_chain(iter(entries), Sealer(None))
    from .migrate import LATEST

    manifest = Manifest("tinydb", LATEST, _now(), {"default": [state.n, state.mac]},
                        len(members))
    _write(Path(out), manifest, members)
    return manifest


def restore_directory(backup: Path | str, data_dir: Path | str, *, key: str | None,
                      audit_key: bytes | None) -> Manifest:
    """Restore a data-directory backup into ``data_dir`` (absent or empty),
    checked under the given keys before it is put in place."""
    from .tinydb_store import TinyDBStore

    manifest, members = read_backup(Path(backup))
    if manifest.backend != "tinydb":
        raise BackupError(f"{backup} is a {manifest.backend} backup: restore it with "
                          "JIGSAW_DATABASE_URL set")
    root = Path(data_dir).absolute()
    if root.exists() and any(root.iterdir()):
        raise BackupError(f"{root} is not empty: restore into a new data directory")
    staging = root.with_name(root.name + ".restoring")
    if staging.exists():
        shutil.rmtree(staging)
    try:
        make_private_dirs(staging)
        for name, data in members.items():
            target = staging / name.removeprefix("data/")
            make_private_dirs(target.parent)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        store = TinyDBStore(staging, key=key, audit_key=audit_key)
        report = store.verify_integrity()
        store.close()
        if report.problems:
            raise BackupError(f"the backup does not verify ({report.problems[0]}): nothing "
                              "was restored")
        if root.exists():
            root.rmdir()
        staging.rename(root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


# -- PostgreSQL ---------------------------------------------------------------

def backup_database(url: str, out: Path | str) -> Manifest:
    """Back up every school in the database to ``out``, as of one moment."""
    import psycopg

    from .migrate import current_version

    members: list[tuple[str, bytes]] = []
    with psycopg.connect(url) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        version = current_version(conn)
        heads = {str(r[0]): [int(r[1]), str(r[2])] for r in conn.execute(
            "SELECT id, ledger_n, ledger_mac FROM schools ORDER BY id").fetchall()}
        for table in TABLES:
            buf = bytearray()
            with conn.cursor().copy(f"COPY {table} TO STDOUT") as copy:
                for chunk in copy:
                    buf += chunk
            members.append((f"tables/{table}.copy", bytes(buf)))
    manifest = Manifest("postgresql", version, _now(), heads, len(members))
    _write(Path(out), manifest, members)
    return manifest


def restore_database(backup: Path | str, url: str, *, key: str | None,
                     audit_key: bytes | None) -> Manifest:
    """Restore a database backup into an empty, migrated database, in one
    transaction, checked under the given keys before it is committed."""
    import psycopg

    from .migrate import current_version
    from .postgres import Database

    manifest, members = read_backup(Path(backup))
    if manifest.backend != "postgresql":
        raise BackupError(f"{backup} is a backup of a data directory: restore it without "
                          "JIGSAW_DATABASE_URL")
    db = Database(url, key=key, audit_key=audit_key, max_size=2)
    try:
        with db.tx() as conn:
            if current_version(conn) != manifest.schema:
                raise BackupError(f"the backup is of schema version {manifest.schema}, the "
                                  f"database is at {current_version(conn)}: restore into a "
                                  "database at the same version")
            conn.execute(f"LOCK TABLE {', '.join(TABLES)} IN EXCLUSIVE MODE")
            if conn.execute("SELECT 1 FROM schools LIMIT 1").fetchone():
                raise BackupError("the database already holds schools: restore into an "
                                  "empty database (made with `jigsaw migrate-db`)")
            for table in TABLES:
                data = members.get(f"tables/{table}.copy")
                if data is None:
                    raise BackupError(f"{backup} has no table {table}")
                with conn.cursor().copy(f"COPY {table} FROM STDIN") as copy:
                    copy.write(data)
            for table in _SERIAL:
                conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                             f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)")
            problems: list[str] = []
            for school in manifest.heads:
                problems += [f"school {school}: {p}" for p in _verify_in(conn, db, school)]
            if problems:
                raise BackupError(f"the backup does not verify ({problems[0]}): nothing was "
                                  "restored")
    except psycopg.Error as exc:
        raise BackupError(f"restore failed, nothing was restored: {exc}") from None
    finally:
        db.close()
    return manifest


def _verify_in(conn: Any, db: Any, school: str) -> list[str]:
    """The restored school's ledger chain and records, inside the restore's
    transaction (before it is committed)."""
    from .integrity import record_problems
    from .ledger import check_chain

    entries = [json.loads(r[0]) for r in conn.execute(
        "SELECT entry FROM ledger WHERE school = %s ORDER BY n", (school,)).fetchall()]
    state, problems = check_chain(iter(entries), db.sealer)
    seen = set()
    for record_id, body in conn.execute("SELECT id, body FROM records WHERE school = %s",
                                        (school,)).fetchall():
        doc = db.load(body, f"record {record_id}")
        seen.add(str(record_id))
        problems += record_problems(doc, str(record_id), state, db.sealer, None)
    problems += [f"{rid}: missing" for rid in sorted(set(state.docs) - seen)]
    return problems


__all__ = ["BackupError", "Manifest", "backup_database", "backup_directory", "read_backup",
           "restore_database", "restore_directory"]
