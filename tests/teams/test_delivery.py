"""The DSL channel through the outbox: refused posts are retried until they
are through, exactly once, also when Teams posted but its answer was lost."""

from __future__ import annotations

import pytest

from tests.harness.faketeams import Fault
from tests.harness.teams import Harness
from tests.harness.teams_driver import CHANNEL, STAFF
from tests.scenarios import IMMEDIATE_DANGER, STAFF_CONCERN


def _retry_until_through(teams: Harness, limit: int = 6) -> None:
    for _ in range(limit):
        if teams.front.delivery.flush(force=True) == 0:
            return
    raise AssertionError("still pending")


@pytest.mark.parametrize("faults", [
    [Fault(500)],
    [Fault(429, retry_after=1)],
    [Fault(500), Fault(503), Fault(429, retry_after=2)],
    [Fault(500, after_post=True)],  # posted, but the answer was lost
    [Fault(502, after_post=True), Fault(500)],
], ids=["500", "429", "three", "lost-reply", "lost-then-500"])
def test_record_reaches_the_channel_exactly_once(teams: Harness, faults: list[Fault]) -> None:
    teams.fake.fail_posts(*faults, conversation=CHANNEL)
    teams.decide(STAFF, STAFF_CONCERN)
    [summary] = teams.jigsaw.store.list_records()
    assert "pending" in teams.chat(STAFF)[-1].text
    _retry_until_through(teams)
    posts = [p for p in teams.channel() if summary["id"] in p.text]
    assert len(posts) == 1
    record = teams.jigsaw.record(summary["id"])
    assert record["delivery"]["state"] == "posted"
    assert record["delivery"]["ts"] == posts[0].id
    # The staff member hears it is through.
    assert summary["id"] in teams.chat(STAFF)[-1].text
    assert teams.front.delivery.flush(force=True) == 0
    assert len([p for p in teams.channel() if summary["id"] in p.text]) == 1


def test_lost_reply_and_graph_down_waits_rather_than_duplicates(teams: Harness) -> None:
    teams.fake.fail_posts(Fault(500, after_post=True), conversation=CHANNEL)
    teams.decide(STAFF, STAFF_CONCERN)
    teams.fake.graph_faults.extend([500, 500])
    assert teams.front.delivery.flush(force=True) == 1
    assert teams.front.delivery.flush(force=True) == 1
    assert len(teams.channel()) == 1
    assert teams.front.delivery.flush(force=True) == 0
    assert len(teams.channel()) == 1


def test_a_card_a_person_posted_is_not_taken_for_the_record(teams: Harness) -> None:
    """Before posting again, only the app's own posts count: a person who
    pastes a card carrying a record's key cannot keep the record out."""
    import json

    teams.fake.fail_posts(Fault(500, after_post=False), conversation=CHANNEL)
    teams.decide(STAFF, STAFF_CONCERN)
    [summary] = teams.jigsaw.store.list_records()
    teams.fake.people_posts[CHANNEL] = [{
        "id": "by-a-person", "from": {"user": {"id": "someone"}, "application": None},
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                         "content": json.dumps({"id": f"jigsaw-record-{summary['id']}"})}]}]
    _retry_until_through(teams)
    record = teams.jigsaw.record(summary["id"])
    assert record["delivery"]["state"] == "posted"
    assert record["delivery"]["ts"] != "by-a-person"
    assert len([p for p in teams.channel() if summary["id"] in p.text]) == 1


def test_urgent_alert_refused_then_through_once(teams: Harness) -> None:
    teams.fake.fail_posts(Fault(500), Fault(429, retry_after=1), conversation=CHANNEL)
    teams.say(STAFF, "hello")
    teams.answer(STAFF, IMMEDIATE_DANGER[0])
    assert teams.channel() == []
    assert any("999" in p.text for p in teams.chat(STAFF))
    _retry_until_through(teams)
    alerts = [p for p in teams.channel() if "immediate danger" in p.text]
    assert len(alerts) == 1


def test_the_ledger_is_anchored_in_the_channel_once_a_day(teams: Harness) -> None:
    from datetime import UTC, datetime, timedelta

    now = {"at": datetime.now(UTC)}  # a new store's first day starts with its ledger
    teams.jigsaw.clock = lambda: now["at"]
    teams.decide(STAFF, STAFF_CONCERN)
    delivery = teams.front.delivery
    assert delivery.anchor_if_due() is None  # a new store's first day starts now
    now["at"] += timedelta(days=1)
    posted = delivery.anchor_if_due()
    assert posted is not None and delivery.anchor_if_due() is None
    last = teams.jigsaw.store.get_meta("anchor:last")
    assert last["ts"] == posted
    [anchor] = [p for p in teams.channel() if p.id == posted]
    card_id = anchor.card["body"][0]["id"]
    assert card_id.startswith(f"jigsaw-anchor-{last['n']}-")
    assert card_id.rsplit("-", 1)[1][:20] in anchor.text  # the MAC, shown and carried
