"""The DSL's own judgement, the child's voice and records that never
misstate (DOMAIN.md sections 3 step 7, 8 and 10), walked end to end.

Each test plays a case as staff and then as the DSL, and asserts the route,
what the person is shown and the record's fields.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
    "Red hand-shaped mark on his cheek this morning; he said dad hit him hard last night:"
    " \"Dad hit me because I was slow\"",  # the child's words, in quotes
    "not_discussed",
    "skip", "same_unknown",
    "child_in_need",  # the teacher's level
    "no",
]


def test_take_on_shows_the_staff_account_first_and_asks_the_dsls_own_level(flow: Flow) -> None:
    concern = staff_concern(flow, HIT_HARD)
    session = take_on(flow, concern)
    first = flow.question(session)
    assert first is not None
    assert concern["facts"] in first.preface and "Dad hit me because I was slow" in first.preface
    assert concern["facts"] not in first.text  # never in a notification's text
    asked = play(flow, session, ["no", "same", "significant", "skip"])
    assert asked == ["knows_family", "optimism", "level", "children_more"]
    level = flow.question(session)
    assert level is not None and level.step == "recipient"
    assert session.answers["level"] == "significant"


def test_no_refusal_stands_on_the_staff_members_level(flow: Flow) -> None:
    """The father refused; the DSL judged it significant harm: Share stays."""
    concern = staff_concern(flow, HIT_HARD)
    session = take_on(flow, concern)
    play(flow, session, ["no", "same", "significant", "skip", "social_care", "yes",
                         "Referral to children's social care", "yes", "no",
                         "refused"])  # a referral: no barrier check
    question = flow.question(session)
    assert question is not None and question.step == "decision"
    assert [v for v, _ in question.choices][0] == "share"
    assert "refusal stands" not in question.help


def test_both_levels_are_kept_each_attributed(flow: Flow) -> None:
    concern = staff_concern(flow, HIT_HARD)
    session = take_on(flow, concern)
    play(flow, session, ["no", "same", "significant", "skip", "social_care", "yes",
                         "Referral to children's social care", "yes",
                         "parent_source", "dad", "share",
                         "The mark, when it was seen and what he said", "special", "c",
                         "phone_followup", "none",
                         "A blow hard enough to leave a mark: referral today.", "skip",
                         "submit"])
    rec = decide(flow, concern, session)
    assert rec["level_of_concern"] == "significant" and rec["decided_by"]["by"] == "UDSL"
    assert rec["concern"]["level_of_concern"] == "child_in_need"
    assert rec["concern"]["by"] == "USTAFF"
    assert rec["destination"] == "childrens_social_care"  # "Goes to" kept after take-on
    text = records.render_text(rec, flow.prompts)
    assert "Staff level of concern" in text and "USTAFF" in text


def test_each_line_says_whose_answer_it_is_and_when(flow: Flow) -> None:
    """On a concern the DSL took on, the staff member's answers are theirs
    (when raised), the DSL's own answers and decision hers (when decided)."""
    concern = staff_concern(flow, HIT_HARD)
    session = take_on(flow, concern)
    play(flow, session, ["no", "same", "significant", "skip", "social_care", "yes",
                         "Referral to children's social care", "yes",
                         "parent_source", "dad", "share",
                         "The mark, when it was seen and what he said", "special", "c",
                         "phone_followup", "none",
                         "A blow hard enough to leave a mark: referral today.", "skip",
                         "submit"])
    built = records.build(session, flow.settings, flow.prompts, now=NOW)
    later = NOW + timedelta(hours=2)
    rec = records.decided(dict(concern), built, by="UDSL", at=later, answers=session.answers)
    assert "level" in rec["answered_by_dsl"] and "rationale" in rec["answered_by_dsl"]
    assert "facts" not in rec["answered_by_dsl"] and "child_words" not in rec["answered_by_dsl"]
    see = records.reading(rec, flow.prompts)
    staff = f"(given by {see['who']('USTAFF')}, {see['when'](concern['created_at'])})"
    dsl = f"(given by {see['who']('UDSL')}, {see['when'](records.iso(later))})"
    rows = {(label, value) for _, found in records.sections(rec, flow.prompts)
            for label, value in found}
    assert (("Facts", f"{concern['facts']}\n{staff}") in rows)
    assert any(label.endswith("level of concern") and value.endswith(dsl)
               and value.startswith("Significant") for label, value in rows), rows
    assert any(label == "Staff level of concern" and value.endswith(staff) for label, value in rows)
    assert any(label == "Reasons" and value.endswith(dsl) for label, value in rows)
    text = records.render_text(rec, flow.prompts)
    assert staff in text and dsl in text
    import io

    from pypdf import PdfReader

    from bot import exports
    rec["id"] = "ISD-2026-0001"
    pdf = exports.record_pdf(rec, flow.prompts, "Hillside", made_at=later, made_by="UDSL")
    printed = " ".join(" ".join(page.extract_text() for page in
                                PdfReader(io.BytesIO(pdf)).pages).split())
    assert staff in printed and dsl in printed
    # A record one person made says so once ("Recorded by"), not on every line.
    assert "given by" not in records.render_text(concern, flow.prompts)


def test_the_dsl_is_addressed_as_the_dsl(flow: Flow) -> None:
    concern = staff_concern(flow, HIT_HARD)
    session = take_on(flow, concern)
    play(flow, session, ["no", "same", "low", "skip"])
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
    assert "child_wishes" in asked and "family" in asked  # optimism and knowing the family


def test_old_concerns_without_the_childs_wishes_ask_the_dsl(flow: Flow) -> None:
    concern = staff_concern(flow, HIT_HARD)
    answers = {k: v for k, v in concern["concern_answers"].items() if k != "child_wishes"}
    session = flow.take_on("UDSL", "console", answers, "ISD-2026-0001")
    first = flow.question(session)
    assert first is not None and first.step == "child_wishes"
    assert concern["facts"] in first.preface


def test_no_screen_says_the_childs_wishes_were_asked_when_they_were_not(flow: Flow) -> None:
    session = flow.start("UDSL", dsl=True)
    session.answers.update({"danger": "no", "trigger": "request"})
    ctx = flow.context(session)
    text = flow.prompts.block("steps/family_view.j2", "help", **ctx)
    assert "wishes" not in text


SIXTEEN_SAYS_DONT_TELL_MUM = [
    "no", "dsl_recording", "general", "RS",
    "Year 11 pupil (16) says her mum's boyfriend hits her when mum is at work.",
    "16_17",  # how old: asked, because the facts say 16
    "\"Please don't tell my mum, she'll throw me out\"",
    "refuses", "She doesn't want her mum told; she wants it to stop.",
    "skip", "no", "same",
    "significant", "skip", "social_care", "yes", "Referral to children's social care",
    "yes", "parent_source", "mum's boyfriend", "share",
]


def test_sharing_against_a_young_persons_refusal_needs_the_dsls_reason(flow: Flow) -> None:
    session = flow.start("UDSL", dsl=True)
    play(flow, session, SIXTEEN_SAYS_DONT_TELL_MUM)
    question = flow.question(session)
    assert question is not None and question.step == "child_override"
    play(flow, session, ["Ongoing violence at home; she will be told who we tell and why.",
                         "What she told me and when", "special"])
    # She was asked and refused: no para 18(2) reason fits as worded.
    question = flow.question(session)
    assert question is not None and question.step == "consent_reason"
    assert [v for v, _ in question.choices] == ["refused_risk", "not_sure"]
    play(flow, session, ["refused_risk", "phone_followup", "none",
                         "Violence at home outweighs her wish; she knows who is told.",
                         "skip", "submit"])
    rec = records.build(session, flow.settings, flow.prompts, now=NOW)
    assert rec["special_category"]["para18_reason"] == "refused_risk"
    assert rec["special_category"]["refused_why"].startswith("Ongoing violence")
    assert rec["child_wishes"]["answer"] == "refuses"
    assert rec["child_wishes"]["override_reason"].startswith("Ongoing violence")
    assert rec["family"]["override_reason"] == ""  # the family was never asked
    assert rec["family"]["not_to_tell"] == "mum's boyfriend"
    assert rec["when"] == "today"  # significant harm: not asked, but recorded
    text = records.render_text(rec, flow.prompts)
    assert "Asked and refused" in text and "(b)" not in text


# -- para 18 as the Act has it ------------------------------------------------

ATTENDANCE_TO_EHE = [
    "no", "dsl_recording", "general", "TU",
    "Attendance has dropped to 60% this term; parents have given notice of home education.",
    "skip", "not_discussed", "skip", "no", "same",
    "child_in_need", "skip", "early_help", "yes", "Early help support around attendance",
    "yes", "no", "no", "told_not_asked", "same", "share",
    "Attendance figures for this term",
]


def test_para_18_is_not_asked_for_ordinary_personal_data(flow: Flow) -> None:
    session = flow.start("UDSL", dsl=True)
    play(flow, session, ATTENDANCE_TO_EHE)
    play(flow, session, ["ordinary"])
    question = flow.question(session)
    assert question is not None and question.step == "how"
    assert "consent_reason" not in session.answers


def test_para_18_is_never_asked_of_staff_who_are_not_the_dsl(flow: Flow) -> None:
    session = flow.start("USTAFF")
    asked = play(flow, session, sc.STAFF_POLICE_REQUEST)
    assert flow.done(session)
    assert not {"data_kind", "consent_reason", "decision", "rationale"} & set(asked)


def test_art_10_offered_for_an_alleged_abusers_data_to_any_recipient(flow: Flow) -> None:
    session = flow.start("UDSL", dsl=True)
    play(flow, session, ATTENDANCE_TO_EHE)
    play(flow, session, ["criminal", "b", "portal", "today", "none",
                         "Dad's conviction is relevant to the support offered.", "skip",
                         "submit"])
    rec = records.build(session, flow.settings, flow.prompts, now=NOW)
    assert rec["recipient"]["kind"] == "early_help"
    assert rec["lawful_basis"]["suggested"]["article10"] == "offence_data"


# -- parents as separate people ------------------------------------------------

DOMESTIC = [
    "no", "dsl_recording", "general", "WX",
    "Operation Encompass call: dad was arrested for hitting mum at home last night.",
    "skip", "not_discussed", "skip", "no", "same",
    "significant", "skip", "social_care", "yes", "Referral to children's social care",
    "yes", "parent_source",
]


def test_domestic_abuse_asks_who_must_not_be_told_and_of_whom(flow: Flow) -> None:
    session = flow.start("UDSL", dsl=True)
    play(flow, session, DOMESTIC)
    play(flow, session, ["dad"])
    question = flow.question(session)
    assert question is not None and question.step == "family_view"
    assert [v for v, _ in question.choices] == ["one_parent", "not_told"]
    play(flow, session, ["one_parent", "Mum, who agreed to the referral", "share",
                         "The incident and how the child is in school", "both", "c",
                         "phone_followup", "none", "Dad is the source of harm; mum knows.",
                         "skip",
                         "submit"])
    rec = records.build(session, flow.settings, flow.prompts, now=NOW)
    family = rec["family"]
    assert family["told"] is None and family["consent"] == ""  # never "the family"
    assert family["told_who"] == "Mum, who agreed to the referral"
    assert family["not_to_tell"] == "dad"
    text = records.render_text(rec, flow.prompts)
    assert "Family told" not in text and "Told, and they agreed" not in text


@pytest.mark.parametrize("asked", [
    "Who collects her from school now?", "Which days is he in school?",
    "Her daily routine and timetable", "What time does she finish on Fridays?",
])
def test_where_and_when_a_child_can_be_found_gets_the_address_warning(asked: str) -> None:
    from bot.flow.steps import location_request
    assert location_request({"trigger": "request", "what_requested": asked})


def test_the_warning_is_shown_when_the_request_is_typed(flow: Flow) -> None:
    session = flow.start("UDSL", dsl=True)
    play(flow, session, ["no", "request", "police", "PC Jones, response team", "called_back"])
    result = flow.answer(session, "Which days she is in school and who collects her")
    assert result.accepted and any("domestic abuse" in n for n in result.notices)


def test_an_ordinary_request_gets_no_address_warning() -> None:
    from bot.flow.steps import location_request
    assert not location_request({"trigger": "request",
                                 "what_requested": "Her attendance and any concerns"})


# -- records true and whole ----------------------------------------------------

def test_a_follow_up_naming_the_dsl_is_the_dsls(flow: Flow) -> None:
    from bot.record import followup_owner
    assert followup_owner("DSL to chase the Gateway team on Friday", "USTAFF") == "dsl"
    assert followup_owner("The deputy DSL will call the social worker", "USTAFF") == "dsl"
    assert followup_owner("Check in with her on Monday", "USTAFF") == "USTAFF"


def test_no_chase_the_referral_when_nothing_was_referred(flow: Flow) -> None:
    session = flow.start("UDSL", dsl=True)
    play(flow, session, [
        "no", "dsl_recording", "general", "YZ",
        "Parents have given notice of elective home education; child has a social worker.",
        "skip", "not_discussed", "skip", "no", "same", "child_in_need", "skip",
        "social_worker",
        "yes", "Tell the allocated social worker about the home education notice",
        "no", "no", "told_not_asked", "share", "The notice and its date",
        "ordinary", "secure_email", "today", "none", "The social worker must know today.",
        "skip",
        "submit"])
    rec = records.build(session, flow.settings, flow.prompts, now=NOW)
    assert rec["recipient"]["kind"] == "social_worker"
    assert "chase_referral" not in [f["action"] for f in rec["follow_up"]]


# -- several children, several recipients ----------------------------------------

# A notice of home education for a child with a social worker, two siblings:
# the social worker and the LA's elective home education team are told.
SIBLINGS_TWO_RECIPIENTS = [
    "no", "dsl_recording", "general", "GH",
    "Parents have given notice of elective home education; child has a social worker.",
    "skip", "not_discussed", "skip", "no", "same", "child_in_need",
    "JK (sister), LM (brother)",
    "social_worker", "yes", "Tell the social worker and the EHE team",
    "no", "no", "told_not_asked", "share", "The notice and its date",
    "ordinary", "secure_email", "today",
    "local_authority", "secure_email", "next_working_day", "none",
    "Both must know of the notice.", "skip", "submit"]


def test_several_children_and_two_recipients_each_with_how_and_when(flow: Flow) -> None:
    session = flow.start("UDSL", dsl=True)
    play(flow, session, SIBLINGS_TWO_RECIPIENTS)
    rec = records.build(session, flow.settings, flow.prompts, now=NOW)
    assert rec["child_ref"] == "GH"
    assert [(c["ref"], c["role"]) for c in rec["children"]] == [
        ("GH", "subject"), ("JK", "sibling"), ("LM", "sibling")]
    first, second = rec["recipients"]
    assert first["kind"] == rec["recipient"]["kind"] == "social_worker"
    assert (first["how"], first["when"]) == ("secure_email", "today")
    assert (second["kind"], second["how"], second["when"]) == (
        "local_authority", "secure_email", "next_working_day")
    assert second["basis"]["article6"] == "public_task"
    # No special category data said to be shared: no Art. 9 condition suggested.
    assert rec["lawful_basis"]["suggested"]["article9"] == ""
    assert ("other_children", "Other children", "JK, LM") in records.summary(rec, flow.prompts)
    text = records.render_text(rec, flow.prompts)
    assert "Also to" in text and "JK (sibling" in text


def test_a_decision_goes_to_as_many_recipients_as_it_needs(flow: Flow) -> None:
    """Social worker, the LA's elective home education team and the police:
    each asked one at a time, each with its own how and when; no one chosen
    twice is offered again."""
    session = flow.start("UDSL", dsl=True)
    script = SIBLINGS_TWO_RECIPIENTS[:SIBLINGS_TWO_RECIPIENTS.index("none")]
    asked = play(flow, session, script)
    assert asked[-3:] == ["also_to", "also_how", "also_when"]
    more = flow.question(session)
    assert more is not None and more.step == "also_to_3"
    offered = [v for v, _ in more.choices]
    assert offered[0] == "none" and "social_worker" not in offered
    assert "local_authority" not in offered and "police" in offered
    asked = play(flow, session, ["police", "phone_followup", "today", "none",
                                 "All three must know of the notice.", "skip", "submit"])
    assert asked[:4] == ["also_to_3", "also_how_3", "also_when_3", "also_to_4"]
    rec = records.build(session, flow.settings, flow.prompts, now=NOW)
    assert [(r["kind"], r["how"], r["when"]) for r in rec["recipients"]] == [
        ("social_worker", "secure_email", "today"),
        ("local_authority", "secure_email", "next_working_day"),
        ("police", "phone_followup", "today")]
    assert all(r.get("basis") for r in rec["recipients"])
    text = records.render_text(rec, flow.prompts)
    assert text.count("Also to") == 2 and "Police" in text


def test_one_recipient_is_asked_about_others_once(flow: Flow) -> None:
    session = flow.start("UDSL", dsl=True)
    script = SIBLINGS_TWO_RECIPIENTS[:SIBLINGS_TWO_RECIPIENTS.index("local_authority")]
    play(flow, session, [*script, "none"])
    question = flow.question(session)
    assert question is not None and question.step == "rationale"


def test_a_full_name_among_other_children_is_questioned(flow: Flow) -> None:
    session = flow.start("UDSL", dsl=True)
    play(flow, session, ["no", "dsl_recording", "general", "GH",
                         "Sibling group concern after a MARAC referral was discussed.",
                         "skip", "not_discussed", "skip", "no", "same", "child_in_need"])
    result = flow.answer(session, "Jane Smith")
    assert not result.accepted and result.code == "full_name"


# -- adult pupils -------------------------------------------------------------------

EIGHTEEN = [
    "no", "dsl_recording", "general", "PQ",
    "Year 13 student, 18, says her stepdad has been hitting her; her younger half-sisters "
    "live in the home.",
    "18_plus",
    "\"I don't want anyone to know, I'm moving out soon\"",
    "refuses", "She doesn't want it reported; she plans to leave home.",
    "skip", "no", "same",
    "significant",
]


def adult_flow(nation: str = "england") -> Flow:
    return Flow(Settings(school_name="Hillside College", nation=nation), clock=lambda: NOW)


def test_an_adult_pupils_refusal_stands_without_care_needs_or_children_at_risk() -> None:
    flow = adult_flow()
    session = flow.start("UDSL", dsl=True)
    asked = play(flow, session, [*EIGHTEEN, "no", "skip", "social_care", "yes",
                                 "Referral", "yes"])
    assert not {"tell_risk", "family_view"} & set(asked)  # she speaks for herself
    question = flow.question(session)
    assert question is not None and question.step == "decision"
    assert [v for v, _ in question.choices] == ["do_not_share", "defer"]
    assert "adult" in question.help
    # Her lawful refusal is not a child's significant harm left unshared.
    asked = play(flow, session, ["do_not_share"])
    assert "challenge" not in [*asked, getattr(flow.question(session), "step", "")]
    from bot.flow.steps import significant_not_shared
    assert not significant_not_shared(session.known)  # no second sign-off either


def test_children_at_risk_from_an_adult_pupils_case_are_concerns_of_their_own() -> None:
    flow = adult_flow()
    session = flow.start("UDSL", dsl=True)
    play(flow, session, [*EIGHTEEN, "no", "RS (half-sister), TU (half-sister)",
                         "social_care", "yes", "Referral for the younger children",
                         "yes"])
    question = flow.question(session)
    assert question is not None and "share" in [v for v, _ in question.choices]
    play(flow, session, ["share", "Ongoing violence; her sisters live in the home.",
                         "What she said about the violence at home", "both", "refused_risk",
                         "phone_followup", "none",
                         "Her sisters are at risk: referral for them; she knows who is told.",
                         "skip", "submit"])
    rec = records.build(session, flow.settings, flow.prompts, now=NOW)
    assert rec["pupil"] == {"age": "18_plus", "adult": True, "care_needs": "no",
                            "adult_at_risk": False}
    assert [(c["ref"], c["role"]) for c in rec["children"]] == [
        ("PQ", "subject"), ("RS", "at_risk"), ("TU", "at_risk")]
    family = rec["family"]
    assert family["told"] is None and family["not_told_reason"] == ""  # never asked
    assert rec["special_category"]["subject"] == "the pupil"


@pytest.mark.parametrize(("nation", "law"), [
    ("england", "Care Act 2014 s.42"),
    ("wales", "Social Services and Well-being (Wales) Act 2014 s.126"),
    ("scotland", "ASP(S)A 2007 s.3"),
    ("northern_ireland", "Prevention and Protection in Partnership")])
def test_an_adult_pupils_level_speaks_of_an_adult_at_risk_in_the_nations_law(
        nation: str, law: str) -> None:
    flow = adult_flow(nation)
    session = flow.start("UDSL", dsl=True)
    play(flow, session, EIGHTEEN[:-1])
    question = flow.question(session)
    assert question is not None and question.step == "level"
    choices = dict(question.choices)
    assert law in choices["significant"] and "adult" in choices["significant"]
    assert "adult" in choices["child_in_need"]
    assert "Significant harm" not in " ".join(choices.values())
    assert "adult" in question.help and "without delay" not in question.help
    play(flow, session, ["significant", "no", "skip", "social_care", "yes", "Referral",
                         "yes"])
    rec = records.build(session, flow.settings, flow.prompts, now=NOW)
    rows = dict(row for _, found in records.sections(rec, flow.prompts) for row in found)
    assert law in rows["Level of concern"]
    # A child's level stays a child's.
    child = flow.start("UDSL", dsl=True)
    play(flow, child, ["no", "dsl_recording", "general", "GH", "A bruise on his arm.",
                       "skip", "not_discussed", "skip", "no", "same"])
    level = flow.question(child)
    assert level is not None and level.step == "level"
    assert "adult" not in dict(level.choices)["significant"]


@pytest.mark.parametrize(("nation", "asked"), [("scotland", True), ("england", False)])
def test_adult_protection_from_16_in_scotland_only(nation: str, asked: bool) -> None:
    flow = adult_flow(nation)
    session = flow.start("UDSL", dsl=True)
    steps = play(flow, session, [
        "no", "dsl_recording", "general", "VW",
        "S5 pupil, 16, with a learning disability; an older man is taking her money.",
        "16_17", "skip", "not_discussed", "skip", "no", "same", "significant"])
    assert steps[-1] == "level"
    question = flow.question(session)
    assert question is not None
    assert (question.step == "care_needs") is asked
    if asked:
        play(flow, session, ["yes", "skip"])
        recipient = flow.question(session)
        assert recipient is not None and "adult_services" in [v for v, _ in recipient.choices]


# A worry nothing in it names a category of concern.
UNCATEGORISED = [
    "no", "own_concern", "QR",
    "Quieter than usual this week and keeps asking when home time is.",
    "not_discussed", "skip", "same_unknown", "child_in_need", "no",
]


def test_take_on_asks_the_category_once_where_the_answers_did_not_say(flow: Flow) -> None:
    concern = staff_concern(flow, UNCATEGORISED)
    assert concern["category"] == "" and concern["category_derived"] is True
    session = take_on(flow, concern)
    asked = play(flow, session, ["no", "same", "neglect", "significant"])
    assert asked == ["knows_family", "optimism", "category", "level"]
    question = flow.question(session)
    assert question is not None and question.step != "category"
    rec = records.decided(dict(concern), records.build(session, flow.settings, flow.prompts,
                                                       now=NOW),
                          by="UDSL", at=NOW, answers=session.answers)
    assert rec["category"] == "neglect" and rec["category_derived"] is False
    assert rec["derived"] == {"category": ""}
    assert "Neglect" in records.render_text(rec, flow.prompts)
    # Where the answers said (a mark from a blow: physical abuse), not asked.
    session = take_on(flow, staff_concern(flow, HIT_HARD))
    assert "category" not in play(flow, session, ["no", "same", "significant"])
