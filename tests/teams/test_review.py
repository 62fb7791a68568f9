"""The DSL's review in the channel, with Universal Actions: Acknowledge,
Follow-up needed (a note and a date), Add note and View full record, by a
DSL member; refused (and audited) for anyone else; refused when Teams cannot
say who is in the channel."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.harness.faketeams import card_actions
from tests.harness.teams import Harness
from tests.harness.teams_driver import CHANNEL, DSL, DSL_MEMBER, OUTSIDER, STAFF, button
from tests.scenarios import STAFF_CONCERN
from tests.teams.test_views import later


def _record(teams: Harness) -> dict:
    teams.decide(STAFF, STAFF_CONCERN)
    [summary] = teams.jigsaw.store.list_records()
    return teams.jigsaw.record(summary["id"])


def _click(teams: Harness, user: str, title: str, **inputs: str):
    """``title`` clicked by ``user``: from the DSL team's view of the
    channel card (anyone else sees no buttons; their click is forged)."""
    [post] = teams.channel()
    shown = teams.view(DSL, post)
    activity = teams.client.execute_activity(user, button(shown, title), inputs=inputs or None,
                                             conversation=CHANNEL, name="Dana DSL")
    return teams.send(activity)


@pytest.mark.parametrize("dsl", [DSL, DSL_MEMBER])
def test_acknowledge_refreshes_the_card_for_everyone_and_tells_staff(teams: Harness,
                                                                     dsl: str) -> None:
    record = _record(teams)
    told_before = len(teams.chat(STAFF))
    _click(teams, dsl, "Acknowledge")
    stored = teams.jigsaw.record(record["id"])
    assert stored["review_status"] == "acknowledged"
    [post] = teams.channel()
    assert post.updates, "the channel card is updated in place"
    assert "Acknowledge" not in {a.get("title") for a in card_actions(teams.view(DSL, post).card)}
    assert len(teams.chat(STAFF)) == told_before + 1
    assert record["id"] in teams.chat(STAFF)[-1].text
    # A second click (or a stale card) changes nothing.
    audit = len(stored["audit"])
    activity = teams.client.execute_activity(dsl, {"verb": "review.acknowledge",
                                                   "data": {"r": record["id"]}},
                                             conversation=CHANNEL)
    teams.send(activity)
    assert len(teams.jigsaw.record(record["id"])["audit"]) == audit


def test_follow_up_with_a_note_and_date(teams: Harness) -> None:
    record = _record(teams)
    reply = _click(teams, DSL_MEMBER, "Follow-up needed")
    form = reply.body["value"]
    assert reply.body["type"] == "application/vnd.microsoft.card.adaptive"
    assert {"Input.Text", "Input.Date"} <= {n.get("type") for n in form["body"]}
    save = next(a for a in card_actions(form) if a["verb"] == "review.follow_up.save")
    # A date in the past is refused with the form again; nothing stored.
    past = (date.today() - timedelta(days=3)).isoformat()
    again = teams.send(teams.client.execute_activity(
        DSL_MEMBER, save, inputs={"note": "Call mum", "due": past}, conversation=CHANNEL))
    assert "Input.Date" in {n.get("type") for n in again.body["value"]["body"]}
    assert not teams.jigsaw.record(record["id"]).get("follow_up_needed")
    due = (date.today() + timedelta(days=2)).isoformat()
    saved = teams.send(teams.client.execute_activity(
        DSL_MEMBER, save, inputs={"note": "Call mum <b>today</b>", "due": due},
        conversation=CHANNEL))
    assert saved.body["type"] == "application/vnd.microsoft.card.adaptive"
    stored = teams.jigsaw.record(record["id"])
    assert any(a["action"] == "follow_up_needed" for a in stored["audit"])
    assert teams.channel()[0].updates
    told = teams.chat(STAFF)[-1]
    assert "Call mum <b>today</b>" in told.text and due in told.text


def test_add_note_and_view_full_record(teams: Harness) -> None:
    record = _record(teams)
    form = _click(teams, DSL, "Add note").body["value"]
    save = next(a for a in card_actions(form) if a["verb"] == "review.note.save")
    teams.send(teams.client.execute_activity(DSL, save, inputs={"note": "Spoke to class teacher"},
                                             conversation=CHANNEL))
    stored = teams.jigsaw.record(record["id"])
    assert any(a["action"] == "note_added" for a in stored["audit"])
    view = _click(teams, DSL, "View full record").body["value"]
    shown = "\n".join(str(n.get("text", "")) for n in view["body"][1]["inlines"])
    assert "arrives late and hungry" in shown
    assert teams.jigsaw.record(record["id"])["audit"][-1]["action"] == "viewed"
    # The child's chronology from the record, as in Slack's record view.
    chronology = next(a for a in card_actions(view) if a["title"] == "Chronology")
    assert chronology["data"]["ref"] == record["child_ref"]
    shown = teams.send(teams.client.execute_activity(DSL, chronology, conversation=CHANNEL))
    text = str(shown.body["value"])
    assert f"Chronology of {record['child_ref']}" in text and record["id"] in text
    assert teams.jigsaw.record(record["id"])["audit"][-1]["action"] == "chronology_viewed"


@pytest.mark.parametrize("title", ["Acknowledge", "Follow-up needed", "Add note",
                                   "View full record"])
def test_anyone_else_is_refused_and_it_is_audited(teams: Harness, title: str) -> None:
    record = _record(teams)
    reply = _click(teams, OUTSIDER, title)
    stored = teams.jigsaw.record(record["id"])
    assert stored["review_status"] == "pending"
    assert stored["audit"][-1]["action"] == "access_refused"
    assert stored["audit"][-1]["by"] == OUTSIDER
    if reply.body and reply.body.get("type") == "application/vnd.microsoft.card.adaptive":
        assert "arrives late" not in str(reply.body["value"])
        assert "Input.Text" not in str(reply.body["value"])


def test_membership_check_fails_closed(teams: Harness) -> None:
    record = _record(teams)
    [post] = teams.channel()
    shown = teams.view(DSL, post)
    later(teams, hours=1)  # the member list read at posting is too old to use
    teams.fake.member_faults.append(500)
    teams.send(teams.client.execute_activity(DSL_MEMBER, button(shown, "Acknowledge"),
                                             conversation=CHANNEL))
    stored = teams.jigsaw.record(record["id"])
    assert stored["review_status"] == "pending"
    assert stored["audit"][-1]["action"] == "access_refused"
    # A configured DSL id needs no look-up; the member can once Teams answers.
    _click(teams, DSL_MEMBER, "Acknowledge")
    assert teams.jigsaw.record(record["id"])["review_status"] == "acknowledged"


def test_the_record_summary_is_refused_to_anyone_outside_the_dsl_team(teams: Harness) -> None:
    record = _record(teams)
    forged = teams.client.execute_activity(OUTSIDER, {"verb": "review.summary",
                                                      "data": {"r": record["id"]}})
    shown = teams.send(forged).body
    assert "Child often arrives late" not in str(shown) and record["id"] not in str(shown)
    assert teams.jigsaw.record(record["id"])["audit"][-1]["action"] == "access_refused"
