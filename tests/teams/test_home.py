"""The personal home in Teams: a welcome card with Start, Resume, the
person's own records and follow-ups; for the DSL team what waits for them
(the inbox), Make the sharing decision (continued in their own personal
chat), and their tools: a child's chronology and the CSV of records, shown
only to the DSL who asked and audited."""

from __future__ import annotations

import re

from tests.harness.faketeams import card_actions, card_texts
from tests.harness.teams import Harness
from tests.harness.teams_driver import (
    CHANNEL,
    DSL,
    DSL_MEMBER,
    OUTSIDER,
    STAFF,
    button,
    chat_of,
    install_activity,
)
from tests.scenarios import STAFF_CONCERN, STAFF_REQUEST_CANNOT_WAIT


def _titles(card: dict) -> set[str]:
    return {a["title"] for a in card_actions(card)}


def test_installing_shows_the_welcome_card_without_the_dsl_inbox(teams: Harness) -> None:
    teams.send(install_activity(teams.client, STAFF))
    [home] = teams.chat(STAFF)
    assert "Start a decision" in _titles(home.card)
    assert "Waiting for the DSL" not in home.text
    teams.say(STAFF, "hello")
    teams.answer(STAFF, "no")
    teams.say(STAFF, "home")
    home = teams.chat(STAFF)[-1]
    assert "Your unfinished decisions" in home.text and "Resume" in _titles(home.card)
    teams.send(teams.client.execute_activity(STAFF, button(home, "Resume")))
    assert teams.question(STAFF).id != home.id


def test_the_dsl_home_lists_the_inbox_and_takes_a_concern_on(teams: Harness) -> None:
    teams.decide(STAFF, STAFF_CONCERN)
    [summary] = teams.jigsaw.store.list_records()
    teams.say(DSL, "home")
    home = teams.chat(DSL)[-1]
    assert "Waiting for the DSL" in home.text
    assert any(summary["id"] in line for line in card_texts(home.card))
    assert "Make the sharing decision" in _titles(home.card)
    reply = teams.send(teams.client.execute_activity(DSL, button(home, "Make the sharing decision"),
                                                     name="Dana DSL"))
    assert reply.body["type"] == "application/vnd.microsoft.card.adaptive"
    assert any(f"Taking on {summary['id']}" in p.text for p in teams.chat(DSL))
    teams.question(DSL)  # the sharing decision's questions, in the DSL's own chat
    assert any(a["action"] == "taken_on" and a["by"] == DSL
               for a in teams.jigsaw.record(summary["id"])["audit"])


def test_a_dsl_who_never_wrote_to_the_bot_takes_a_concern_on_from_the_channel(
        teams: Harness) -> None:
    teams.decide(STAFF, STAFF_CONCERN)
    [post] = teams.channel()
    post = teams.view(DSL_MEMBER, post, name="Deputy Dev")
    teams.send(teams.client.execute_activity(DSL_MEMBER, button(post, "Make the sharing decision"),
                                             conversation=CHANNEL, name="Deputy Dev"))
    assert teams.fake.chats_opened, "the bot opened a personal chat with the DSL"
    teams.question(DSL_MEMBER)
    assert teams.fake.posts_to(chat_of(DSL_MEMBER))


def test_chronology_is_shown_to_the_dsl_only_and_audited(teams: Harness) -> None:
    teams.decide(STAFF, STAFF_CONCERN)
    [summary] = teams.jigsaw.store.list_records()
    teams.say(DSL, "home")
    home = teams.chat(DSL)[-1]
    posts_before = len(teams.fake.posts)
    shown = teams.send(teams.client.execute_activity(DSL, button(home, "Show chronology"),
                                                     inputs={"ref": "EF"})).body["value"]
    text = "\n".join(card_texts(shown))
    assert "Chronology of EF" in text and summary["id"] in text
    record = teams.jigsaw.record(summary["id"])
    assert any(a["action"] == "chronology_viewed" and a["by"] == DSL for a in record["audit"])
    assert len(teams.fake.posts) == posts_before, "shown to the DSL who asked, posted nowhere"
    day = summary["created_at"][:10]
    bad = teams.send(teams.client.execute_activity(DSL, button(home, "Export records as CSV"),
                                                   inputs={"start": day, "end": "2000-01-01"}))
    assert "second not before the first" in "".join(card_texts(bad.body["value"]))

    refused = teams.send(teams.client.execute_activity(OUTSIDER, button(home, "Show chronology"),
                                                       inputs={"ref": "EF"}))
    assert summary["id"] not in "".join(card_texts(refused.body["value"]))
    assert teams.jigsaw.record(summary["id"])["audit"][-1]["action"] == "access_refused"


def test_the_dsl_home_lists_urgent_first_and_opens_each_record(teams: Harness) -> None:
    """As the Slack App Home: what waits, urgent first and marked, each with
    View full record, opened for the DSL only and audited."""
    teams.decide(STAFF, STAFF_CONCERN)
    teams.decide(STAFF, STAFF_REQUEST_CANNOT_WAIT)
    found = {r["id"]: teams.jigsaw.record(r["id"]) for r in teams.jigsaw.store.list_records()}
    [pressing] = [rid for rid, r in found.items() if (r.get("urgent") or {}).get("urgent")
                  == "yes"]
    [calm] = [rid for rid in found if rid != pressing]
    teams.say(DSL, "home")
    home = teams.chat(DSL)[-1]
    texts = card_texts(home.card)
    start = next(n for n, text in enumerate(texts) if text.startswith("Waiting for the DSL"))
    lines = [line for line in texts[start:] if line.startswith("ISD-")]
    assert [line.split(":")[0] for line in lines] == [pressing, calm]  # urgent first
    assert lines[0].count("URGENT") == 1 and "URGENT" not in lines[1]
    assert re.search(r"Sam Teacher, \w{3} \d{1,2} \w{3} \d{4}, \d{2}:\d{2}", lines[1]), lines
    # Follow-ups by the date as people write it, not ISO.
    assert not any(re.search(r"\d{4}-\d{2}-\d{2}", text) for text in texts), texts
    views = [a for a in card_actions(home.card) if a.get("verb") == "review.view"]
    assert [a["data"]["r"] for a in views] == [pressing, calm]
    reply = teams.send(teams.client.execute_activity(DSL, views[1], name="Dana DSL"))
    shown = " ".join(card_texts(reply.body["value"]))
    assert "arrives late and hungry" in shown and calm in shown
    stored = teams.jigsaw.record(calm)
    assert stored is not None and stored["audit"][-1]["action"] == "viewed"
    assert stored["audit"][-1]["by"] == DSL
    # The same click by someone else (a forged one): refused, recorded.
    reply = teams.send(teams.client.execute_activity(OUTSIDER, views[1], name="Otto"))
    assert "arrives late" not in str(reply.body)
    stored = teams.jigsaw.record(calm)
    assert stored is not None and stored["audit"][-1]["action"] == "access_refused"
