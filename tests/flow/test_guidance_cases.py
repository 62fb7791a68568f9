"""Hard cases on the guidance in force and the situations with their own
rules (DOMAIN.md sections 8 and 11), per nation, played through the service
as staff and as the DSL taking the concern on: asserted on the routes
offered, the notices and words shown, and the record as stored.

Every case sets the school's clock: the editions and duties are those in
force on the school's day, and a duty waiting for commencement is tested on
both sides of its start."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from bot import record as records
from bot.config import Settings, from_mapping
from bot.service import DecisionService
from storage import TinyDBStore
from tests.flow.test_hard_cases import DSL, FILLER, STAFF

TODAY = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
BEFORE = datetime(2026, 8, 31, 10, 0, tzinfo=UTC)
# Regulations commencing the later duties, as a school would set them.
START = date(2027, 4, 1)
EVE, DAY = datetime(2027, 3, 31, 12, tzinfo=UTC), datetime(2027, 4, 1, 12, tzinfo=UTC)
COMMENCED = {"guidance": {"commenced": {
    "mandatory_reporting": START, "cpa_mandatory_reporting": START,
    "cwsa_duty_to_share": START}}}


def school(nation: str, **more: Any) -> Settings:
    return from_mapping({"school": {"name": "Hillside", "nation": nation}, **more})


@dataclass
class Played:
    record: dict[str, Any]
    text: str  # the record as the DSL reads it in full
    notices: list[str] = field(default_factory=list)
    screens: list[str] = field(default_factory=list)
    offered: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def said(self) -> str:
        """Everything the person was shown: notices, questions, help, choices."""
        return "\n".join([*self.notices, *self.screens])

    def cited(self) -> dict[str, str]:
        return {g["id"]: g["year"] for g in self.record["guidance_cited"]}


def play(app: DecisionService, user: str, script: dict[str, str], *, dsl: bool = False,
         take_on: str = "") -> Played:
    """Answer every question by its step from ``script`` (any other: its first
    choice, or "skip"), keeping what was shown; returns the stored record."""
    session = app.take_on(take_on, user) if take_on else app.start(user, dsl=dsl)
    played = Played({}, "")
    outcome = None
    for _ in range(200):
        question = app.flow.question(session)
        step = app.flow.current(session)
        if question is None or step is None:
            break
        played.screens.append("\n".join([question.preface, question.text, question.help,
                                         *(label for _, label in question.choices)]))
        played.offered[step.id] = step.options(session.known)
        answer = script.get(step.id)
        if answer is None:
            answer = played.offered[step.id][0] if step.kind == "choice" else "skip"
        outcome = app.answer(session.id, answer)
        if not outcome.result.accepted and step.id not in script and step.kind != "choice":
            outcome = app.answer(session.id, FILLER)
        assert outcome.result.accepted, (step.id, answer, outcome.result.error)
        played.notices += outcome.result.notices
        session = outcome.session
    assert outcome is not None
    record_id = take_on or (outcome.record or {}).get("id")
    assert record_id, "no record was made"
    found = app.store.get_record(record_id)
    assert found is not None
    played.record, played.text = found, records.render_text(found, app.prompts)
    return played


def service(tmp_path: Path, settings: Settings, now: datetime) -> DecisionService:
    return DecisionService(settings, TinyDBStore(tmp_path / "data"), clock=lambda: now)


def staff(facts: str, **more: str) -> dict[str, str]:
    return {**STAFF, "child_ref": "EF", "level": "significant", "facts": facts, **more}


def dsl(**more: str) -> dict[str, str]:
    return {**DSL, "danger": "no", "level": "significant", "recipient": "social_care", **more}


def raised_and_taken_on(tmp_path: Path, nation: str, facts: str, now: datetime = TODAY,
                        settings: Settings | None = None, **decision: str
                        ) -> tuple[Played, Played]:
    app = service(tmp_path, settings or school(nation), now)
    concern = play(app, "USTAFF", staff(facts))
    assert concern.record["awaiting_dsl_decision"]
    taken = play(app, "UDSL", dsl(**decision), take_on=concern.record["id"])
    return concern, taken


# -- England: the editions in force on the day the record was made --------------

WORRY = "Child often arrives hungry and tired; mum says she is struggling since losing her job."


def test_england_records_cite_the_editions_of_their_own_day_and_keep_them(
        tmp_path: Path) -> None:
    old = play(service(tmp_path, school("england"), BEFORE), "USTAFF", staff(WORRY))
    new = play(service(tmp_path, school("england"), TODAY), "USTAFF", staff(WORRY))
    assert (old.cited()["kcsie"], old.cited()["working_together"]) == ("2025", "2023")
    assert (new.cited()["kcsie"], new.cited()["working_together"]) == ("2026", "2026")
    # Read today from the store, the 31 August record still says what it cited.
    stored = service(tmp_path, school("england"), TODAY).store.get_record(old.record["id"])
    assert stored is not None
    text = records.render_text(stored, service(tmp_path, school("england"), TODAY).prompts)
    assert "Keeping children safe in education 2025" in text
    assert "Working together to safeguard children 2023" in text
    assert "2026" not in stored["guidance_version"]
    assert "KCSIE 2026" in new.record["guidance_version"]


def test_family_help_is_offered_from_2026_and_older_records_keep_early_help(
        tmp_path: Path) -> None:
    old = play(service(tmp_path, school("england"), BEFORE), "USTAFF",
               staff(WORRY, level="child_in_need"))
    new = play(service(tmp_path, school("england"), TODAY), "USTAFF",
               staff(WORRY, level="child_in_need"))
    assert "Family Help" in new.said and "Family Help" in new.text
    assert "Family Help" not in old.said and "Family Help" not in old.text
    assert "early help" in old.text


def test_a_record_names_only_the_guidance_that_bears_on_it(tmp_path: Path) -> None:
    lines = play(service(tmp_path, school("england"), TODAY), "USTAFF", staff(
        "He was found in another city with a burner phone and cash; police think county "
        "lines."))
    assert "county_lines" in lines.cited() and lines.record["situations"] == ["exploitation"]
    for unrelated in ("Prevent", "FGM", "UKCIS", "Forced marriage", "Private fostering"):
        assert unrelated not in lines.record["guidance_version"], unrelated
        assert unrelated not in lines.text.split("SOURCES")[-1], unrelated
    assert "significant harm" in lines.said


def test_a_decision_not_to_refer_is_recorded_with_its_reasons(tmp_path: Path) -> None:
    app = service(tmp_path, school("england"), TODAY)
    played = play(app, "UDSL", {**dsl(level="child_in_need"), "trigger": "dsl_recording",
                                "concern_type": "general", "facts": WORRY, "child_ref": "EF",
                                "child_words": "skip", "child_wishes": "not_discussed",
                                "child_views": "skip", "opinion": "skip",
                                "decision": "do_not_share",
                                "rationale": "Support in school first: breakfast club and a "
                                             "weekly check-in; reviewed in two weeks."},
                  dsl=True)
    assert "rationale" in played.offered
    assert played.record["decision"] == "do_not_share"
    assert "breakfast club" in played.record["rationale"] and "breakfast club" in played.text
    [part_one] = [g for g in played.record["guidance_cited"]
                  if g["id"] == "kcsie_part_one_records"]
    assert "not to refer" in part_one["section"] and part_one["year"] == "2026"


# -- nude and semi-nude images, on the staff path and when the DSL takes it on ----

IMAGE = ("A Year 9 girl's topless photo was forwarded to the Year 9 group chat by another "
         "pupil; a boy showed it to me on his phone.")


def test_an_image_is_a_cue_for_staff_and_the_dsl_sees_her_thresholds_on_take_on(
        tmp_path: Path) -> None:
    concern, taken = raised_and_taken_on(tmp_path, "england", IMAGE)
    assert "don't view, copy, print, share, save or delete it" in concern.said
    assert "every incident gets a safeguarding response" in concern.said
    assert "Report Remove" not in concern.said  # the staff notice stays short
    assert "child_on_child" in concern.offered["route_check"]  # offered, not forced
    assert concern.record["route"] == "concern"
    # The DSL, taking it on, gets her own notice above her first question.
    assert "Report Remove" in taken.said and "under 13" in taken.said
    assert "You decide on the police" in taken.said and "Tell the DSL" not in taken.said
    assert taken.record["situations"] == ["nudes"] and "ukcis_nudes" in taken.cited()
    assert "Nude or semi-nude images" in taken.text


# -- self-harm is never FGM -------------------------------------------------------

@pytest.mark.parametrize("facts", [
    "She's cutting again; fresh cuts on her arm she tried to hide.",
    "Her friend says she has been hurting herself again at home.",
    "He told me he wants to self harm and has been cutting himself.",
])
@pytest.mark.parametrize("nation", ["england", "wales"])
def test_self_harm_words_never_cue_fgm(tmp_path: Path, nation: str, facts: str) -> None:
    played = play(service(tmp_path, school(nation), TODAY), "USTAFF", staff(facts))
    assert "fgm" not in played.offered.get("route_check", ())
    assert not any("FGM" in n for n in played.notices) and "fgm_duty" not in played.cited()
    assert not {"fgm_kind", "fgm_role", "fgm_reported"} & set(played.offered)
    assert "Self-harm" in played.said and played.record["situations"] == ["self_harm"]


# -- forced marriage, private fostering, home education -----------------------------

@pytest.mark.parametrize("nation", ["england", "wales", "scotland", "northern_ireland"])
def test_forced_marriage_never_contacts_the_family_on_either_path(
        tmp_path: Path, nation: str) -> None:
    concern, taken = raised_and_taken_on(
        tmp_path, nation, "She says her family are taking her abroad over the summer to "
                          "marry her cousin and she is scared.", tell_risk="violence",
        not_to_tell="Both parents and the wider family")
    for played in (concern, taken):
        assert "never contact the family" in played.said and "only one chance" in played.said
    assert "forced_marriage" in taken.cited() and taken.record["family"]["told"] is False


def test_a_home_education_notice_for_a_child_on_a_plan_goes_to_the_social_worker(
        tmp_path: Path) -> None:
    concern, taken = raised_and_taken_on(
        tmp_path, "england", "Parents wrote to say they will home educate her from Monday; "
                             "she is on a child protection plan.", recipient="social_worker")
    for played in (concern, taken):
        assert "tell the social worker and the local authority today" in played.said
    assert taken.record["situations"] == ["home_education"]
    assert "elective_home_education" in taken.cited()


@pytest.mark.parametrize(("nation", "told"), [
    ("england", "children's social care"), ("wales", "local authority children's services"),
    ("scotland", "social work services"), ("northern_ireland", "HSC Trust")])
def test_private_fostering_is_told_to_the_local_authority(
        tmp_path: Path, nation: str, told: str) -> None:
    concern, taken = raised_and_taken_on(
        tmp_path, nation, "He has been living with a family friend since September while "
                          "mum works abroad.")
    assert "privately fostered" in concern.said and told in concern.said
    assert "privately fostered" in taken.said and "private_fostering" in taken.cited()


# -- physical punishment: unlawful in Wales and Scotland --------------------------

SMACK = "Dad smacked him at home for being late and it left a mark on his leg."


def test_physical_punishment_in_wales_is_a_child_at_risk_in_welsh_words(
        tmp_path: Path) -> None:
    concern, taken = raised_and_taken_on(tmp_path, "wales", SMACK)
    for played in (concern, taken):
        assert "unlawful in Wales" in played.said and "a child at risk" in played.said
        assert "significant harm" not in played.said.lower()
        assert "DSL" not in played.said.replace("DSP", "")
    assert "Children (Abolition of Defence of Reasonable Punishment) (Wales) Act 2020" in (
        taken.text)
    cited = {g["id"]: g for g in taken.record["guidance_cited"]}
    assert "section 2" in cited["wales_safeguarding_procedures"]["section"]
    assert "Social Services and Well-being (Wales) Act 2014" in cited["sswba_2014"]["title"]
    assert "KCSIE" not in taken.text and "Working together to safeguard children" not in (
        taken.text)


def test_physical_punishment_in_scotland_is_unlawful_and_no_early_help_team(
        tmp_path: Path) -> None:
    concern, taken = raised_and_taken_on(tmp_path, "scotland", SMACK)
    assert "unlawful in Scotland" in concern.said and "physical_punishment" in taken.cited()
    assert "early_help" not in taken.offered["recipient"]
    assert "Early help team" not in taken.said


@pytest.mark.parametrize("nation", ["england", "northern_ireland"])
def test_no_unlawful_notice_where_the_defence_remains(tmp_path: Path, nation: str) -> None:
    played = play(service(tmp_path, school(nation), TODAY), "USTAFF", staff(SMACK))
    assert "unlawful" not in played.said and "physical_punishment" not in played.cited()


# -- Northern Ireland ---------------------------------------------------------------

def test_northern_ireland_staff_who_learn_of_an_offence_are_told_of_the_duty(
        tmp_path: Path) -> None:
    concern, taken = raised_and_taken_on(
        tmp_path, "northern_ireland", "He told me his uncle hit him and he has bruises on "
                                      "his arm.", recipient="social_care")
    assert "can itself be an offence" in concern.said and "PSNI" in concern.said
    assert "Involve the PSNI" in taken.said  # the designated teacher's own words
    assert "offence_reporting" in taken.record["duties"]
    assert "Criminal Law Act (Northern Ireland) 1967 s.5" in taken.text
    assert "offence_reporting" not in taken.text.split("Duties:")[-1].split("\n")[0]
    assert "early_help" not in taken.offered["recipient"]


def test_northern_ireland_a_police_request_does_not_bring_the_offence_notice(
        tmp_path: Path) -> None:
    app = service(tmp_path, school("northern_ireland"), TODAY)
    played = play(app, "USTAFF", {**STAFF, "trigger": "request", "requester_agency": "police",
                                  "requester_name": "DC Patel, PSNI",
                                  "requester_verified": "called_back", "child_ref": "EF",
                                  "what_requested": "Attendance and any concerns: his uncle "
                                                    "is charged with assaulting him."})
    assert "can itself be an offence" not in played.said
    assert "offence_reporting" not in played.record["duties"]


def test_northern_ireland_domestic_abuse_notifications_are_information_received(
        tmp_path: Path) -> None:
    app = service(tmp_path, school("northern_ireland"), TODAY)
    played = play(app, "UDSL", {**dsl(), "trigger": "info_received",
                                "info_source": "operation_encompass", "child_ref": "EF",
                                "facts": "PSNI notification this morning: an incident of "
                                         "domestic abuse at home last night.",
                                "info_next": "support_in_school",
                                "rationale": "Key adult to check in with him today; no "
                                             "referral: he is safe and supported."}, dsl=True)
    assert played.record["route"] == "info_received"
    assert "domestic_abuse_notifications" in played.cited()
    assert "not a referral" in played.said
    assert "Regulations (Northern Ireland) 2022" in played.text


# -- KCSIE 2026 on routes: on from 1 September 2026 ---------------------------------

@pytest.mark.parametrize(("now", "on"), [(BEFORE, False), (TODAY, True)])
def test_the_dsls_talk_when_a_child_with_a_risk_moves(
        tmp_path: Path, now: datetime, on: bool) -> None:
    app = service(tmp_path, school("england"), now)
    played = play(app, "UDSL", {**DSL, "danger": "no", "trigger": "moving_school",
                                "child_ref": "EF", "new_school": "Riverside Academy",
                                "transfer_how": "secure_system", "transfer_due": "2027-01-08",
                                "transfer_receipt": "awaiting"}, dsl=True)
    assert played.record["route"] == "transfer"
    assert ("talks to the new school's DSL" in played.said) is on
    actions = [f["action"] for f in played.record["follow_up"]]
    assert ("talk_to_new_dsl" in actions) is on and "confirm_receipt" in actions
    assert ("talk to the new school's DSL" in played.text) is on
    assert ("Annex C" in played.record["rationale"]) is not on
    [cp_file] = [g for g in played.record["guidance_cited"] if g["id"] == "kcsie_cp_file"]
    assert ("Annex C" in cp_file["section"]) is not on


@pytest.mark.parametrize(("now", "on"), [(BEFORE, False), (TODAY, True)])
def test_an_allegation_about_agency_staff_tells_the_agency(
        tmp_path: Path, now: datetime, on: bool) -> None:
    app = service(tmp_path, school("england"), now)
    played = play(app, "USTAFF", {**STAFF, "trigger": "allegation", "allegation_about":
                                  "staff", "allegation_threshold": "harm", "child_ref": "EF",
                                  "facts": "A supply teacher from an agency grabbed a Year 7 "
                                           "boy by the neck in the corridor this morning."})
    assert played.record["route"] == "allegation"
    assert ("the agency usually leads any disciplinary action" in played.said) is on
    [part_four] = [g for g in played.record["guidance_cited"] if g["id"] == "kcsie_part_four"]
    assert ("agency" in part_four["section"]) is on


# -- duties that start later: both sides of commencement ---------------------------

ABUSE = "She told me her stepdad has been sexually abusing her at weekends."


@pytest.mark.parametrize(("now", "on"), [(EVE, False), (DAY, True)])
def test_the_duty_to_report_child_sexual_abuse_is_the_persons_own_from_its_day(
        tmp_path: Path, now: datetime, on: bool) -> None:
    app = service(tmp_path, school("england", **COMMENCED), now)
    played = play(app, "USTAFF", staff(ABUSE, csa_notified="police",
                                       csa_notified_ref="101, ref 4471, 11:20 today"))
    assert ("csa_notified" in played.offered) is on
    assert ("telling the DSL doesn't do it for you" in played.said) is on
    assert ("Stopping a report is an offence" in played.said) is on
    assert ("notifying at once would put the child at risk" in played.said) is on
    assert ("the local authority" in played.said) is on
    assert ("mandatory_reporting" in played.record["duties"]) is on
    assert ("cpa_mandatory_reporting" in played.cited()) is on
    if on:
        assert played.record["mandatory_report"] == {
            "notified": "police", "ref": "101, ref 4471, 11:20 today", "delay_reason": ""}
        assert "101, ref 4471" in played.text
        assert records.referral_of(played.record)["made"]
    else:
        assert played.record["mandatory_report"] is None


def test_a_permitted_delay_under_the_duty_is_recorded_with_its_reason(
        tmp_path: Path) -> None:
    app = service(tmp_path, school("england", **COMMENCED), DAY)
    played = play(app, "USTAFF", staff(ABUSE, csa_notified="delay", csa_delay_reason=(
        "He collects her at 3pm; the police are told once she is with her aunt.")))
    assert played.record["mandatory_report"]["notified"] == "delay"
    assert "once she is with her aunt" in played.text
    actions = [f["action"] for f in played.record["follow_up"]]
    assert "notify_csa_delayed" in actions
    assert "as soon as it no longer puts the child at risk" in played.text


def test_the_duty_to_report_is_off_today_and_never_in_wales(tmp_path: Path) -> None:
    for nation in ("england", "wales"):
        played = play(service(tmp_path / nation, school(nation), TODAY), "USTAFF",
                      staff(ABUSE))
        assert "csa_notified" not in played.offered and "notify the police" not in played.said
        assert played.record["mandatory_report"] is None


@pytest.mark.parametrize(("now", "on"), [(EVE, False), (DAY, True)])
def test_under_the_duty_to_share_not_sharing_records_whether_it_was_more_detrimental(
        tmp_path: Path, now: datetime, on: bool) -> None:
    app = service(tmp_path, school("england", **COMMENCED), now)
    concern = play(app, "USTAFF", staff(WORRY, level="child_in_need"))
    taken = play(app, "UDSL", dsl(
        level="child_in_need", decision="do_not_share", more_detrimental="yes",
        more_detrimental_why="Sharing now would tell the father where they are staying.",
        rationale="Support in school first; sharing would put mum and the child at risk."),
        take_on=concern.record["id"])
    assert ("more_detrimental" in taken.offered) is on
    assert ("cwsa_duty_to_share" in taken.cited()) is on
    if on:
        assert taken.record["duty_to_share"] == {
            "more_detrimental": "yes",
            "why": "Sharing now would tell the father where they are staying."}
        assert "tell the father where they are staying" in taken.text
    else:
        assert taken.record["duty_to_share"] is None


def test_a_share_under_the_duty_keeps_the_childs_identifier(tmp_path: Path) -> None:
    app = service(tmp_path, school("england", **COMMENCED), DAY)
    concern = play(app, "USTAFF", staff(WORRY))
    taken = play(app, "UDSL", dsl(child_identifier="A123456789012"),
                 take_on=concern.record["id"])
    assert taken.record["child_identifier"] == {"scheme": "upn_or_mis",
                                                "value": "A123456789012"}
    assert "A123456789012" in taken.text


# -- every nation's own word for who covers --------------------------------------

@pytest.mark.parametrize(("nation", "deputy"), [
    ("england", "the deputy DSL"), ("wales", "the deputy DSP"),
    ("northern_ireland", "the deputy designated teacher")])
def test_the_default_cover_is_the_nations_deputy(
        tmp_path: Path, nation: str, deputy: str) -> None:
    assert service(tmp_path, school(nation), TODAY).cover().name == deputy


@pytest.mark.parametrize(("now", "label"), [(BEFORE, "Early help team"),
                                             (TODAY, "Early help or Family Help team")])
def test_the_early_help_team_is_offered_in_the_words_of_the_day(
        tmp_path: Path, now: datetime, label: str) -> None:
    app = service(tmp_path, school("england"), now)
    concern = play(app, "USTAFF", staff(WORRY, level="child_in_need"))
    taken = play(app, "UDSL", dsl(level="child_in_need", recipient="early_help",
                                  tell_risk="no", consent_reason="consented"),
                 take_on=concern.record["id"])
    assert "early_help" in taken.offered["recipient"] and label in taken.said
    assert label in taken.text  # the record keeps the words of its day


def test_a_record_stored_before_a_term_existed_renders_in_the_words_of_its_time(
        tmp_path: Path) -> None:
    app = service(tmp_path, school("england"), BEFORE)
    concern = play(app, "USTAFF", staff(WORRY, level="child_in_need"))
    taken = play(app, "UDSL", dsl(level="child_in_need", recipient="early_help",
                                  tell_risk="no", consent_reason="consented"),
                 take_on=concern.record["id"])
    old = dict(taken.record, pack={**taken.record["pack"], "terms": {
        k: v for k, v in taken.record["pack"]["terms"].items() if k != "early_help_team"}})
    text = records.render_text(old, service(tmp_path, school("england"), TODAY).prompts)
    assert "Early help team" in text and "Family Help team" not in text
