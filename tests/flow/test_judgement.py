"""The DSL's own judgement, the child's voice and records that never
misstate (DOMAIN.md sections 3 step 7, 8 and 10), walked end to end.

Each test plays a case as staff and then as the DSL, and asserts the route,
what the person is shown and the record's fields.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot import record as records
from bot.config import Settings
from bot.flow import Flow, Session
from tests import scenarios as sc

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # a Wednesday


@pytest.fixture
def flow() -> Flow:
    return Flow(Settings(school_name="Hillside High"), clock=lambda: NOW)


def play(flow: Flow, session: Session, answers: list[str]) -> list[str]:
    """Answer in order; the steps asked."""
    asked = []
    for answer in answers:
        question = flow.question(session)
        assert question is not None, f"finished before {answer!r}"
        asked.append(question.step)
        result = flow.answer(session, answer)
        assert result.accepted, f"{question.step}: {answer!r}: {result.error}"
    return asked


def staff_concern(flow: Flow, answers: list[str]) -> dict[str, Any]:
    session = flow.start("USTAFF")
    play(flow, session, answers)
    assert flow.done(session), flow.current(session)
    return records.build(session, flow.settings, flow.prompts, now=NOW)


def take_on(flow: Flow, concern: dict[str, Any]) -> Session:
    return flow.take_on("UDSL", "console", concern["concern_answers"], "ISD-2026-0001")


def decide(flow: Flow, concern: dict[str, Any], session: Session) -> dict[str, Any]:
    assert flow.done(session), flow.current(session)
    built = records.build(session, flow.settings, flow.prompts, now=NOW)
    return records.decided(dict(concern), built, by="UDSL", at=NOW)


# A teacher under-reads a mark left by a blow: "care and support needs".
HIT_HARD = [
    "no", "own_concern", "MN",
    "Red hand-shaped mark on his cheek this morning; he said dad hit him hard last night.",
    "\"Dad hit me because I was slow\"",
    "not_discussed",
    "skip", "no", "same",
    "child_in_need",  # the teacher's level
    "no",
    "submit",
]


def test_take_on_shows_the_staff_account_first_and_asks_the_dsls_own_level(flow: Flow) -> None:
    concern = staff_concern(flow, HIT_HARD)
    session = take_on(flow, concern)
    first = flow.question(session)
    assert first is not None
    assert concern["facts"] in first.text and "Dad hit me because I was slow" in first.text
    asked = play(flow, session, ["no", "same", "significant"])
    assert asked == ["knows_family", "optimism", "level"]
    level = flow.question(session)
    assert level is not None and level.step == "recipient"
    assert session.answers["level"] == "significant"


def test_no_refusal_stands_on_the_staff_members_level(flow: Flow) -> None:
    """The father refused; the DSL judged it significant harm: Share stays."""
    concern = staff_concern(flow, HIT_HARD)
    session = take_on(flow, concern)
    play(flow, session, ["no", "same", "significant", "social_care", "yes",
                         "Referral to children's social care", "yes", "yes", "no",
                         "refused", "same"])
    question = flow.question(session)
    assert question is not None and question.step == "decision"
    assert [v for v, _ in question.choices][0] == "share"
    assert "refusal stands" not in question.help


def test_both_levels_are_kept_each_attributed(flow: Flow) -> None:
    concern = staff_concern(flow, HIT_HARD)
    session = take_on(flow, concern)
    play(flow, session, ["no", "same", "significant", "social_care", "yes",
                         "Referral to children's social care", "yes", "yes",
                         "parent_source", "same", "share",
                         "The mark, when it was seen and what he said", "phone_followup",
                         "A blow hard enough to leave a mark: referral today.", "skip",
                         "submit"])
    rec = decide(flow, concern, session)
    assert rec["level_of_concern"] == "significant" and rec["decided_by"]["by"] == "UDSL"
    assert rec["concern"]["level_of_concern"] == "child_in_need"
    assert rec["concern"]["by"] == "USTAFF"
    assert rec["destination"] == "childrens_social_care"  # "Goes to" kept after take-on
    text = records.render_text(rec, flow.prompts)
    assert "Staff level of concern" in text and "USTAFF" in text


def test_the_dsl_is_addressed_as_the_dsl(flow: Flow) -> None:
    concern = staff_concern(flow, HIT_HARD)
    session = take_on(flow, concern)
    play(flow, session, ["no", "same", "low"])
    recipient = flow.question(session)
    assert recipient is not None and recipient.step == "recipient"
    labels = dict(recipient.choices)
    lead = flow.prompts.env.globals["t"]["lead"]
    assert f"The {lead}, inside school" not in labels["dsl_only"]
    play(flow, session, ["dsl_only", "Kept on record, watching", "skip"])
    confirm = flow.question(session)
    assert confirm is not None and confirm.step == "confirm"
    assert flow.settings.dsl.name not in confirm.text


# -- the child's voice --------------------------------------------------------

def test_the_childs_wishes_are_asked_on_the_short_path(flow: Flow) -> None:
    session = flow.start("USTAFF")
    asked = play(flow, session, sc.STAFF_CONCERN)
    assert "child_wishes" in asked and "knows_family" in asked


def test_old_concerns_without_the_childs_wishes_ask_the_dsl(flow: Flow) -> None:
    concern = staff_concern(flow, HIT_HARD)
    answers = {k: v for k, v in concern["concern_answers"].items() if k != "child_wishes"}
    session = flow.take_on("UDSL", "console", answers, "ISD-2026-0001")
    first = flow.question(session)
    assert first is not None and first.step == "child_wishes"
    assert concern["facts"] in first.text


def test_no_screen_says_the_childs_wishes_were_asked_when_they_were_not(flow: Flow) -> None:
    session = flow.start("UDSL", dsl=True)
    session.answers.update({"danger": "no", "trigger": "request"})
    ctx = flow.context(session)
    text = flow.prompts.block("steps/family_view.j2", "help", **ctx)
    assert "wishes" not in text


SIXTEEN_SAYS_DONT_TELL_MUM = [
    "no", "dsl_recording", "general", "RS",
    "Year 11 pupil (16) says her mum's boyfriend hits her when mum is at work.",
    "\"Please don't tell my mum, she'll throw me out\"",
    "refuses", "She doesn't want her mum told; she wants it to stop.",
    "skip", "no", "same",
    "significant", "social_care", "yes", "Referral to children's social care",
    "yes", "yes", "parent_source", "same", "share",
]


def test_sharing_against_a_young_persons_refusal_needs_the_dsls_reason(flow: Flow) -> None:
    session = flow.start("UDSL", dsl=True)
    play(flow, session, SIXTEEN_SAYS_DONT_TELL_MUM)
    question = flow.question(session)
    assert question is not None and question.step == "child_override"
    play(flow, session, ["Ongoing violence at home; she will be told who we tell and why."])
