"""Replacing the data key and the audit key (``jigsaw rotate-key``).

Every app instance is stopped first: a process still holding an old key
would write with it.

* A new **data key** (``JIGSAW_DATA_KEY``): everything encrypted with the
  old key is decrypted and encrypted again with the new one. The stored
  JSON text does not change, so the ledger's digests still hold. Going from
  no key to a key (or back) works the same way.
* A new **audit key** (``JIGSAW_AUDIT_KEY``): the store is first verified
  under the old key (nothing is changed if it has a problem), then every
  record's audit trail and every ledger line are sealed again with the new
  key, keeping their content, numbers and times. A last ledger line
  records the rotation, the records' new digests and, for every ledger line
  that had been anchored outside the store, its MAC under the old key, so
  ``jigsaw verify --anchor`` still checks the anchors made before.
* **The audit key is lost**: the data key alone reads every record, so
  nothing is lost, but nothing sealed with the lost key can be checked any
  more. ``--audit-key-lost`` seals the store with a new key without
  verifying it first, and the rotation line says so (``jigsaw verify``
  reports it from then on).

On PostgreSQL the whole rotation, for every school, is one transaction
holding the tables locked: it happens entirely or not at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .base import StoreError
from .crypto import ENV_KEY, Cipher, cipher_for, is_encrypted_text, seal, unseal
from .files import write_atomic
from .integrity import record_problems
from .ledger import Entry, check_chain, now_iso
from .locking import lock_for
from .records import TABLE, _text
from .seal import Sealer, canonical, digest


class RotateRefused(StoreError):
    """The rotation was refused; nothing was changed."""


@dataclass
class Rotated:
    schools: int = 0
    records: int = 0
    sessions: int = 0
    settings: int = 0
    tokens: int = 0
    notes: list[str] = field(default_factory=list)


def remac(entries: list[Entry], new: Sealer, *, docs: dict[str, str], old_key_id: str,
          old_key_lost: bool) -> list[Entry]:
    """The ledger ``entries`` sealed again with ``new`` (same content, numbers
    and times; the first line names the new key), and a last line recording
    the rotation: the records' new digests and the old MACs of anchored lines."""
    anchored = {int(e["head"]) for e in entries
                if e.get("op") == "anchor" and isinstance(e.get("head"), int)}
    old_macs = {str(e.get("n")): str(e.get("mac", "")) for e in entries
                if e.get("n") in anchored}
    out: list[Entry] = []
    prev = ""
    for position, entry in enumerate(entries):
        body = {k: v for k, v in entry.items() if k not in ("mac", "prev")}
        if position == 0:
            body.update(keyed=new.keyed, key_id=new.key_id)
        body["prev"] = prev
        body["mac"] = new.mac("ledger", body)
        prev = body["mac"]
        out.append(body)
    last: Entry = {"n": len(entries), "at": now_iso(), "op": "updates", "why": "rekeyed",
                   "key_from": old_key_id, "docs": docs, "anchors": old_macs}
    if old_key_lost:
        last["old_key_lost"] = True
    last["prev"] = prev
    last["mac"] = new.mac("ledger", last)
    out.append(last)
    return out


def _token(value: str | None, old: Cipher | None, new: Cipher | None, what: str
           ) -> str | None:
    if not value:
        return value
    plain = value
    if is_encrypted_text(value):
        if old is None:
            raise RotateRefused(f"{what} is encrypted: give the current {ENV_KEY}")
        plain = old.decrypt_text(value, what)
    return plain if new is None else new.encrypt_text(plain)


_TOKEN_COLUMNS = {"slack_installations": ("bot_token", "bot_refresh_token", "user_token",
                                          "user_refresh_token"),
                  "slack_bots": ("bot_token", "bot_refresh_token")}
_TABLES = "schools, records, sessions, meta, ledger, slack_installations, slack_bots"


def rotate_database(url: str, *, key: str | None, new_key: str | None,
                    audit_key: bytes | None, new_audit_key: bytes | None,
                    audit_key_lost: bool = False) -> Rotated:
    """Re-encrypt (``key`` -> ``new_key``) and re-seal (``audit_key`` ->
    ``new_audit_key``) every school in the database, in one transaction."""
    from .postgres import Database

    reseal = audit_key_lost or audit_key != new_audit_key
    old = Database(url, key=key, audit_key=audit_key, max_size=2)
    new = Database(url, key=new_key, audit_key=new_audit_key, max_size=1)
    done = Rotated()
    try:
        with old.tx() as conn:
            # Nothing else writes meanwhile; a rotation left half done is rolled back.
            conn.execute(f"LOCK TABLE {_TABLES} IN EXCLUSIVE MODE")
            schools = conn.execute("SELECT id, settings FROM schools ORDER BY id").fetchall()
            for school, settings in schools:
                _rotate_school(conn, old, new, str(school), reseal=reseal,
                               audit_key_lost=audit_key_lost, done=done)
                if settings:
                    conn.execute("UPDATE schools SET settings = %s::jsonb WHERE id = %s",
                                 (new.settings_json(old.settings_of(settings, str(school))),
                                  school))
                    done.settings += 1
            for table, columns in _TOKEN_COLUMNS.items():
                rows = conn.execute(f"SELECT id, {', '.join(columns)} FROM {table}").fetchall()
                for row_id, *values in rows:
                    fresh = [_token(v, old.cipher, new.cipher, f"a Slack {c}")
                             for c, v in zip(columns, values, strict=True)]
                    conn.execute(f"UPDATE {table} SET "
                                 f"{', '.join(f'{c} = %s' for c in columns)} WHERE id = %s",
                                 (*fresh, row_id))
                    done.tokens += sum(1 for v in values if v)
            done.schools = len(schools)
    finally:
        old.close()
        new.close()
    return done


def _rotate_school(conn: Any, old: Any, new: Any, school: str, *, reseal: bool,
                   audit_key_lost: bool, done: Rotated) -> None:
    from .postgres import UPDATE_RECORD, record_row

    entries = [json.loads(r[0]) for r in conn.execute(
        "SELECT entry FROM ledger WHERE school = %s ORDER BY n", (school,)).fetchall()]
    state, problems = check_chain(iter(entries), old.sealer)
    if state.keyed and not old.sealer.keyed and not audit_key_lost:
        raise RotateRefused(f"school {school!r} is sealed with an audit key: give the current "
                            "one (JIGSAW_AUDIT_KEY), or say it is lost (--audit-key-lost)")
    if state.keyed and old.sealer.keyed and state.key_id != old.sealer.key_id:
        raise RotateRefused(f"school {school!r} is sealed with a different audit key than "
                            "JIGSAW_AUDIT_KEY: nothing was changed")
    rows = conn.execute("SELECT id, body FROM records WHERE school = %s ORDER BY year, seq",
                        (school,)).fetchall()
    docs: dict[str, str] = {}
    updates = []
    for record_id, body in rows:
        what = f"record {record_id} of school {school!r}"
        text = old.load_text(body, what)
        doc = json.loads(text)
        if reseal and not audit_key_lost:
            problems += record_problems(doc, str(record_id), state, old.sealer, None)
        if reseal:
            new.sealer.seal_audit(str(record_id), doc.get("audit"), start=0)
            text = _text(doc)
        docs[str(record_id)] = digest(text)
        updates.append((*record_row(new, doc, text), school, record_id))
    if problems and not audit_key_lost:
        raise RotateRefused(f"school {school!r} has {len(problems)} problem(s) (`jigsaw verify` "
                            f"lists them; the first: {problems[0]}): nothing was changed")
    if updates:
        with conn.cursor() as cur:
            cur.executemany(UPDATE_RECORD, updates)
    if reseal and entries:
        fresh = remac(entries, new.sealer, docs=docs, old_key_id=state.key_id,
                      old_key_lost=audit_key_lost)
        conn.execute("DELETE FROM ledger WHERE school = %s", (school,))
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO ledger (school, n, entry) VALUES (%s, %s, %s)",
                            [(school, e["n"], canonical(e).decode("utf-8")) for e in fresh])
        head = fresh[-1]
        conn.execute("UPDATE schools SET ledger_n = %s, ledger_mac = %s, ledger_at = %s "
                     "WHERE id = %s", (head["n"], head["mac"], head["at"], school))
    for table in ("sessions", "meta"):
        key_col = "id" if table == "sessions" else "key"
        for row_key, body in conn.execute(f"SELECT {key_col}, body FROM {table} "
                                          "WHERE school = %s", (school,)).fetchall():
            text = old.load_text(body, f"{table} {row_key!r} of school {school!r}")
            conn.execute(f"UPDATE {table} SET body = %s WHERE school = %s AND {key_col} = %s",
                         (new.dump(text), school, row_key))
            done.sessions += table == "sessions"
    done.records += len(rows)
    if audit_key_lost:
        done.notes.append(f"school {school!r}: sealed with the new audit key without checking "
                          "it (the old key is lost)")




# -- TinyDB ------------------------------------------------------------------

ROTATING = ".rotating"


def rotating_copy(data_dir: Path) -> Path:
    """Where a rotation builds the new copy of ``data_dir``."""
    return data_dir.with_name(data_dir.name + ROTATING)


def rotate_directory(data_dir: Path | str, *, key: str | None, new_key: str | None,
                     audit_key: bytes | None, new_audit_key: bytes | None,
                     audit_key_lost: bool = False, stamp: str = "") -> tuple[Rotated, Path]:
    """Rotate the keys of a data directory; returns what was done and where
    the previous copy was kept.

    The new copy is built and verified beside the directory
    (``<dir>.rotating``), then put in its place by two renames; until the
    second, the directory as it was is untouched. (A crash between the two
    leaves ``<dir>`` absent: the store then refuses to start and says to run
    ``jigsaw rotate-key`` again, which finishes the swap.)"""
    import shutil
    from datetime import UTC, datetime

    from .locking import DataDirLock

    root = Path(data_dir).absolute()
    copy = rotating_copy(root)
    if not root.exists() and copy.exists():
        copy.rename(root)  # a rotation cut short after its copy was verified
        return Rotated(notes=[f"finished an interrupted rotation: {root} is the new copy"]), copy
    done = Rotated(schools=1)
    with DataDirLock(root):  # refuses while the app runs on the directory
        if copy.exists():
            shutil.rmtree(copy)
        shutil.copytree(root, copy, symlinks=True)
        try:
            _build(root, copy, key, new_key, audit_key, new_audit_key, audit_key_lost, done)
        except BaseException:
            shutil.rmtree(copy, ignore_errors=True)
            raise
        kept = root.with_name(f"{root.name}.before-rotate-"
                              f"{stamp or datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}")
        root.rename(kept)
        copy.rename(root)
    return done, kept


def _build(root: Path, copy: Path, key: str | None, new_key: str | None,
           audit_key: bytes | None, new_audit_key: bytes | None, audit_key_lost: bool,
           done: Rotated) -> None:
    """The rotated copy made in ``copy`` and verified under the new keys."""
    from .tinydb_store import TinyDBStore

    old_cipher, new_cipher = cipher_for(key), cipher_for(new_key)
    reseal = audit_key_lost or audit_key != new_audit_key
    if reseal and not audit_key_lost:
        # Checked under the old audit key first: nothing is done to a
        # store with a problem.
        before = TinyDBStore(copy, key=key, audit_key=audit_key)
        report = before.verify_integrity()
        before.close()
        if report.problems:
            raise RotateRefused(f"{root} has {len(report.problems)} problem(s) (`jigsaw "
                                f"verify` lists them; the first: {report.problems[0]}): "
                                "nothing was changed")
    for path in sorted(copy.rglob("*.json")):
        if path.is_file():
            plain = unseal(path.read_bytes(), old_cipher, path)
            write_atomic(path, seal(plain, new_cipher)).release()
    if reseal:
        _reseal_directory(copy, new_key, new_audit_key, audit_key_lost, done)
    after = TinyDBStore(copy, key=new_key, audit_key=new_audit_key)
    report = after.verify_integrity()
    done.records = after.count_records()
    done.sessions = len(after.all_sessions())
    after.close()
    if report.problems:
        raise RotateRefused(f"the rotated copy does not verify ({report.problems[0]}): "
                            f"{root} was left as it was")


def _reseal_directory(copy: Path, new_key: str | None, new_audit_key: bytes | None,
                      audit_key_lost: bool, done: Rotated) -> None:
    """Every ledger line and record audit trail in ``copy`` sealed with the
    new audit key (contents unchanged), and the records' new digests noted."""
    from .ledger import LEDGER_NAME
    from .tinydb_store import TinyDBStore

    ledger = copy / LEDGER_NAME
    entries = [json.loads(line) for line in ledger.read_bytes().splitlines() if line.strip()]
    old_key_id = str(entries[0].get("key_id", "")) if entries else ""
    new = Sealer(new_audit_key)
    fresh = remac(entries, new, docs={}, old_key_id=old_key_id, old_key_lost=audit_key_lost)
    write_atomic(ledger, b"".join(canonical(e) + b"\n" for e in fresh)).release()
    store = TinyDBStore(copy, key=new_key, audit_key=new_audit_key)
    try:
        docs: dict[str, str] = {}
        for path, _, _ in store.blocks_on_disk():
            block = store.read_block(path)
            if block is None:
                continue
            for record_id, doc in block["records"].items():
                new.seal_audit(record_id, doc.get("audit"), start=0)
                docs[record_id] = digest(_text(doc))
            store.write_block(path, block[TABLE])
        with lock_for(store.records_root).held():
            store._ledger.append("updates", docs=docs, why="resealed")
    finally:
        store.close()
    if audit_key_lost:
        done.notes.append(f"{copy.name.removesuffix(ROTATING)}: sealed with the new audit key "
                          "without checking it (the old key is lost)")


__all__ = ["RotateRefused", "Rotated", "remac", "rotate_database", "rotate_directory"]
