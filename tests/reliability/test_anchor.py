"""The ledger's head, anchored daily in the DSL channel, catches a data
directory cut short or rolled back, which is consistent with itself.

The app posts the anchor through its outbox to the fake Slack; ``jigsaw
verify`` (run as an admin runs it, with the Slack settings) reads the latest
anchor back from the channel and checks the ledger against it.
"""

from __future__ import annotations

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
