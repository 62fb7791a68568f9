"""Requests in Teams: a member of staff passes an agency's request to the DSL
(never decides it); the DSL team, known by Entra id (configured, or in the
DSL channel), decides it; the DSL takes a staff request on into a decision on
the same record."""

from __future__ import annotations

from bot.record import verify
from tests import scenarios as sc
from tests.harness.teams import Harness
from tests.harness.teams_driver import CHANNEL, DSL, DSL_MEMBER, STAFF, button

DECIDING = ("What is your decision", "Why? Give the reasons", "lawful basis", "para 18")


def asked(teams: Harness, user: str) -> str:
    return "\n".join(p.text for p in teams.chat(user))


def test_a_request_taken_by_staff_never_asks_for_a_decision_and_waits_for_the_dsl(
        teams: Harness) -> None:
    teams.decide(STAFF, sc.STAFF_POLICE_REQUEST)
    [summary] = teams.jigsaw.store.list_records()
    record = teams.jigsaw.record(summary["id"])
    assert record["decision"] == "tell_dsl" and record["awaiting_dsl_decision"] is True
    assert record["kind"] == "concern" and record["path"] == "tell_dsl"
    shown = asked(teams, STAFF)
    assert not [words for words in DECIDING if words in shown]
    [post] = teams.channel()
    assert record["id"] in post.text
    button(teams.view(DSL, post, name="Dana DSL"), "Make the sharing decision")
    last = teams.chat(STAFF)[-1].text
    assert "waiting for" in last and "why you decided" not in last
    [item] = teams.jigsaw.inbox()
    assert item.id == record["id"] and item.awaiting_decision


def test_the_same_request_taken_by_the_dsl_team_ends_in_a_decision(teams: Harness) -> None:
    for user in (DSL, DSL_MEMBER):  # a configured id; a member of the DSL channel
        teams.decide(user, sc.as_dsl_team(sc.POLICE_PREJUDICE))
        [record] = [teams.jigsaw.record(s["id"]) for s in teams.jigsaw.store.list_records()
                    if s["recorded_by"] == user]
        assert (record["kind"], record["decision"]) == ("decision", "share")
        assert record["awaiting_dsl_decision"] is False and record["recorded_by_dsl"]


def test_the_dsl_takes_a_staff_request_on_and_decides_on_the_same_id(teams: Harness) -> None:
    teams.decide(STAFF, sc.STAFF_POLICE_REQUEST)
    [summary] = teams.jigsaw.store.list_records()
    [post] = teams.channel()
    post = teams.view(DSL, post, name="Dana DSL")
    teams.send(teams.client.execute_activity(DSL, button(post, "Make the sharing decision"),
                                             conversation=CHANNEL, name="Dana DSL"))
    for value in sc.POLICE_PREJUDICE[sc.POLICE_PREJUDICE.index("significant"):]:
        teams.answer(DSL, value)
    assert [s["id"] for s in teams.jigsaw.store.list_records()] == [summary["id"]]
    record = teams.jigsaw.record(summary["id"])
    assert record["decision"] == "share" and record["decided_by"]["by"] == DSL
    assert record["concern"]["by"] == STAFF and not record["awaiting_dsl_decision"]
    actions = [e["action"] for e in record["audit"]]
    assert actions[0] == "submitted" and "taken_on" in actions
    assert actions[-1] == "decision_made"
    assert verify(record) == []
