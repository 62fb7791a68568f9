"""``GET /health`` on the Teams endpoint: up, its outbox, and the work in hand."""

from __future__ import annotations

import json
import urllib.request

from tests.harness.teams import Harness
from tests.harness.teams_driver import STAFF


def health(teams: Harness) -> dict[str, object]:
    url = teams.client.url.replace("/api/messages", "/health")
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        return dict(json.loads(response.read()))


def test_health_reports_the_outbox_and_work_in_hand(teams: Harness) -> None:
    assert health(teams) == {"ok": True, "mode": "teams", "outbox": 0, "working": 0}
    teams.say(STAFF, "hello")  # answered, and its work done (the harness waits)
    assert teams.question(STAFF)
    assert health(teams)["working"] == 0
