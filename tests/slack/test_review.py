"""The DSL's side: reviewing a record from its message in the DSL channel.

Only the DSL team (members of the DSL channel) may act on a record; each
action is audited, the channel message is updated in place and the member
of staff who made the decision is told in their DM. Anyone else is refused,
and the refusal itself is audited.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.record import verify
from bot.slack.delivery import RECORD_EVENT
from bot.slack.wire import Action, Modal
from tests import scenarios as sc
from tests.harness.fakeslack import DSL_CHANNEL_ID, Call
from tests.harness.slack import Harness
from tests.harness.slack_driver import DEPUTY, Driver, all_text, buttons
from tests.harness.slackreq import AckResponse, text_input, view_submission

STAFF = "U123"
OUTSIDER = "U999"


class Review:
    """A decision already in the DSL channel, and a DSL member's hands on it."""

    def __init__(self, slack: Harness, script: list[str] = sc.ALLEGATION,
                 staff: str = STAFF) -> None:
        self.slack = slack
        self.staff = Driver(slack, staff)
        self.staff.start()
        self.staff.run(script)
        record = self.staff.record()
        assert record is not None
        self.id: str = record["id"]
        [self.post] = [c for c in self.staff.dsl_posts()
                       if (c.args.get("metadata") or {}).get("event_type") == RECORD_EVENT]
        self.ts = str(self.post.response["ts"])

    def record(self) -> dict[str, Any]:
        record = self.slack.jigsaw.store.get_record(self.id)
        assert record is not None
        return record

    def click(self, action_id: str, user: str = "UDSL1") -> AckResponse:
        return Driver(self.slack, user).click(self.post, action_id=action_id)

    def message_updates(self) -> list[Call]:
        return self.staff.updates(self.ts, DSL_CHANNEL_ID)

    def staff_dms(self) -> list[Call]:
        return self.staff.dm_posts()

    def opened_view(self) -> dict[str, Any]:
        return self.slack.fake.last("views.open").response["view"]

    def submit(self, view: dict[str, Any], values: dict[str, Any],
               user: str = "UDSL1") -> AckResponse:
        return self.slack.send(view_submission(
            user, callback_id=view["callback_id"], values=values,
            private_metadata=view["private_metadata"], view_id=view["id"]))


def due_in(slack: Harness, days: int) -> str:
    return (slack.jigsaw.clock().date() + timedelta(days=days)).isoformat()


def datepicker(day: str | None) -> dict[str, Any]:
    return {"type": "datepicker", "selected_date": day}


def followup_values(note: str, due: str | None) -> dict[str, Any]:
    return {"note": {"value": text_input(note)}, "due": {"value": datepicker(due)}}


@pytest.fixture
def review(slack: Harness) -> Review:
    return Review(slack)


def test_an_enterprise_grid_user_is_mentioned_and_told(slack: Harness) -> None:
    """Enterprise Grid user ids start with W: they are Slack users all the same."""
    review = Review(slack, staff="W0GRID1")
    assert "<@W0GRID1>" in all_text(review.post)
    dms = len(review.staff_dms())
    review.click(Action.REVIEW_ACK)
    [told] = review.staff_dms()[dms:]
    assert review.id in all_text(told) and "acknowledged" in all_text(told)


def test_the_record_starts_pending_with_all_review_buttons(review: Review) -> None:
    assert review.record()["review_status"] == "pending"
    # A record nobody on the DSL team decided can be taken on (re-decided by
    # her), and closed (no lawful basis is suggested to confirm on this one);
    # the member of staff decided it, so what happened after can be recorded.
    assert [b["action_id"] for b in buttons(review.post)] == [
        Action.REVIEW_ACK, Action.REVIEW_TAKE_ON, Action.REVIEW_FOLLOWUP, Action.REVIEW_NOTE,
        Action.REVIEW_OUTCOME, Action.REVIEW_CORRECT, Action.REVIEW_VIEW, Action.REVIEW_CLOSE]


@pytest.mark.parametrize("dsl", ["UDSL1", "UDSL2"])  # configured, and by channel membership
def test_acknowledge(review: Review, dsl: str) -> None:
    dms = len(review.staff_dms())
    review.click(Action.REVIEW_ACK, dsl)

    record = review.record()
    assert record["review_status"] == "acknowledged"
    assert record["review"]["by"] == dsl
    assert record["audit"][-1]["action"] == "acknowledged" and record["audit"][-1]["by"] == dsl
    assert verify(record) == []

    [update] = review.message_updates()
    assert Action.REVIEW_ACK not in {b["action_id"] for b in buttons(update)}
    assert {Action.REVIEW_FOLLOWUP, Action.REVIEW_NOTE, Action.REVIEW_VIEW} <= {
        b["action_id"] for b in buttons(update)}
    assert "Acknowledged" in all_text(update)
    shown = review.slack.fake.message(DSL_CHANNEL_ID, review.ts)
    assert shown is not None and Action.REVIEW_ACK not in {b["action_id"] for b in buttons(
        shown["blocks"])}
    assert len(review.slack.fake.messages(DSL_CHANNEL_ID)) == 1  # updated, not reposted

    [told] = review.staff_dms()[dms:]
    assert review.id in all_text(told) and "acknowledged" in all_text(told)
    assert f"<@{dsl}>" in all_text(told)


def test_follow_up_needed(review: Review) -> None:
    review.click(Action.REVIEW_FOLLOWUP)
    opened = review.slack.fake.last("views.open")
    view = opened.response["view"]
    assert view["callback_id"] == Modal.REVIEW_FOLLOWUP
    assert {b["block_id"] for b in view["blocks"]} == {"note", "due"}
    assert review.record()["review_status"] == "pending"  # nothing yet: only a modal
    dms = len(review.staff_dms())
    due = due_in(review.slack, 7)

    ack = review.submit(view, followup_values("Ring the police officer back today", due))

    assert ack.json() in (None, {})
    record = review.record()
    assert record["review_status"] == "follow_up_needed"
    assert record["review"] == {"by": "UDSL1", "at": record["review"]["at"],
                                "note": "Ring the police officer back today", "due": due}
    assert {"action": "Ring the police officer back today", "owner": "UDSL1",
            "due": due} in record["follow_up"]
    assert record["audit"][-1]["action"] == "follow_up_needed"
    assert verify(record) == []
    [update] = review.message_updates()
    assert "Follow-up needed" in all_text(update)
    assert Action.REVIEW_ACK not in {b["action_id"] for b in buttons(update)}
    [told] = review.staff_dms()[dms:]
    assert review.id in all_text(told) and due in all_text(told)
    assert "Ring the police officer back today" in all_text(told)


@pytest.mark.parametrize(("note", "days", "bad"), [
    ("Ring them back", -1, "due"),
    ("Ring them back", None, "due"),
    ("", 3, "note"),
])
def test_follow_up_with_a_bad_note_or_date_is_refused_in_the_modal(
        review: Review, note: str, days: int | None, bad: str) -> None:
    review.click(Action.REVIEW_FOLLOWUP)
    view = review.opened_view()
    before = review.record()
    calls = len(review.slack.fake.calls())
    due = due_in(review.slack, days) if days is not None else None

    ack = review.submit(view, followup_values(note, due))

    body = ack.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {bad} and body["errors"][bad]
    assert review.record() == before
    assert len(review.slack.fake.calls()) == calls


def test_add_note(review: Review) -> None:
    review.click(Action.REVIEW_NOTE, "UDSL2")
    view = review.opened_view()
    assert view["callback_id"] == Modal.REVIEW_NOTE
    dms = len(review.staff_dms())

    ack = review.submit(view, {"note": {"value": text_input("Spoke to DC Patel, all in hand")}},
                        user="UDSL2")

    assert ack.json() in (None, {})
    record = review.record()
    assert [(n["by"], n["note"]) for n in record["notes"]] == [
        ("UDSL2", "Spoke to DC Patel, all in hand")]
    assert record["audit"][-1]["action"] == "note_added"
    assert record["review_status"] == "pending"  # a note is not an acknowledgement
    assert verify(record) == []
    assert len(review.message_updates()) == 1
    [told] = review.staff_dms()[dms:]
    assert "Spoke to DC Patel, all in hand" in all_text(told) and review.id in all_text(told)


def test_an_empty_note_is_refused_in_the_modal(review: Review) -> None:
    review.click(Action.REVIEW_NOTE)
    before = review.record()
    ack = review.submit(review.opened_view(), {"note": {"value": text_input("   ")}})
    assert ack.json()["response_action"] == "errors"
    assert review.record() == before


def test_view_full_record_opens_a_modal_from_the_store_and_is_audited(slack: Harness) -> None:
    review = Review(slack, sc.POLICE_PREJUDICE, staff=DEPUTY)  # the deputy decided
    dms = len(review.staff_dms())
    review.click(Action.REVIEW_VIEW)

    opened = review.slack.fake.last("views.open")
    view = opened.args["view"]
    text = all_text(view["blocks"])
    record = review.record()
    # Built from the store: it has what the channel message leaves out.
    assert record["id"] in text
    assert record["facts"] in text and record["rationale"] in text
    # The channel has the one-line summary only, never the facts in full.
    assert record["summary_line"] and record["summary_line"] in all_text(review.post)
    assert record["facts"] == record["summary_line"] or record["facts"] not in all_text(review.post)
    assert record["rationale"] not in all_text(review.post)
    assert record["audit"][-1]["action"] == "viewed" and record["audit"][-1]["by"] == "UDSL1"
    assert verify(record) == []
    assert review.message_updates() == []
    assert len(review.staff_dms()) == dms


@pytest.mark.parametrize("action_id", [Action.REVIEW_ACK, Action.REVIEW_FOLLOWUP,
                                       Action.REVIEW_NOTE, Action.REVIEW_VIEW])
def test_someone_outside_the_dsl_channel_is_refused(review: Review, action_id: str) -> None:
    before = review.record()
    dms = len(review.staff_dms())

    review.click(action_id, OUTSIDER)

    record = review.record()
    assert record["audit"][:-1] == before["audit"]
    refusal = record["audit"][-1]
    assert refusal["action"] == "access_refused" and refusal["by"] == OUTSIDER
    # Only the refused person's name is added, sealed with the refusal.
    assert set(record["people"]) == {*before["people"], OUTSIDER}
    kept = ("audit", "updated_at", "people")
    unchanged = {k: v for k, v in record.items() if k not in kept}
    assert unchanged == {k: v for k, v in before.items() if k not in kept}
    assert verify(record) == []
    assert review.slack.fake.calls("views.open") == []
    assert review.message_updates() == []
    assert len(review.staff_dms()) == dms
    told = [c for c in review.slack.fake.calls()
            if c.ok and c.method in ("chat.postEphemeral", "chat.postMessage")
            and (c.args.get("user") == OUTSIDER or c.args.get("channel") == f"D{OUTSIDER}")]
    assert told and "Only the DSL team" in all_text(told[-1])


def test_a_forged_modal_submission_from_outside_the_dsl_is_refused(review: Review) -> None:
    review.click(Action.REVIEW_FOLLOWUP)
    view = review.opened_view()
    before = review.record()

    review.submit(view, followup_values("Close this", due_in(review.slack, 2)), user=OUTSIDER)

    record = review.record()
    assert record["review_status"] == "pending"
    assert record["audit"][-1]["action"] == "access_refused"
    assert len(record["audit"]) == len(before["audit"]) + 1
    assert review.message_updates() == []


def test_a_second_acknowledge_click_changes_nothing(review: Review) -> None:
    review.click(Action.REVIEW_ACK)
    record = review.record()
    dms, updates = len(review.staff_dms()), len(review.message_updates())

    review.click(Action.REVIEW_ACK, "UDSL2")  # the same button, on a screen not yet refreshed

    assert review.record() == record
    assert len(review.staff_dms()) == dms
    assert len(review.message_updates()) == updates


def test_a_stale_acknowledge_does_not_undo_a_follow_up(review: Review) -> None:
    review.click(Action.REVIEW_FOLLOWUP)
    review.submit(review.opened_view(),
                  followup_values("Chase the police", due_in(review.slack, 1)))
    assert review.record()["review_status"] == "follow_up_needed"

    review.click(Action.REVIEW_ACK, "UDSL2")  # clicked on the message as first posted

    record = review.record()
    assert record["review_status"] == "follow_up_needed"
    assert record["review"]["note"] == "Chase the police"
    assert [e["action"] for e in record["audit"]].count("acknowledged") == 0


def test_two_acknowledge_clicks_at_once_are_applied_once(review: Review) -> None:
    dms = len(review.staff_dms())
    clicks = [Driver(review.slack, dsl).click_request(review.post, action_id=Action.REVIEW_ACK)
              for dsl in ("UDSL1", "UDSL2", "UDSL1")]
    review.slack.send_at_once(clicks)

    record = review.record()
    assert [e["action"] for e in record["audit"]].count("acknowledged") == 1
    assert verify(record) == []
    assert len(review.staff_dms()) == dms + 1
    assert len(review.message_updates()) == 1
