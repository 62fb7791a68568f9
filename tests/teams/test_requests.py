"""Requests in Teams: a member of staff passes an agency's request to the DSL
(never decides it); the DSL team, known by Entra id (configured, or in the
DSL channel), decides it; the DSL takes a staff request on into a decision on
the same record."""

from __future__ import annotations

from bot.record import verify
from tests import scenarios as sc
from tests.harness.faketeams import card_actions
from tests.harness.teams import Harness
from tests.harness.teams_driver import CHANNEL, DSL, DSL_MEMBER, STAFF, button, choice_button

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
    # Staff record the request; the DSL brings what is known, then decides.
    for value in sc.POLICE_PREJUDICE[sc.POLICE_PREJUDICE.index("AB-1234") + 1:]:
        teams.answer(DSL, value)
    assert [s["id"] for s in teams.jigsaw.store.list_records()] == [summary["id"]]
    record = teams.jigsaw.record(summary["id"])
    assert record["decision"] == "share" and record["decided_by"]["by"] == DSL
    assert record["concern"]["by"] == STAFF and not record["awaiting_dsl_decision"]
    actions = [e["action"] for e in record["audit"]]
    assert actions[0] == "submitted" and "taken_on" in actions
    assert actions[-1] == "decision_made"
    assert verify(record) == []


def test_staff_are_never_offered_i_am_the_dsl_and_saying_so_passes_it_to_the_dsl(
        teams: Harness) -> None:
    teams.say(STAFF, "hello")
    teams.answer(STAFF, "no")
    trigger = teams.question(STAFF)
    offered = [(a.get("data") or {}).get("v") for a in card_actions(trigger.card)
               if a.get("verb") == "answer"]
    assert "request" in offered and "dsl_recording" not in offered
    assert "or a deputy, deciding" not in trigger.text

    # Saying so, typed or on a button they were never shown: told why, and
    # still asked what it is about.
    teams.say(STAFF, "I am the DSL")
    assert "Only the DSL team makes sharing decisions" in asked(teams, STAFF)
    forged = dict(choice_button(trigger, "request"))
    forged["data"] = {**forged["data"], "v": "dsl_recording"}
    teams.send(teams.client.execute_activity(STAFF, forged))
    [session] = teams.jigsaw.open_sessions(STAFF)
    assert "trigger" not in session.answers and session.facts["_role"] == "staff"

    for value in sc.STAFF_POLICE_REQUEST[1:]:
        teams.answer(STAFF, value)
    [summary] = teams.jigsaw.store.list_records()
    record = teams.jigsaw.record(summary["id"])
    assert (record["kind"], record["decision"], record["recorded_by_dsl"]) == (
        "concern", "tell_dsl", False)
    assert record["awaiting_dsl_decision"] is True
    shown = asked(teams, STAFF)
    assert not [words for words in DECIDING if words in shown]
    [post] = teams.channel()
    assert record["id"] in post.text
    [item] = teams.jigsaw.inbox()
    assert item.id == record["id"] and item.awaiting_decision


def test_a_dsl_channel_member_saying_i_am_the_dsl_decides_the_same_request(
        teams: Harness) -> None:
    teams.say(DSL_MEMBER, "hello")
    teams.answer(DSL_MEMBER, "no")
    choice_button(teams.question(DSL_MEMBER), "dsl_recording")  # offered to the DSL team
    for value in sc.POLICE_PREJUDICE[1:]:
        teams.answer(DSL_MEMBER, value)
    [summary] = teams.jigsaw.store.list_records()
    record = teams.jigsaw.record(summary["id"])
    assert (record["kind"], record["decision"], record["recorded_by_dsl"]) == (
        "decision", "share", True)
    assert record["awaiting_dsl_decision"] is False
    assert "What is your decision" in asked(teams, DSL_MEMBER)


def flat(text: str) -> str:
    return " ".join(text.split())


def test_taking_a_concern_on_shows_what_staff_said_whole_and_back_shows_their_answer(
        teams: Harness) -> None:
    teams.decide(STAFF, sc.STAFF_CONCERN_LONG)
    [summary] = teams.jigsaw.store.list_records()
    [post] = teams.channel()
    post = teams.view(DSL, post, name="Dana DSL")
    teams.send(teams.client.execute_activity(DSL, button(post, "Make the sharing decision"),
                                             conversation=CHANNEL, name="Dana DSL"))
    first = flat(teams.question(DSL).text)
    assert "What the member of staff told you" in first
    assert flat(sc.LONG_FACTS) in first and sc.STAFF_VIEW in first  # whole, before she judges
    teams.say(DSL, "back")
    again = teams.question(DSL)
    assert sc.STAFF_VIEW in again.text  # the staff member's answer, to keep or change
    assert teams.jigsaw.open_sessions(DSL)[0].history[-1] == "child_wishes"
