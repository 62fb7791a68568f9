"""The DSL channel is looked at before records go to it, and at start-up: a
wrong channel id is said in the log when the app starts (not found by a post
failing), and nothing is posted to a channel that is shared, open to a
public team, or has guests in it: records wait in the outbox."""

from __future__ import annotations

import logging

import pytest

from tests.harness.faketeams import FakeTeams
from tests.harness.teams import Harness, wait_for_log
from tests.harness.teams_driver import CHANNEL, STAFF
from tests.scenarios import STAFF_CONCERN


@pytest.fixture
def fake_teams(fake_teams: FakeTeams, request: pytest.FixtureRequest) -> FakeTeams:
    setup = getattr(request, "param", {})
    fake_teams.channels.update(setup.get("channels", {CHANNEL: "private"}))
    fake_teams.team_visibility = setup.get("visibility", "private")
    for member in setup.get("guests", []):
        fake_teams.members[CHANNEL].append(member)
    return fake_teams


def _held(teams: Harness) -> None:
    teams.decide(STAFF, STAFF_CONCERN)
    [summary] = teams.jigsaw.store.list_records()
    assert teams.channel() == []
    assert teams.jigsaw.record(summary["id"])["delivery"]["state"] != "posted"
    assert "pending" in teams.chat(STAFF)[-1].text


@pytest.mark.parametrize("fake_teams", [{"channels": {"19:another@thread.tacv2": "private"}}],
                         indirect=True)
def test_a_wrong_channel_id_is_said_at_start_up(teams: Harness,
                                                caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="jigsaw"):
        message = wait_for_log(caplog, "DSL channel check failed")
    assert "was not found (HTTP 404)" in message and "Get link to channel" in message
    assert not [p for p in teams.fake.posts if p.conversation == CHANNEL]
    _held(teams)


@pytest.mark.parametrize("fake_teams", [
    {"channels": {CHANNEL: "shared"}},
    {"channels": {CHANNEL: "standard"}, "visibility": "public"},
    {"guests": [{"id": "29:guest", "aadObjectId": "00000000-0000-0000-0000-00000000f00d",
                 "name": "Visitor", "userRole": "guest"}]},
], ids=["shared", "public-team", "guest"], indirect=True)
def test_records_wait_rather_than_go_to_an_unsafe_channel(teams: Harness) -> None:
    _held(teams)
    assert teams.front.delivery.flush(force=True) >= 1
    assert teams.channel() == []


@pytest.mark.parametrize("fake_teams", [{"channels": {CHANNEL: "standard"}}], indirect=True)
def test_a_standard_channel_of_a_private_team_is_used(teams: Harness,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="jigsaw"):
        wait_for_log(caplog, "DSL channel checked")
    teams.decide(STAFF, STAFF_CONCERN)
    assert len(teams.channel()) == 1
