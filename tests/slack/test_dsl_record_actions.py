"""The DSL's work on any record through Slack, end to end: take it on (a
low-level worry included), confirm its lawful basis, close it, from the
channel post's buttons or ``/infoshare take|close|basis <id>``; ids in any
case; "not found" told apart from "already decided"; forged clicks refused
and recorded."""

from __future__ import annotations

import re

from bot.record import OUTCOMES, verify
from bot.slack.delivery import RECORD_EVENT
from bot.slack.wire import Action, BlockId, Modal
from tests import scenarios as sc
from tests.harness.fakeslack import DSL_CHANNEL_ID, Call
from tests.harness.slack import Harness
from tests.harness.slack_driver import Driver, all_text, buttons
from tests.harness.slackreq import text_input, view_submission

STAFF, DSL, OUTSIDER = "U123", "UDSL1", "U999"
# A member of staff keeps a low-level worry on record (no DSL decision asked).


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
    worry = staff.run(sc.STAFF_RECORD_ONLY)
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


def _submit(slack: Harness, user: str, values: dict) -> None:
    view = slack.fake.last("views.open").response["view"]
    ack = slack.send(view_submission(user, callback_id=view["callback_id"], values=values,
                                     private_metadata=view["private_metadata"],
                                     view_id=view["id"]))
    assert ack.status == 200 and not (ack.json() or {}).get("errors"), ack.body


def test_the_dsl_records_the_outcome_from_the_post(slack: Harness) -> None:
    """After the decision: Record outcome, a menu of outcomes with the
    reference and a note; kept with who and when, on the post, sealed."""
    concern, post = decided_concern(slack)
    card = latest_card(slack, post)
    assert Action.REVIEW_OUTCOME in action_ids(card)
    dsl = Driver(slack, DSL)
    dsl.click(card, action_id=Action.REVIEW_OUTCOME)
    view = slack.fake.last("views.open").response["view"]
    assert view["callback_id"] == Modal.REVIEW_OUTCOME
    [menu] = [b for b in view["blocks"] if b["block_id"] == BlockId.OUTCOME]
    assert {o["value"] for o in menu["element"]["options"]} == set(OUTCOMES)
    assert "Early help" in [o["text"]["text"] for o in menu["element"]["options"]]
    values = {BlockId.OUTCOME: {Action.INPUT: {"type": "static_select", "selected_option": {
                  "value": "early_help", "text": {"type": "plain_text", "text": "Early help"}}}},
              BlockId.REF: {Action.INPUT: text_input("EH-881")},
              BlockId.NOTE: {Action.INPUT: text_input("Family agreed <b>support</b>")}}
    _submit(slack, DSL, values)
    stored = slack.jigsaw.store.get_record(concern["id"])
    assert stored is not None
    [kept] = stored["referral"]["outcomes"]
    assert (kept["outcome"], kept["ref"], kept["by"]) == ("early_help", "EH-881", DSL)
    assert stored["audit"][-1]["action"] == "outcome_added" and verify(stored) == []
    shown = all_text(latest_card(slack, post))
    # By name, at school time (not an id, not ISO UTC).
    assert re.search(r"Early help \(ref EH-881\): Dana Lead \(DSL\), \w{3} \d{1,2} \w{3} \d{4}, "
                     r"\d{2}:\d{2}", shown), shown
    # The same form sent again (a retry): one outcome.
    _submit(slack, DSL, values)
    stored = slack.jigsaw.store.get_record(concern["id"])
    assert stored is not None and len(stored["referral"]["outcomes"]) == 1
    # Nothing chosen: told, nothing stored.
    view = slack.fake.last("views.open").response["view"]
    ack = slack.send(view_submission(DSL, callback_id=view["callback_id"], values={},
                                     private_metadata=view["private_metadata"]))
    assert BlockId.OUTCOME in ((ack.json() or {}).get("errors") or {})


def test_the_dsl_corrects_the_category_and_summary_from_the_post(slack: Harness) -> None:
    """The form opens on what the post shows; each change is kept with the
    value read from the answers, who and when."""
    staff = Driver(slack, STAFF)
    staff.start()
    concern = staff.run(sc.STAFF_CONCERN)
    assert concern is not None and concern["category"] == "neglect"
    post = record_post(staff)
    assert "Neglect (read from the answers)" in all_text(post)
    dsl = Driver(slack, DSL)
    dsl.click(post, action_id=Action.REVIEW_CORRECT)
    view = slack.fake.last("views.open").response["view"]
    assert view["callback_id"] == Modal.REVIEW_CORRECT
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert blocks[BlockId.CATEGORY]["element"]["initial_option"]["value"] == "neglect"
    assert blocks[BlockId.SUMMARY]["element"]["initial_value"] == concern["summary_line"]
    _submit(slack, DSL, {
        BlockId.CATEGORY: {Action.INPUT: {"type": "static_select", "selected_option": {
            "value": "emotional_abuse", "text": {"type": "plain_text", "text": "x"}}}},
        BlockId.SUMMARY: {Action.INPUT: text_input("Late & hungry most days; mum struggling")}})
    stored = slack.jigsaw.store.get_record(concern["id"])
    assert stored is not None
    assert stored["category"] == "emotional_abuse" and stored["category_derived"] is False
    assert stored["summary_line"] == "Late & hungry most days; mum struggling"
    assert stored["derived"] == {"category": "neglect", "summary_line": concern["summary_line"]}
    assert [(c["field"], c["from"], c["to"], c["by"]) for c in stored["corrections"]] == [
        ("category", "neglect", "emotional_abuse", DSL),
        ("summary_line", concern["summary_line"], "Late & hungry most days; mum struggling",
         DSL)]
    assert [e["action"] for e in stored["audit"]][-2:] == ["corrected", "corrected"]
    assert verify(stored) == []
    shown = all_text(latest_card(slack, post))
    assert "Emotional abuse" in shown and "read from the answers" not in shown
    assert "Late &amp; hungry most days" in shown  # escaped
    # Outsiders cannot open the form, and are recorded.
    outsider = Driver(slack, OUTSIDER)
    opened = len(slack.fake.calls("views.open"))
    outsider.click(post, action_id=Action.REVIEW_CORRECT)
    assert len(slack.fake.calls("views.open")) == opened
    stored = slack.jigsaw.store.get_record(concern["id"])
    assert stored is not None and stored["audit"][-1]["action"] == "access_refused"
    assert stored["audit"][-1]["detail"]["attempted"] == "correct"
