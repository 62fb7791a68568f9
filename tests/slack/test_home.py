"""App Home: a way in, your own unfinished and recent decisions, and for the
DSL team the records awaiting review; nobody sees anyone else's records."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.slack.wire import Action, ButtonValue
from tests import scenarios as sc
from tests.harness.slack import Harness
from tests.harness.slack_driver import Driver, all_text, buttons, question_step, value_of
from tests.harness.slackreq import app_home_opened, block_action

AWAITING_HEADING = "*Waiting for the DSL*"


def open_home(slack: Harness, user: str) -> dict[str, Any]:
    slack.send(app_home_opened(user))
    publish = slack.fake.last("views.publish")
    assert publish.ok and publish.args["user_id"] == user
    view = slack.fake.home_view(user)
    assert view is not None and view["type"] == "home"
    return view


def sections(view: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in view["blocks"] if b.get("type") == "section"]


def awaiting_section(view: dict[str, Any]) -> str | None:
    """The DSL's list: its heading and each item's line, to the next divider."""
    found: list[str] | None = None
    for block in view["blocks"]:
        if found is None and block.get("type") == "section" and block["text"]["text"].startswith(
                AWAITING_HEADING):
            found = []
        if found is not None:
            if block.get("type") == "divider":
                break
            if block.get("type") == "section":
                found.append(block["text"]["text"])
    return None if found is None else "\n".join(found)


def test_an_item_waiting_for_the_dsl_opens_its_record_from_app_home(slack: Harness) -> None:
    record = decide(slack, "U123", sc.ALLEGATION)
    view = open_home(slack, "UDSL1")
    [button] = [b for b in buttons(view["blocks"]) if b["action_id"] == Action.REVIEW_VIEW
                and value_of(b).record == record["id"]]
    slack.send(block_action("UDSL1", action_id=Action.REVIEW_VIEW, value=button["value"],
                            view=view))
    opened = slack.fake.last("views.open")
    assert record["id"] in all_text(opened.args["view"]["blocks"])
    stored = slack.jigsaw.store.get_record(record["id"])
    assert stored is not None and stored["audit"][-1]["action"] == "viewed"
    assert stored["audit"][-1]["by"] == "UDSL1"


def decide(slack: Harness, user: str, script: list[str]) -> dict[str, Any]:
    driver = Driver(slack, user)
    driver.start()
    record = driver.run(script)
    assert record is not None
    return record


def test_home_has_a_start_button_that_starts_in_the_dm(slack: Harness) -> None:
    view = open_home(slack, "U123")
    [start] = [b for b in buttons(view["blocks"]) if b["action_id"] == Action.HOME_START]
    assert "Start" in start["text"]["text"]
    assert "None yet" in all_text(view["blocks"])

    slack.send(block_action("U123", action_id=Action.HOME_START, value=start["value"], view=view))

    assert question_step(Driver(slack).current()) == "danger"


def test_staff_see_their_unfinished_and_recent_decisions_with_review_status(
        slack: Harness) -> None:
    record = decide(slack, "U123", sc.ALLEGATION)
    driver = Driver(slack)
    driver.start()
    driver.answer("no")
    session = driver.session()
    assert session is not None and session["status"] == "in_progress"

    view = open_home(slack, "U123")
    text = all_text(view["blocks"])
    [resume] = [b for b in buttons(view["blocks"]) if b["action_id"] == Action.HOME_RESUME]
    assert value_of(resume) == ButtonValue(session=session["id"])
    mine = next(t for t in sections(view) if t.startswith("*Your recent decisions*"))
    assert record["id"] in mine and "Awaiting DSL review" in mine
    assert awaiting_section(view) is None  # not DSL
    assert "in progress" in text

    post = driver.dsl_posts()[-1]
    Driver(slack, "UDSL1").click(post, action_id=Action.REVIEW_ACK)
    view = open_home(slack, "U123")
    mine = next(t for t in sections(view) if t.startswith("*Your recent decisions*"))
    assert record["id"] in mine and "Acknowledged" in mine


def test_dsl_members_also_see_records_awaiting_review(slack: Harness) -> None:
    first = decide(slack, "U123", sc.ALLEGATION)
    second = decide(slack, "U456", sc.ALLEGATION)
    Driver(slack, "UDSL1").click(Driver(slack).dsl_posts()[0], action_id=Action.REVIEW_ACK)

    for dsl in ("UDSL1", "UDSL2"):
        awaiting = awaiting_section(open_home(slack, dsl))
        assert awaiting is not None
        assert second["id"] in awaiting
        assert first["id"] not in awaiting  # acknowledged: no longer waiting


def test_nobody_else_sees_a_staff_members_records(slack: Harness) -> None:
    record = decide(slack, "U123", sc.ALLEGATION)
    Driver(slack, "U123").start()  # and one unfinished

    for outsider in ("U456", "U999"):
        view = open_home(slack, outsider)
        text = all_text(view["blocks"])
        assert record["id"] not in text
        assert record["child_ref"] not in text
        assert awaiting_section(view) is None
        assert not [b for b in buttons(view["blocks"]) if b["action_id"] == Action.HOME_RESUME]
        assert "None yet" in text


def test_the_dsl_home_lists_what_waits_urgent_first_then_oldest_first(slack: Harness) -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    made: list[tuple[bool, str]] = []
    for n, (urgent, script) in enumerate([(False, sc.STAFF_CONCERN), (True, sc.STAFF_SELF_REFERRAL),
                                          (False, sc.STAFF_CONCERN), (True, sc.STAFF_SELF_REFERRAL),
                                          (False, sc.STAFF_CONCERN)]):
        at = start + timedelta(minutes=10 * n)
        slack.jigsaw.clock = lambda at=at: at  # type: ignore[misc]
        session = slack.jigsaw.start(f"U{n}")
        outcome = None
        for answer in script:
            outcome = slack.jigsaw.answer(session.id, answer)
        assert outcome is not None and outcome.record is not None
        made.append((urgent, outcome.record["id"]))
    listed = re.findall(r"ISD-\d{4}-\d{4}", awaiting_section(open_home(slack, "UDSL1")) or "")
    # Urgent first, each group oldest first (a queue), every waiting record once.
    assert listed == [i for u, i in made if u] + [i for u, i in made if not u]
