"""Two paths, one record, through Slack end to end: a member of staff tells
the DSL in a few questions; the DSL takes the concern on into the sharing
decision from the channel post; one record id, one audit trail; the staff
member hears the outcome without learning anything new about the child."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.record import verify
from bot.slack.delivery import RECORD_EVENT
from bot.slack.wire import Action
from tests import scenarios as sc
from tests.harness.fakeslack import DSL_CHANNEL_ID, Call
from tests.harness.slack import Harness
from tests.harness.slack_driver import (
    DEPUTY,
    Driver,
    all_text,
    blocks_of,
    buttons,
    question_step,
    value_of,
)
from tests.harness.slackreq import block_action

STAFF, DSL, OUTSIDER = "U123", "UDSL1", "U999"


def record_post(driver: Driver) -> Call:
    [post] = [c for c in driver.dsl_posts()
              if (c.args.get("metadata") or {}).get("event_type") == RECORD_EVENT]
    return post


def decide(dsl: Driver, script: list[str]) -> None:
    """The DSL answers in their DM; the decision joins the concern's record
    (so the driver's "newest record of mine" does not apply)."""
    for answer in script:
        dsl.answer(answer)


def take_on_button(post: Call) -> dict[str, Any]:
    [button] = [b for b in buttons(post) if b["action_id"] == Action.REVIEW_TAKE_ON]
    return button


def test_a_concern_taken_on_by_the_dsl_into_a_share(slack: Harness) -> None:
    staff = Driver(slack, STAFF)
    staff.start()
    concern = staff.run(sc.STAFF_CONCERN)
    assert concern is not None and concern["kind"] == "concern"
    assert len(staff.questions()) == len(sc.STAFF_CONCERN) <= 12
    post = record_post(staff)
    take_on_button(post)  # offered on the concern's post

    dsl = Driver(slack, DSL)
    dsl.click(post, action_id=Action.REVIEW_TAKE_ON)
    first = dsl.current()
    assert first.args["channel"] == dsl.dm  # in the DSL's own DM
    # She sees what the member of staff said before she judges it, never in
    # the notification's text.
    assert concern["facts"] in all_text(first) and concern["facts"] not in first.args["text"]
    decide(dsl, sc.TAKE_ON_SHARE)

    stored = slack.jigsaw.store.get_record(concern["id"])
    assert stored is not None
    assert [r["id"] for r in slack.jigsaw.store.list_records()] == [concern["id"]]  # one id
    assert stored["decision"] == "share" and stored["decided_by"]["by"] == DSL
    assert stored["concern"]["decision"] == "tell_dsl"
    # Both levels of concern kept, each attributed.
    assert stored["concern"]["level_of_concern"] == "child_in_need"
    assert stored["concern"]["by"] == STAFF and stored["level_of_concern"] == "child_in_need"
    assert stored["destination"]  # "Goes to" kept after take-on
    assert stored["facts"] == concern["facts"] and stored["recorded_by"] == STAFF
    actions = [e["action"] for e in stored["audit"]]
    assert actions[0] == "submitted" and "taken_on" in actions and actions[-1] == (
        "decision_made")
    assert verify(stored) == []
    # The channel post now shows the decision, and offers no second take-on.
    [update] = [c for c in slack.fake.calls("chat.update")
                if c.args.get("channel") == DSL_CHANNEL_ID
                and c.args.get("ts") == post.response["ts"]][-1:]
    assert Action.REVIEW_TAKE_ON not in [b["action_id"] for b in buttons(update)]
    assert slack.jigsaw.prompts.wording("decision_share") in all_text(update)


def test_the_staff_member_is_told_the_outcome_and_nothing_more(slack: Harness) -> None:
    staff = Driver(slack, STAFF)
    staff.start()
    concern = staff.run(sc.STAFF_CONCERN)
    assert concern is not None
    dsl = Driver(slack, DSL)
    dsl.click(record_post(staff), action_id=Action.REVIEW_TAKE_ON)
    decide(dsl, sc.TAKE_ON_SHARE)
    told = staff.last_dm_text()
    assert concern["id"] in told
    decided = slack.jigsaw.store.get_record(concern["id"])
    assert decided is not None
    for new in (decided["rationale"], decided["what_to_share"], "Early help", "portal"):
        assert new not in told, new  # what the DSL knows stays with the DSL


def test_only_the_dsl_team_can_take_a_concern_on(slack: Harness) -> None:
    staff = Driver(slack, STAFF)
    staff.start()
    concern = staff.run(sc.STAFF_CONCERN)
    assert concern is not None
    post = record_post(staff)
    outsider = Driver(slack, OUTSIDER)
    outsider.click(post, action_id=Action.REVIEW_TAKE_ON)
    assert outsider.questions() == []
    stored = slack.jigsaw.store.get_record(concern["id"])
    assert stored is not None and stored["audit"][-1]["action"] == "access_refused"
    assert stored["awaiting_dsl_decision"] is True


def test_staff_who_cannot_reach_the_dsl_refer_and_the_dsl_hears(slack: Harness) -> None:
    staff = Driver(slack, STAFF)
    staff.start()
    record = staff.run(sc.STAFF_SELF_REFERRAL)
    assert record is not None
    assert record["decision"] == "share" and record["recipient"]["kind"] == "social_care"
    told = [all_text(c) for c in slack.fake.calls() if c.args.get("channel") == staff.dm]
    assert any("so I've referred" in text for text in told)  # one screen: can't wait, who has it
    post = record_post(staff)
    assert slack.jigsaw.prompts.wording("staff_referred") in all_text(post)
    assert record["follow_up"][0]["action"] == "follow_up_staff_referral"


# -- requests: staff pass them on; the DSL team decides ----------------------------

DECIDING = {"decision", "defer_until", "rationale", "data_kind", "consent_reason", "followup",
            "followup_due", "info_next", "purpose", "level", "what_to_share", "how", "when"}


def asked(driver: Driver) -> set[str]:
    return {step for q in driver.questions() if (step := question_step(q))}


def test_a_request_taken_by_staff_never_asks_for_a_decision_and_waits_for_the_dsl(
        slack: Harness) -> None:
    staff = Driver(slack, STAFF)
    staff.start()
    request = staff.run(sc.STAFF_POLICE_REQUEST)
    assert request is not None
    assert not asked(staff) & DECIDING
    assert (request["kind"], request["path"], request["decision"]) == (
        "concern", "tell_dsl", "tell_dsl")
    assert request["awaiting_dsl_decision"] is True
    assert request["lawful_basis"]["suggested"] is None
    assert {f["owner"] for f in request["follow_up"]} == {"dsl"}
    post = record_post(staff)
    take_on_button(post)  # in the DSL channel, waiting for the DSL's decision
    assert slack.jigsaw.prompts.wording("awaiting_decision") in all_text(post)
    [item] = slack.jigsaw.inbox()
    assert item.id == request["id"] and item.awaiting_decision
    assert item.line.startswith("Request from")
    told = staff.last_dm_text()
    assert request["id"] in told and "waiting for" in told
    assert "why you decided" not in told


def test_the_same_request_taken_by_the_dsl_ends_in_a_decision(slack: Harness) -> None:
    for user in (DSL, "UDSL2"):  # a configured id; a member of the DSL channel
        dsl = Driver(slack, user)
        dsl.start()
        record = dsl.run(sc.as_dsl_team(sc.POLICE_PREJUDICE))
        assert record is not None and record["recorded_by"] == user
        assert (record["kind"], record["decision"]) == ("decision", "share")
        assert {"decision", "rationale", "data_kind"} <= asked(dsl)
        assert record["awaiting_dsl_decision"] is False
        assert "why you decided" in dsl.last_dm_text()


def test_the_dsl_takes_a_staff_request_on_and_decides_on_the_same_id(slack: Harness) -> None:
    staff = Driver(slack, STAFF)
    staff.start()
    request = staff.run(sc.STAFF_POLICE_REQUEST)
    assert request is not None
    dsl = Driver(slack, DSL)
    dsl.click(record_post(staff), action_id=Action.REVIEW_TAKE_ON)
    assert request["what_requested"] in all_text(dsl.current())
    # Staff record the request; the DSL brings what is known, then decides.
    decide(dsl, sc.POLICE_PREJUDICE[sc.POLICE_PREJUDICE.index("AB-1234") + 1:])
    stored = slack.jigsaw.store.get_record(request["id"])
    assert stored is not None
    assert [r["id"] for r in slack.jigsaw.store.list_records()] == [request["id"]]
    assert stored["decision"] == "share" and stored["decided_by"]["by"] == DSL
    assert stored["concern"]["decision"] == "tell_dsl" and stored["concern"]["by"] == STAFF
    assert stored["requester"]["needed_by"] == request["requester"]["needed_by"]
    actions = [e["action"] for e in stored["audit"]]
    assert actions[0] == "submitted" and "taken_on" in actions
    assert actions[-1] == "decision_made"
    assert verify(stored) == []
    assert slack.jigsaw.inbox() == [] or all(i.id != request["id"] or not i.awaiting_decision
                                             for i in slack.jigsaw.inbox())


# Words only the sharing decision shows (DOMAIN.md section 10: never to staff).
DECISION_WORDS = ("What is your decision?", "Why? Give the reasons", "lawful basis", "para 18")


def test_staff_are_never_offered_i_am_the_dsl_and_saying_so_passes_it_to_the_dsl(
        slack: Harness) -> None:
    staff = Driver(slack, STAFF)
    staff.start()
    staff.answer("no")
    trigger = staff.current()
    assert question_step(trigger) == "trigger"
    offered = [value_of(b).value for b in buttons(trigger)]
    assert "request" in offered and "dsl_recording" not in offered
    assert "or a deputy, deciding" not in all_text(trigger)

    # Saying so, typed or on a button they were never shown: told why, and
    # still asked what it is about.
    staff.type("I'm the DSL or a deputy, deciding")
    assert "Only the DSL team makes sharing decisions" in staff.last_dm_text()
    request_button = staff.find_button(trigger, value="request")
    forged = replace(value_of(request_button), value="dsl_recording").encode()
    ts = str(trigger.response["ts"])
    block_id = next(b.get("block_id", "actions") for b in blocks_of(trigger)
                    if request_button in b.get("elements", []))
    slack.send(block_action(STAFF, action_id=request_button["action_id"], value=forged,
                            block_id=block_id, message_ts=ts, channel=staff.dm,
                            message=slack.fake.message(staff.dm, ts)))
    session = staff.session()
    assert session is not None and "trigger" not in session["answers"]
    assert "_role" in session["facts"] and session["facts"]["_role"] == "staff"

    # The agency's request they took: recorded and waiting for the DSL.
    request = staff.run(sc.STAFF_POLICE_REQUEST[1:])
    assert request is not None
    assert not asked(staff) & DECIDING
    shown = "\n".join(all_text(c) for c in staff.dm_posts())
    assert not [words for words in DECISION_WORDS if words in shown]
    assert (request["kind"], request["decision"], request["recorded_by_dsl"]) == (
        "concern", "tell_dsl", False)
    assert request["awaiting_dsl_decision"] is True
    post = record_post(staff)
    assert slack.jigsaw.prompts.wording("awaiting_decision") in all_text(post)
    [item] = slack.jigsaw.inbox()
    assert item.id == request["id"] and item.awaiting_decision


def test_a_dsl_channel_member_saying_i_am_the_dsl_decides_the_same_request(
        slack: Harness) -> None:
    deputy = Driver(slack, DEPUTY)  # in the DSL channel, not a configured id
    deputy.start()
    deputy.answer("no")
    assert "dsl_recording" in [value_of(b).value for b in buttons(deputy.current())]
    record = deputy.run(sc.POLICE_PREJUDICE[1:])  # "I am the DSL", then the request
    assert record is not None
    assert (record["kind"], record["decision"], record["recorded_by_dsl"]) == (
        "decision", "share", True)
    assert record["awaiting_dsl_decision"] is False
    assert {"decision", "rationale", "data_kind"} <= asked(deputy)
    assert any("What is your decision?" in all_text(c) for c in deputy.questions())


def flat(text: str) -> str:
    return " ".join(text.split())


def test_taking_a_concern_on_shows_what_staff_said_whole_and_back_shows_their_answer(
        slack: Harness) -> None:
    staff = Driver(slack, STAFF)
    staff.start()
    concern = staff.run(sc.STAFF_CONCERN_LONG)
    assert concern is not None and concern["facts"] == sc.LONG_FACTS
    dsl = Driver(slack, DSL)
    dsl.click(record_post(staff), action_id=Action.REVIEW_TAKE_ON)
    first = dsl.current()
    shown = flat(all_text(first))
    assert "What the member of staff told you" in shown
    assert flat(sc.LONG_FACTS) in shown and sc.STAFF_VIEW in shown  # whole, before she judges
    assert sc.LONG_FACTS[:100] not in first.args["text"]  # never in the notification
    dsl.type("back")
    again = dsl.current()
    assert question_step(again) == "opinion"
    assert sc.STAFF_VIEW in all_text(again)  # the staff member's answer, to keep or change
