"""The DSL's work on any record through Slack, end to end: take it on (a
low-level worry included), confirm its lawful basis, close it, from the
channel post's buttons or ``/infoshare take|close|basis <id>``; ids in any
case; "not found" told apart from "already decided"; forged clicks refused
and recorded."""

from __future__ import annotations

from bot.record import verify
from bot.slack.delivery import RECORD_EVENT
from bot.slack.wire import Action
from tests import scenarios as sc
from tests.harness.fakeslack import DSL_CHANNEL_ID, Call
from tests.harness.slack import Harness
from tests.harness.slack_driver import Driver, all_text, buttons

STAFF, DSL, OUTSIDER = "U123", "UDSL1", "U999"
# A member of staff keeps a low-level worry on record (no DSL decision asked).
STAFF_LOW_LEVEL = ["no", "record_only", "DD",
                   "Child said she was tired because she stayed up late gaming.",
                   "skip", "not_discussed", "skip", "same_unknown",
                   "Low-level worry kept for pattern-spotting; nothing else known.",
                   "skip", "submit"]


def record_post(driver: Driver) -> Call:
    [post] = [c for c in driver.dsl_posts()
              if (c.args.get("metadata") or {}).get("event_type") == RECORD_EVENT]
    return post


def latest_card(slack: Harness, post: Call) -> Call:
    updates = [c for c in slack.fake.calls("chat.update")
               if c.args.get("channel") == DSL_CHANNEL_ID
               and c.args.get("ts") == post.response["ts"]]
    return updates[-1] if updates else post


def told(slack: Harness, user: str) -> str:
    """Everything the app told ``user`` privately (ephemeral or DM)."""
    said = [c for c in slack.fake.calls("chat.postEphemeral") if c.args.get("user") == user]
    said += [c for c in slack.fake.calls("chat.postMessage")
             if c.args.get("channel") == f"D{user}"]
    return "\n".join(all_text(c) for c in said)


def action_ids(call: Call) -> list[str]:
    return [b["action_id"] for b in buttons(call)]


def decided_concern(slack: Harness) -> tuple[dict, Call]:
    staff = Driver(slack, STAFF)
    staff.start()
    concern = staff.run(sc.STAFF_CONCERN)
    assert concern is not None
    post = record_post(staff)
    dsl = Driver(slack, DSL)
    dsl.click(post, action_id=Action.REVIEW_TAKE_ON)
    for answer in sc.TAKE_ON_SHARE:
        dsl.answer(answer)
    return concern, post


def test_the_dsl_confirms_the_basis_and_closes_from_the_post(slack: Harness) -> None:
    concern, post = decided_concern(slack)
    card = latest_card(slack, post)
    assert Action.REVIEW_BASIS in action_ids(card) and Action.REVIEW_CLOSE in action_ids(card)
    dsl = Driver(slack, DSL)
    dsl.click(card, action_id=Action.REVIEW_BASIS)
    stored = slack.jigsaw.store.get_record(concern["id"])
    assert stored is not None
    confirmed = stored["lawful_basis"]["confirmed"]
    suggested = stored["lawful_basis"]["suggested"]
    assert confirmed["by"] == DSL and confirmed["article6"] == suggested["article6"]
    card = latest_card(slack, post)
    assert Action.REVIEW_BASIS not in action_ids(card)
    assert "confirmed" in told(slack, DSL)
    dsl.click(card, action_id=Action.REVIEW_CLOSE)
    stored = slack.jigsaw.store.get_record(concern["id"])
    assert stored is not None and stored["status"] == "closed"
    assert [e["action"] for e in stored["audit"]][-2:] == ["basis_confirmed", "closed"]
    assert verify(stored) == []
    assert Action.REVIEW_CLOSE not in action_ids(latest_card(slack, post))
    assert f"{concern['id']}* is closed" in told(slack, DSL)


def test_a_forged_close_or_confirm_is_refused_and_recorded(slack: Harness) -> None:
    concern, post = decided_concern(slack)
    card = latest_card(slack, post)
    outsider = Driver(slack, OUTSIDER)
    outsider.click(card, action_id=Action.REVIEW_CLOSE)
    outsider.click(card, action_id=Action.REVIEW_BASIS)
    stored = slack.jigsaw.store.get_record(concern["id"])
    assert stored is not None and stored["status"] != "closed"
    assert stored["lawful_basis"]["confirmed"] is None
    refused = [e for e in stored["audit"] if e["action"] == "access_refused"]
    assert [e["detail"]["attempted"] for e in refused] == ["close", "confirm_basis"]
    assert all(e["by"] == OUTSIDER for e in refused)
    # The same by command: refused too.
    outsider.start(text=f"close {concern['id']}")
    stored = slack.jigsaw.store.get_record(concern["id"])
    assert stored is not None and stored["status"] != "closed"
    assert "Your attempt has been recorded" in told(slack, OUTSIDER)


def test_a_low_level_worry_is_escalated_to_a_decision_by_id_in_any_case(
        slack: Harness) -> None:
    staff = Driver(slack, STAFF)
    staff.start()
    worry = staff.run(STAFF_LOW_LEVEL)
    assert worry is not None and worry["decision"] == "record_only"
    assert not worry["awaiting_dsl_decision"]
    assert Action.REVIEW_TAKE_ON in action_ids(record_post(staff))  # offered all the same
    dsl = Driver(slack, DSL)
    dsl.start(channel="C123", text=f"take   {worry['id'].lower()} ")
    first = dsl.current()
    assert worry["facts"] in all_text(first)  # what the member of staff said, first
    stored = slack.jigsaw.store.get_record(worry["id"])
    assert stored is not None and stored["audit"][-1]["action"] == "taken_on"


def test_not_found_is_told_apart_from_already_decided(slack: Harness) -> None:
    concern, _ = decided_concern(slack)
    dsl = Driver(slack, DSL)
    dsl.start(text="take ISD-1999-0001")
    assert "can't find a record *ISD-1999-0001*" in told(slack, DSL)
    dsl.start(text=f"take {concern['id'].lower()}")
    assert f"*{concern['id']}* already has its sharing decision" in told(slack, DSL)
    before = told(slack, DSL).count("can't find a record *ISD-1999-0001*")
    dsl.start(text="close isd-1999-0001")
    assert told(slack, DSL).count("can't find a record *ISD-1999-0001*") > before
