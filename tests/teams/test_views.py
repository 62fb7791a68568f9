"""The record card's user-specific views (Universal Actions ``refresh``
with ``userIds``): the channel post is read-only; each DSL team member's
Teams client asks the bot for their own view, with the review buttons; a
forged refresh by anyone else gets nothing and is audited."""

from __future__ import annotations

from tests.harness.faketeams import card_actions
from tests.harness.teams import CARD, Harness
from tests.harness.teams_driver import CHANNEL, DSL, DSL_MEMBER, OUTSIDER, STAFF, button
from tests.scenarios import STAFF_CONCERN

REVIEW = {"review.acknowledge", "review.follow_up", "review.note", "review.view"}


def _posted(teams: Harness) -> tuple[dict, dict]:
    teams.decide(STAFF, STAFF_CONCERN)
    [summary] = teams.jigsaw.store.list_records()
    [post] = teams.channel()
    return teams.jigsaw.record(summary["id"]), post.card


def _verbs(card: dict) -> set[str]:
    return {str(a.get("verb")) for a in card_actions(card)}


def test_the_channel_post_is_read_only_and_refreshes_for_the_dsl_team(teams: Harness) -> None:
    record, card = _posted(teams)
    assert not _verbs(card) & REVIEW, "no review button on the card everyone sees"
    assert record["id"] in "\n".join(str(t) for t in teams.channel()[0].text.splitlines())
    refresh = card["refresh"]
    assert refresh["action"] == {"type": "Action.Execute", "verb": "review.refresh",
                                 "data": {"r": record["id"]}}
    # Teams ids (``29:…``) of the DSL channel's members, as its roster gives them.
    assert sorted(refresh["userIds"]) == sorted([f"29:{DSL}", f"29:{DSL_MEMBER}"])


def test_a_dsl_member_sees_the_buttons_and_the_view_keeps_refreshing(teams: Harness) -> None:
    record, card = _posted(teams)
    reply = teams.send(teams.client.execute_activity(
        DSL_MEMBER, card["refresh"]["action"], conversation=CHANNEL, trigger="automatic"))
    assert reply.body["type"] == CARD
    view = reply.body["value"]
    assert _verbs(view) >= REVIEW
    assert view["refresh"]["action"]["verb"] == "review.refresh"
    assert "access_refused" not in {a["action"] for a in teams.jigsaw.record(record["id"])["audit"]}


def test_anyone_else_gets_nothing_and_it_is_audited(teams: Harness) -> None:
    record, card = _posted(teams)
    reply = teams.send(teams.client.execute_activity(
        OUTSIDER, card["refresh"]["action"], conversation=CHANNEL, trigger="automatic"))
    assert not reply.body or reply.body.get("type") != CARD
    assert "arrives late" not in repr(reply.body) and record["id"] not in repr(reply.body)
    last = teams.jigsaw.record(record["id"])["audit"][-1]
    assert (last["action"], last["by"]) == ("access_refused", OUTSIDER)


def test_when_teams_cannot_say_who_is_in_the_channel_the_card_stays_read_only(
        teams: Harness) -> None:
    record, card = _posted(teams)
    later(teams, hours=1)  # the member list read at posting is too old to use
    teams.fake.member_faults.append(500)
    reply = teams.send(teams.client.execute_activity(
        DSL_MEMBER, card["refresh"]["action"], conversation=CHANNEL, trigger="automatic"))
    assert not reply.body or reply.body.get("type") != CARD
    assert "access_refused" not in {a["action"] for a in teams.jigsaw.record(record["id"])["audit"]}


def later(teams: Harness, *, hours: float) -> None:
    """The DSL channel's member list, as if read ``hours`` ago."""
    membership = teams.front.membership
    now = membership.clock
    membership.clock = lambda: now() + hours * 3600


def test_after_a_review_the_post_stays_read_only_and_still_refreshes(teams: Harness) -> None:
    record, _ = _posted(teams)
    [post] = teams.channel()
    teams.send(teams.client.execute_activity(
        DSL, button(teams.view(DSL, post), "Acknowledge"), conversation=CHANNEL))
    assert teams.jigsaw.record(record["id"])["review_status"] == "acknowledged"
    [post] = teams.channel()
    assert post.updates
    assert not _verbs(post.card) & REVIEW
    assert post.card["refresh"]["userIds"]
    mine = teams.view(DSL, post)
    assert "review.acknowledge" not in _verbs(mine.card)
    assert {"review.follow_up", "review.note"} <= _verbs(mine.card)
