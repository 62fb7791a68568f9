"""Red-team findings on the Teams review paths (issue points 6 and 15):
Universal Actions sent to the real endpoint, the fake Bot Connector
answering for Teams."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.harness.teams import Harness
from tests.harness.teams_driver import CHANNEL, DSL_MEMBER, OUTSIDER
from tests.scenarios import STAFF_CONCERN

VERBS = {"Acknowledge": "review.acknowledge", "View full record": "review.view",
         "Add note": "review.note", "Follow-up needed": "review.follow_up"}


def _record(teams: Harness) -> dict[str, Any]:
    teams.decide("00000000-0000-0000-0000-0000000000a1", STAFF_CONCERN)
    [summary] = teams.jigsaw.store.list_records()
    return teams.jigsaw.record(summary["id"])


def _invoke(teams: Harness, user: str, verb: str, record_id: str) -> Any:
    reply = teams.send(teams.client.execute_activity(user, {"verb": verb, "data": {
        "r": record_id}}, conversation=CHANNEL))
    return reply.body


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_removed_member_cannot_review_once_the_member_list_is_too_old(
        teams: Harness) -> None:
    clock = Clock()
    teams.front.membership.clock = clock  # from before the record's post reads the list
    record = _record(teams)
    _invoke(teams, DSL_MEMBER, "review.view", record["id"])
    assert teams.jigsaw.record(record["id"])["audit"][-1]["action"] == "viewed"
    # Removed from the channel; Teams cannot be asked from now on.
    teams.fake.members[CHANNEL] = [m for m in teams.fake.members[CHANNEL]
                                   if m["aadObjectId"] != DSL_MEMBER]
    teams.fake.member_faults.extend([500] * 20)
    clock.now += 120  # a passing outage inside the hard limit is tolerated
    _invoke(teams, DSL_MEMBER, "review.view", record["id"])
    assert teams.jigsaw.record(record["id"])["audit"][-1]["action"] == "viewed"
    clock.now += 5 * 60  # now older than the hard limit: nobody is taken to be a member
    _invoke(teams, DSL_MEMBER, "review.acknowledge", record["id"])
    stored = teams.jigsaw.record(record["id"])
    assert stored["review_status"] == "pending"
    assert stored["audit"][-1]["action"] == "access_refused"


@pytest.mark.parametrize("verb", sorted(VERBS.values()))
def test_not_found_is_answered_exactly_like_refused(teams: Harness, verb: str) -> None:
    record = _record(teams)
    real = _invoke(teams, OUTSIDER, verb, record["id"])
    told_real = [p.text for p in teams.fake.posts_to(CHANNEL)[1:]]
    missing = _invoke(teams, OUTSIDER, verb, "ISD-2026-9999")
    assert json.dumps(real, sort_keys=True) == json.dumps(missing, sort_keys=True)
    assert "find" not in json.dumps(missing)
    assert [p.text for p in teams.fake.posts_to(CHANNEL)[1:]] == told_real


def test_forged_clicks_cannot_grow_the_store(teams: Harness) -> None:
    record = _record(teams)
    for _ in range(30):
        _invoke(teams, OUTSIDER, "review.acknowledge", record["id"])
    stored = teams.jigsaw.record(record["id"])
    refused = [e for e in stored["audit"] if e["action"] == "access_refused"]
    assert len(refused) == teams.jigsaw.settings.audited_refusals_per_hour
    assert teams.jigsaw.access.refusals_counted() == {
        f"{OUTSIDER} {record['id']}": 30 - teams.jigsaw.settings.audited_refusals_per_hour}
