"""Pro-sharing reminders are not asked after a decision to refer; the ones
that fit are named where a referral is not made after all (DOMAIN.md
section 4: reminders shown by cues, noted on the record)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot import record as records
from bot.config import Settings
from bot.flow import Flow, Question, Session
from bot.flow.barriers import reminders_for
from tests import scenarios as sc

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # a Wednesday

# The barrier check's own question, as the person reads it.
BARRIER_QUESTION = "Before you decide, a moment on what can bend judgement"


@pytest.fixture
def flow() -> Flow:
    return Flow(Settings(school_name="Hillside Primary"), clock=lambda: NOW)


def walk(flow: Flow, answers: list[str]) -> tuple[Session, list[Question]]:
    """Each answer given to the question the engine asks; the questions read."""
    session = flow.start("U1")
    asked = []
    for answer in answers:
        question = flow.question(session)
        assert question is not None, answer
        asked.append(question)
        result = flow.answer(session, answer)
        assert result.accepted, f"{question.step}: {answer!r}: {result.error}"
    return session, asked


def build(flow: Flow, session: Session) -> dict:
    return records.build(session, flow.settings, flow.prompts, now=NOW)


def reminders(asked: list[Question], step: str) -> list[str]:
    [question] = [q for q in asked if q.step == step]
    return [b for b, _ in question.reminders]


def before_decision(asked: list[Question]) -> list[Question]:
    """From the choice of recipient up to the decision itself."""
    steps = [q.step for q in asked]
    return asked[steps.index("recipient"):steps.index("decision") + 1]


# A DSL's own concern at significant harm, up to the decision.
_TO_DECISION = sc.SIGNIFICANT_NOT_SHARED[:sc.SIGNIFICANT_NOT_SHARED.index("do_not_share")]


@pytest.mark.parametrize("script", [sc.REFUSED_SIGNIFICANT, sc.CHILD_ON_CHILD, sc.NOT_SURE],
                         ids=["social_care", "police", "not_sure"])
def test_a_dsl_who_refers_is_not_asked_the_barrier_check(flow: Flow, script: list[str]) -> None:
    session, asked = walk(flow, script)
    assert flow.done(session)
    assert "barrier_check" not in [q.step for q in asked]
    # Nothing argues for sharing once the DSL has chosen to refer.
    assert [(q.step, q.reminders) for q in before_decision(asked) if q.reminders] == []
    rec = build(flow, session)
    assert rec["barriers"]["view_changed"] is None
    assert not set(rec["barriers"]["shown"]) & {"data_protection", "someone_else", "consent"}


def test_a_referral_shared_notes_only_what_was_shown(flow: Flow) -> None:
    session, _ = walk(flow, sc.REFUSED_SIGNIFICANT)
    assert build(flow, session)["barriers"] == {"shown": ["oversharing"], "view_changed": None}


def test_not_sharing_a_referral_at_significant_harm_names_the_barriers_at_the_challenge(
        flow: Flow) -> None:
    session, asked = walk(flow, sc.SIGNIFICANT_NOT_SHARED)
    assert flow.done(session)
    assert "barrier_check" not in [q.step for q in asked]
    assert reminders(asked, "optimism") == ["optimism"]  # she knows the family
    # The barriers that fit the answers, less the one already read.
    fitting = reminders_for(session.known)
    assert fitting[0] == "optimism"
    assert reminders(asked, "challenge") == fitting[1:] == [
        "trust", "data_protection", "consent", "someone_else", "fears"]
    [challenge] = [q for q in asked if q.step == "challenge"]
    assert "what can bend judgement" in challenge.help
    # Each read once in the whole walk.
    read = [b for q in asked for b, _ in q.reminders]
    assert len(read) == len(set(read))
    rec = build(flow, session)
    assert rec["barriers"]["shown"] == fitting
    assert rec["barriers"]["view_changed"] is False
    assert rec["second_signoff"]["required"] is True
    text = records.render_text(rec, flow.prompts)
    assert "family's trust" in text and "fears must not stand in the way" in text


def test_deferring_a_referral_past_today_names_them_at_the_challenge(flow: Flow) -> None:
    session, _ = walk(flow, [*_TO_DECISION, "defer", "tomorrow"])
    question = flow.question(session)
    assert question is not None and question.step == "challenge"
    assert [b for b, _ in question.reminders] == [
        "trust", "data_protection", "consent", "someone_else", "fears"]
    assert flow.answer(session, "keep").accepted
    assert "fears" in session.barriers["shown"]


def test_changing_the_decision_at_the_challenge_keeps_the_reminders_on_the_record(
        flow: Flow) -> None:
    session, _ = walk(flow, [*_TO_DECISION, "do_not_share"])
    assert flow.current(session).id == "challenge"
    assert flow.answer(session, "change").accepted
    assert flow.current(session).id == "decision"  # back to it, the answer not kept
    assert session.barriers["shown"][-1] == "fears"
    _, asked = _go_on(flow, session, ["share", "The bruise and what he said", "special", "c",
                                      "phone_followup", "none",
                                      "Referral made today after the challenge.", "skip",
                                      "submit"])
    assert "challenge" not in [q.step for q in asked]
    assert reminders(asked, "what_to_share") == ["oversharing"]
    rec = build(flow, session)
    assert rec["decision"] == "share"
    assert rec["barriers"]["shown"] == [
        "optimism", "trust", "data_protection", "consent", "someone_else", "fears",
        "oversharing"]
    assert rec["barriers"]["view_changed"] is True


def _go_on(flow: Flow, session: Session, answers: list[str]) -> tuple[Session, list[Question]]:
    asked = []
    for answer in answers:
        question = flow.question(session)
        assert question is not None, answer
        asked.append(question)
        assert flow.answer(session, answer).accepted, (question.step, answer)
    assert flow.done(session)
    return session, asked


@pytest.mark.parametrize("script", [sc.EARLY_HELP_CONSENT, sc.POLICE_PREJUDICE, sc.PREVENT],
                         ids=["early_help", "police_request", "prevent"])
def test_a_decision_that_is_not_a_referral_still_has_the_barrier_check(
        flow: Flow, script: list[str]) -> None:
    session, asked = walk(flow, script)
    assert flow.done(session)
    shown = reminders(asked, "barrier_check")
    assert BARRIER_QUESTION in next(q.text for q in asked if q.step == "barrier_check")
    assert shown[-1] == "fears" and "data_protection" in shown
    rec = build(flow, session)
    assert set(shown) <= set(rec["barriers"]["shown"])
    assert rec["barriers"]["view_changed"] is False


def test_significant_harm_not_shared_with_another_recipient_keeps_the_check_first(
        flow: Flow) -> None:
    """Not a referral (the school nurse): the barrier check before the
    decision, as before, and the challenge repeats none of it."""
    script = [*_TO_DECISION]
    at = script.index("social_care")
    script[at:at + 3] = ["health", "yes", "School nurse to check the bruise", "yes"]  # identifiable
    session, asked = walk(flow, [*script, "same", "do_not_share"])
    assert "fears" in reminders(asked, "barrier_check")
    question = flow.question(session)
    assert question is not None and question.step == "challenge"
    assert question.reminders == [] and "what can bend judgement" not in question.help
    assert flow.answer(session, "keep").accepted
    assert session.barriers["view_changed"] is False


def test_challenged_again_the_reminders_are_not_shown_twice(flow: Flow) -> None:
    session, _ = walk(flow, [*_TO_DECISION, "do_not_share", "change", "do_not_share"])
    question = flow.question(session)
    assert question is not None and question.step == "challenge"
    assert question.reminders == [] and "what can bend judgement" not in question.help
    assert flow.answer(session, "keep").accepted
    assert session.barriers["shown"].count("fears") == 1
    assert session.barriers["view_changed"] is False  # kept in the end
