"""Delivery to the DSL channel, exactly once, whatever Slack does.

The record is stored before Slack is asked; the member of staff is told it is
saved and that the DSL notification is pending; the outbox retries; and once
Slack recovers the record (or urgent alert) is in the channel exactly once,
including after a restart and when Slack posted it but the reply was lost.
Retries are driven with ``flush`` so nothing here waits on a clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import record as records
from bot.slack.delivery import ALERT_EVENT, RECORD_EVENT
from tests import scenarios
from tests.harness.fakeslack import BOT_USER_ID, DSL_CHANNEL_ID, DSL_MEMBERS, Call
from tests.harness.faults import (
    InProcessApp,
    WatchedSlack,
    assert_posted_once,
    settings,
)
from tests.harness.slack_driver import all_text
from tests.harness.staff import Staff

USER = "U123"
# Each way a post to the DSL channel can fail, as FakeSlack fault arguments.
FAULTS: dict[str, dict[str, Any]] = {
    "http_500": {"status": 500},
    "rate_limited": {"retry_after": 7},
    # Slack posted it, but the reply never came back (the client timed out).
    "reply_lost": {"delay": 30.0, "effect": True},
    "not_in_channel": {"error": "not_in_channel"},
}
CLIENT_TIMEOUT = 1.0  # seconds; only the reply_lost case ever waits this long


def to_dsl(call: Call) -> bool:
    return call.args.get("channel") == DSL_CHANNEL_ID


class Outage:
    """Slack failing posts to the DSL channel until :meth:`heal`."""

    def __init__(self, fake: WatchedSlack, kind: str) -> None:
        self.fake = fake
        self.kind = kind
        self.healed = threading.Event()
        if kind == "bot_removed":
            fake.set_members(DSL_CHANNEL_ID, [m for m in DSL_MEMBERS if m != BOT_USER_ID])
        else:
            fake.fail_while("chat.postMessage",
                            lambda c: to_dsl(c) and not self.healed.is_set(), **FAULTS[kind])

    def heal(self) -> None:
        self.healed.set()
        if self.kind == "bot_removed":
            self.fake.set_members(DSL_CHANNEL_ID, DSL_MEMBERS)
        self.fake.release_delayed()


@pytest.fixture
def fake() -> Iterator[WatchedSlack]:
    with WatchedSlack() as f:
        yield f


@pytest.fixture
def app(tmp_path: Path, fake: WatchedSlack) -> Iterator[InProcessApp]:
    with InProcessApp(tmp_path / "data", fake, timeout=CLIENT_TIMEOUT) as running:
        yield running


def told(fake: WatchedSlack, app: InProcessApp, template: str, **ctx: Any) -> int:
    """How many times the staff DM got this message."""
    return fake.dm_texts(USER).count(app.front.t(template, **ctx))


def dm_shows(fake: WatchedSlack, text: str) -> int:
    """How many messages in the staff DM (as posted or as updated) show ``text``."""
    return sum(1 for c in fake.calls() if c.ok and c.args.get("channel") == f"D{USER}"
               and c.method in ("chat.postMessage", "chat.update")
               and text in all_text(c.args.get("blocks")))


def check_held(fake: WatchedSlack, app: InProcessApp, record_id: str, kind: str) -> None:
    """Stored whole, not in the channel (unless Slack took it and lost the
    reply), and the staff member told it is saved but pending."""
    record = app.store.get_record(record_id)
    assert record is not None and records.verify(record) == []
    assert record["delivery"]["state"] != "posted"
    assert [s["id"] for s in app.jigsaw.deliveries.undelivered_records()] == [record_id]
    in_channel = len(fake.dsl_posts(RECORD_EVENT).get(record_id, []))
    assert in_channel == (1 if kind == "reply_lost" else 0)
    assert told(fake, app, "submitted_pending", id=record_id) == 1
    assert told(fake, app, "submitted_sent", id=record_id) == 0
    assert told(fake, app, "delivered_late", id=record_id) == 0


@pytest.mark.parametrize(("kind", "restart"), [
    ("http_500", True), ("http_500", False), ("rate_limited", True), ("reply_lost", True),
    ("reply_lost", False), ("not_in_channel", True), ("bot_removed", True),
])
def test_record_reaches_the_dsl_exactly_once_after_an_outage(
        fake: WatchedSlack, app: InProcessApp, kind: str, restart: bool) -> None:
    outage = Outage(fake, kind)
    decision = Staff(USER, fake, app, settings()).decide(list(scenarios.ALLEGATION), "DL-1")
    app.idle()
    rid = decision.record_id
    check_held(fake, app, rid, kind)
    first = fake.dsl_attempts()
    assert first >= (0 if kind == "bot_removed" else 1)

    if kind == "rate_limited":
        # Retry-After is honoured: the outbox does not try again before then.
        due = app.store.get_meta(f"outbox:record:{rid}")["next_at"]
        assert due >= time.time() + 5
        assert app.front.delivery.flush() == 1
        assert fake.dsl_attempts() == first
    if kind != "reply_lost":
        # Still down: a forced retry tries again and changes nothing else.
        assert app.front.delivery.flush(force=True) == 1
        assert fake.dsl_attempts() == first + (0 if kind == "bot_removed" else 1)
        check_held(fake, app, rid, kind)
        assert app.store.get_meta(f"outbox:record:{rid}")["attempts"] == 2  # backing off

    outage.heal()
    if restart:
        app.restart()
    before = fake.dsl_attempts()
    assert app.front.delivery.flush(force=True) == 0
    if kind == "reply_lost":
        # Found in the channel history: marked posted, never posted again.
        assert fake.dsl_attempts() == before
    assert app.front.delivery.flush(force=True) == 0
    app.idle()
    assert_posted_once(fake, app.store, app.data_dir)
    assert told(fake, app, "delivered_late", id=rid) == 1
    assert told(fake, app, "submitted_pending", id=rid) == 1
    assert not app.store.get_meta(f"outbox:record:{rid}")

    # Later restarts and passes of the outbox find nothing to do.
    settled = fake.dsl_attempts()
    app.restart()
    assert app.front.delivery.flush(force=True) == 0
    assert fake.dsl_attempts() == settled
    assert told(fake, app, "delivered_late", id=rid) == 1


@pytest.mark.parametrize("kind", ["http_500", "rate_limited", "reply_lost", "not_in_channel"])
def test_urgent_alert_reaches_the_dsl_exactly_once_after_an_outage(
        fake: WatchedSlack, app: InProcessApp, kind: str) -> None:
    outage = Outage(fake, kind)
    staff = Staff(USER, fake, app, settings())
    decision = staff.decide(list(scenarios.IMMEDIATE_DANGER), "DA-1")
    app.idle()
    event_id = f"{decision.session_id}:urgent"
    # The person was told at once that the alert had not gone: phone the DSL.
    assert dm_shows(fake, app.front.t("alert_pending"))
    session = app.store.get_session(decision.session_id)
    assert session is not None and session["events"][0]["delivered"] is False
    assert len(fake.dsl_posts(ALERT_EVENT).get(event_id, [])) == (
        1 if kind == "reply_lost" else 0)

    outage.heal()
    app.restart()
    before = fake.dsl_attempts()
    assert app.front.delivery.flush(force=True) == 0
    if kind == "reply_lost":
        assert fake.dsl_attempts() == before, "posted again despite being in the channel"
    app.restart()
    assert app.front.delivery.flush(force=True) == 0
    app.idle()
    assert_posted_once(fake, app.store, app.data_dir)
    assert len(fake.dsl_posts(ALERT_EVENT)) == 1
    assert told(fake, app, "alert_delivered_late") == 1
    assert told(fake, app, "delivered_late", id=decision.record_id) == 1


def test_the_outbox_worker_delivers_without_being_asked(
        fake: WatchedSlack, app: InProcessApp) -> None:
    """As ``run()`` starts it: a record held while Slack was down reaches the
    channel once Slack is back and the worker is woken."""
    outage = Outage(fake, "http_500")
    decision = Staff(USER, fake, app, settings()).decide(list(scenarios.ALLEGATION), "DW-1")
    app.idle()
    outage.heal()
    app.front.delivery.start()  # its first retry is due after the first backoff
    fake.wait_until(lambda f: told(f, app, "delivered_late", id=decision.record_id) == 1,
                    timeout=10)
    app.front.delivery.stop()
    assert_posted_once(fake, app.store, app.data_dir)


def test_alert_notices_survive_a_question_that_cannot_be_updated(
        fake: WatchedSlack, app: InProcessApp) -> None:
    """The "call 999" and "the alert is not through" notices ride on the
    update of the answered question; if Slack refuses that update they go
    with the next question instead of being lost."""
    Outage(fake, "http_500")
    fake.fail_while("chat.update", lambda c: c.args.get("channel") == f"D{USER}",
                    error="message_not_found")
    Staff(USER, fake, app, settings()).decide(list(scenarios.IMMEDIATE_DANGER), "DN-1")
    app.idle()
    for notice in (app.front.t("alert_pending"), app.front.flow.safety_message()):
        assert dm_shows(fake, notice) == 1, notice
    assert not [c for c in fake.calls("chat.update") if c.ok]


def test_a_question_update_that_times_out_does_not_stall_the_conversation(
        fake: WatchedSlack, app: InProcessApp) -> None:
    """Closing the answered question is cosmetic; when Slack takes too long
    to answer it, the next question must still be asked."""
    fake.fail_next("chat.update", delay=30.0, effect=True)
    decision = Staff(USER, fake, app, settings()).decide(list(scenarios.ALLEGATION), "DT-1")
    fake.release_delayed()
    assert [c.fault for c in fake.calls("chat.update")][0] is not None
    app.idle()
    assert app.store.get_record(decision.record_id) is not None
    assert_posted_once(fake, app.store, app.data_dir)
