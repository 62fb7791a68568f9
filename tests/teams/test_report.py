"""Report a concern from any message (the Teams message extension): a
decision starts in the person's personal chat with the message's text
offered as the facts, which they use with one click or type their own;
nothing is ever posted where the message was."""

from __future__ import annotations

from tests.harness.faketeams import card_actions
from tests.harness.teams import Harness
from tests.harness.teams_driver import STAFF, button, chat_of, report_activity

STAFFROOM = "19:staffroom-chat@thread.v2"
MESSAGE = "<p>EF said her <b>dad</b> hit her last night</p><p>She had a bruise &amp; was quiet</p>"
AS_TEXT = "EF said her dad hit her last night\nShe had a bruise & was quiet"


def _report(teams: Harness, user: str = STAFF):
    return teams.send(report_activity(teams.client, user, MESSAGE, conversation=STAFFROOM))


def test_the_message_is_offered_as_the_facts_and_nothing_is_posted_where_it_was(
        teams: Harness) -> None:
    reply = _report(teams)
    assert reply.body["task"]["type"] == "message"
    assert "your chat with it" in reply.body["task"]["value"]
    assert teams.fake.posts_to(STAFFROOM) == []
    assert teams.fake.chats_opened, "the personal chat is opened for someone never seen"
    assert any("reported a concern" in p.text for p in teams.chat(STAFF))
    for value in ("no", "own_concern", "EF"):
        teams.answer(STAFF, value)
    question = teams.question(STAFF)
    assert AS_TEXT in question.text
    teams.send(teams.client.execute_activity(STAFF, button(question, "Use the message")))
    session = teams.jigsaw.latest_open(STAFF)
    assert session is not None and session.answers["facts"] == AS_TEXT
    assert teams.fake.posts_to(STAFFROOM) == []


def test_the_facts_can_be_typed_instead(teams: Harness) -> None:
    _report(teams)
    for value in ("no", "own_concern", "EF"):
        teams.answer(STAFF, value)
    assert "Use the message" in {a["title"] for a in card_actions(teams.question(STAFF).card)}
    teams.say(STAFF, "EF told me at break that her dad hit her; a bruise on her arm.")
    session = teams.jigsaw.latest_open(STAFF)
    assert session is not None
    assert session.answers["facts"].startswith("EF told me at break")
    assert chat_of(STAFF) in {p.conversation for p in teams.fake.posts}
