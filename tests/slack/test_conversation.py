"""The staff side of the Slack app, end to end: ``/infoshare``, the DM
conversation, a whole decision, the urgent alert, going back, pausing,
cancelling, old buttons and typed answers.

Every test runs twice (the ``slack`` fixture): over the HTTP endpoint and
through Socket Mode dispatch, since schools run either.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.record import verify
from bot.slack.delivery import ALERT_EVENT, RECORD_EVENT
from bot.slack.wire import Action, ButtonValue
from tests import scenarios as sc
from tests.harness.fakeslack import DSL_CHANNEL_ID, GENERAL_CHANNEL_ID, RESPONSE_URL, Call
from tests.harness.slack import Harness
from tests.harness.slack_driver import (
    DEPUTY,
    Driver,
    all_text,
    buttons,
    question_step,
    value_of,
)
from tests.harness.slackreq import app_home_opened, block_action, message_event

PROGRESS = re.compile(r"\*(\d+) of about (\d+)\*")


def channels_posted_to(slack: Harness) -> set[str]:
    return {str(c.args.get("channel")) for c in slack.fake.calls()
            if c.method.startswith("chat.") and c.args.get("channel")}


def record_posts(driver: Driver) -> list[Call]:
    return [c for c in driver.dsl_posts()
            if (c.args.get("metadata") or {}).get("event_type") == RECORD_EVENT]


def alert_posts(driver: Driver) -> list[Call]:
    return [c for c in driver.dsl_posts()
            if (c.args.get("metadata") or {}).get("event_type") == ALERT_EVENT]


def answers(driver: Driver) -> dict[str, Any]:
    return dict((driver.session() or {}).get("answers", {}))


# -- 1. /infoshare ------------------------------------------------------------------
def test_infoshare_ack_is_ephemeral_and_the_conversation_is_only_in_the_dm(
        slack: Harness) -> None:
    driver = Driver(slack)
    ack = driver.start(channel=GENERAL_CHANNEL_ID, text="AB bruise on cheek")

    body = ack.json()
    assert body["response_type"] == "ephemeral"
    assert "direct message" in body["text"]
    for detail in ("AB", "bruise", "cheek"):
        assert detail not in body["text"]
    first, question = driver.dm_posts()[:2]
    assert "initials" in all_text(first)
    assert question_step(question) == "danger"

    driver.run(sc.STAFF_POLICE_REQUEST)

    assert channels_posted_to(slack) == {driver.dm, DSL_CHANNEL_ID}
    assert not any(c.args.get("channel") == GENERAL_CHANNEL_ID for c in slack.fake.calls())
    assert slack.fake.calls(RESPONSE_URL) == []
    assert slack.fake.messages(GENERAL_CHANNEL_ID) == []


def test_infoshare_with_a_decision_open_offers_to_resume_it(slack: Harness) -> None:
    driver = Driver(slack)
    driver.start()
    driver.answer("no")
    driver.start()

    offer = driver.dm_posts()[-1]
    assert {b["action_id"] for b in buttons(offer)} == {Action.SESSION_RESUME, Action.SESSION_NEW}
    driver.click(offer, action_id=Action.SESSION_RESUME)
    assert question_step(driver.current()) == "trigger"
    assert answers(driver) == {"danger": "no"}


def test_start_a_new_one_from_the_resume_offer_keeps_the_old_one_paused(
        slack: Harness) -> None:
    driver = Driver(slack)
    driver.start()
    driver.answer("no")
    old_id = driver.session_id()
    driver.start()

    driver.click(driver.dm_posts()[-1], action_id=Action.SESSION_NEW)

    assert question_step(driver.current()) == "danger"
    assert driver.session_id() != old_id
    old = slack.jigsaw.store.get_session(str(old_id))
    assert old is not None and old["status"] == "paused" and old["answers"] == {"danger": "no"}


# -- 2. a whole decision ---------------------------------------------------------------
def test_a_full_decision_ends_as_a_record_in_the_store_and_the_dsl_channel(
        slack: Harness) -> None:
    driver = Driver(slack, DEPUTY)  # the DSL team decides
    driver.start()
    script = sc.POLICE_PREJUDICE
    asked: list[tuple[Call, str]] = []
    for answer in script:
        asked.append((driver.current(), answer))
        driver.answer(answer)

    # One question per answer, each closed in place once answered.
    assert len(driver.questions()) == len(script)
    for question, answer in asked:
        updates = driver.updates(str(question.response["ts"]), driver.dm)
        assert updates, f"{question_step(question)} was never updated"
        shown = updates[-1]
        assert buttons(shown) == [], f"{question_step(question)} still has buttons"
        text = all_text(shown)
        assert "Your answer" in text
        chosen = next((b for b in buttons(question) if value_of(b).value == answer), None)
        expected = chosen["text"]["text"] if chosen else answer
        assert expected in text, (question_step(question), expected, text)

    # Progress: "n/total" counts up by one, ending at the total.
    positions = [PROGRESS.search(all_text(q)) for q, _ in asked]
    assert all(positions)
    numbers = [int(m.group(1)) for m in positions if m]
    assert numbers == list(range(1, len(script) + 1))
    last = positions[-1]
    assert last is not None and int(last.group(2)) == len(script)

    # The record of truth.
    [summary] = slack.jigsaw.store.list_records()
    record = slack.jigsaw.store.get_record(summary["id"])
    assert record is not None and record == driver.record()
    assert record["kind"] == "decision" and record["decision"] == "share"
    assert record["recorded_by"] == DEPUTY and record["source"] == "slack"
    assert record["child_ref"] == "AB-1234"
    assert record["requester"] == {"agency": "police",
                                   "name_role": "DC Patel, Child Abuse Investigation Team",
                                   "verified": "called_back", "location_request": "",
                                   "needed_by": ""}
    assert record["recipient"]["kind"] == "police"
    assert record["rationale"] == script[-3]  # then the follow-up, then submit
    assert record["facts"].startswith("Bruise on left cheek")
    assert record["family"]["told"] is False  # the DSL's decision: para 18(2)(c)
    assert record["special_category"]["para18_reason"] == "c"
    assert record["review_status"] == "pending"
    assert verify(record) == []

    # Posted once to the DSL channel, with what the DSL needs to act.
    [post] = record_posts(driver)
    assert len(driver.dsl_posts()) == 1
    assert post.args["metadata"] == {"event_type": RECORD_EVENT,
                                     "event_payload": {"record_id": record["id"]}}
    text = all_text(post.args["blocks"])
    for needed in (record["id"], "AB-1234", "Share", "Police", "DC Patel",
                   "Bruise on left cheek", "Physical abuse"):
        assert needed in text, needed
    # One line of what happened reaches the channel; the facts and reasons stay in the store.
    assert record["rationale"] not in text
    assert record["facts"] == record["summary_line"] or record["facts"] not in text
    assert {b["action_id"] for b in buttons(post)} >= {Action.REVIEW_ACK, Action.REVIEW_FOLLOWUP,
                                                        Action.REVIEW_NOTE, Action.REVIEW_VIEW}
    delivery = record["delivery"]
    assert delivery["state"] == "posted" and delivery["channel"] == DSL_CHANNEL_ID
    assert delivery["ts"] == post.response["ts"]
    assert slack.fake.message(DSL_CHANNEL_ID, delivery["ts"]) is not None

    # The member of staff is told, in the DM, which record was made.
    submitted = driver.dm_posts()[-1]
    assert question_step(submitted) is None
    assert "Submitted" in all_text(submitted) and record["id"] in all_text(submitted)
    assert driver.submitted() == record
    session = driver.session()  # kept only while something is still in play
    assert session is None or session["status"] == "submitted"
    assert slack.jigsaw.latest_open(DEPUTY) is None


# -- 3. immediate danger ------------------------------------------------------------------
def test_the_danger_questions_help_says_the_dsl_team_is_alerted_in_their_channel(
        slack: Harness) -> None:
    """In Slack "not sure" does alert the DSL team: the help says so (the
    terminal's says it alerts no one)."""
    driver = Driver(slack)
    driver.start()
    driver.type("help")
    helped = driver.last_dm_text()
    assert "alerts the DSL team in their channel at once" in helped
    assert "terminal" not in helped
    assert question_step(driver.current()) == "danger"


@pytest.mark.parametrize(("danger", "next_step"), [("yes", "emergency_action"),
                                                   ("not_sure", "trigger")])
def test_immediate_danger_alerts_the_dsl_before_the_next_question(
        slack: Harness, danger: str, next_step: str) -> None:
    driver = Driver(slack)
    driver.start()
    first = driver.current()
    driver.click(first, value=danger)

    calls = slack.fake.calls()
    alert_at = next(i for i, c in enumerate(calls) if c.method == "chat.postMessage"
                    and c.args.get("channel") == DSL_CHANNEL_ID)
    second_at = next(i for i, c in enumerate(calls) if c.method == "chat.postMessage"
                     and c.args.get("channel") == driver.dm and question_step(c) == next_step)
    assert alert_at < second_at
    [alert] = alert_posts(driver)
    assert alert.ok
    assert "<@UDSL1>" in all_text(alert)  # the DSL team is notified
    assert "999" in all_text(driver.updates(str(first.response["ts"]))[-1])

    if danger == "yes":
        driver.run(sc.IMMEDIATE_DANGER[1:])
        record = driver.record()
        assert record is not None and record["kind"] == "emergency"
        assert record["immediate_danger"]["alerted_at"]
    # Nothing about the child or the incident ever reaches the alert.
    [alert] = alert_posts(driver)
    shown = all_text(slack.fake.message(DSL_CHANNEL_ID, str(alert.response["ts"])))
    for detail in ("QR", "CAD 1234", "Called 999 at 10:42"):
        assert detail not in shown
    assert len(alert_posts(driver)) == 1


def test_going_back_over_the_danger_question_never_alerts_twice(slack: Harness) -> None:
    driver = Driver(slack)
    driver.start()
    driver.answer("yes")
    driver.click(driver.current(), action_id=Action.NAV_BACK)
    assert question_step(driver.current()) == "danger"
    driver.answer("yes")
    assert len(alert_posts(driver)) == 1


# -- 4. back, pause, cancel -----------------------------------------------------------------
def test_back_reasks_the_previous_question_and_changes_the_answer(slack: Harness) -> None:
    driver = Driver(slack)
    driver.start()
    driver.answer("no")
    driver.answer("own_concern")
    on_allegation = driver.current()
    assert question_step(on_allegation) == "child_ref"

    driver.click(on_allegation, action_id=Action.NAV_BACK)

    closed = driver.updates(str(on_allegation.response["ts"]))[-1]
    assert buttons(closed) == [] and "went back" in all_text(closed)
    assert question_step(driver.current()) == "trigger"
    assert answers(driver) == {"danger": "no"}
    driver.answer("request")
    assert question_step(driver.current()) == "requester_agency"
    assert answers(driver) == {"danger": "no", "trigger": "request"}


def test_back_pause_cancel_are_on_every_question(slack: Harness) -> None:
    driver = Driver(slack)
    driver.start()
    nav = {Action.NAV_BACK, Action.NAV_PAUSE, Action.NAV_CANCEL}
    assert nav <= {b["action_id"] for b in buttons(driver.current())}
    first = driver.current()
    driver.click(first, action_id=Action.NAV_BACK)  # nothing before the first question
    assert "nothing to go back to" in driver.last_dm_text()
    assert driver.session()["history"] == []
    assert buttons(driver.current()) == buttons(first)  # still open to answer
    driver.answer("no")
    assert nav <= {b["action_id"] for b in buttons(driver.current())}


def test_pause_then_a_message_resumes_where_it_was(slack: Harness) -> None:
    driver = Driver(slack)
    driver.start()
    driver.answer("no")
    driver.answer("own_concern")
    paused_at = driver.current()
    driver.click(paused_at, action_id=Action.NAV_PAUSE)

    assert (driver.session() or {})["status"] == "paused"
    assert buttons(driver.updates(str(paused_at.response["ts"]))[-1]) == []
    assert "Paused" in driver.last_dm_text()
    asked = len(driver.questions())

    driver.type("hello, I'm back")

    assert (driver.session() or {})["status"] == "in_progress"
    assert len(driver.questions()) == asked + 1
    assert question_step(driver.current()) == "child_ref"
    assert answers(driver) == {"danger": "no", "trigger": "own_concern"}
    driver.run(sc.STAFF_CONCERN[2:])
    assert (driver.record() or {})["kind"] == "concern"


def test_pause_then_app_home_resume_button_resumes_where_it_was(slack: Harness) -> None:
    driver = Driver(slack)
    driver.start()
    driver.answer("no")
    driver.click(driver.current(), action_id=Action.NAV_PAUSE)
    session_id = (driver.session() or {})["id"]

    slack.send(app_home_opened("U123"))
    home = slack.fake.home_view("U123")
    assert home is not None
    [resume] = [b for b in buttons(home["blocks"]) if b["action_id"] == Action.HOME_RESUME]
    assert value_of(resume) == ButtonValue(session=session_id)
    slack.send(block_action("U123", action_id=Action.HOME_RESUME, value=resume["value"],
                            view=home))

    assert (driver.session() or {})["status"] == "in_progress"
    assert question_step(driver.current()) == "trigger"
    assert answers(driver) == {"danger": "no"}


def test_cancel_leaves_no_record(slack: Harness) -> None:
    driver = Driver(slack)
    driver.start()
    driver.run(sc.STAFF_POLICE_REQUEST[:-1])
    on_last = driver.current()  # its answer would send the request
    assert question_step(on_last) == "urgent"

    driver.click(on_last, action_id=Action.NAV_CANCEL)

    assert (driver.session() or {})["status"] == "cancelled"
    assert "Cancelled" in driver.last_dm_text()
    assert buttons(driver.updates(str(on_last.response["ts"]))[-1]) == []
    asked = len(driver.dm_posts())
    driver.click(on_last, value=sc.STAFF_POLICE_REQUEST[-1])  # the old last answer
    assert len(driver.dm_posts()) == asked
    assert slack.jigsaw.store.list_records() == []
    assert driver.dsl_posts() == []


# -- 5. stale buttons ---------------------------------------------------------------------
def test_an_answered_questions_buttons_change_nothing(slack: Harness) -> None:
    driver = Driver(slack)
    driver.start()
    first = driver.current()
    driver.answer("no")
    driver.answer("own_concern")
    before = answers(driver)
    calls = len(slack.fake.calls())

    driver.click(first, value="yes")  # the old "yes, in danger" button
    driver.click(driver.questions()[1], value="request")  # a double click

    assert len(slack.fake.calls()) == calls  # no post, no update, no alert
    assert answers(driver) == before
    assert question_step(driver.current()) == "child_ref"


@pytest.mark.parametrize("action_id", [Action.NAV_BACK, Action.NAV_PAUSE, Action.NAV_CANCEL])
def test_an_answered_questions_back_pause_and_cancel_change_nothing(
        slack: Harness, action_id: str) -> None:
    driver = Driver(slack)
    driver.start()
    driver.answer("no")
    old = driver.current()
    driver.answer("own_concern")
    before, calls = driver.session(), len(slack.fake.calls())

    driver.click(old, action_id=action_id)

    assert len(slack.fake.calls()) == calls
    assert driver.session() == before


def test_a_double_click_at_once_answers_once(slack: Harness) -> None:
    driver = Driver(slack)
    driver.start()
    first = driver.current()
    slack.send_at_once([driver.click_request(first, value="yes") for _ in range(3)])

    assert answers(driver) == {"danger": "yes"}
    assert [question_step(q) for q in driver.questions()] == ["danger", "emergency_action"]
    assert len(alert_posts(driver)) == 1
    assert len(driver.updates(str(first.response["ts"]))) == 1


def test_someone_elses_buttons_do_nothing(slack: Harness) -> None:
    driver = Driver(slack)
    driver.start()
    question = driver.current()
    calls = len(slack.fake.calls())

    driver.click(question, value="yes", user="U999")

    assert len(slack.fake.calls()) == calls
    assert answers(driver) == {}
    assert alert_posts(driver) == []


def test_an_unknown_button_gets_a_polite_reply(slack: Harness) -> None:
    slack.send(block_action("U123", action_id="something_old", value="{}"))
    assert "no longer in use" in Driver(slack).last_dm_text()


# -- 10. typed messages ------------------------------------------------------------------
@pytest.mark.parametrize("event", [
    {"subtype": "bot_message", "bot_id": "BOTHER"},
    {"bot_id": "BJIGSAW"},
    {"subtype": "message_changed"},
    {"subtype": "message_deleted"},
    {"channel": GENERAL_CHANNEL_ID, "channel_type": "channel"},
])
def test_bot_messages_subtypes_and_channel_messages_are_ignored(
        slack: Harness, event: dict[str, Any]) -> None:
    slack.send(message_event("U123", text="start", **event))
    assert [c.method for c in slack.fake.calls() if c.method != "auth.test"] == []
    assert slack.jigsaw.store.sessions_for_user("U123") == []


def test_a_message_in_the_dm_starts_a_decision(slack: Harness) -> None:
    driver = Driver(slack)
    driver.type("hi")
    assert question_step(driver.current()) == "danger"


@pytest.mark.parametrize("typed", ["No", "3", "no", "  NO  "])
def test_a_typed_label_or_number_answers_a_choice(slack: Harness, typed: str) -> None:
    driver = Driver(slack)
    driver.start()
    first = driver.current()
    driver.type(typed)
    assert answers(driver) == {"danger": "no"}
    assert question_step(driver.current()) == "trigger"
    assert buttons(driver.updates(str(first.response["ts"]))[-1]) == []


def test_a_rejected_text_answer_is_explained_and_can_be_retyped(slack: Harness) -> None:
    driver = Driver(slack)
    driver.start()
    driver.run(["no", "own_concern"])
    assert question_step(driver.current()) == "child_ref"
    asked = len(driver.questions())

    driver.type("John Smith")  # a full name: never in Slack

    assert len(driver.questions()) == asked
    assert "child_ref" not in answers(driver)
    assert "initials" in driver.last_dm_text().lower()
    driver.type("JS")
    assert answers(driver)["child_ref"] == "JS"
    assert question_step(driver.current()) == "facts"


@pytest.mark.parametrize("typed", ["maybe", "7", "please help"])
def test_other_text_for_a_choice_asks_for_the_buttons(slack: Harness, typed: str) -> None:
    driver = Driver(slack)
    driver.start()
    asked = len(driver.questions())
    driver.type(typed)
    assert "one of the buttons above" in driver.last_dm_text()
    assert len(driver.questions()) == asked
    assert answers(driver) == {}
    assert driver.dsl_posts() == []


def test_typed_back_pause_and_resume(slack: Harness) -> None:
    driver = Driver(slack)
    driver.start()
    driver.type("no")
    driver.type("own_concern")
    driver.type("back")
    assert question_step(driver.current()) == "trigger"
    assert answers(driver) == {"danger": "no"}
    driver.type("pause")
    assert (driver.session() or {})["status"] == "paused"
    driver.type("resume")
    assert question_step(driver.current()) == "trigger"
    driver.type("cancel")
    assert (driver.session() or {})["status"] == "cancelled"


@pytest.mark.parametrize(("script", "decision", "kind"), list(sc.OUTCOMES.values()),
                         ids=list(sc.OUTCOMES))
def test_every_scenario_works_typed_as_well_as_clicked(
        slack: Harness, script: list[str], decision: str, kind: str) -> None:
    driver = Driver(slack, DEPUTY if sc.says_dsl(script) else "U123")
    driver.start()
    record = driver.run(script, typed=True)
    assert record is not None
    assert (record["decision"], record["kind"]) == (decision, kind)
    assert verify(record) == []
    if record["routing"]["to"] != "dsl":  # about the DSL team: never in its channel
        assert record_posts(driver) == [] and record["delivery"]["state"] == "held"
        return
    assert len(record_posts(driver)) == 1
    assert record["delivery"]["ts"] == record_posts(driver)[0].response["ts"]
    assert not any(c.method == "chat.postMessage" and c.args.get("channel") == driver.dm
                   and "one of the buttons above" in all_text(c) for c in slack.fake.calls())


def test_typed_text_after_an_unshown_question_shows_it_instead(slack: Harness) -> None:
    """If posting the next question failed, what the person types next is not
    taken as the answer to a question they never saw."""
    driver = Driver(slack)
    driver.start()
    driver.answer("no")
    slack.fake.fail_next("chat.postMessage", status=500)
    driver.answer("own_concern")  # stored, but the child_ref question fails to post
    session = driver.session()
    assert session["answers"]["trigger"] == "own_concern"
    assert session["meta"]["unshown"] == "child_ref"
    driver.type("AB")
    session = driver.session()
    assert "child_ref" not in session["answers"]
    assert question_step(driver.current()) == "child_ref"
    driver.type("AB")
    assert driver.session()["answers"]["child_ref"] == "AB"


def test_a_referral_not_made_names_the_barriers_at_the_challenge_in_slack(
        slack: Harness) -> None:
    """The DSL chose social care: no barrier check before her decision; not
    sharing at significant harm, the reminders come with the challenge."""
    script = sc.SIGNIFICANT_NOT_SHARED
    driver = Driver(slack, DEPUTY)
    driver.start()
    driver.run(script[:script.index("keep")])
    steps = [question_step(q) for q in driver.questions()]
    assert "barrier_check" not in steps and steps[-1] == "challenge"
    trust = slack.jigsaw.flow.reminder("trust")
    fears = slack.jigsaw.flow.reminder("fears")
    assert not any(trust in all_text(q) or fears in all_text(q) for q in driver.questions()[:-1])
    challenge = all_text(driver.current())
    assert trust in challenge and fears in challenge
    record = driver.run(script[script.index("keep"):])
    assert record is not None and record["decision"] == "do_not_share"
    assert record["barriers"]["shown"] == [
        "optimism", "trust", "data_protection", "consent", "someone_else", "fears"]
