"""Use cases over the store: housekeeping and the submit path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot import record as records
from bot.config import Settings
from bot.service import DecisionService
from storage import TinyDBStore
from tests import scenarios as sc


def test_cancelled_sessions_are_pruned_after_a_week(settings: Settings,
                                                    store: TinyDBStore) -> None:
    now = [datetime(2026, 11, 1, tzinfo=UTC)]
    app = DecisionService(settings, store, clock=lambda: now[0])
    old = app.start("U1")
    app.cancel(old.id)
    kept = app.start("U2")  # still open: never pruned
    alert = app.start("U3")
    app.answer(alert.id, "yes")  # an urgent alert not yet delivered
    app.cancel(alert.id)
    now[0] += timedelta(days=8)
    assert app.prune_sessions() == 1
    assert store.get_session(old.id) is None
    assert store.get_session(kept.id) is not None
    assert store.get_session(alert.id) is not None


def test_submitted_session_leaves_the_hot_store_unless_an_alert_is_pending(
        jigsaw: DecisionService) -> None:
    session = jigsaw.start("U1")
    for answer in sc.EARLY_HELP_CONSENT:
        outcome = jigsaw.answer(session.id, answer)
    assert outcome.record is not None
    assert jigsaw.untold("U1") == [outcome.record["id"]]  # kept until they are told
    jigsaw.told("U1", outcome.record["id"])
    assert jigsaw.get(session.id) is None
    urgent = jigsaw.start("U2")
    for answer in sc.IMMEDIATE_DANGER:
        outcome = jigsaw.answer(urgent.id, answer)
    assert outcome.record is not None
    assert jigsaw.get(urgent.id).status == "submitted"  # kept until the alert is through


def test_pending_alerts_and_undelivered_records_come_from_the_service(
        jigsaw: DecisionService) -> None:
    """The outbox's domain rules live in the service: storage only answers
    plain queries."""
    calm = jigsaw.start("U1")
    for answer in sc.EARLY_HELP_CONSENT:
        calm_record = jigsaw.answer(calm.id, answer).record
    urgent = jigsaw.start("U2")
    for answer in sc.IMMEDIATE_DANGER:
        urgent_record = jigsaw.answer(urgent.id, answer).record
    assert calm_record is not None and urgent_record is not None
    assert [s["id"] for s in jigsaw.deliveries.sessions_with_pending_events()] == [urgent.id]
    waiting = [s["id"] for s in jigsaw.deliveries.undelivered_records()]
    assert calm_record["id"] in waiting
    jigsaw.store.update_record(calm_record["id"], lambda r: r.update(delivery={"state": "held"}))
    assert calm_record["id"] not in [s["id"] for s in jigsaw.deliveries.undelivered_records()]
    (event,) = [e for e in jigsaw.get(urgent.id).events if "delivered" in e]
    jigsaw.deliveries.mark_event_delivered(urgent.id, event["id"])
    assert jigsaw.deliveries.sessions_with_pending_events() == []


def test_submit_is_idempotent_when_a_crash_left_the_session_open(jigsaw: DecisionService) -> None:
    session = jigsaw.start("U1")
    for answer in sc.EARLY_HELP_CONSENT[:-1]:
        jigsaw.answer(session.id, answer)
    # Simulate a crash after the record was written but before the session
    # was marked: write the record, then resume the still-open session.
    done = jigsaw.get(session.id)
    jigsaw.flow.answer(done, "submit")
    jigsaw.store.create_record(records.build(done, jigsaw.settings, jigsaw.prompts,
                                             now=datetime.now(UTC)))
    jigsaw.store.save_session(dict(done.to_dict(), status="in_progress"))
    resumed = jigsaw.resume(session.id)
    assert resumed.status == "submitted"
    assert jigsaw.store.count_records() == 1
