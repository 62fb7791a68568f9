"""What only the PostgreSQL store has: migrations, schools kept apart, the
outbox claimed with SKIP LOCKED, and verify catching edits made in SQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from storage import StoreError, open_store
from storage.migrate import LATEST, current_version
from storage.postgres import Database, DatabaseUnavailable
from tests.harness.pg import Proxy, fresh_schema

ROOT = Path(__file__).resolve().parents[2]
AUDIT_KEY = "k" * 40


def _jigsaw(*args: str, url: str, tmp: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(ROOT), "JIGSAW_DATABASE_URL": url,
            "JIGSAW_DATA_DIR": str(tmp / "data"), **env}
    for var in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "JIGSAW_AUDIT_KEY", "JIGSAW_DATA_KEY"):
        if var not in env:
            full.pop(var, None)
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          env=full, cwd=tmp, timeout=60, input="")


def _record(n: int, **fields: object) -> dict:
    return {"session_id": f"S{n}", "created_at": "2026-11-25T13:40:00Z", "recorded_by": "U1",
            "child_ref": f"C{n}", "review_status": "pending", "delivery": {"state": "pending"},
            "audit": [{"seq": 1, "hash": f"h{n}", "event": "submitted"}], **fields}


# -- migrations --------------------------------------------------------------


def test_migrate_db_brings_an_empty_database_up_and_is_safe_to_rerun(tmp_path) -> None:
    with fresh_schema(migrated=False) as url:
        before = _jigsaw("console", url=url, tmp=tmp_path)
        assert before.returncode == 2
        assert "schema version 0" in before.stderr and "jigsaw migrate-db" in before.stderr
        first = _jigsaw("migrate-db", url=url, tmp=tmp_path)
        assert first.returncode == 0, first.stderr
        assert "applied 0001 store" in first.stdout
        again = _jigsaw("migrate-db", url=url, tmp=tmp_path)
        assert again.returncode == 0 and "nothing to do" in again.stdout
        with psycopg.connect(url) as conn:
            assert current_version(conn) == LATEST


def test_start_up_refuses_a_schema_behind(tmp_path) -> None:
    with fresh_schema() as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DELETE FROM jigsaw_schema WHERE version = %s", (LATEST,))
        with pytest.raises(StoreError, match=f"needs {LATEST}: run `jigsaw migrate-db`"):
            Database(url)
        done = _jigsaw("http", "--port", "0", url=url, tmp=tmp_path,
                       SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s")
        assert done.returncode == 2 and "jigsaw migrate-db" in done.stderr


def test_unreachable_database_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="cannot reach the database at 127.0.0.1:1/"):
        Database("postgresql://postgres@127.0.0.1:1/test?connect_timeout=2")


def test_migrate_db_without_a_url(tmp_path) -> None:
    done = _jigsaw("migrate-db", url="", tmp=tmp_path)
    assert done.returncode == 2 and "JIGSAW_DATABASE_URL" in done.stderr


# -- schools -----------------------------------------------------------------


def test_a_trust_sets_each_schools_settings_and_workspace(tmp_path) -> None:
    good = tmp_path / "ysgol.toml"
    good.write_text('[school]\nname = "Ysgol y Bryn"\nnation = "wales"\n\n'
                    '[slack]\ndsl_channel = "CDSLB"\n')
    bad = tmp_path / "bad.toml"
    bad.write_text('[school]\nnation = "france"\n')
    with fresh_schema() as url:
        done = _jigsaw("school", "set", "bryn", "--name", "Ysgol y Bryn", "--settings",
                       str(good), "--team", "T0002", url=url, tmp=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "settings stored" in done.stdout and "T0002" in done.stdout
        refused = _jigsaw("school", "set", "bryn", "--settings", str(bad), url=url,
                          tmp=tmp_path)
        assert refused.returncode == 2 and "school.nation" in refused.stderr
        taken = _jigsaw("school", "set", "other", "--team", "T0002", url=url, tmp=tmp_path)
        assert taken.returncode == 2 and "already school 'bryn'" in taken.stderr
        listed = _jigsaw("school", "list", url=url, tmp=tmp_path)
        assert listed.returncode == 0, listed.stderr
        assert "bryn\tYsgol y Bryn\twales\tCDSLB\tT0002\t-" in listed.stdout
        db = Database(url)
        try:
            assert db.school_for(team_id="T0002", enterprise_id=None) == "bryn"
            assert db.school_settings("bryn")["school"]["nation"] == "wales"
            assert [s["id"] for s in db.schools()] == ["bryn"]  # "other" never made
        finally:
            db.close()
        outside = _jigsaw("school", "list", url="", tmp=tmp_path)
        assert outside.returncode == 2 and "JIGSAW_DATABASE_URL" in outside.stderr


def test_schools_are_walled_off() -> None:
    with fresh_schema() as url:
        db = Database(url)
        a, b = db.store("school-a"), db.store("school-b")
        ra = a.create_record(_record(1))
        rb = b.create_record(_record(1, child_ref="OTHER"))
        # Same ids and session ids in each school, never each other's rows.
        assert ra["id"] == rb["id"] == "ISD-2026-0001"
        assert a.get_record(ra["id"])["child_ref"] == "C1"
        assert b.get_record(rb["id"])["child_ref"] == "OTHER"
        a.save_session({"id": "X", "user": "U1", "status": "open"})
        assert b.get_session("X") is None and b.sessions_for_user("U1") == []
        assert a.claim("evt") and b.claim("evt")
        a.set_meta("m", 1)
        assert b.get_meta("m") is None
        assert b.delete_records([ra["id"]]) == 1  # b's own record of that id
        assert a.get_record(ra["id"]) is not None and b.count_records() == 0
        assert a.verify_integrity().problems == []
        assert b.verify_integrity().problems == []
        db.close()


def test_open_store_with_a_url_serves_one_school() -> None:
    with fresh_schema() as url:
        store = open_store(".", database_url=url, school="hillside")
        assert store.create_record(_record(5))["id"] == "ISD-2026-0001"
        store.close()
        again = open_store(".", database_url=url, school="hillside")
        assert again.count_records() == 1
        again.close()


# -- the outbox ---------------------------------------------------------------


def test_a_record_another_instance_is_claiming_is_skipped_not_waited_for() -> None:
    with fresh_schema() as url:
        db = Database(url)
        store = db.store("s")
        record = store.create_record(_record(1))
        with psycopg.connect(url) as other, other.transaction():
            other.execute("SELECT 1 FROM records WHERE id = %s FOR UPDATE", (record["id"],))
            assert store.try_update_record(record["id"], lambda d: d.update(x=1)) is None
        assert store.try_update_record(record["id"], lambda d: d.update(x=1))["x"] == 1
        db.close()


# -- integrity ----------------------------------------------------------------


def _tamper(url: str, sql: str, *args: object) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql, args)


@pytest.mark.parametrize(("attack", "expected"), [
    ("edit", "differs from its last recorded write"),
    ("delete", "ISD-2026-0002: missing, and no purge recorded"),
    ("move_audit", "not sealed with the audit key"),
    ("drop_ledger_line", "lines were removed"),
    ("forge_purge", "not sealed with the audit key"),
    ("add", "not in the ledger"),
])
def test_verify_catches_edits_made_in_sql(attack: str, expected: str) -> None:
    with fresh_schema() as url:
        db = Database(url, audit_key=AUDIT_KEY.encode())
        store = db.store("s")
        for n in range(1, 4):
            store.create_record(_record(n))
        store.update_record("ISD-2026-0001", lambda d: d.update(review_status="done"))
        assert store.verify_integrity().problems == []
        if attack == "edit":
            _tamper(url, "UPDATE records SET body = replace(body, '\"C1\"', '\"C9\"') "
                         "WHERE id = 'ISD-2026-0001'")
        elif attack == "delete":
            _tamper(url, "DELETE FROM records WHERE id = 'ISD-2026-0002'")
        elif attack == "move_audit":
            with psycopg.connect(url) as conn:
                body = json.loads(conn.execute("SELECT body FROM records WHERE id = "
                                               "'ISD-2026-0001'").fetchone()[0])
            moved = {**store.get_record("ISD-2026-0003"), "audit": body["audit"]}
            text = json.dumps(moved, ensure_ascii=False, separators=(",", ":"))
            _tamper(url, "UPDATE records SET body = %s WHERE id = 'ISD-2026-0003'", text)
        elif attack == "drop_ledger_line":
            _tamper(url, "DELETE FROM ledger WHERE n = 2")
        elif attack == "forge_purge":
            _tamper(url, "DELETE FROM records WHERE id = 'ISD-2026-0003'")
            _tamper(url, "INSERT INTO ledger (school, n, entry) SELECT 's', 6, "
                         "'{\"n\":6,\"op\":\"purge\",\"ids\":[[2026,3,3]],\"prev\":\"x\","
                         "\"mac\":\"y\"}'")
        elif attack == "add":
            extra = {**store.get_record("ISD-2026-0003"), "id": "ISD-2026-0004"}
            text = json.dumps(extra, ensure_ascii=False, separators=(",", ":"))
            _tamper(url, "INSERT INTO records (school, id, year, seq, created_at, "
                         "body) VALUES ('s', 'ISD-2026-0004', 2026, 4, '2026', %s)", text)
        report = store.verify_integrity()
        assert any(expected in p for p in report.problems), report.problems
        db.close()


def test_check_counts_notices_rows_removed_outside_jigsaw() -> None:
    with fresh_schema() as url:
        db = Database(url)
        store = db.store("s")
        store.create_record(_record(1))
        store.check_counts()
        _tamper(url, "DELETE FROM records")
        with pytest.raises(StoreError, match="holds 0 record"):
            store.check_counts()
        db.close()


def test_audit_key_is_required_and_checked() -> None:
    with fresh_schema() as url:
        db = Database(url, audit_key=AUDIT_KEY.encode())
        db.store("s").create_record(_record(1))
        db.close()
        for key, why in ((None, "sealed with an audit key"), (b"z" * 40, "different audit key")):
            other = Database(url, audit_key=key)
            with pytest.raises(StoreError, match=why):
                other.store("s")
            other.close()


def test_bodies_encrypted_with_a_data_key() -> None:
    from storage import generate_key

    with fresh_schema() as url:
        key = generate_key()
        db = Database(url, key=key)
        store = db.store("s")
        store.create_record(_record(1, child_ref="SECRET-REF"))
        store.save_session({"id": "S", "user": "U", "status": "open", "notes": "SECRET-NOTE"})
        with psycopg.connect(url) as conn:
            bodies = [r[0] for r in conn.execute("SELECT body FROM records UNION ALL "
                                                 "SELECT body FROM sessions").fetchall()]
        assert bodies and not any("SECRET" in b for b in bodies)
        assert store.get_session("S")["notes"] == "SECRET-NOTE"
        assert store.verify_integrity().problems == []
        db.close()
        wrong = Database(url, key=generate_key())
        with pytest.raises(StoreError):
            wrong.store("s").get_record("ISD-2026-0001")
        wrong.close()


# -- the database going away -------------------------------------------------


def test_a_database_that_goes_away_refuses_writes_as_a_full_disk_does() -> None:
    with fresh_schema() as url:
        proxy = Proxy(url)
        db = Database(proxy.url)
        try:
            store = db.store("s")
            store.save_session({"id": "A", "user": "U1", "status": "in_progress", "n": 1})
            store.set_meta("outbox:x", {"attempts": 2})
            assert store.get_session("A")["n"] == 1
            proxy.cut()
            # Writes are refused as OSError (what the app keeps in memory for).
            with pytest.raises(DatabaseUnavailable):
                store.save_session({"id": "A", "user": "U1", "status": "in_progress", "n": 2})
            with pytest.raises(OSError):
                store.update_session("A", lambda d: d.update(n=3))
            # Reads answer from this instance's last copy, or not at all.
            assert store.get_session("A")["n"] == 1
            assert store.get_meta("outbox:x") == {"attempts": 2}
            assert store.get_meta("never-seen", "default") == "default"
            with pytest.raises(DatabaseUnavailable):
                store.get_session("B")
            with pytest.raises(DatabaseUnavailable):
                store.create_record(_record(1))
            proxy.restore()
            deadline = time.monotonic() + 20
            while True:  # the pool reconnects on its own schedule
                try:
                    store.save_session({"id": "A", "user": "U1", "status": "in_progress",
                                        "n": 4})
                    break
                except DatabaseUnavailable:
                    assert time.monotonic() < deadline
                    time.sleep(0.1)
            assert store.get_session("A")["n"] == 4
        finally:
            db.close()
            proxy.close()


def test_with_a_data_key_no_child_person_setting_or_token_is_stored_in_clear() -> None:
    import sqlalchemy
    from slack_sdk.oauth.installation_store import Installation

    from bot.slack.tenants import sqlalchemy_url
    from bot.slack.tokens import SealedInstallationStore
    from storage import generate_key

    with fresh_schema() as url:
        key = generate_key()
        db = Database(url, key=key)
        db.add_school("s", name="Oak", settings={"dsl_channel": "CSECRETCHAN"})
        store = db.store("s")
        store.create_record(_record(1, child_ref="SECRET-REF", recorded_by="USECRETBY",
                                    decision="SECRET-DECISION", status="SECRET-STATUS"))
        store.create_record(_record(2, child_ref="OTHER", recorded_by="U2"))
        engine = sqlalchemy.create_engine(sqlalchemy_url(url))
        tokens = SealedInstallationStore(cipher=db.cipher, client_id="111.222", engine=engine)
        tokens.save(Installation(app_id="A1", team_id="T1", user_id="U9",
                                 bot_token="xoxb-SECRET-BOT", bot_id="B1", bot_user_id="UB",
                                 user_token="xoxp-SECRET-USER",
                                 bot_refresh_token="xoxe-1-SECRET-REFRESH" + "r" * 150))
        with psycopg.connect(url) as conn:
            dump = json.dumps([conn.execute(f"SELECT * FROM {table}").fetchall() for table in
                               ("records", "schools", "meta", "slack_installations",
                                "slack_bots")], default=str)
        assert "SECRET" not in dump and "CSECRETCHAN" not in dump
        # ... and everything reads back as written.
        assert db.school_settings("s") == {"dsl_channel": "CSECRETCHAN"}
        assert [s["settings"] for s in db.schools()] == [{"dsl_channel": "CSECRETCHAN"}]
        mine = store.list_records(recorded_by="USECRETBY")
        assert [(r["child_ref"], r["decision"], r["status"]) for r in mine] == [
            ("SECRET-REF", "SECRET-DECISION", "SECRET-STATUS")]
        assert [r["id"] for r in store.records_for_child(" secret-ref ")] == [mine[0]["id"]]
        assert store.records_for_child("SECRET") == []
        bot = tokens.find_bot(enterprise_id=None, team_id="T1")
        assert bot is not None and bot.bot_token == "xoxb-SECRET-BOT"
        inst = tokens.find_installation(enterprise_id=None, team_id="T1")
        assert inst is not None and inst.user_token == "xoxp-SECRET-USER"
        assert store.verify_integrity().problems == []
        db.close()
        # Without the key nothing is given out in the wrong form.
        bare = Database(url)
        with pytest.raises(StoreError, match="encrypted: set JIGSAW_DATA_KEY"):
            bare.school_settings("s")
        assert SealedInstallationStore(cipher=None, client_id="111.222", engine=engine).find_bot(
            enterprise_id=None, team_id="T1").bot_token.startswith("gAAAAA")
        bare.close()
        engine.dispose()


def test_without_a_data_key_records_are_found_by_child_reference() -> None:
    with fresh_schema() as url:
        db = Database(url)
        store = db.store("s")
        made = store.create_record(_record(1, child_ref="Ab12"))
        store.create_record(_record(2, child_ref="Cd34"))
        assert [r["id"] for r in store.records_for_child("AB12")] == [made["id"]]
        assert [r["id"] for r in store.list_records(recorded_by="U1")] != []
        db.close()


def test_a_schools_chain_copied_over_anothers_is_caught() -> None:
    with fresh_schema() as url:
        db = Database(url, audit_key=AUDIT_KEY.encode())
        a, b = db.store("a"), db.store("b")
        a.create_record(_record(1))
        a.create_record(_record(2))
        b.create_record(_record(3))
        assert b.verify_integrity().problems == []
        # Everything of school a's put in place of school b's, consistently.
        with psycopg.connect(url) as conn:
            for table in ("records", "ledger", "counters"):
                conn.execute(f"DELETE FROM {table} WHERE school = 'b'")
                columns = [r[0] for r in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                    "AND table_schema = current_schema() ORDER BY ordinal_position",
                    (table,)).fetchall()]
                rest = ", ".join(c for c in columns if c != "school")
                conn.execute(f"INSERT INTO {table} (school, {rest}) SELECT 'b', {rest} "
                             f"FROM {table} WHERE school = 'a'")
            conn.execute("UPDATE schools SET (ledger_n, ledger_mac, ledger_at, live) = "
                         "(SELECT ledger_n, ledger_mac, ledger_at, live FROM schools "
                         "WHERE id = 'a') WHERE id = 'b'")
        problems = b.verify_integrity().problems
        assert problems == ["ledger: begun for school 'a', not 'b': copied from another school"]
        assert a.verify_integrity().problems == []
        db.close()
