"""A whole decision in Teams, end to end over HTTP."""

from __future__ import annotations

from tests.harness.faketeams import card_actions
from tests.harness.teams import Harness
from tests.harness.teams_driver import DSL, STAFF, button, choice_button
from tests.scenarios import IMMEDIATE_DANGER, STAFF_CONCERN


def test_a_whole_decision(teams: Harness) -> None:
    teams.decide(STAFF, STAFF_CONCERN)
    records = teams.jigsaw.store.list_records()
    assert len(records) == 1
    record = teams.jigsaw.record(records[0]["id"])
    assert record["recorded_by"] == STAFF
    assert record["child_ref"] == "EF"
    # In the DSL channel once, with the review buttons in the DSL's view.
    [post] = teams.channel()
    assert record["id"] in post.text
    titles = {a.get("title") for a in card_actions(teams.view(DSL, post).card)}
    assert {"Acknowledge", "View full record"} <= titles
    assert record["delivery"]["state"] == "posted"
    assert record["delivery"]["ts"] == post.id
    # Every question was answered in place: no buttons left on any of them.
    questions = [p for p in teams.chat(STAFF) if p.updates]
    assert len(questions) >= len(STAFF_CONCERN) - 2
    assert all(not card_actions(p.card) for p in questions)
    assert "Submitted" in teams.chat(STAFF)[-1].text


def test_immediate_danger_alerts_the_dsl_channel_first(teams: Harness) -> None:
    teams.say(STAFF, "hello")
    first = teams.question(STAFF)
    assert "danger" in first.text.lower()
    teams.answer(STAFF, IMMEDIATE_DANGER[0])
    [alert] = teams.channel()
    assert "immediate danger" in alert.text
    assert "Acknowledge" in {a["title"] for a in card_actions(alert.card)}
    # The alert went before the next question was asked.
    chat = teams.chat(STAFF)
    assert "999" in first.text or "999" in " ".join(p.text for p in chat)
    session = teams.jigsaw.latest_open(STAFF)
    assert session is not None
    assert all(e.get("delivered") for e in session.events)


def test_duplicate_activity_changes_nothing(teams: Harness) -> None:
    teams.say(STAFF, "hello")
    teams.answer(STAFF, "no")
    question = teams.question(STAFF)
    action = choice_button(question, "own_concern")
    click = teams.client.execute_activity(STAFF, action)
    teams.send(click)
    session = teams.jigsaw.latest_open(STAFF)
    assert session is not None
    before = (len(teams.fake.posts), session.to_dict())
    typed = teams.client.message_activity(STAFF, "EF")
    teams.send(typed)
    after_typed = teams.jigsaw.get(session.id)
    for again in (click, typed, typed):
        teams.send(again)  # Teams delivering the same activity id again
    assert teams.jigsaw.get(session.id).to_dict() == after_typed.to_dict()
    assert len(teams.fake.posts) == before[0] + 1  # only the typed answer's next question


def test_pause_and_resume_by_messaging(teams: Harness) -> None:
    teams.say(STAFF, "hello")
    teams.answer(STAFF, "no")
    question = teams.question(STAFF)
    teams.send(teams.client.execute_activity(STAFF, button(question, "Pause")))
    assert not card_actions(question.card) or teams.fake.posts_to(question.conversation)
    session = teams.jigsaw.latest_open(STAFF)
    assert session is not None and session.status == "paused"
    teams.say(STAFF, "hi again")
    again = teams.question(STAFF)
    assert again.id != question.id
    assert teams.jigsaw.get(session.id).status == "in_progress"
    assert {a["title"] for a in card_actions(again.card)} >= {"Back", "Pause", "Cancel"}


def _typed_as_facts(teams: Harness, typed: str) -> tuple[list[str], list[str]]:
    """Type ``typed`` as the facts; the answered card's rich text blocks
    (their runs joined) and every text run and block on it."""
    teams.say(STAFF, "hello")
    teams.answer(STAFF, "no")
    teams.answer(STAFF, "own_concern")
    teams.answer(STAFF, "EF")
    teams.answer(STAFF, typed)
    answered = [p for p in teams.chat(STAFF) if p.updates][-1]
    shown = ["".join(run["text"] for run in n["inlines"]) for n in _walk(answered.card)
             if n.get("type") == "RichTextBlock"]
    runs = [n["text"] for n in _walk(answered.card) if n.get("type") in ("TextRun", "TextBlock")]
    return shown, runs


def test_typed_text_is_shown_literally(teams: Harness) -> None:
    typed = "Said **hit** <at>everyone</at> <at>everyone</at> [x](https://evil.example)"
    shown, runs = _typed_as_facts(teams, typed)
    # Shown as one rich text block whose runs read back exactly as typed,
    # and no single run holds a mention tag Teams could act on.
    assert typed in shown
    assert not any("<at>" in run for run in runs)
    assert all(typed not in run for run in runs)


def _walk(node: object) -> list[dict]:
    found: list[dict] = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found += _walk(value)
    elif isinstance(node, list):
        for item in node:
            found += _walk(item)
    return found


def test_card_text_functions_and_templates_are_shown_as_typed(teams: Harness) -> None:
    """Teams evaluates ``{{DATE(..)}}`` in card text, and a template host
    ``${..}``: in what a person typed, neither is ever one text run."""
    typed = "Seen {{DATE(2017-02-14T06:08:39Z, SHORT)}} at {{TIME(2017-02-14T06:08:39Z)}} ${name}"
    shown, runs = _typed_as_facts(teams, typed)
    assert typed in shown
    assert not any("{{" in run or "${" in run for run in runs)


def test_the_emergency_route_speaks_of_chat_not_slack(teams: Harness) -> None:
    teams.say(STAFF, "hello")
    teams.answer(STAFF, "yes")
    teams.answer(STAFF, "Called 999 at 10:42")
    question = teams.question(STAFF)
    assert "Slack" not in question.text
    assert "never a full name" in question.text
