"""``jigsaw rotate-key``: a new data key and/or audit key, all or nothing,
and a store whose audit key was lost read and sealed again."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from bot.record import append_audit
from storage import StoreError, generate_key, open_store
from storage.locking import DataDirLock
from storage.postgres import Database, PostgresStore
from storage.rotate import RotateRefused, rotate_database, rotate_directory
from storage.tinydb_store import TinyDBStore
from tests.harness.pg import fresh_schema

OLD_AUDIT = b"old-audit-key-0123456789abcdef-0123456789"
NEW_AUDIT = b"new-audit-key-0123456789abcdef-0123456789"


def _record(n: int) -> dict[str, object]:
    return {"session_id": f"S{n}", "created_at": "2026-11-25T13:40:00Z", "recorded_by": "U1",
            "child_ref": f"CHILD-{n}", "review_status": "pending",
            "delivery": {"state": "pending"},
            "audit": [{"seq": 1, "hash": f"h{n}", "event": "submitted"}]}


def _fill(url: str, key: str) -> tuple[int, str]:
    """Two schools with records, a session, a setting, school settings and a
    Slack token, all under ``key`` and OLD_AUDIT; returns an anchor of school a."""
    db = Database(url, key=key, audit_key=OLD_AUDIT)
    db.add_school("a", settings={"slack": {"dsl_channel": "CA"}})
    a, b = db.store("a"), db.store("b")
    first = a.create_record(_record(1))
    n, mac, _ = a.ledger_head()
    a.note_anchor(n, "1700000000.0001")
    a.update_record(first["id"], lambda d: {**d, "review_status": "acknowledged",
                                            "audit": [*d["audit"], {"seq": 2, "hash": "h1b",
                                                                    "event": "ack"}]})
    b.create_record(_record(2))
    a.save_session({"id": "S9", "user": "U9", "status": "open", "notes": "CHILD-NOTE"})
    a.set_meta("outbox", {"tries": 2})
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO slack_bots (client_id, app_id, team_id, bot_token, bot_id, "
                     "bot_user_id, is_enterprise_install, installed_at) "
                     "VALUES ('1.2', 'A', 'T1', %s, 'B', 'UB', false, now())",
                     (db.cipher.encrypt_text("xoxb-the-token") if db.cipher else "",))
    db.close()
    return n, mac


def _check(url: str, key: str | None, audit: bytes, anchor: tuple[int, str]) -> None:
    db = Database(url, key=key, audit_key=audit)
    a = db.store("a", create=False)
    assert a.verify_integrity(anchor=anchor).problems == []
    assert db.store("b", create=False).verify_integrity().problems == []
    assert [r["child_ref"] for r in a.list_records()] == ["CHILD-1"]
    assert a.get_record("ISD-2026-0001")["review_status"] == "acknowledged"
    assert a.get_session("S9")["notes"] == "CHILD-NOTE"
    assert a.get_meta("outbox") == {"tries": 2}
    assert db.school_settings("a") == {"slack": {"dsl_channel": "CA"}}
    # ... and the store goes on being written and verified under the new keys.
    a.create_record(_record(3))
    assert a.verify_integrity().problems == []
    with psycopg.connect(url) as conn:
        token = conn.execute("SELECT bot_token FROM slack_bots").fetchone()[0]
    assert (db.cipher.decrypt_text(token, "t") if db.cipher else token) == "xoxb-the-token"
    db.close()


def test_both_keys_rotated_on_postgresql() -> None:
    with fresh_schema() as url:
        old_key, new_key = generate_key(), generate_key()
        anchor = _fill(url, old_key)
        done = rotate_database(url, key=old_key, new_key=new_key, audit_key=OLD_AUDIT,
                               new_audit_key=NEW_AUDIT)
        assert (done.schools, done.records, done.tokens) == (2, 2, 1)
        _check(url, new_key, NEW_AUDIT, anchor)
        # The old keys open nothing any more.
        with pytest.raises(StoreError, match="different audit key"):
            Database(url, key=new_key, audit_key=OLD_AUDIT).store("a", create=False)
        stale = Database(url, key=old_key, audit_key=NEW_AUDIT)
        with pytest.raises(StoreError):
            stale.store("a", create=False).get_record("ISD-2026-0001")
        stale.close()


def test_only_the_data_key_rotated_keeps_the_ledger_as_it_was() -> None:
    with fresh_schema() as url:
        old_key, new_key = generate_key(), generate_key()
        anchor = _fill(url, old_key)
        with psycopg.connect(url) as conn:
            before = conn.execute("SELECT school, n, entry FROM ledger ORDER BY 1, 2").fetchall()
        rotate_database(url, key=old_key, new_key=new_key, audit_key=OLD_AUDIT,
                        new_audit_key=OLD_AUDIT)
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT school, n, entry FROM ledger ORDER BY 1, 2"
                                ).fetchall() == before
        _check(url, new_key, OLD_AUDIT, anchor)


def test_a_store_with_a_problem_is_not_rotated_and_nothing_changes() -> None:
    with fresh_schema() as url:
        old_key, new_key = generate_key(), generate_key()
        anchor = _fill(url, old_key)
        # The newest record of school b swapped for a forged one.
        forger = Database(url, key=old_key)
        with psycopg.connect(url) as conn:
            conn.execute("UPDATE records SET body = %s WHERE school = 'b'",
                         (forger.dump('{"id":"ISD-2026-0001","audit":[]}'),))
        forger.close()
        with pytest.raises(RotateRefused, match="school 'b' has 1 problem"):
            rotate_database(url, key=old_key, new_key=new_key, audit_key=OLD_AUDIT,
                            new_audit_key=NEW_AUDIT)
        db = Database(url, key=old_key, audit_key=OLD_AUDIT)
        assert db.store("a", create=False).verify_integrity(anchor=anchor).problems == []
        db.close()


def test_with_the_audit_key_lost_records_are_read_and_sealed_with_a_new_key() -> None:
    with fresh_schema() as url:
        key = generate_key()
        anchor = _fill(url, key)
        with pytest.raises(RotateRefused, match="say it is lost"):
            rotate_database(url, key=key, new_key=key, audit_key=None, new_audit_key=NEW_AUDIT)
        done = rotate_database(url, key=key, new_key=key, audit_key=None,
                               new_audit_key=NEW_AUDIT, audit_key_lost=True)
        assert done.records == 2 and any("lost" in n for n in done.notes)
        _check(url, key, NEW_AUDIT, anchor)
        db = Database(url, key=key, audit_key=NEW_AUDIT)
        assert any("audit key was lost" in n for n in
                   db.store("a", create=False).verify_integrity().notes)
        db.close()


def test_no_data_key_to_a_data_key() -> None:
    with fresh_schema() as url:
        db = Database(url, audit_key=OLD_AUDIT)
        db.store("a").create_record(_record(1))
        db.close()
        key = generate_key()
        rotate_database(url, key=None, new_key=key, audit_key=OLD_AUDIT,
                        new_audit_key=OLD_AUDIT)
        with psycopg.connect(url) as conn:
            dump = repr(conn.execute("SELECT * FROM records").fetchall())
        assert "CHILD-1" not in dump
        db = Database(url, key=key, audit_key=OLD_AUDIT)
        assert db.store("a", create=False).verify_integrity().problems == []
        db.close()


# -- a data directory --------------------------------------------------------


def _fill_dir(data: Path, key: str | None, audit: bytes | None) -> tuple[int, str]:
    store = TinyDBStore(data, key=key, audit_key=audit)
    first = store.create_record(_record(1))
    n, mac, _ = store.ledger_head()
    store.note_anchor(n, "1700000000.0001")
    store.update_record(first["id"], lambda d: {
        **d, "review_status": "acknowledged",
        "audit": [*d["audit"], {"seq": 2, "hash": "h1b", "event": "ack"}]})
    store.create_record(_record(2))
    store.save_session({"id": "S9", "user": "U9", "status": "open", "notes": "CHILD-NOTE"})
    store.set_meta("outbox", {"tries": 2})
    store.close()
    return n, mac


def _check_dir(data: Path, key: str | None, audit: bytes | None,
               anchor: tuple[int, str]) -> None:
    store = TinyDBStore(data, key=key, audit_key=audit)
    assert store.verify_integrity(anchor=anchor).problems == []
    assert sorted(r["child_ref"] for r in store.list_records()) == ["CHILD-1", "CHILD-2"]
    assert store.get_record("ISD-2026-0001")["review_status"] == "acknowledged"
    assert store.get_session("S9")["notes"] == "CHILD-NOTE"
    assert store.get_meta("outbox") == {"tries": 2}
    store.create_record(_record(3))
    assert store.verify_integrity().problems == []
    store.close()


def test_both_keys_rotated_in_a_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    old_key, new_key = generate_key(), generate_key()
    anchor = _fill_dir(data, old_key, OLD_AUDIT)
    done, kept = rotate_directory(data, key=old_key, new_key=new_key, audit_key=OLD_AUDIT,
                                  new_audit_key=NEW_AUDIT)
    assert (done.records, done.sessions) == (2, 1)
    _check_dir(data, new_key, NEW_AUDIT, anchor)
    assert not any(b"CHILD" in p.read_bytes() for p in data.rglob("*") if p.is_file())
    # The old copy is kept beside it, as it was, until removed by hand.
    _check_dir(kept, old_key, OLD_AUDIT, anchor)
    for key, audit in ((old_key, NEW_AUDIT), (new_key, OLD_AUDIT)):
        with pytest.raises(StoreError):
            TinyDBStore(data, key=key, audit_key=audit).get_record("ISD-2026-0001")


def test_a_data_directory_with_a_problem_or_a_running_app_is_not_rotated(
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    key = generate_key()
    _fill_dir(data, key, OLD_AUDIT)
    with DataDirLock(data), pytest.raises(StoreError, match="already using"):
        rotate_directory(data, key=key, new_key=generate_key(), audit_key=OLD_AUDIT,
                         new_audit_key=NEW_AUDIT)
    ledger = data / "ledger.jsonl"
    lines = ledger.read_bytes().splitlines(keepends=True)
    ledger.write_bytes(b"".join(lines[:-1]))  # the newest write erased
    before = {p: p.read_bytes() for p in data.rglob("*") if p.is_file()}
    with pytest.raises(RotateRefused, match="problem"):
        rotate_directory(data, key=key, new_key=generate_key(), audit_key=OLD_AUDIT,
                         new_audit_key=NEW_AUDIT)
    assert {p: p.read_bytes() for p in data.rglob("*") if p.is_file()} == before
    assert not (tmp_path / "data.rotating").exists()


def test_with_the_audit_key_lost_a_data_directory_is_read_and_sealed_again(
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    key = generate_key()
    anchor = _fill_dir(data, key, OLD_AUDIT)
    with pytest.raises(StoreError, match="if it is lost, the records are not"):
        TinyDBStore(data, key=key)
    done, _ = rotate_directory(data, key=key, new_key=key, audit_key=None,
                               new_audit_key=NEW_AUDIT, audit_key_lost=True)
    assert done.records == 2 and any("lost" in n for n in done.notes)
    _check_dir(data, key, NEW_AUDIT, anchor)
    store = TinyDBStore(data, key=key, audit_key=NEW_AUDIT)
    assert any("audit key was lost" in n for n in store.verify_integrity().notes)
    store.close()


def test_a_rotation_cut_short_between_its_renames_is_refused_then_finished(
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    old_key, new_key = generate_key(), generate_key()
    anchor = _fill_dir(data, old_key, None)
    _, kept = rotate_directory(data, key=old_key, new_key=new_key, audit_key=None,
                               new_audit_key=None)
    data.rename(tmp_path / "data.rotating")  # as if the last rename had not happened
    with pytest.raises(StoreError, match="run `jigsaw rotate-key` again"):
        open_store(data, key=new_key)
    rotate_directory(data, key=old_key, new_key=new_key, audit_key=None, new_audit_key=None)
    _check_dir(data, new_key, None, anchor)
    assert kept.exists()


# -- the command -------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def _jigsaw(tmp: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "JIGSAW_"))}
    full.update(PYTHONPATH=str(ROOT), JIGSAW_DATA_DIR=str(tmp / "data"), **env)
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          env=full, cwd=tmp, timeout=120, input="")


@pytest.mark.parametrize("backend", ["tinydb", "postgres"])
def test_rotate_key_command_then_verify_with_the_new_keys(tmp_path: Path, backend: str) -> None:
    old_key, new_key = generate_key(), generate_key()
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(fresh_schema()) if backend == "postgres" else ""
        store = (Database(url, key=old_key, audit_key=OLD_AUDIT).store("default") if url
                 else TinyDBStore(tmp_path / "data", key=old_key, audit_key=OLD_AUDIT))
        for n in (1, 2):
            record = {k: v for k, v in _record(n).items() if k != "audit"}
            append_audit(record, by="U1", action="submitted",
                         at=datetime(2026, 11, 25, 13, 40, tzinfo=UTC))
            store.create_record(record)
        store.db.close() if isinstance(store, PostgresStore) else store.close()
        base = {"JIGSAW_DATABASE_URL": url} if url else {}
        old = {**base, "JIGSAW_DATA_KEY": old_key, "JIGSAW_AUDIT_KEY": OLD_AUDIT.decode()}
        new = {**base, "JIGSAW_DATA_KEY": new_key, "JIGSAW_AUDIT_KEY": NEW_AUDIT.decode()}
        nothing = _jigsaw(tmp_path, "rotate-key", "--audit", **old)
        assert nothing.returncode == 2 and "JIGSAW_NEW_AUDIT_KEY" in nothing.stderr
        done = _jigsaw(tmp_path, "rotate-key", "--data", "--audit", **old,
                       JIGSAW_NEW_DATA_KEY=new_key, JIGSAW_NEW_AUDIT_KEY=NEW_AUDIT.decode())
        assert done.returncode == 0, done.stderr
        assert "rotated the data key and audit key" in done.stdout
        verify = _jigsaw(tmp_path, "verify", "--offline", **new)
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert _jigsaw(tmp_path, "verify", "--offline", **old).returncode != 0
