"""Situations with their own rules (DOMAIN.md section 8), per nation: the
words staff really type cue a short notice of the rule and, where there is
one, offer the route; the record keeps the situation and cites its guidance.
Self-harm words never bring the FGM route."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from bot import record as records
from bot.config import Settings, from_mapping
from bot.flow import Flow
from bot.flow.engine import Session

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)

# The staff member's short path, and the DSL's own decision; the script
# gives the facts (and any other answer), these the rest.
STAFF = {"danger": "no", "trigger": "own_concern", "child_ref": "EF", "child_words": "skip",
         "child_wishes": "not_discussed", "opinion": "skip", "knows_family": "no",
         "optimism": "same", "level": "significant", "urgent": "no", "dsl_reached": "spoken",
         "route_check": "keep", "confirm": "submit"}
DSL = {**STAFF, "trigger": "dsl_recording", "concern_type": "general", "child_views": "skip",
       "recipient": "social_care", "purpose": "yes", "purpose_detail": "Child protection enquiry",
       "identifiable": "yes", "confidential": "yes", "tell_risk": "no",
       "family_view": "told_not_asked", "barrier_check": "same", "decision": "share",
       "consent_reason": "a", "data_kind": "special",
       "what_to_share": "What the child said and what we saw",
       "how": "secure_email", "rationale": "Risk of significant harm: referral made today.",
       "followup": "skip"}


def settings(nation: str, **more: Any) -> Settings:
    return from_mapping({"school": {"name": "Hillside", "nation": nation}, **more})


class Walk:
    def __init__(self, nation: str, facts: str, *, dsl: bool = False, now: datetime = NOW,
                 config: Settings | None = None, **answers: str) -> None:
        self.settings = config or settings(nation)
        self.flow = Flow(self.settings, clock=lambda: now)
        self.session: Session = self.flow.start("U1")
        self.script = {**(DSL if dsl else STAFF), "facts": facts, **answers}
        self.notices: list[str] = []
        self.offered: dict[str, tuple[str, ...]] = {}
        while not self.flow.done(self.session):
            step = self.flow.current(self.session)
            assert step is not None
            self.offered[step.id] = step.options(self.session.known)
            # Questions the script doesn't name (others' new ones): the first
            # choice, or skipped when optional; what is tested is named.
            answer = self.script.get(step.id) or (
                self.offered[step.id][0] if step.kind == "choice" else "skip")
            result = self.flow.answer(self.session, answer)
            assert result.accepted, (step.id, answer, result.error)
            self.notices += result.notices
        self.record = records.build(self.session, self.settings, self.flow.prompts, now=now)

    @property
    def text(self) -> str:
        return "\n".join(self.notices)

    def cited(self) -> set[str]:
        return {g["id"] for g in self.record["guidance_cited"]}


def words(text: str) -> int:
    return len(text.split())


# -- nude and semi-nude images -------------------------------------------------

def test_a_topless_photo_in_a_group_chat_gets_the_images_rule_on_the_staff_path() -> None:
    w = Walk("england", "A Year 9 girl's topless photo was forwarded to the Year 9 group chat "
                        "by another pupil; a boy showed it to me on his phone.")
    assert "don't view, copy, print, share, save or delete it" in w.text
    assert "never ask a child to send it" in w.text
    assert "every incident gets a safeguarding response" in w.text
    # The staff path keeps it short: the DSL's thresholds are the DSL's.
    [notice] = [n for n in w.notices if "nude" in n]
    assert words(notice) <= 45 and "Report Remove" not in notice
    assert "child_on_child" in w.offered["route_check"]  # the route offered, not forced
    assert w.record["route"] == "concern" and w.record["situations"] == ["nudes"]
    assert "ukcis_nudes" in w.cited()


def test_an_image_with_no_other_child_named_still_offers_the_child_on_child_route() -> None:
    w = Walk("england", "A Year 9 girl's topless photo was forwarded to a group chat.")
    assert "child_on_child" in w.offered["route_check"] and "don't view" in w.text
    w = Walk("england", "A Year 9 girl's topless photo was forwarded to a group chat.",
             route_check="child_on_child", other_children="GH (Year 9)", coc_kind="online",
             victim_wishes="skip", recipient="dsl_only",
             rationale="Passed to the DSL today to decide on the police and parents.")
    assert w.record["route"] == "child_on_child" and "kcsie_part_five" in w.cited()
    assert "ukcis_nudes" in w.cited()


def test_the_dsl_on_an_images_case_sees_her_thresholds_and_report_remove() -> None:
    w = Walk("england", "Sexting: she sent nudes to a boy who has shared them.", dsl=True)
    assert "Report Remove" in w.text and "under 13" in w.text and "coercion" in w.text


def test_images_in_wales_cite_the_welsh_advice() -> None:
    w = Walk("wales", "A semi-nude selfie of a Year 8 pupil is going round Snapchat.")
    assert "don't view" in w.text and "ukcis_nudes" in w.cited()
    assert "kcsie" not in w.cited()


# -- self-harm is not FGM -------------------------------------------------------

@pytest.mark.parametrize("facts", [
    "She's cutting again, fresh cuts on her arm she tried to hide.",
    "He told me he has been cutting himself at night.",
    "Her friend says she is self-harming and cutting at her wrists.",
    "She is hurting herself again and won't say why.",
    "He told his friend he wants to self harm.",
])
@pytest.mark.parametrize("nation", ["england", "wales"])
def test_self_harm_words_never_offer_the_fgm_route(nation: str, facts: str) -> None:
    w = Walk(nation, facts)
    assert "fgm" not in w.offered.get("route_check", ())
    assert "Self-harm" in w.text and "FGM" not in w.text
    assert "fgm_duty" not in w.cited()


def test_fgm_words_still_offer_the_fgm_route() -> None:
    w = Walk("england", "She says she will be cut in the holidays to become a woman.")
    assert "fgm" in w.offered["route_check"]


# -- forced marriage, private fostering, home education, exploitation ---------------

@pytest.mark.parametrize("nation", ["england", "wales", "scotland", "northern_ireland"])
def test_forced_marriage_never_contacts_the_family(nation: str) -> None:
    w = Walk(nation, "She says her family are taking her abroad over the summer to marry "
                     "her cousin and she is scared.")
    assert "never contact the family" in w.text and "only one chance" in w.text
    assert "forced_marriage" in w.record["situations"] and "forced_marriage" in w.cited()


@pytest.mark.parametrize("nation", ["england", "wales", "scotland", "northern_ireland"])
def test_private_fostering_is_told_to_the_local_authority(nation: str) -> None:
    w = Walk(nation, "He has been living with a family friend since September while mum "
                     "works abroad.")
    assert "privately fostered" in w.text and "private_fostering" in w.cited()


def test_a_home_education_notice_for_a_child_on_a_plan_goes_to_the_social_worker() -> None:
    w = Walk("england", "Parents wrote to say they will home educate her from Monday; she is "
                        "on a child protection plan.")
    assert "tell the social worker and the local authority today" in w.text
    assert "elective_home_education" in w.cited()


def test_county_lines_is_significant_harm_and_cites_no_prevent_guidance() -> None:
    w = Walk("england", "He was found in another city with a burner phone and cash; police "
                        "think county lines.", dsl=True)
    assert "significant harm" in w.text
    assert "county_lines" in w.cited() and "prevent_duty" not in w.cited()


# -- physical punishment: unlawful in Wales and Scotland ---------------------------

SMACK = "Dad smacked him at home for being late and it left a mark on his leg."


def test_physical_punishment_in_wales_is_a_child_at_risk_report_in_welsh_words() -> None:
    w = Walk("wales", SMACK)
    assert "unlawful in Wales" in w.text and "a child at risk" in w.text
    assert "significant harm" not in w.text.lower()
    assert "physical_punishment" in w.cited()


def test_physical_punishment_in_scotland_is_unlawful() -> None:
    w = Walk("scotland", SMACK)
    assert "unlawful in Scotland" in w.text and "physical_punishment" in w.cited()


@pytest.mark.parametrize("nation", ["england", "northern_ireland"])
def test_no_unlawful_notice_where_the_defence_remains(nation: str) -> None:
    assert "unlawful" not in Walk(nation, SMACK).text


# -- nations ----------------------------------------------------------------------

def test_northern_ireland_says_failing_to_report_an_offence_is_an_offence() -> None:
    w = Walk("northern_ireland", "He told me his uncle hit him and he has bruises on his arm.")
    assert "can itself be an offence" in w.text and "PSNI" in w.text
    assert "offence_reporting" in w.record["duties"] and "offence_reporting" in w.cited()
    assert "can itself be an offence" not in Walk("england", "His uncle hit him.").text


def test_northern_ireland_an_offence_by_another_child_names_the_sexual_offences_exception(
        ) -> None:
    """s.5 does not reach a sexual offence against a child by an under-18
    (Article 20 of the 2008 Order); a serious assault by a child it does."""
    by_child = Walk("northern_ireland", "A Year 8 boy punched and kicked him in the toilets "
                                        "and he has bruises.", trigger="child_on_child",
                    other_children="GH")
    [notice] = [n for n in by_child.notices if "can itself be an offence" in n]
    assert "Article 20 of the Sexual Offences (NI) Order 2008" in notice
    assert "serious assault" in notice and "*(unconfirmed)*" in notice
    assert "offence_reporting" in by_child.record["duties"]
    by_adult = Walk("northern_ireland", "He told me his uncle hit him and he has bruises.")
    assert "can itself be an offence" in by_adult.text and "Article 20" not in by_adult.text


def test_northern_ireland_domestic_abuse_notifications_are_information_received() -> None:
    s = settings("northern_ireland")
    flow = Flow(s, clock=lambda: NOW)
    session = flow.start("U1")
    for answer in ("no", "info_received"):
        assert flow.answer(session, answer).accepted
    step = flow.current(session)
    assert step is not None and step.id == "info_source"
    assert "PSNI" in flow.prompts.label("info_source", "operation_encompass")
    notices = flow.answer(session, "operation_encompass").notices
    assert any("not a referral" in n for n in notices)


@pytest.mark.parametrize(("nation", "offered"), [("england", True), ("wales", True),
                                                  ("scotland", False),
                                                  ("northern_ireland", False)])
def test_early_help_team_is_offered_only_where_there_is_one(nation: str, offered: bool) -> None:
    w = Walk(nation, "Child often arrives hungry and tired; mum is struggling.", dsl=True)
    assert ("early_help" in w.offered["recipient"]) is offered


# -- the duty to report child sexual abuse, on by date ----------------------------

ABUSE = "She told me her stepdad has been sexually abusing her at weekends."


@pytest.mark.parametrize(("now", "on"), [(datetime(2027, 3, 31, 12, tzinfo=UTC), False),
                                          (datetime(2027, 4, 1, 12, tzinfo=UTC), True)])
def test_the_mandatory_reporting_duty_is_a_personal_duty_from_its_day(
        now: datetime, on: bool) -> None:
    config = settings("england", guidance={"commenced": {
        "mandatory_reporting": date(2027, 4, 1), "cpa_mandatory_reporting": date(2027, 4, 1)}})
    w = Walk("england", ABUSE, now=now, config=config)
    assert ("You must notify the police or the local authority yourself" in w.text) is on
    assert ("telling the DSL doesn't do it for you" in w.text) is on
    assert ("Stopping a report is an offence" in w.text) is on
    assert ("mandatory_reporting" in w.record["duties"]) is on
    assert ("cpa_mandatory_reporting" in w.cited()) is on


def test_the_mandatory_reporting_duty_is_off_today() -> None:
    w = Walk("england", ABUSE)
    assert "notify the police" not in w.text and "mandatory_reporting" not in w.record["duties"]


# -- the duty to share, on by date --------------------------------------------------

COMMENCED = {"guidance": {"commenced": {"cwsa_duty_to_share": date(2027, 4, 1)}}}
WORRY = "Child often arrives hungry and tired; mum is struggling since losing her job."


@pytest.mark.parametrize(("now", "on"), [(datetime(2027, 3, 31, 12, tzinfo=UTC), False),
                                          (datetime(2027, 4, 1, 12, tzinfo=UTC), True)])
def test_not_sharing_under_the_duty_records_whether_it_was_more_detrimental(
        now: datetime, on: bool) -> None:
    w = Walk("england", WORRY, dsl=True, now=now, config=settings("england", **COMMENCED),
             level="child_in_need", decision="do_not_share", more_detrimental="yes",
             more_detrimental_why="Sharing now would tell the father where they are staying.",
             rationale="Support in school first; sharing would put mum and the child at risk.")
    assert ("more_detrimental" in w.offered) is on
    if on:
        assert w.record["duty_to_share"] == {
            "more_detrimental": "yes",
            "why": "Sharing now would tell the father where they are staying."}
        assert "cwsa_duty_to_share" in w.record["duties"] and "cwsa_duty_to_share" in w.cited()
    else:
        assert w.record["duty_to_share"] is None and "cwsa_duty_to_share" not in w.cited()


def test_sharing_under_the_duty_keeps_the_childs_identifier() -> None:
    w = Walk("england", WORRY, dsl=True, now=datetime(2027, 4, 2, 12, tzinfo=UTC),
             config=settings("england", **COMMENCED), child_identifier="A123456789012")
    assert "more_detrimental" not in w.offered
    assert w.record["child_identifier"] == {"scheme": "upn_or_mis", "value": "A123456789012"}
    assert Walk("england", WORRY, dsl=True).record["child_identifier"] is None


# -- KCSIE 2026 on a route ----------------------------------------------------------

@pytest.mark.parametrize(("now", "on"), [(datetime(2026, 8, 31, 12, tzinfo=UTC), False),
                                          (NOW, True)])
def test_kcsie_2026_asks_the_dsls_to_talk_when_a_child_with_a_risk_moves(
        now: datetime, on: bool) -> None:
    flow = Flow(settings("england"), clock=lambda: now)
    session = flow.start("U1")
    notices: list[str] = []
    for answer in ("no", "moving_school"):
        notices += flow.answer(session, answer).notices
    text = "\n".join(notices) + flow.prompts.on(flow.pack_today()).render(
        "notices/routes/transfer.j2")
    assert ("talks to the new school's DSL" in text) is on


@pytest.mark.parametrize(("now", "on"), [(datetime(2026, 8, 31, 12, tzinfo=UTC), False),
                                          (NOW, True)])
def test_kcsie_2026_tells_the_agency_of_an_allegation_about_its_staff(
        now: datetime, on: bool) -> None:
    flow = Flow(settings("england"), clock=lambda: now)
    session = flow.start("U1")
    for answer in ("no", "allegation"):
        assert flow.answer(session, answer).accepted
    prompts = flow.prompts.on(flow.pack_today())
    text = prompts.render("notices/after/allegation_about.j2", value="staff",
                          **flow.context(session))
    assert ("the agency usually leads any disciplinary action" in text) is on


def test_a_private_fostering_notice_is_not_chased_as_a_referral() -> None:
    """Telling the local authority of an arrangement refers nothing: the
    follow-up checks the notice arrived; at significant harm it is a referral."""
    facts = "He has been living with a family friend since September while mum works abroad."
    notice = Walk("england", facts, dsl=True, level="child_in_need", tell_risk="no",
                  consent_reason="", data_kind="ordinary",
                  rationale="The local authority must be told of the arrangement.")
    actions = [f["action"] for f in notice.record["follow_up"]]
    assert "confirm_notice" in actions and "chase_referral" not in actions
    referral = Walk("england", facts, dsl=True)
    actions = [f["action"] for f in referral.record["follow_up"]]
    assert "chase_referral" in actions and "confirm_notice" not in actions
