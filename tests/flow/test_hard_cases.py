"""Hard cases played as a DSL would (issue 20): the staff member's path,
then the DSL takes the concern on and decides; what is asserted is the
stored record, which must say nothing that was not asked.

Each case names the answers that matter, by step; any other question (one
added later) gets its first choice, or "skip" for optional text, or a
neutral sentence for required text, so the cases test the rule and not the
exact order of screens."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.service import DecisionService
from storage import TinyDBStore

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
FILLER = "Discussed and recorded by the safeguarding team."


def walk(app: DecisionService, user: str, script: dict[str, str], *, dsl: bool = False,
         take_on: str = "") -> dict[str, Any]:
    """Answer every question by its step from ``script``; returns the stored
    record."""
    session = app.take_on(take_on, user) if take_on else app.start(user, dsl=dsl)
    outcome = None
    for _ in range(200):
        step = app.flow.current(session)
        if step is None:
            break
        answer = script.get(step.id)
        if answer is None:
            options = step.options(session.known)
            answer = options[0] if step.kind == "choice" else "skip"
        outcome = app.answer(session.id, answer)
        if not outcome.result.accepted and step.id not in script and step.kind != "choice":
            outcome = app.answer(session.id, FILLER)
        assert outcome.result.accepted, (step.id, answer, outcome.result.error)
        session = outcome.session
    assert outcome is not None
    record_id = take_on or (outcome.record or {}).get("id")
    assert record_id, "no record was made"
    found = app.store.get_record(record_id)
    assert found is not None
    return found


def service(tmp_path: Path, nation: str) -> DecisionService:
    return DecisionService(Settings(school_name="Hillside", nation=nation),
                           TinyDBStore(tmp_path / "data"), clock=lambda: NOW)


STAFF = {"danger": "no", "trigger": "own_concern", "child_words": "skip",
         "child_wishes": "not_discussed", "opinion": "skip", "knows_family": "no",
         "optimism": "same", "urgent": "no", "dsl_reached": "spoken", "route_check": "keep",
         "confirm": "submit"}
DSL = {"knows_family": "no", "optimism": "same", "children_more": "skip",
       "purpose": "yes", "purpose_detail": "Child protection enquiry", "identifiable": "yes",
       "confidential": "yes", "tell_risk": "no", "family_view": "told_not_asked",
       "barrier_check": "same", "decision": "share", "also_to": "none",
       "what_to_share": "What the child said and what was seen", "how": "secure_email",
       "rationale": "Shared to protect the child, as recorded above.", "followup": "skip",
       "confirm": "submit"}


@pytest.mark.parametrize("nation", ["england", "wales", "scotland", "northern_ireland"])
def test_a_mark_from_a_blow_under_read_by_staff_is_the_dsls_to_judge(
        tmp_path: Path, nation: str) -> None:
    app = service(tmp_path, nation)
    concern = walk(app, "USTAFF", {**STAFF, "child_ref": "MN", "level": "child_in_need",
                                   "facts": "Red hand-shaped mark on his cheek; he said dad "
                                            "hit him hard last night."})
    assert concern["awaiting_dsl_decision"]
    rec = walk(app, "UDSL", {**DSL, "level": "significant", "recipient": "social_care",
                             "tell_risk": "parent_source", "not_to_tell": "dad",
                             "data_kind": "special", "consent_reason": "c"},
               take_on=concern["id"])
    assert rec["level_of_concern"] == "significant"
    assert rec["concern"]["level_of_concern"] == "child_in_need"
    assert rec["decision"] == "share" and rec["decided_by"]["by"] == "UDSL"
    assert rec["destination"], "Goes to kept after take-on"
    assert rec["when"] == "today"  # at significant harm
    assert "level" in rec["answered_by_dsl"] and "facts" not in rec["answered_by_dsl"]
    # Her own answer even where it is the same as the staff member's.
    assert "knows_family" in rec["answered_by_dsl"] and "child_ref" not in rec["answered_by_dsl"]
    assert rec["family"]["told"] is False and rec["family"]["consent"] == ""


def test_a_sixteen_year_olds_refusal_is_weighed_and_overriding_it_has_a_reason(
        tmp_path: Path) -> None:
    app = service(tmp_path, "wales")
    concern = walk(app, "USTAFF", {
        **STAFF, "child_ref": "KL", "pupil_age": "16_17", "level": "significant",
        "facts": "She said her mum's boyfriend touched her when mum was out.",
        "child_words": "\"Please don't tell my mum\"", "child_wishes": "refuses",
        "child_views": "She does not want her mum told."})
    assert concern["child_wishes"]["answer"] == "refuses"
    rec = walk(app, "UDSL", {**DSL, "level": "significant", "recipient": "social_care",
                             "tell_risk": "sexual_abuse", "data_kind": "special",
                             "consent_reason": "refused_risk",
                             "consent_refused_why": "Risk of sexual abuse at home.",
                             "child_override": "Her safety at home outweighs her wish."},
               take_on=concern["id"])
    wishes = rec["child_wishes"]
    assert wishes["answer"] == "refuses" and wishes["override_reason"]
    special = rec["special_category"]
    assert special["para18_reason"] == "refused_risk" and special["refused_why"]
    assert special["para18_reason"] != "b"  # she was asked: never "cannot be obtained"


def test_in_domestic_abuse_only_the_parent_who_was_told_is_recorded_as_told(
        tmp_path: Path) -> None:
    app = service(tmp_path, "england")
    rec = walk(app, "UDSL", {
        **STAFF, **DSL, "trigger": "dsl_recording", "concern_type": "general",
        "child_ref": "OP", "level": "child_in_need", "recipient": "early_help",
        "facts": "Mum says dad is violent to her at home; the children hear it.",
        "not_to_tell": "Dad", "family_view": "one_parent",
        "family_told_who": "Mum, who agreed to early help", "data_kind": "special",
        "consent_reason": "consented"}, dsl=True)
    family = rec["family"]
    assert family["view"] == "one_parent" and family["told_who"].startswith("Mum")
    assert family["not_to_tell"] == "Dad"
    assert family["consent"] != "given"  # not "Told, and they agreed"


def test_an_adult_pupils_half_sisters_have_the_record_in_their_chronologies(
        tmp_path: Path) -> None:
    app = service(tmp_path, "england")
    rec = walk(app, "UDSL", {
        **STAFF, **DSL, "trigger": "dsl_recording", "concern_type": "general",
        "child_ref": "PQ", "pupil_age": "18_plus", "level": "significant",
        "facts": "Year 13 student, 18, says her stepdad hits her; her younger half-sisters "
                 "live in the home.",
        "child_wishes": "refuses", "child_views": "She plans to leave home.",
        "care_needs": "no", "others_at_risk": "RS (half-sister), TU (half-sister)",
        "recipient": "social_care", "data_kind": "both", "consent_reason": "refused_risk",
        "consent_refused_why": "Her sisters are at risk at home."}, dsl=True)
    assert rec["pupil"]["adult"] is True
    assert rec["family"]["told"] is None and rec["family"]["not_told_reason"] == ""
    assert [c["ref"] for c in rec["children"]] == ["PQ", "RS", "TU"]
    for ref in ("RS", "tu"):
        assert [r["id"] for r in app.access.chronology(ref, by="UDSL", allowed=True)] == [rec["id"]]


def test_attendance_data_asks_no_para_18_question(tmp_path: Path) -> None:
    app = service(tmp_path, "england")
    rec = walk(app, "UDSL", {
        **STAFF, **DSL, "trigger": "dsl_recording", "concern_type": "general",
        "child_ref": "WX", "level": "child_in_need", "recipient": "early_help",
        "facts": "Attendance has fallen to 70% this term; the attendance officer asks for "
                 "the register.", "data_kind": "ordinary"}, dsl=True)
    special = rec["special_category"]
    assert special is None or (special["data_kind"] == "ordinary"
                               and special["para18_reason"] == "")


def test_a_home_education_notice_goes_to_three_recipients_each_with_how_and_when(
        tmp_path: Path) -> None:
    app = service(tmp_path, "northern_ireland")
    rec = walk(app, "UDSL", {
        **STAFF, **DSL, "trigger": "dsl_recording", "concern_type": "general",
        "child_ref": "GH", "level": "child_in_need", "recipient": "social_worker",
        "facts": "Parents have given notice of elective home education; child has a social "
                 "worker.", "when": "today",
        "also_to": "local_authority", "also_how": "secure_email",
        "also_when": "next_working_day", "also_to_3": "police",
        "also_how_3": "phone_followup", "also_when_3": "today", "also_to_4": "none"},
        dsl=True)
    assert [(r["kind"], r["when"]) for r in rec["recipients"]] == [
        ("social_worker", "today"), ("local_authority", "next_working_day"),
        ("police", "today")]
    # Telling an allocated social worker is not a referral to chase.
    assert "chase_referral" not in [f["action"] for f in rec["follow_up"]]
