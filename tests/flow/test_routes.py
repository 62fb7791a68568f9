"""The routes and safety gates of DOMAIN.md section 8, walked end to end.

Each test plays a case as a member of staff would and asserts the outcome and
the record's fields, never the wording (a school may reword any template).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from bot import record as records
from bot.config import Contact, Settings
from bot.flow import Flow, Session
from bot.flow.steps import FLOW_VERSION, is_dsl, location_request
from tests import scenarios as sc

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # a Wednesday


def make_flow(**settings: Any) -> Flow:
    return Flow(Settings(school_name="Hillside Primary", **settings), clock=lambda: NOW)


@pytest.fixture
def flow() -> Flow:
    return make_flow()


def play(flow: Flow, answers: list[str], *, dsl: bool = False) -> Session:
    session = flow.start("U1", dsl=dsl)
    for answer in answers:
        step = flow.current(session)
        result = flow.answer(session, answer)
        assert result.accepted, f"{step.id if step else None}: {answer!r}: {result.error}"
    return session


def until(flow: Flow, answers: list[str], step_id: str, *, dsl: bool = False) -> Session:
    """Answer until ``step_id`` is the question asked."""
    session = flow.start("U1", dsl=dsl)
    for answer in answers:
        if flow.current(session).id == step_id:
            return session
        assert flow.answer(session, answer).accepted, (flow.current(session).id, answer)
    assert flow.current(session).id == step_id
    return session


def build(flow: Flow, session: Session) -> dict[str, Any]:
    assert flow.done(session), flow.current(session)
    return records.build(session, flow.settings, flow.prompts, now=NOW)


def choices(flow: Flow, session: Session) -> list[str]:
    question = flow.question(session)
    assert question is not None
    return [value for value, _ in question.choices]


def actions(rec: dict[str, Any]) -> list[str]:
    return [f["action"] for f in rec["follow_up"]]


# -- the unverified requester ------------------------------------------------

def test_unverified_requester_is_never_offered_share(flow: Flow) -> None:
    session = until(flow, sc.UNVERIFIED_POLICE, "decision", dsl=True)
    assert choices(flow, session) == ["defer", "do_not_share"]
    assert not flow.answer(session, "share").accepted
    rec = build(flow, play(flow, sc.UNVERIFIED_POLICE, dsl=True))
    assert rec["decision"] == "defer"
    assert rec["requester"]["verified"] == "not_verified"
    assert rec["recipient"] is None  # "requested by", never "recipient"
    assert "verify_requester" in actions(rec)
    # The DSL's eye lands first on the verification status.
    first = records.summary(rec, flow.prompts)[0]
    assert first[0] == "requester_verified"


def test_unverified_requester_gets_how_to_verify_at_once(flow: Flow) -> None:
    session = until(flow, sc.UNVERIFIED_POLICE, "requester_verified")
    result = flow.answer(session, "not_verified")
    assert any("101" in notice for notice in result.notices)


def test_location_request_is_warned_and_goes_to_the_dsl(flow: Flow) -> None:
    verified = [*sc.POLICE_PREJUDICE]
    verified[verified.index("What we know about the injury and what the child said")] = (
        "Where mum and the children are living now, and her phone number")
    session = until(flow, verified, "decision", dsl=True)
    assert choices(flow, session) == ["defer", "do_not_share"]
    assert location_request(session.known)


def test_verified_request_shows_verification_but_offers_share(flow: Flow) -> None:
    rec = build(flow, play(flow, sc.POLICE_PREJUDICE, dsl=True))
    fields = dict((key, value) for key, _, value in records.summary(rec, flow.prompts))
    assert fields["requester_verified"] and list(fields)[0] == "requester_verified"
    assert rec["decision"] == "share"


# -- telling the DSL, and the child's own wishes --------------------------------

def test_child_asking_for_secrecy_still_reaches_the_dsl(flow: Flow) -> None:
    session = until(flow, sc.CHILD_SECRET, "child_wishes")
    result = flow.answer(session, "secret")
    # Never promise confidentiality: said at once (once: already, if their words asked it).
    assert result.notices or "secrecy" in session.barriers["shown"]
    session = play(flow, sc.CHILD_SECRET)
    rec = build(flow, session)
    assert rec["decision"] == "tell_dsl"
    assert rec["recipient"] == {"kind": "dsl_only", "detail": ""}
    assert "secrecy" in rec["barriers"]["shown"]
    assert rec["child_wishes"]["answer"] == "secret"
    # Telling the DSL is internal: no consent, no para 18(2) question, no basis.
    asked = set(session.history)
    assert not asked & {"family_view", "consent_reason", "tell_risk", "decision"}
    assert rec["family"]["told"] is None and rec["lawful_basis"]["suggested"] is None
    confirm = until(flow, sc.CHILD_SECRET, "confirm")
    assert flow.context(confirm)["suggested_basis"] is None  # none shown before submitting


def test_child_refusal_binds_only_for_optional_support_at_low_levels(flow: Flow) -> None:
    base = [*sc._CONCERN, "AB", "Tearful in class this week; parents separating.", "skip",
            "refuses", "She doesn't want anyone else to know", "skip", "no", "same"]
    low = play(flow, [*base, "child_in_need", "skip", "early_help", "yes", "Support", "yes", "no",
                      "no", "agreed"])
    assert choices(flow, low) == ["do_not_share", "defer"]
    high = play(flow, [*base, "significant", "skip", "social_care", "yes", "Referral", "no",
                       "no", "agreed"])  # a referral: no barrier check
    assert "share" in choices(flow, high)


def test_family_told_comes_only_from_a_direct_answer(flow: Flow) -> None:
    rec = build(flow, play(flow, sc.CHILD_SECRET))
    assert rec["family"]["told"] is None  # only the child spoke: nothing inferred
    rec = build(flow, play(flow, sc.EARLY_HELP_CONSENT))
    assert rec["family"]["told"] is True and rec["family"]["view"] == "agreed"


# -- significant harm, not shared -------------------------------------------------

def test_significant_harm_not_shared_is_challenged_then_marked_for_sign_off(flow: Flow) -> None:
    session = until(flow, sc.SIGNIFICANT_NOT_SHARED, "challenge")
    assert choices(flow, session) == ["change", "keep"]
    rec = build(flow, play(flow, sc.SIGNIFICANT_NOT_SHARED))
    assert rec["decision"] == "do_not_share"
    assert rec["second_signoff"]["required"] is True
    assert actions(rec)[0] == "second_signoff"
    assert rec["follow_up"][0]["due"] == "2026-11-25"  # same day
    assert records.summary(rec, flow.prompts)[0][0] == "second_signoff"
    assert rec["how"] == rec["when"] == rec["what_to_share"] == ""
    assert rec["lawful_basis"]["suggested"] is None  # nothing shared, no sharing basis


def test_changing_the_decision_after_the_challenge_goes_back_to_it(flow: Flow) -> None:
    session = until(flow, sc.SIGNIFICANT_NOT_SHARED, "challenge")
    assert flow.answer(session, "change").accepted
    assert flow.current(session).id == "decision"
    assert "decision" not in session.answers
    for answer in ("share", "The bruise and what he said", "special", "c", "phone_followup",
                   "none",
                   "Referred to social care today.", "skip", "submit"):
        assert flow.answer(session, answer).accepted, answer
    rec = build(flow, session)
    assert rec["decision"] == "share" and rec["second_signoff"]["required"] is False
    assert "chase_referral" in actions(rec)


def test_deferring_significant_harm_past_today_is_challenged(flow: Flow) -> None:
    script = sc.SIGNIFICANT_NOT_SHARED
    head = script[: script.index("do_not_share")]
    session = play(flow, [*head, "defer", "tomorrow"])
    assert flow.current(session).id == "challenge"
    today = play(flow, [*head, "defer", "today 15:00"])
    assert flow.current(today).id == "rationale"


# -- immediate danger --------------------------------------------------------------

def test_danger_yes_then_cancel_keeps_an_emergency_record(flow: Flow) -> None:
    session = play(flow, ["yes"])
    assert session.events and not flow.done(session)
    rec = records.build_alert_only(session, flow.settings, flow.prompts, now=NOW)
    assert rec["kind"] == "emergency" and rec["decision"] == "alert_only"
    assert rec["immediate_danger"]["alerted_at"] == "2026-11-25T10:00:00Z"
    assert actions(rec) == ["emergency_followup"]
    assert records.verify({**rec, "id": None}) == []


def test_call_999_is_an_instruction(flow: Flow) -> None:
    for answer in ("yes", "not_sure"):
        session = flow.start("U1")
        notice = flow.answer(session, answer).notices[0]
        assert notice.startswith("Call 999 now")
        assert "alerted" not in notice  # only a front end that alerted may say so


# -- lawful basis ------------------------------------------------------------------

def test_independent_school_gets_recognised_legitimate_interest(flow: Flow) -> None:
    independent = make_flow(school_type="independent")
    rec = build(independent, play(independent, sc.EARLY_HELP_CONSENT))
    assert rec["lawful_basis"]["suggested"]["article6"] == "independent"
    text = records.basis_text(rec, independent.prompts)
    assert text.index("Recognised legitimate interest") < text.index("6(1)(ea)")


def test_basis_shows_plain_english_first_and_is_never_consent(flow: Flow) -> None:
    for script in (sc.EARLY_HELP_CONSENT, sc.PREVENT, sc.REFUSED_SIGNIFICANT):
        rec = build(flow, play(flow, script))
        text = records.basis_text(rec, flow.prompts)
        assert text.startswith("Public task") and "6(1)(e)" in text
        assert "6(1)(a)" not in text and "9(2)(a)" not in text


def test_vital_interests_only_for_the_emergency_itself(flow: Flow) -> None:
    continued = ["yes", "Called 999 at 09:10", "QR", "continue", *sc.EARLY_HELP_CONSENT[1:]]
    continued.remove("EF")  # the child was named in the emergency record already
    rec = build(flow, play(flow, continued))
    assert rec["lawful_basis"]["suggested"]["article6"] == "public_task"
    assert rec["lawful_basis"]["emergency"]["article6"] == "vital_interests"


def test_staff_are_not_asked_to_pick_a_basis(flow: Flow) -> None:
    session = play(flow, sc.POLICE_PREJUDICE, dsl=True)
    assert "lawful_basis" not in session.history


@pytest.mark.parametrize("script", [sc.STAFF_POLICE_REQUEST, sc.STAFF_UNVERIFIED_REQUEST,
                                    sc.STAFF_RECORDS_REQUEST, sc.STAFF_ENCOMPASS],
                         ids=["request", "unverified", "records", "encompass"])
def test_staff_pass_every_request_to_the_dsl_and_decide_nothing(
        flow: Flow, script: list[str]) -> None:
    session = play(flow, script)
    rec = build(flow, session)
    decided = {"decision", "defer_until", "rationale", "data_kind", "consent_reason",
               "lawful_basis", "followup", "followup_due", "info_next", "purpose", "level",
               "challenge", "what_to_share", "how", "when"}
    assert not set(session.history) & decided
    assert rec["kind"] == "concern" and rec["path"] == "tell_dsl"
    assert rec["decision"] == "tell_dsl" and rec["awaiting_dsl_decision"] is True
    assert rec["lawful_basis"]["suggested"] is None and rec["special_category"] is None
    assert all(f["owner"] == "dsl" for f in rec["follow_up"])
    assert rec["concern_answers"]["child_ref"] == rec["child_ref"]
    assert not rec["recorded_by_dsl"]


def test_a_request_passed_on_keeps_who_what_and_by_when(flow: Flow) -> None:
    rec = build(flow, play(flow, sc.STAFF_POLICE_REQUEST))
    assert rec["requester"]["agency"] == "police" and rec["requester"]["verified"] == (
        "called_back")
    assert rec["requester"]["needed_by"] and rec["what_requested"].startswith("What we know")
    [decide] = rec["follow_up"]
    assert decide["action"] == "dsl_decide" and decide["due"] == rec["requester"]["needed_by"]
    text = records.render_text(rec, flow.prompts)
    assert "Answer needed by" in text and "Recording why" not in text


def test_staff_taking_a_request_for_an_address_are_warned_and_pass_it_on(flow: Flow) -> None:
    session = flow.start("U1")
    results = [flow.answer(session, a) for a in sc.STAFF_UNVERIFIED_REQUEST]
    assert all(r.accepted for r in results)
    notices = " ".join(n for r in results for n in r.notices)
    assert "victim of domestic abuse" in notices and "Share nothing" in notices
    rec = build(flow, session)
    assert rec["requester"]["location_request"] == "yes" and rec["decision"] == "tell_dsl"


def test_urgent_and_dsl_unreachable_staff_may_share_the_minimum(flow: Flow) -> None:
    session = flow.start("U1")
    results = [flow.answer(session, a) for a in sc.STAFF_REQUEST_CANNOT_WAIT]
    assert all(r.accepted for r in results)
    question = flow.prompts.block("steps/urgent.j2", "choice_referred", **flow.context(session))
    assert "shared the minimum" in question  # the choice itself says it
    rec = build(flow, session)
    assert rec["decision"] == "share" and rec["awaiting_dsl_decision"] is True
    assert rec["urgent"]["dsl_reached"] == "cannot_reach"
    assert "shared the minimum" in rec["rationale"]
    assert "Minimum shared by staff" in records.render_text(rec, flow.prompts)
    assert {f["owner"] for f in rec["follow_up"]} == {"dsl"}


def test_the_same_request_taken_by_the_dsl_ends_in_a_decision(flow: Flow) -> None:
    session = play(flow, sc.as_dsl_team(sc.POLICE_PREJUDICE), dsl=True)
    rec = build(flow, session)
    assert rec["kind"] == "decision" and rec["decision"] == "share"
    assert {"decision", "rationale", "data_kind"} <= set(session.history)
    assert not rec["awaiting_dsl_decision"]


def test_the_dsl_says_so_where_the_front_end_cannot_tell(flow: Flow) -> None:
    rec = build(flow, play(flow, sc.POLICE_PREJUDICE))
    assert rec["route"] == "request" and rec["decision"] == "share"
    assert rec["recorded_by_dsl"] and rec["trigger"] == "dsl_recording"


def test_staff_a_chat_service_knows_are_never_offered_i_am_the_dsl(flow: Flow) -> None:
    session = flow.start("U1", "slack", team_known=True)
    assert flow.answer(session, "no").accepted
    question = flow.question(session)
    assert question is not None and question.step == "trigger"
    assert "dsl_recording" not in dict(question.choices)
    for said in ("dsl_recording", "I'm the DSL or a deputy, deciding", "I am the DSL"):
        result = flow.answer(session, said)
        assert (result.accepted, result.code) == (False, "not_dsl_team")
        assert "Only the DSL team" in result.error
    # Even an answer stored by an older version does not make them the DSL.
    session.answers["trigger"] = "dsl_recording"
    assert not is_dsl(session.known)
    # The DSL team is offered it; so is anyone where the front end cannot tell.
    for dsl, known in ((True, True), (False, False)):
        other = flow.start("U2", "slack", dsl=dsl, team_known=known)
        flow.answer(other, "no")
        offered = flow.question(other)
        assert offered is not None and "dsl_recording" in dict(offered.choices)


# -- routes with their own duties -----------------------------------------------------

def test_fgm_disclosed_to_a_teacher_states_the_personal_duty(flow: Flow) -> None:
    session = until(flow, sc.FGM_DISCLOSED, "fgm_role")
    result = flow.answer(session, "teacher")
    assert any("101" in n and "yourself" in n for n in result.notices)
    rec = build(flow, play(flow, sc.FGM_DISCLOSED))
    assert rec["route"] == "fgm" and rec["route_details"]["duty_applies"] is True
    assert rec["route_details"]["fgm_police_ref"] == "101 ref 4455, 11:20 today"
    assert rec["recipient"]["kind"] == "police"
    assert rec["lawful_basis"]["suggested"]["article6"] == "legal_obligation_fgm"
    assert "report_fgm_police" not in actions(rec)  # already reported


def test_fgm_not_yet_reported_is_a_follow_up_by_the_next_working_day(flow: Flow) -> None:
    script = [*sc.FGM_DISCLOSED]
    i = script.index("reported")
    script[i:i + 2] = ["will_report"]
    rec = build(flow, play(flow, script))
    due = {f["action"]: f["due"] for f in rec["follow_up"]}
    assert due["report_fgm_police"] == "2026-11-26"


@pytest.mark.parametrize("nation", ["scotland", "northern_ireland"])
def test_fgm_outside_england_and_wales_follows_child_protection(nation: str) -> None:
    local = make_flow(nation=nation)
    session = until(local, sc.FGM_DISCLOSED, "child_words")
    assert "fgm_role" not in session.history
    assert "level" in [s.id for s in _remaining(local, session)]


def _remaining(flow: Flow, session: Session) -> list[Any]:
    probe = Session.from_dict(session.to_dict())
    steps = []
    while (step := flow.current(probe)) is not None and len(steps) < 60:
        steps.append(step)
        answer = (step.options(probe.answers)[0] if step.kind != "text"
                  else "2026-12-01" if step.check == "date" else "Some words here")
        flow.answer(probe, answer)
    return steps


def test_facts_that_mention_fgm_offer_the_route(flow: Flow) -> None:
    session = play(flow, [*sc._CONCERN, "AB",
                          "She said she is going abroad to be cut like her sister."])
    assert flow.current(session).id == "route_check"
    assert choices(flow, session) == ["fgm", "keep"]
    assert flow.answer(session, "fgm").accepted
    assert flow.current(session).id == "fgm_kind"


@pytest.mark.parametrize(("facts", "route"), [
    ("He has been watching extremist videos and talks about far-right groups.", "prevent"),
    ("She was pushed over by another pupil in the playground.", "child_on_child"),
    ("Mum says they are moving to a new school in Leeds next week.", "transfer"),
])
def test_facts_point_to_their_route(flow: Flow, facts: str, route: str) -> None:
    session = play(flow, [*sc._CONCERN, "AB", facts])
    assert choices(flow, session) == [route, "keep"]


def test_self_harm_cutting_does_not_offer_fgm(flow: Flow) -> None:
    session = play(flow, [*sc._CONCERN, "AB", "She has been cutting her arms and hiding it."])
    assert flow.current(session).id == "child_words"


def test_cp_file_transfer_goes_whole_with_no_consent_and_a_receipt(flow: Flow) -> None:
    session = play(flow, sc.CP_TRANSFER)
    rec = build(flow, session)
    assert rec["route"] == "transfer" and rec["decision"] == "share"
    assert rec["route_details"]["separate_from_pupil_file"] is True
    assert not set(session.history) & {"family_view", "consent_reason", "what_to_share"}
    assert "oversharing" not in rec["barriers"]["shown"]
    assert {f["action"]: f["due"] for f in rec["follow_up"]}["confirm_receipt"] == "2026-11-26"
    assert rec["lawful_basis"]["suggested"]["article6"] == "public_task"


def test_prevent_route(flow: Flow) -> None:
    rec = build(flow, play(flow, sc.PREVENT))
    assert rec["route"] == "prevent"
    assert rec["recipient"]["kind"] == "prevent"
    assert "chase_referral" in actions(rec)


def test_child_on_child_keeps_every_child_and_never_banter(flow: Flow) -> None:
    session = until(flow, sc.CHILD_ON_CHILD, "coc_kind")
    assert [b for b, _ in flow.question(session).reminders] == ["minimising"]
    result = flow.answer(session, "sexual_violence")
    assert any("police" in n for n in result.notices)
    rec = build(flow, play(flow, sc.CHILD_ON_CHILD))
    assert rec["route_details"]["other_children"] == "BB (Year 10)"
    assert rec["route_details"]["victim_wishes"]
    assert rec["lawful_basis"]["suggested"]["article10"] == "offence_data"


def test_information_received_does_not_replace_a_referral(flow: Flow) -> None:
    session = play(flow, sc.OPERATION_ENCOMPASS, dsl=True)
    rec = build(flow, session)
    assert rec["route"] == "info_received" and rec["decision"] == "received"
    assert rec["recipient"] is None and rec["lawful_basis"]["suggested"] is None
    refer = [*sc.OPERATION_ENCOMPASS]
    refer[refer.index("support_in_school")] = "refer_now"
    assert "dsl_consider_referral" in actions(build(flow, play(flow, refer, dsl=True)))


def test_record_only_has_no_recipient_or_basis_but_asks_optimism(flow: Flow) -> None:
    session = play(flow, sc.RECORD_ONLY)
    rec = build(flow, session)
    assert rec["decision"] == "record_only" and rec["level_of_concern"] == "low"
    assert rec["recipient"] is None and rec["lawful_basis"]["suggested"] is None
    assert "optimism" in session.history


@pytest.mark.parametrize("requester", ["solicitor", "court", "parent", "subject_access",
                                       "press", "unknown"])
def test_records_requests_go_to_the_dpo_without_pro_sharing_reminders(
        flow: Flow, requester: str) -> None:
    script = [*sc.NO_PURPOSE]
    script[script.index("solicitor")] = requester
    session = until(flow, script, "records_requester_name", dsl=True)
    assert flow.question(session).reminders == []
    session = play(flow, script, dsl=True)
    rec = build(flow, session)
    assert rec["route"] == "records_request" and rec["recipient"] is None
    assert rec["requester"]["agency"] == requester
    assert rec["barriers"]["shown"] == []
    assert not set(session.history) & {"hesitation", "barrier_check", "level"}
    assert "share" not in choices(flow, until(flow, script, "decision", dsl=True))


# -- allegations about adults ------------------------------------------------------------

@pytest.mark.parametrize(("about", "threshold", "settings", "to"), [
    ("staff", "harm", {}, "headteacher"),
    ("staff", "low_level", {}, "dsl"),
    ("staff", "low_level", {"low_level_concerns_to": "headteacher"}, "headteacher"),
    ("headteacher", "harm", {}, "chair"),
    ("headteacher", "harm", {"head_is_sole_proprietor": True}, "lado"),
    ("headteacher", "low_level", {}, "chair"),
    ("dsl", "harm", {}, "headteacher"),
    ("dsl", "low_level", {}, "headteacher"),
    ("dsl", "harm", {"dsl_is_head": True}, "chair"),
])
def test_allegation_goes_to_the_person_kcsie_names(about: str, threshold: str,
                                                   settings: dict[str, Any], to: str) -> None:
    local = make_flow(**settings)
    script = ["no", "allegation", about, threshold, "AB",
              "Told by a pupil at lunch today what happened.", "skip", "skip", "submit"]
    rec = build(local, play(local, script))
    assert rec["routing"]["to"] == to
    assert rec["facts"]  # the facts are recorded
    if to != "dsl":
        # Not for the DSL channel: held until a contact is set, or sent to them.
        assert rec["delivery"]["state"] == "held"
        assert actions(rec) == [f"tell_{to}"]


def test_allegation_with_a_contact_user_id_is_sent_to_them() -> None:
    local = make_flow(headteacher=Contact(name="Mrs Head", user_id="UHEAD"))
    rec = build(local, play(local, sc.ALLEGATION_DSL))
    assert rec["routing"] == {"to": "headteacher", "user_id": "UHEAD", "contact": "Mrs Head"}
    assert rec["delivery"]["state"] == "pending"


# -- the rule of optimism -----------------------------------------------------------------

@pytest.mark.parametrize("said", [
    "Mum's lovely, I'm sure it's nothing", "She's a great mum", "He's very mature",
    "It was consensual", "Just banter", "Boys being boys", "She's attention-seeking",
])
def test_optimism_cues_cover_the_ways_people_say_it(flow: Flow, said: str) -> None:
    session = play(flow, [*sc._CONCERN, "AB", "Came in late again today.", "skip",
                          "not_discussed", said, "no"])
    assert flow.question(session).reminders[0][0] == "optimism"


def test_neglect_facts_at_a_low_level_cue_optimism(flow: Flow) -> None:
    session = play(flow, [*sc._CONCERN, "AB",
                          "Hungry every morning, same clothes all week, smells of alcohol at home",
                          "skip", "not_discussed", "skip", "no", "same", "low", "skip",
                          "early_help",
                          "yes", "Support", "yes", "no", "no", "agreed"])
    assert "optimism" in [b for b, _ in flow.question(session).reminders]


def test_optimism_cue_in_the_rationale_is_caught_before_submitting(flow: Flow) -> None:
    script = [*sc.EARLY_HELP_REFUSED]
    script[script.index("Parents declined early help; no risk of harm, so the refusal stands. "
                        "Keep monitoring.")] = "I want to give dad a chance to explain first."
    session = until(flow, script, "confirm")
    assert [b for b, _ in flow.question(session).reminders][0] == "optimism"


# -- wording ---------------------------------------------------------------------------------

def test_no_line_is_said_twice_on_one_screen(flow: Flow) -> None:
    for script, _, _ in sc.OUTCOMES.values():
        session = flow.start("U1")
        for answer in script:
            question = flow.question(session)
            result = flow.answer(session, answer)
            lines = [question.text, question.help, *(t for _, t in question.reminders),
                     *result.notices]
            said = [line.strip() for text in lines for line in text.splitlines() if line.strip()]
            assert len(said) == len(set(said)), said


def test_the_dsl_is_never_told_to_seek_the_dsls_advice() -> None:
    flow = make_flow(dsl=replace(Contact(), name="Ms Khan"))
    session = flow.start("UDSL", dsl=True)
    flow.answer(session, "no")
    flow.answer(session, "own_concern")
    notice = flow.answer(session, "not_sure").notices[0]
    assert "Ms Khan" not in notice


# -- versions ------------------------------------------------------------------------------------

def test_old_question_set_sessions_carry_on(flow: Flow) -> None:
    old = Session(id="s1", user="U1", source="slack", created_at="2026-11-20T10:00:00.000000Z",
                  updated_at="2026-11-20T10:00:00.000000Z", flow_version="2026.11-1",
                  answers={"danger": "no", "trigger": "own_concern", "allegation": "no",
                           "child_ref": "AB", "facts": "Old facts typed under the old set"},
                  history=["danger", "trigger", "allegation", "child_ref", "facts"])
    question = flow.question(old)
    assert old.flow_version == FLOW_VERSION
    assert old.history == ["danger", "trigger"]
    assert question.step == "child_ref"
    assert old.drafts["facts"] == "Old facts typed under the old set"  # nothing typed is lost


def test_old_records_still_render(flow: Flow) -> None:
    old = {
        "id": "ISD-2026-0007", "session_id": "x", "kind": "decision", "flow_version": "2026.11-1",
        "guidance_version": "old", "school": "Hillside", "nation": "england",
        "created_at": "2026-11-20T10:00:00Z", "updated_at": "2026-11-20T10:00:00Z",
        "recorded_by": "U1", "source": "slack", "status": "submitted", "trigger": "request",
        "requester": {"agency": "police", "name_role": "DC X", "verified": "called_back"},
        "child_ref": "AB", "immediate_danger": {"answer": "no", "action": "",
                                                "alerted_at": None},
        "allegation_against_adult": "no", "facts": "Old facts", "child_words": "",
        "opinion": "", "knows_family": "no", "level_of_concern": "significant",
        "purpose": {"answer": "yes", "detail": "x"},
        "recipient": {"kind": "police", "detail": "DC X"}, "identifiable": "yes",
        "confidential": "yes",
        "family": {"tell_risk": "no", "told": True, "not_told_reason": "",
                   "consent": "given", "override_reason": "", "override_reason_unsure": False},
        "lawful_basis": {"suggested": {"article6": "6(1)(a)", "article9": "9(2)(a)",
                                       "situation": "consent"},
                         "staff_view": "accept", "confirmed": None},
        "what_to_share": "x", "how": "secure_email", "when": "today",
        "barriers": {"shown": ["fears"], "view_changed": False}, "decision": "share",
        "defer_until": "", "rationale": "Old reasons",
        "advice": {"needed": False, "not_sure_at": [], "sought": ""},
        "follow_up": [], "review_status": "pending", "review": None, "notes": [],
        "delivery": {"state": "posted"}, "audit": [],
    }
    text = records.render_text(old, flow.prompts)
    assert "Old reasons" in text and "They agreed" in text and "6(1)(a)" in text
    fields = dict((key, value) for key, _, value in records.summary(old, flow.prompts))
    assert fields["decision"] == "Share" and "6(1)(a)" in fields["lawful_basis"]


def test_a_dsl_referring_a_named_child_is_not_asked_whether_it_identifies_them(
        flow: Flow) -> None:
    for script in (sc.REFUSED_SIGNIFICANT, sc.CHILD_ON_CHILD):  # social care; the police
        session = play(flow, script)
        assert "identifiable" not in session.history
        assert "confidential" in session.history
        assert build(flow, session)["identifiable"] == "yes"  # a referral names the child
    # Sharing with anyone else (early help here) still asks it.
    session = play(flow, sc.EARLY_HELP_CONSENT)
    assert "identifiable" in session.history
