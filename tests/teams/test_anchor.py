"""``jigsaw verify`` with Teams: the ledger's head, anchored daily in the
DSL channel, is read back through Graph (the app's own posts only) and the
ledger checked against it; a directory rolled back behind it is caught."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

from bot import admin
from bot.teams.anchor import fetch_for_verify
from tests.harness.live import subprocess_env
from tests.harness.teams import Harness, teams_settings
from tests.harness.teams_driver import CHANNEL, STAFF, STAFF_2, TEAM
from tests.scenarios import STAFF_CONCERN


def _anchored(teams: Harness, now: dict[str, datetime]) -> str:
    """A day on, the outbox posts the ledger's head; its activity id."""
    now["at"] += timedelta(days=1)
    posted = teams.front.delivery.anchor_if_due()
    assert posted is not None
    return posted


def _clocked(teams: Harness) -> dict[str, datetime]:
    now = {"at": datetime.now(UTC)}
    teams.jigsaw.clock = lambda: now["at"]
    return now


def test_the_anchor_is_read_back_from_the_channel(teams: Harness) -> None:
    now = _clocked(teams)
    teams.decide(STAFF, STAFF_CONCERN)
    assert teams.front.delivery.anchor_if_due() is None  # a new store's first day
    _anchored(teams, now)
    last = teams.jigsaw.store.get_meta("anchor:last")
    found, note = fetch_for_verify(teams_settings(teams.fake))
    assert found is not None and found.anchor is not None
    assert found.anchor[0] == last["n"]
    [summary] = teams.jigsaw.store.list_records()
    assert found.posted == [summary["id"]]
    assert note == f"anchor: ledger entry {last['n']}, from the DSL channel"
    out = StringIO()
    assert admin.verify(teams.jigsaw.store, out, anchor=found.anchor, anchor_note=note,
                        posted=found.posted) == 0, out.getvalue()


def test_a_card_a_person_posted_is_not_an_anchor(teams: Harness) -> None:
    now = _clocked(teams)
    teams.decide(STAFF, STAFF_CONCERN)
    teams.front.delivery.anchor_if_due()
    _anchored(teams, now)
    real = teams.jigsaw.store.get_meta("anchor:last")["n"]
    teams.fake.people_posts[CHANNEL] = [{
        "id": "by-a-person", "from": {"user": {"id": "someone"}, "application": None},
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                         "content": json.dumps({"body": [{"id": "jigsaw-anchor-9999-abcdef"}]})}]}]
    found, _ = fetch_for_verify(teams_settings(teams.fake))
    assert found is not None and found.anchor is not None and found.anchor[0] == real


def test_verify_fails_when_teams_cannot_be_read(teams: Harness) -> None:
    teams.fake.graph_faults.extend([503] * 5)  # the start-up channel check may take some
    found, note = fetch_for_verify(teams_settings(teams.fake))
    assert found is None and "could not read the DSL channel from Teams" in note
    assert fetch_for_verify(teams_settings(teams.fake, dsl_team=""))[0] is None


def _verify(data: Path, teams: Harness) -> subprocess.CompletedProcess[str]:
    env = subprocess_env(data, CLIENT_ID=teams.fake.app_id, CLIENT_SECRET=teams.fake.secret,
                         TENANT_ID=teams.fake.tenant, JIGSAW_TEAMS_CHANNEL=CHANNEL,
                         JIGSAW_TEAMS_TEAM=TEAM, JIGSAW_TEAMS_CONNECTOR_URL=teams.fake.base_url)
    return subprocess.run([sys.executable, "-m", "bot", "verify"], capture_output=True,
                          text=True, env=env, cwd=data.parent, timeout=120)


def test_jigsaw_verify_catches_a_directory_rolled_back_behind_the_teams_anchor(
        teams: Harness, tmp_path: Path) -> None:
    data = tmp_path / "data"
    now = _clocked(teams)
    teams.decide(STAFF, STAFF_CONCERN)
    teams.front.delivery.anchor_if_due()
    _anchored(teams, now)
    shutil.copytree(data, tmp_path / "older" / "data")  # yesterday's backup, or an attacker's
    teams.decide(STAFF_2, STAFF_CONCERN)
    _anchored(teams, now)
    shutil.copytree(data, tmp_path / "now" / "data")
    last = teams.jigsaw.store.get_meta("anchor:last")["n"]

    checked = _verify(tmp_path / "now" / "data", teams)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"anchor: ledger entry {last}, from the DSL channel" in checked.stdout
    rolled = _verify(tmp_path / "older" / "data", teams)
    assert rolled.returncode == 1, rolled.stdout + rolled.stderr
    assert f"entry {last} was anchored outside the store" in rolled.stdout
