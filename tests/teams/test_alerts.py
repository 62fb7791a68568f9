"""The urgent alert in the DSL channel: it @mentions the DSL team with the
entities Teams needs, is acknowledged by a DSL member also after the
emergency record is made (its session gone), and then says by whom (by
name, never an Entra object id) and when."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.harness.faketeams import card_actions
from tests.harness.teams import Harness
from tests.harness.teams_driver import CHANNEL, DSL, DSL_MEMBER, OUTSIDER, STAFF, button
from tests.scenarios import IMMEDIATE_DANGER


def _alert(teams: Harness):
    [alert] = [p for p in teams.channel() if "immediate danger" in p.text]
    return alert


def test_the_alert_mentions_every_dsl_member_by_entra_id(teams: Harness) -> None:
    teams.say(STAFF, "hello")
    teams.answer(STAFF, IMMEDIATE_DANGER[0])
    card = _alert(teams).card
    entities = card["msteams"]["entities"]
    assert {(e["mentioned"]["id"], e["mentioned"]["name"]) for e in entities} == {
        (DSL, "Dana DSL"), (DSL_MEMBER, "Deputy Dev")}
    assert all(e["type"] == "mention" and e["mentioned"]["mentionType"] == "Person"
               for e in entities)
    # Each entity's text is in the card, so Teams turns it into the mention.
    shown = "\n".join(teams.fake.posts_to(CHANNEL)[0].text.splitlines())
    for entity in entities:
        assert entity["text"] in shown
    # The staff member is named, never shown by id.
    assert "Sam Teacher" in shown and STAFF not in shown


def test_acknowledged_after_the_emergency_record_says_who_and_when(teams: Harness) -> None:
    teams.jigsaw.clock = lambda: datetime(2026, 3, 2, 10, 45, tzinfo=UTC)
    teams.decide(STAFF, IMMEDIATE_DANGER)  # "Submit the emergency record now"
    [summary] = teams.jigsaw.store.list_records()
    session_id = teams.jigsaw.record(summary["id"])["session_id"]
    assert teams.jigsaw.get(session_id) is None, "the session is gone once the record is made"
    alert = _alert(teams)
    reply = teams.send(teams.client.execute_activity(
        DSL_MEMBER, button(alert, "Acknowledge"), conversation=CHANNEL, name="Deputy Dev"))
    # The clicker's card changes at once, and everyone's by an update.
    assert reply.body["type"] == "application/vnd.microsoft.card.adaptive"
    assert alert.updates, "the alert card is updated in place"
    shown = _alert(teams).text
    assert "Acknowledged by Deputy Dev at 10:45 on Mon 2 Mar" in shown
    assert DSL_MEMBER not in shown
    assert "Acknowledge" not in {a["title"] for a in card_actions(_alert(teams).card)}
    record = teams.jigsaw.record(summary["id"])
    assert any(a["action"] == "alert_acknowledged" and a["by"] == DSL_MEMBER
               for a in record["audit"])
    # A second click (on a card not yet refreshed) changes nothing more.
    [first_button] = card_actions(alert.activity["attachments"][0]["content"])
    again = teams.send(teams.client.execute_activity(DSL, first_button, conversation=CHANNEL))
    assert "Acknowledged by Deputy Dev" in str(again.body)
    assert len(alert.updates) == 1


def test_an_outsider_cannot_acknowledge(teams: Harness) -> None:
    teams.say(STAFF, "hello")
    teams.answer(STAFF, IMMEDIATE_DANGER[0])
    alert = _alert(teams)
    reply = teams.send(teams.client.execute_activity(OUTSIDER, button(alert, "Acknowledge"),
                                                     conversation=CHANNEL))
    assert "Acknowledged" not in str(reply.body)
    assert not alert.updates
    assert teams.jigsaw.schedule.jobs(), "its escalation still stands"
