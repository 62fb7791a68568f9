"""The DSL's work on any record in Teams (Action.Execute verbs on the
channel card): take it on, confirm its lawful basis, close it; a forged
click is refused and recorded; "not found" told apart from "already
decided"."""

from __future__ import annotations

from bot.record import verify
from tests.harness.faketeams import card_actions
from tests.harness.teams import Harness
from tests.harness.teams_driver import CHANNEL, DSL, OUTSIDER, STAFF, button, install_activity
from tests.scenarios import STAFF_CONCERN


def _record(teams: Harness) -> dict:
    teams.decide(STAFF, STAFF_CONCERN)
    [summary] = teams.jigsaw.store.list_records()
    return teams.jigsaw.record(summary["id"])


def _verb(teams: Harness, user: str, verb: str, record_id: str):
    activity = teams.client.execute_activity(user, {"verb": verb, "data": {"r": record_id}},
                                             conversation=CHANNEL)
    return teams.send(activity)


def _titles(teams: Harness) -> set[str]:
    """The buttons on the DSL's own view of the channel card."""
    [post] = teams.channel()
    return {str(a.get("title")) for a in card_actions(teams.view(DSL, post).card)}


def test_close_from_the_card(teams: Harness) -> None:
    record = _record(teams)
    assert "Close record" in _titles(teams)
    # A concern has no lawful basis suggested yet: nothing to confirm offered.
    assert "Confirm lawful basis" not in _titles(teams)
    [post] = teams.channel()
    reply = teams.send(teams.client.execute_activity(
        DSL, button(teams.view(DSL, post), "Close record"), conversation=CHANNEL,
        name="Dana DSL"))
    assert reply.body["type"] == "application/vnd.microsoft.card.adaptive"
    stored = teams.jigsaw.record(record["id"])
    assert stored["status"] == "closed" and stored["audit"][-1]["action"] == "closed"
    assert verify(stored) == []
    assert "Close record" not in _titles(teams)
    assert f"{record['id']} is closed." in teams.chat(DSL)[-1].text
    # Closed: nothing left to take on, said so.
    reply = _verb(teams, DSL, "review.take_on", record["id"].lower())
    assert "is closed: there is nothing left to decide" in str(reply.body)
    _verb(teams, DSL, "review.close", record["id"])
    assert "closed already" in teams.chat(DSL)[-1].text


def test_a_forged_close_or_confirm_is_refused_and_recorded(teams: Harness) -> None:
    record = _record(teams)
    for verb in ("review.close", "review.confirm_basis"):
        reply = _verb(teams, OUTSIDER, verb, record["id"])
        assert "Your attempt has been recorded" in str(reply.body)
    stored = teams.jigsaw.record(record["id"])
    assert stored["status"] != "closed"
    assert [e["detail"]["attempted"] for e in stored["audit"]
            if e["action"] == "access_refused"] == ["close", "confirm_basis"]


def test_not_found_is_told_apart_from_already_decided(teams: Harness) -> None:
    _record(teams)
    reply = _verb(teams, DSL, "review.take_on", " isd-1999-0001 ")
    assert "I can't find a record ISD-1999-0001" in str(reply.body)
    reply = _verb(teams, DSL, "review.close", "isd-1999-0001")
    assert "I can't find a record ISD-1999-0001" in str(reply.body)


def test_the_dsl_marks_herself_away_from_the_home_card(teams: Harness) -> None:
    teams.send(install_activity(teams.client, STAFF))
    teams.say(DSL, "home")
    home = teams.chat(DSL)[-1]
    reply = teams.send(teams.client.execute_activity(DSL, button(home, "I'm away: deputies cover"),
                                                     name="Dana DSL"))
    assert teams.jigsaw.cover().away
    assert "I'm back (end cover)" in {str(a.get("title")) for a in card_actions(
        reply.body["value"])}
    # Staff are told who covers, by name.
    teams.say(STAFF, "home")
    assert "is away:" in teams.chat(STAFF)[-1].text
    assert "is covering" in teams.chat(STAFF)[-1].text
    # Anyone else's click is refused, and logged.
    forged = teams.send(teams.client.execute_activity(
        OUTSIDER, {"verb": "dsl.cover", "data": {"v": "off"}}))
    assert "Your attempt has been recorded" in str(forged.body)
    assert teams.jigsaw.cover().away
