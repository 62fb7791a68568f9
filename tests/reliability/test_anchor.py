"""The ledger's head, anchored daily in the DSL channel, catches a data
directory cut short or rolled back, which is consistent with itself.

The app posts the anchor through its outbox to the fake Slack; ``jigsaw
verify`` (run as an admin runs it, with the Slack settings) reads the latest
anchor back from the channel and checks the ledger against it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.slack.anchor import ANCHOR_EVENT
from tests import scenarios as sc
from tests.harness.fakeslack import DSL_CHANNEL_ID
from tests.harness.faults import InProcessApp, WatchedSlack
from tests.harness.live import decide_in_process, subprocess_env


@pytest.fixture
def fake() -> Iterator[WatchedSlack]:
    with WatchedSlack() as f:
        yield f


def verify(data: Path, fake: WatchedSlack) -> subprocess.CompletedProcess[str]:
    env = subprocess_env(data, SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=fake.base_url,
                         JIGSAW_DSL_CHANNEL=DSL_CHANNEL_ID)
    return subprocess.run([sys.executable, "-m", "bot", "verify"], capture_output=True,
                          text=True, env=env, cwd=data.parent, timeout=60)


def anchors(fake: WatchedSlack) -> list[dict[str, object]]:
    return [m["metadata"]["event_payload"] for m in fake.messages(DSL_CHANNEL_ID)
            if (m.get("metadata") or {}).get("event_type") == ANCHOR_EVENT]


def test_a_rolled_back_directory_is_caught_by_the_anchor(tmp_path: Path,
                                                         fake: WatchedSlack) -> None:
    data, older = tmp_path / "data", tmp_path / "older"
    now = {"at": datetime.now(UTC)}
    with InProcessApp(data, fake) as running:
        running.jigsaw.clock = lambda: now["at"]
        decide_in_process(running.jigsaw, sc.ALLEGATION)
        assert running.front.delivery.flush(force=True) == 0
        # A new store's first day starts now; its first anchor comes a day later.
        assert running.front.delivery.anchor_if_due() is None
        now["at"] += timedelta(days=1)
        assert running.front.delivery.anchor_if_due() is not None
        shutil.copytree(data, older)  # yesterday's backup, or an attacker's copy
        decide_in_process(running.jigsaw, sc.NO_PURPOSE, user="U456")
        assert running.front.delivery.flush(force=True) == 0
        # Once a day: nothing more the same day, the next day a new anchor.
        assert running.front.delivery.anchor_if_due() is None
        now["at"] += timedelta(days=1)
        assert running.front.delivery.anchor_if_due() is not None
    [first, second] = anchors(fake)
    assert int(str(second["n"])) > int(str(first["n"]))

    checked = verify(data, fake)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"anchor: ledger entry {second['n']}, from the DSL channel" in checked.stdout

    # Put back the older copy of everything: self-consistent, but behind the anchor.
    shutil.rmtree(data)
    shutil.copytree(older, data)
    rolled = verify(data, fake)
    assert rolled.returncode == 1, rolled.stdout
    assert f"entry {second['n']} was anchored outside the store" in rolled.stdout


def test_verify_says_when_it_cannot_read_an_anchor(tmp_path: Path, fake: WatchedSlack) -> None:
    data = tmp_path / "data"
    with InProcessApp(data, fake) as running:
        decide_in_process(running.jigsaw, sc.ALLEGATION)
    checked = verify(data, fake)
    assert checked.returncode == 0
    assert "no anchor found in the DSL channel yet" in checked.stdout


# -- round two: restores at the anchor, forged anchors, Slack away, anchoring off --

def anchored_then_more(tmp_path: Path, fake: WatchedSlack) -> tuple[Path, Path, dict[str, object]]:
    """A store anchored, a backup taken right then, and two records made and
    posted after it; the anchor's payload."""
    data, backup = tmp_path / "data", tmp_path / "backup"
    now = {"at": datetime.now(UTC)}
    with InProcessApp(data, fake) as running:
        running.jigsaw.clock = lambda: now["at"]
        decide_in_process(running.jigsaw, sc.ALLEGATION)
        assert running.front.delivery.flush(force=True) == 0
        assert running.front.delivery.anchor_if_due() is None
        now["at"] += timedelta(days=1)
        assert running.front.delivery.anchor_if_due() is not None
        shutil.copytree(data, backup)  # the backup taken at the last anchor
        decide_in_process(running.jigsaw, sc.NO_PURPOSE, user="U456")
        decide_in_process(running.jigsaw, sc.POLICE_PREJUDICE, user="U789")
        assert running.front.delivery.flush(force=True) == 0
    [anchor] = anchors(fake)
    return data, backup, anchor


def restore(backup: Path, data: Path) -> None:
    shutil.rmtree(data)
    shutil.copytree(backup, data)


def test_a_restore_of_the_backup_taken_at_the_anchor_is_caught(
        tmp_path: Path, fake: WatchedSlack) -> None:
    data, backup, _ = anchored_then_more(tmp_path, fake)
    assert verify(data, fake).returncode == 0
    restore(backup, data)
    rolled = verify(data, fake)
    assert rolled.returncode == 1, rolled.stdout
    year = datetime.now(UTC).year
    for n in (2, 3):  # the two records made after the backup
        assert (f"ISD-{year}-{n:04d}: posted in the DSL channel but not in the store"
                in rolled.stdout), rolled.stdout


def test_an_anchor_shaped_message_from_someone_else_is_ignored(
        tmp_path: Path, fake: WatchedSlack) -> None:
    data, backup, anchor = anchored_then_more(tmp_path, fake)
    with InProcessApp(data, fake) as running:
        running.front.delivery.anchor_if_due(force=True)  # a newer anchor of the newer head
    restore(backup, data)
    # Someone in the channel posts an anchor naming the old head, to vouch for the copy.
    fake.add_message(DSL_CHANNEL_ID, "Jigsaw ledger anchor", user="UINSIDER",
                     metadata={"event_type": ANCHOR_EVENT, "event_payload": anchor})
    rolled = verify(data, fake)
    assert rolled.returncode == 1, rolled.stdout
    assert "was anchored outside the store: the ledger was cut or rolled back" in rolled.stdout


def test_verify_fails_when_slack_cannot_be_reached_unless_told_offline(
        tmp_path: Path, fake: WatchedSlack) -> None:
    data, backup, _ = anchored_then_more(tmp_path, fake)
    restore(backup, data)
    fake.fail_while("conversations.history", lambda call: True, status=503)
    rolled = verify(data, fake)
    assert rolled.returncode == 1, rolled.stdout
    assert "could not read the DSL channel from Slack" in rolled.stdout
    env = subprocess_env(data, SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=fake.base_url,
                         JIGSAW_DSL_CHANNEL=DSL_CHANNEL_ID)
    offline = subprocess.run([sys.executable, "-m", "bot", "verify", "--offline"],
                             capture_output=True, text=True, env=env, cwd=data.parent,
                             timeout=60)
    assert offline.returncode == 0, offline.stdout
    assert "--offline" in offline.stdout


def test_anchoring_cannot_be_put_off_by_editing_meta_json(tmp_path: Path,
                                                          fake: WatchedSlack) -> None:
    data = tmp_path / "data"
    now = {"at": datetime.now(UTC)}
    with InProcessApp(data, fake) as running:
        running.jigsaw.clock = lambda: now["at"]
        decide_in_process(running.jigsaw, sc.ALLEGATION)
        assert running.front.delivery.anchor_if_due() is None
        meta = data / "meta.json"
        doc = json.loads(meta.read_text(encoding="utf-8"))
        doc["meta"]["anchor:last"] = {"value": {"at": "2099-01-01T00:00:00Z"}}
        meta.write_text(json.dumps(doc), encoding="utf-8")
        now["at"] += timedelta(days=1)
        assert running.front.delivery.anchor_if_due() is not None
    assert len(anchors(fake)) == 1


# -- PostgreSQL: each school's verify reads its own DSL channel ------------------------

def test_postgres_verify_reads_each_schools_anchor_and_posts(tmp_path: Path,
                                                             fake: WatchedSlack) -> None:
    """Many schools on PostgreSQL, installed through OAuth: ``jigsaw verify``
    as the README runs it reads Hillside's DSL channel with Hillside's own
    bot token, checks the ledger against the anchor there and names a
    record posted there that the database no longer holds; with Slack
    unreachable it fails unless told --offline."""
    from bot.config import Settings
    from bot.service import DecisionService
    from bot.slack.delivery import RECORD_EVENT
    from bot.slack.tenants import school_settings
    from storage.postgres import Database
    from tests.harness.pg import fresh_schema
    from tests.harness.schools import CLIENT_ID, CLIENT_SECRET, install, trust

    key = "postgres-anchor-audit-key-0123456789abcdef"
    with fresh_schema() as url:
        db = Database(url, audit_key=key.encode())
        try:
            with trust(db, fake, start=False) as base:
                install(base, fake, "code-h", bot_token="xoxb-hillside", team_id="T0001")
            settings = school_settings(db.school_settings("hillside"), Settings(),
                                       school="hillside")
            store = db.store("hillside", create=False)
            record = decide_in_process(DecisionService(settings, store), sc.ALLEGATION)
            n, mac, _ = store.ledger_head()
        finally:
            db.close()
        fake.add_message("CDSL", "anchor", metadata={"event_type": ANCHOR_EVENT,
                                                     "event_payload": {"n": n, "mac": mac}})
        fake.add_message("CDSL", "record", metadata={"event_type": RECORD_EVENT,
                                                     "event_payload": {"record_id": record["id"]}})

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            env = subprocess_env(tmp_path / "data", JIGSAW_DATABASE_URL=url,
                                 JIGSAW_SLACK_CLIENT_ID=CLIENT_ID,
                                 JIGSAW_SLACK_CLIENT_SECRET=CLIENT_SECRET,
                                 SLACK_SIGNING_SECRET="s", SLACK_API_URL=fake.base_url,
                                 JIGSAW_AUDIT_KEY=key)
            return subprocess.run([sys.executable, "-m", "bot", "verify", *args],
                                  capture_output=True, text=True, env=env, cwd=tmp_path,
                                  timeout=120)

        checked = run()
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert f"anchor: ledger entry {n}, from the DSL channel" in checked.stdout
        # A record posted since that the database does not hold (a restore
        # of an older backup): named.
        gone = record["id"][:-4] + "0042"
        fake.add_message("CDSL", "record", metadata={"event_type": RECORD_EVENT,
                                                     "event_payload": {"record_id": gone}})
        lost = run()
        assert lost.returncode == 1, lost.stdout
        assert f"{gone}: posted in the DSL channel but not in the store" in lost.stdout
        # Slack away: not a pass, unless told --offline.
        fake.fail_next("conversations.history", status=500, error="internal_error", times=20)
        away = run()
        assert away.returncode == 1, away.stdout
        assert "could not read the DSL channel" in away.stdout
        fake.clear_faults()
        assert "--offline" in run("--offline").stdout
