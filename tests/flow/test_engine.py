"""The decision flow, driven through the pure engine."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot import record as records
from bot.config import Settings
from bot.flow import Flow, Session
from bot.flow.steps import STEPS, SWITCHABLE
from bot.prompts import default_prompts
from tests import scenarios as sc

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.fixture
def flow() -> Flow:
    return Flow(Settings(school_name="Hillside Primary"), clock=lambda: NOW)


def walk(flow: Flow, answers: list[str], *, dsl: bool = False) -> tuple[Session, list]:
    session = flow.start("U1", dsl=dsl)
    results = []
    for answer in answers:
        step = flow.current(session)
        result = flow.answer(session, answer)
        assert result.accepted, f"{step.id if step else None}: {answer!r}: {result.error}"
        results.append(result)
    return session, results


def build(flow: Flow, session: Session) -> dict:
    return records.build(session, flow.settings, flow.prompts, now=NOW)


def test_every_step_has_wording_for_each_choice(flow: Flow) -> None:
    prompts = default_prompts()
    for step in STEPS:
        name = f"steps/{step.id}.j2"
        assert prompts.has_block(name, "question"), step.id
        values = step.choices or (("share", "share_part", "do_not_share", "defer", "refer_dpo")
                                  if step.id == "decision" else SWITCHABLE + ("keep",))
        for value in values:
            if step.kind != "text":
                assert prompts.has_block(name, f"choice_{value}"), (step.id, value)


def test_immediate_danger_is_asked_first_and_alerts_before_anything_else(flow: Flow) -> None:
    session = flow.start("U1")
    first = flow.question(session)
    assert first.step == "danger" and first.position == 1
    result = flow.answer(session, "yes")
    assert [e["kind"] for e in result.events] == ["urgent_alert"]
    assert "999" in result.notices[0]
    assert flow.current(session).id == "emergency_action"  # the after-the-event record


def test_immediate_danger_quick_record(flow: Flow) -> None:
    session, _ = walk(flow, sc.IMMEDIATE_DANGER)
    assert flow.done(session)
    rec = build(flow, session)
    assert rec["kind"] == "emergency"
    assert rec["immediate_danger"]["answer"] == "yes"
    assert "CAD 1234" in rec["immediate_danger"]["action"]
    assert rec["immediate_danger"]["alerted_at"] == "2026-11-25T10:00:00Z"
    assert rec["lawful_basis"]["suggested"]["article6"] == "vital_interests"
    assert rec["rationale"]
    # No referral was made: the DSL follows the emergency up, nothing is "chased".
    assert [f["action"] for f in rec["follow_up"]] == ["emergency_followup"]


def test_not_sure_about_danger_alerts_and_continues(flow: Flow) -> None:
    session = flow.start("U1")
    result = flow.answer(session, "not_sure")
    assert result.events and "999" in result.notices[0]
    assert flow.current(session).id == "trigger"


def test_alert_is_sent_once_even_after_going_back(flow: Flow) -> None:
    session = flow.start("U1")
    flow.answer(session, "yes")
    flow.back(session)
    again = flow.answer(session, "yes")
    assert again.events == []
    assert len(session.events) == 1


def test_police_request_prejudice_shares_without_consent_reason_c(flow: Flow) -> None:
    session, _ = walk(flow, sc.POLICE_PREJUDICE, dsl=True)
    rec = build(flow, session)
    assert rec["decision"] == "share"
    assert rec["requester"] == {"agency": "police",
                                "name_role": "DC Patel, Child Abuse Investigation Team",
                                "verified": "called_back", "location_request": "",
                                "needed_by": ""}
    assert rec["family"]["told"] is False
    assert rec["family"]["not_told_reason"] == "parent_source"
    # The data subject's consent would prejudice the investigation: para 18(2)(c).
    assert rec["special_category"]["para18_reason"] == "c"
    assert rec["family"]["not_to_tell"] == "dad"
    assert rec["lawful_basis"]["suggested"] == {
        "article6": "public_task", "article9": "safeguarding_condition",
        "article10": "offence_data", "situation": "public_task"}
    assert "family_view" not in session.answers  # never asked: telling them adds risk
    assert rec["recipient"] == {"kind": "police",
                                "detail": "DC Patel, Child Abuse Investigation Team"}


def test_no_safeguarding_purpose_means_do_not_share(flow: Flow) -> None:
    script = [*sc.POLICE_PREJUDICE[:sc.POLICE_PREJUDICE.index("significant") + 1], "skip", "no",
              "Wanted for a custody dispute: not a safeguarding purpose.",
              "skip", "submit"]
    session, results = walk(flow, script, dsl=True)
    rec = build(flow, session)
    assert rec["decision"] == "do_not_share"
    assert "custody" in rec["rationale"]
    assert rec["purpose"]["answer"] == "no"
    assert any("reconsider" in n for r in results for n in r.notices)
    assert "decision" not in session.answers  # not offered a choice to share
    assert rec["recipient"] is None and rec["how"] == rec["when"] == ""
    assert rec["lawful_basis"]["suggested"] is None


def test_early_help_with_consent(flow: Flow) -> None:
    session, _ = walk(flow, sc.EARLY_HELP_CONSENT)
    rec = build(flow, session)
    assert rec["decision"] == "share"
    assert rec["family"]["consent"] == "given" and rec["family"]["told"] is True
    # The family's agreement is a fact, never the lawful basis (DOMAIN.md section 6).
    assert rec["lawful_basis"]["suggested"]["article6"] == "public_task"


def test_early_help_refused_without_risk_of_harm_respects_refusal(flow: Flow) -> None:
    session = flow.start("U1")
    for answer in sc.EARLY_HELP_REFUSED[: sc.EARLY_HELP_REFUSED.index("do_not_share")]:
        assert flow.answer(session, answer).accepted
    question = flow.question(session)
    assert question.step == "decision"
    assert [v for v, _ in question.choices] == ["do_not_share", "defer"]
    assert not flow.answer(session, "share").accepted
    for answer in sc.EARLY_HELP_REFUSED[sc.EARLY_HELP_REFUSED.index("do_not_share"):]:
        assert flow.answer(session, answer).accepted
    rec = build(flow, session)
    assert rec["decision"] == "do_not_share"
    assert rec["family"]["consent"] == "refused"


def test_consent_refused_but_significant_harm_shares_without_consent(flow: Flow) -> None:
    session, _ = walk(flow, sc.REFUSED_SIGNIFICANT)
    rec = build(flow, session)
    assert rec["decision"] == "share"
    assert rec["family"]["consent"] == "refused"
    assert rec["special_category"]["para18_reason"] == "c"
    # A referral: no barrier check, so no pro-sharing reminder is shown or recorded.
    assert rec["barriers"] == {"shown": ["oversharing"], "view_changed": None}


def test_not_sure_answers_seek_advice_and_still_end_in_a_record(flow: Flow) -> None:
    session, results = walk(flow, sc.NOT_SURE)
    # Said once per decision, not once per answer.
    assert sum(1 for r in results for n in r.notices if "advice" in n.lower()) == 1
    rec = build(flow, session)
    assert rec["decision"] == "defer"
    assert rec["defer_until"] == "2026-11-26"
    assert rec["advice"]["needed"] is True
    assert set(rec["advice"]["not_sure_at"]) >= {"concern_type", "level", "purpose",
                                                 "family_view", "optimism"}
    # A referral deferred to tomorrow: no barrier check, the advice is what is asked.
    assert "barrier_check" not in session.history and rec["barriers"]["shown"] == []
    assert {f["action"] for f in rec["follow_up"]} >= {"decide_deferred"}


def test_low_level_concern_about_staff_is_recorded_for_the_dsl(flow: Flow) -> None:
    session, _ = walk(flow, sc.ALLEGATION)
    rec = build(flow, session)
    assert rec["kind"] == "allegation"
    assert rec["decision"] == "allegations_route"
    assert "messaging a pupil" in rec["facts"]  # the facts are recorded
    assert rec["routing"]["to"] == "dsl"
    assert rec["route_details"]["allegation_threshold"] == "low_level"


def test_rule_of_optimism_reminder_when_cue_fits(flow: Flow) -> None:
    session, _ = walk(flow, sc.OPTIMISM)
    question = flow.question(session)
    assert question.step == "optimism"
    assert [b for b, _ in question.reminders] == ["optimism"]
    for answer in ("same", "low", "skip", "early_help", "yes", "Support", "yes", "no", "no",
                   "agreed"):
        assert flow.answer(session, answer).accepted
    question = flow.question(session)
    assert question.step == "barrier_check"
    assert "optimism" in [b for b, _ in question.reminders]
    assert question.reminders[-1][0] == "fears"


def test_no_optimism_reminder_without_cue_but_the_question_is_asked(flow: Flow) -> None:
    session, _ = walk(flow, sc.EARLY_HELP_CONSENT[: sc.EARLY_HELP_CONSENT.index("same")])
    question = flow.question(session)
    assert question.step == "optimism" and question.reminders == []


def test_back_changes_an_answer_and_reroutes(flow: Flow) -> None:
    session = flow.start("U1")
    flow.answer(session, "no")
    flow.answer(session, "request")
    assert flow.current(session).id == "requester_agency"
    assert flow.back(session)
    assert flow.current(session).id == "trigger"
    flow.answer(session, "own_concern")
    assert flow.current(session).id == "child_ref"  # a worry goes straight to the DSL
    assert "trigger" in session.answers and session.answers["trigger"] == "own_concern"


def test_progress_counts_up(flow: Flow) -> None:
    session = flow.start("U1")
    p1 = flow.question(session)
    flow.answer(session, "no")
    p2 = flow.question(session)
    assert p1.position == 1 and p2.position == 2
    assert p2.total >= p2.position


def test_choices_by_number_or_label(flow: Flow) -> None:
    session = flow.start("U1")
    assert flow.answer(session, "3").accepted  # "No"
    assert session.answers["danger"] == "no"
    assert flow.answer(session, "i'm worried about a child").accepted
    assert session.answers["trigger"] == "own_concern"


def test_stale_step_id_changes_nothing(flow: Flow) -> None:
    session = flow.start("U1")
    flow.answer(session, "no", step_id="danger")
    result = flow.answer(session, "yes", step_id="danger")
    assert not result.accepted and session.answers["danger"] == "no"


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [("John Smith", "full name"), ("", "needs an answer"), ("x" * 41, "limit")],
)
def test_child_reference_is_checked(flow: Flow, answer: str, fragment: str) -> None:
    session, _ = walk(flow, ["no", "own_concern"])
    result = flow.answer(session, answer)
    assert not result.accepted and fragment in result.error
    assert flow.current(session).id == "child_ref"


def test_too_long_text_is_kept_as_a_draft(flow: Flow) -> None:
    session, _ = walk(flow, ["no", "own_concern", "AB"])
    long = "a" * 3001
    result = flow.answer(session, long)
    assert not result.accepted and "3001" in result.error
    assert flow.question(session).draft == long


def test_rationale_is_mandatory(flow: Flow) -> None:
    answers = sc.EARLY_HELP_CONSENT
    session, _ = walk(flow, answers[: answers.index("next_working_day") + 2])
    assert flow.current(session).id == "rationale"
    assert not flow.answer(session, "   ").accepted
    assert not flow.answer(session, "skip").accepted  # "skip" is too short to be a reason


def test_past_due_date_rejected(flow: Flow) -> None:
    session, _ = walk(flow, sc.NOT_SURE[: sc.NOT_SURE.index("tomorrow")])
    assert flow.current(session).id == "defer_until"
    assert "passed" in flow.answer(session, "2020-01-01").error
    assert flow.answer(session, "01/12/2026 16:00").accepted
    assert session.answers["defer_until"] == "2026-12-01 16:00"


def test_record_text_and_summary_render(flow: Flow) -> None:
    session, _ = walk(flow, sc.POLICE_PREJUDICE, dsl=True)
    rec = build(flow, session)
    rec["id"] = "ISD-2026-0001"
    text = records.render_text(rec, flow.prompts)
    assert "ISD-2026-0001" in text and "DC Patel" in text and "Bruise" in text
    fields = {key: value for key, _, value in records.summary(rec, flow.prompts)}
    assert fields["decision"] == "Share" and fields["child_ref"] == "AB-1234"
    assert "facts" not in fields  # facts stay in the store, not the channel


def test_audit_chain_detects_tampering(flow: Flow) -> None:
    session, _ = walk(flow, sc.EARLY_HELP_CONSENT)
    rec = build(flow, session)
    rec["id"] = "ISD-2026-0002"
    records.acknowledge(rec, by="UDSL", at=NOW)
    assert records.verify(rec) == []
    edited = dict(rec, rationale="changed quietly")
    assert any("outside the audit trail" in p for p in records.verify(edited))
    dropped = dict(rec, audit=rec["audit"][1:])
    assert records.verify(dropped)


def test_every_choice_fits_on_a_chat_button(flow: Flow) -> None:
    """Slack cuts button text at 75 characters; a cut label can change its meaning."""
    session = flow.start("U1")
    ctx = flow.context(session)
    for step in STEPS:
        if step.kind == "text":
            continue
        values = step.choices or (("share", "share_part", "do_not_share", "defer", "refer_dpo")
                                  if step.id == "decision" else SWITCHABLE + ("keep",))
        for value in values:
            label = flow.prompts.block(f"steps/{step.id}.j2", f"choice_{value}", **ctx)
            assert len(label) <= 75, (step.id, value, label)
