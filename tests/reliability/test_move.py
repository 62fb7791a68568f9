"""Moving in: a school's data directory copied into PostgreSQL with
``jigsaw move-store``, everything in it carried over (records with their
audit trails, the ledger, a record still waiting to be posted, a decision
half made), both sides verified, and the move safe to run again. Then the
app serves the school from the database: the waiting record is posted once
and the half-made decision is finished where it was left."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot import record as records
from storage import Store, TinyDBStore
from storage.locking import DataDirLock
from storage.postgres import Database
from tests import scenarios
from tests.harness.fakeslack import DSL_CHANNEL_ID
from tests.harness.faults import InProcessApp, WatchedSlack, settings
from tests.harness.pg import fresh_schema
from tests.harness.process import AppProcess
from tests.harness.staff import Staff, plan, with_child

ROOT = Path(__file__).resolve().parents[2]
AUDIT_KEY = "move-test-audit-key-0123456789abcdef0123"
SETTINGS_FILE = """
[school]
name = "Hillside Primary"
nation = "england"
"""


def _move(url: str, data: Path, cwd: Path, school: str = "hillside"
          ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "JIGSAW_"))}
    env.update(PYTHONPATH=str(ROOT), JIGSAW_DATA_DIR=str(data), JIGSAW_AUDIT_KEY=AUDIT_KEY,
               JIGSAW_DSL_CHANNEL=DSL_CHANNEL_ID)
    return subprocess.run([sys.executable, "-m", "bot", "move-store", "--to", url,
                           "--school", school], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)


def _snapshot(store: Store) -> tuple[object, ...]:
    """Everything a store holds that the move carries, comparable across backends."""
    return (sorted(store.iter_records(), key=lambda r: r["id"]),
            sorted(store.all_sessions(), key=lambda s: s["id"]),
            store.ledger_head()[:2], store.issued())


def test_a_school_moves_in_whole_and_carries_on_from_the_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (tmp_path / "jigsaw.toml").write_text(SETTINGS_FILE)
    key = AUDIT_KEY.encode()
    answers = list(scenarios.STAFF_CONCERN)
    with fresh_schema() as url, WatchedSlack() as fake:
        # On TinyDB: two decisions posted, one whose post failed (in the
        # outbox), one half made.
        with InProcessApp(data, fake, audit_key=key) as app:
            for n, user in enumerate(("UA1", "UA2")):
                Staff(user, fake, app, settings()).decide(answers, f"KC-{n}")
            fault = fake.fail_while("chat.postMessage",
                                    lambda c: c.args.get("channel") == DSL_CHANNEL_ID,
                                    status=500)
            waiting = Staff("UA3", fake, app, settings()).decide(answers, "KC-3")
            fault.remaining = 0
            half = Staff("UA4", fake, app, settings())
            script = with_child(answers, plan(answers, settings()), "KC-4")
            seen = half.begin()
            for answer in script[:2]:
                seen = half.give(seen, answer)
            half_session = seen.session_id
            app.idle()
        source = TinyDBStore(data, audit_key=key)
        before = _snapshot(source)
        assert source.get_record(waiting.record_id)["delivery"]["state"] != "posted"
        assert [s["id"] for s in source.all_sessions()
                if s["status"] == "in_progress"] == [half_session]
        source.close()

        # Refused, with nothing copied, while the app still serves the directory.
        with DataDirLock(data):
            busy = _move(url, data, tmp_path)
        assert busy.returncode == 2 and "already using" in busy.stderr

        done = _move(url, data, tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "data directory: 3 record(s), 1 awaiting delivery" in done.stdout
        assert "1 in progress" in done.stdout
        assert "both sides hold the same records" in done.stdout
        db = Database(url, audit_key=key)
        moved = db.store("hillside", create=False)
        assert _snapshot(moved) == before
        assert moved.verify_integrity(records.verify).problems == []
        assert db.school_settings("hillside")["school"]["name"] == "Hillside Primary"

        # Run again: the same copy, not a second one.
        again = _move(url, data, tmp_path)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "earlier move refreshed" in again.stdout
        assert _snapshot(moved) == before

        # The school kept working on TinyDB meanwhile: a re-run brings it over.
        with InProcessApp(data, fake, audit_key=key) as app:
            later = Staff("UA5", fake, app, settings()).decide(answers, "KC-5")
        refreshed = _move(url, data, tmp_path)
        assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr
        assert moved.get_record(later.record_id)["child_ref"] == "KC-5"
        assert moved.count_records() == 4

        # Another school's name is never taken over.
        db.add_school("elsewhere")
        taken = _move(url, data, tmp_path, school="elsewhere")
        assert taken.returncode == 2 and "not moved in" in taken.stderr
        assert db.store("elsewhere").count_records() == 0

        # Served from the database: the waiting record is posted, once, and
        # the half-made decision is finished where it was left.
        server = AppProcess(tmp_path / "unused", fake.base_url, cwd=tmp_path, extra_env={
            "JIGSAW_DATABASE_URL": url, "JIGSAW_SCHOOL": "hillside",
            "JIGSAW_AUDIT_KEY": AUDIT_KEY})
        try:
            server.start()
            fake.wait_new(0, lambda c: c if c.method == "chat.postMessage" and c.ok
                          and waiting.record_id in repr(c.args) else None)
            finished = Staff("UA4", fake, server, settings()).decide(answers, "KC-4")
            assert finished.session_id == half_session
        finally:
            server.close()
        posts = fake.dsl_posts()
        assert len(posts[waiting.record_id]) == 1
        assert moved.get_record(waiting.record_id)["delivery"]["state"] == "posted"
        assert moved.get_record(finished.record_id)["session_id"] == half_session
        assert moved.verify_integrity(records.verify).problems == []

        # Used on PostgreSQL now: moving the directory in again is refused.
        head = moved.ledger_head()
        stale = _move(url, data, tmp_path)
        assert stale.returncode == 2 and "used on PostgreSQL since" in stale.stderr
        assert moved.ledger_head() == head and moved.count_records() == 5
        db.close()
