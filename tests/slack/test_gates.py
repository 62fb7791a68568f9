"""The safety gates that change what reaches the DSL channel, played through
Slack end to end: signed requests in, the fake Slack Web API out.

Asserts on what Slack receives (which channel, what comes first) and on what
is stored, never on wording a school may change.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bot.config import Contact
from bot.record import verify
from bot.slack.delivery import ALERT_EVENT, RECORD_EVENT
from tests import scenarios as sc
from tests.harness.fakeslack import DSL_CHANNEL_ID, Call
from tests.harness.slack import Harness
from tests.harness.slack_driver import DEPUTY, Driver, all_text, blocks_of


def record_posts(driver: Driver) -> list[Call]:
    return [c for c in driver.dsl_posts()
            if (c.args.get("metadata") or {}).get("event_type") == RECORD_EVENT]


def first_field(post: Call) -> str:
    """The text of the first section after the header: where the eye lands."""
    sections = [b for b in blocks_of(post) if b.get("type") == "section"]
    return str(sections[0]["text"]["text"])


def test_unverified_requester_is_deferred_and_flagged_first(slack: Harness) -> None:
    driver = Driver(slack, DEPUTY)
    driver.start()
    record = driver.run(sc.UNVERIFIED_POLICE)
    assert record is not None and record["decision"] == "defer"
    assert record["recipient"] is None
    [post] = record_posts(driver)
    assert slack.jigsaw.prompts.wording("verification_missing") in first_field(post)
    # Share was never offered on the way.
    offered = {b.get("value", "") for q in driver.questions() for b in _buttons(q)}
    assert not any('"share"' in v for v in offered)


def _buttons(call: Call) -> list[dict[str, Any]]:
    return [e for b in blocks_of(call) if b.get("type") == "actions" for e in b["elements"]]


def test_significant_harm_not_shared_needs_a_second_sign_off_today(slack: Harness) -> None:
    driver = Driver(slack, DEPUTY)
    driver.start()
    record = driver.run(sc.SIGNIFICANT_NOT_SHARED)
    assert record is not None and record["second_signoff"]["required"] is True
    assert record["follow_up"][0]["action"] == "second_signoff"
    [post] = record_posts(driver)
    assert slack.jigsaw.prompts.wording("urgent_signoff") in first_field(post)
    assert slack.jigsaw.prompts.wording("signoff_needed") in all_text(post)
    assert verify(record) == []


def test_allegation_about_the_dsl_never_reaches_the_dsl_channel(slack: Harness) -> None:
    driver = Driver(slack)
    driver.start()
    record = driver.run(sc.ALLEGATION_DSL)
    assert record is not None and record["routing"]["to"] == "headteacher"
    assert record_posts(driver) == []
    assert not any("ST" in all_text(c) or "slapped" in all_text(c)
                   for c in slack.fake.calls() if c.args.get("channel") == DSL_CHANNEL_ID)
    # No chat contact set for the head: held, and the person told whom to see.
    assert record["delivery"]["state"] == "held"
    assert slack.jigsaw.settings.headteacher.name in driver.last_dm_text()
    assert slack.front.delivery.pending() == []  # nothing left for the outbox


@pytest.fixture
def head_in_slack(slack: Harness) -> Harness:
    settings = replace(slack.jigsaw.settings,
                       headteacher=Contact(name="Mrs Head", user_id="UHEAD"))
    slack.jigsaw.settings = settings
    slack.jigsaw.flow.settings = settings
    slack.jigsaw.reviews.settings = settings
    return slack


def test_allegation_about_the_dsl_goes_to_the_head_directly(head_in_slack: Harness) -> None:
    slack = head_in_slack
    driver = Driver(slack)
    driver.start()
    record = driver.run(sc.ALLEGATION_DSL)
    assert record is not None
    assert record_posts(driver) == []
    head_dm = "DUHEAD"  # the fake names an IM "D" + the user id
    to_head = [c for c in slack.fake.calls("chat.postMessage")
               if c.args.get("channel") == head_dm]
    assert len(to_head) == 1 and record["id"] in all_text(to_head[0])
    assert _buttons(to_head[0]) == []  # no DSL review buttons for the head
    stored = slack.jigsaw.store.get_record(record["id"])
    assert stored is not None and stored["delivery"]["state"] == "posted"
    assert stored["delivery"]["channel"] == head_dm


def test_danger_then_cancel_leaves_a_record_in_the_dsl_channel(slack: Harness) -> None:
    driver = Driver(slack)
    driver.start()
    driver.answer("yes")
    alerts = [c for c in driver.dsl_posts()
              if (c.args.get("metadata") or {}).get("event_type") == ALERT_EVENT]
    assert len(alerts) == 1
    driver.type("cancel")
    session = driver.session()
    assert session is not None and session["status"] == "cancelled"
    record = slack.jigsaw.store.get_record(session["record_id"])
    assert record is not None
    assert (record["kind"], record["decision"]) == ("emergency", "alert_only")
    [post] = record_posts(driver)
    assert record["id"] in all_text(post)
    assert record["id"] in driver.last_dm_text()


def test_the_alerted_notice_is_shown_only_when_the_alert_went(slack: Harness) -> None:
    driver = Driver(slack)
    driver.start()
    driver.answer("yes")
    sent = slack.jigsaw.prompts.render("slack/alert_sent.j2")
    assert any(sent in all_text(c) for c in slack.fake.calls()
               if c.args.get("channel") == driver.dm)
