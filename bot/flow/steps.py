"""The question set, in order, as data.

Each step says what kind of answer it takes and when it applies, given the
answers so far. The engine walks the list: the next question is the first
later step that applies. Going back and changing an answer therefore re-routes
the rest of the flow without any extra bookkeeping.

The order follows DOMAIN.md section 3, with the routes and safety gates of
section 8. Immediate danger is always first. Which route a decision is on is
a pure function of the answers (:func:`route`), so every predicate below can
be read on its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from bot import derive
from bot.derive import CATEGORIES
from bot.flow.situations import in_force, offered_route, self_harm, shown
from bot.nations import DEFAULT_NATION, adult_protection_from, fgm_duty_nations, pack

FLOW_VERSION = "2026.12-6"
# The guidance the wording was checked against (DOMAIN.md section 2).
GUIDANCE_VERSION = (
    "HMG Information sharing 2024; KCSIE 2025; WT 2023; ICO 10-step 2023; "
    "FGM Act 2003 s.5B; Prevent duty guidance 2023"
)

Answers = Mapping[str, str]
QuestionKind = Literal["choice", "text", "confirm"]
NOT_SURE = "not_sure"
# Answers the engine sets, not the person (names start with "_"): the user is
# on the DSL team, or known not to be (a chat service knows the team); the
# school's nation; a deferral runs past the day it was set.
ROLE_KEY = "_role"
DSL_ROLE = "dsl"
STAFF_ROLE = "staff"
NATION_KEY = "_nation"
DEFER_LATER_KEY = "_defer_later"
TAKE_ON_KEY = "_take_on"  # the concern record a DSL is deciding on
# At take-on: the staff member's own level of concern (the DSL gives hers),
# and how many answers came from the staff member (the first question after
# them shows the DSL what she is judging).
STAFF_LEVEL_KEY = "_staff_level"
TAKEN_KEY = "_taken"


def always(_: Answers) -> bool:
    return True


# -- routes -------------------------------------------------------------------

# Routes with their own duties (DOMAIN.md section 8). "concern" and "request"
# are the generic sharing decision; the rest have their own steps.
SHARING_ROUTES = ("concern", "request", "prevent", "child_on_child", "fgm")
# Kinds of concern with their own route, chosen straight from "what prompted this?".
CONCERN_ROUTES = ("allegation", "fgm", "prevent", "child_on_child", "record_only")
# Words in a request that ask where someone lives or how to reach them, or
# where and when a child can be found (who collects, which days, routines,
# timetables): either can lead an abuser to a victim (golden rule 5).
_LOCATION = re.compile(
    r"address|where (?:\w+ ){0,3}(?:live|lives|living|staying|moved|is now|are now)"
    r"|whereabouts|contact details|phone number|mobile|postcode|new home|located|location"
    r"|who (?:\w+ ){0,2}(?:collects?|collecting|picks? (?:\w+ )?up|drops? (?:\w+ )?off)"
    r"|collection|pick[- ]?up|drop[- ]?off|school run"
    r"|(?:which|what) days?|days (?:she|he|they) (?:is|are|attends?)|routines?|timetables?"
    r"|what times? (?:\w+ )?(?:she|he|they)|(?:arrival|leaving|finishing|home) times?",
    re.IGNORECASE)
# Domestic abuse at home: the parents are not one party (DOMAIN.md section 8).
_DOMESTIC = re.compile(
    r"domestic (?:abuse|violence|incident)|\bDV\b|\bDA\b|operation encompass|\bMARAC\b"
    r"|coercive|controlling behaviour|refuge|non[- ]molestation|restraining order|injunction"
    r"|(?:hits?|hitting|hurts?|beats?|beating|attacked|strangled|threatens?|threatening)"
    r" (?:her |his |my |their )?(?:mum|mom|mother|dad|father|wife|partner|girlfriend)"
    r"|fled|fleeing"
    r"|(?:dad|father|stepdad|step-dad|partner|boyfriend|husband|mum|mother)'?s? (?:is |was |gets |"
    r"can be )?(?:violent|abusive|aggressive) (?:to|towards|with) (?:her|him|mum|mom|mother"
    r"|dad|father)",
    re.IGNORECASE)
SWITCHABLE = ("fgm", "prevent", "child_on_child", "transfer")

_ROUTE_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("fgm", re.compile(
        # "Cut" alone is mostly self-harm ("cutting again", "cuts on her arm"):
        # only being cut, or a cutting ceremony, points to FGM.
        r"\bfgm\b|genital|circumcis|\bsunna\b|\bkhitan\b|\btahur\b|become a woman"
        r"|\b(?:was|been|being|be|get|got|getting|gets)\s+cut\b"
        r"(?!\s+(?:off|out|short|up|down|free|open|her hair|his hair|on\b|by glass|badly))"
        r"|\bcutting\s+(?:ceremony|season|tradition|party)|\bcut\s+down there",
        re.IGNORECASE)),
    ("prevent", re.compile(
        r"extremis|radicali[sz]|terroris|jihad|\bisis\b|daesh|far[- ]right|neo-?nazi"
        r"|white (?:power|suprem)|\bincel|swastika|beheading|bomb[- ]making|martyr",
        re.IGNORECASE)),
    ("child_on_child", re.compile(
        r"another (?:pupil|child|student|boy|girl)|other (?:pupils|children|students|boys"
        r"|girls)|(?:older|younger) (?:pupil|boy|girl|student|child)|classmate"
        r"|(?:by|from|with) (?:a|an|another|two|some|older|younger) (?:boy|girl|pupil|student"
        r"|child)s?\b|(?:boy|girl|pupil|student)s? in year \d+|\bnudes?\b|sexting|upskirt|banter"
        r"|boys (?:being|will be) boys|just messing about",
        re.IGNORECASE)),
    ("transfer", re.compile(
        r"mov(?:ing|es|ed) (?:to )?(?:a |another |the |her |his )?(?:new )?school"
        r"|new school|changing schools?|leaving (?:us|the school|school)|transferr?ing to",
        re.IGNORECASE)),
)


def suggested_route(a: Answers) -> str | None:
    """A route the typed facts point to, if the person is not already on it."""
    text = " ".join(a.get(k, "") for k in ("facts", "child_words"))
    current = route(a)
    for name, cue in _ROUTE_CUES:
        if name == "fgm" and self_harm(text):
            continue  # "cutting again" is self-harm, never FGM
        if name != current and cue.search(text):
            return name
    offered = offered_route(text)  # e.g. an image shared: the child-on-child route
    return offered if offered and offered != current else None


def csa_duty(a: Answers) -> bool:
    """The personal duty to report child sexual abuse (Crime and Policing
    Act 2026, once commenced) bears on what this person was told or saw:
    like FGM s.5B, telling the DSL does not discharge it."""
    return "sexual_abuse" in shown(a) and in_force(a, "mandatory_reporting")


def duty_to_share(a: Answers) -> bool:
    """The duty to share (Children Act 2004 s.16LA, CWSA 2026 s.4) was in
    force when the session began, and this is a decision to share or not."""
    return in_force(a, "cwsa_duty_to_share") and _decided(a) and route(a) != "records_request"


def not_shared_under_duty(a: Answers) -> bool:
    """Under the duty, not sharing needs its reason: that sharing would be
    more detrimental to the child than not."""
    return duty_to_share(a) and a.get("decision") in ("do_not_share", "defer")


def nation_choices(*choices: str) -> Callable[[Answers], tuple[str, ...]]:
    """Choices without the services the school's nation does not have (no
    "early help team" in Scotland or Northern Ireland)."""
    def offered(a: Answers) -> tuple[str, ...]:
        nation = pack(a.get(NATION_KEY, DEFAULT_NATION))
        return tuple(c for c in choices if c != "early_help" or nation.destination("early_help"))
    return offered


# Words that suggest the pupil may be 16 or over: asked, never assumed.
_OLDER = re.compile(
    r"\b(?:1[6-9]|2[0-4])\s*-?\s*(?:years?[- ]old|yrs?|yo)\b|\baged? (?:1[6-9]|2[0-4])\b"
    r"|\((?:1[6-9]|2[0-4])\)|\b(?:1[6-9]|2[0-4])(?:th)? birthday|sixth[- ]form|\byear 1[234]\b"
    r"|\by1[234]\b|\bs[56]\b|\bcollege\b|\bturned (?:1[6-9]|2[0-4])\b|\bover 1[68]\b|\b18\+"
    r"|\badult (?:pupil|student|learner)|\bapprentice|\bpost-?16\b",
    re.IGNORECASE)


def older_pupil_cue(a: Answers) -> bool:
    text = " ".join(a.get(k, "") for k in ("facts", "child_words", "what_requested"))
    return bool(_OLDER.search(text))


def is_adult(a: Answers) -> bool:
    """A pupil aged 18 or over: an adult, whose own consent counts."""
    return a.get("pupil_age") == "18_plus"


def adult_protection_age(a: Answers) -> bool:
    """Old enough for adult protection law in the school's nation (16 in
    Scotland under the Adult Support and Protection (Scotland) Act 2007)."""
    from_age = adult_protection_from(a.get(NATION_KEY, DEFAULT_NATION))
    return is_adult(a) or (from_age <= 16 and a.get("pupil_age") == "16_17")


def danger_now(a: Answers) -> bool:
    return a.get("danger") == "yes"


def emergency_only(a: Answers) -> bool:
    """The person chose to submit the short after-the-event record."""
    return danger_now(a) and a.get("emergency_next") == "submit"


def route(a: Answers) -> str:
    """Which route the answers so far are on."""
    if emergency_only(a):
        return "emergency"
    switched = a.get("route_check", "keep")
    if switched in SWITCHABLE:
        return switched
    trigger = a.get("trigger", "")
    if trigger in ("request", "records_request", "info_received", *CONCERN_ROUTES):
        return trigger
    if trigger == "moving_school":
        return "transfer"
    kind = a.get("concern_type", "")
    return kind if kind in (*CONCERN_ROUTES, *HANDOVER_ROUTES) else "concern"


# Concern routes a member of staff passes to the DSL by the short path.
STAFF_CONCERN_ROUTES = ("concern", "prevent", "child_on_child", "fgm")


def tell_dsl_path(a: Answers) -> bool:
    """A member of staff's own worry goes to the DSL by the short path: the
    DSL makes the sharing decision (DOMAIN.md section 10). Radicalisation,
    child-on-child abuse and FGM too: staff never decide; the one personal
    duty kept is the FGM report to the police (FGM Act 2003 s.5B), which
    telling the DSL does not discharge."""
    return (route(a) in STAFF_CONCERN_ROUTES and not is_dsl(a) and not fgm_duty(a)
            and not emergency_only(a))


# Routes whose decision is the DSL's: taken by a member of staff, they are
# recorded and passed on, never decided (DOMAIN.md section 10).
HANDOVER_ROUTES = ("request", "records_request", "info_received")


def hands_over(a: Answers) -> bool:
    """A member of staff took a request or a notification that is the DSL's
    to decide: they record who, what and by when, and pass it on."""
    return route(a) in HANDOVER_ROUTES and not is_dsl(a) and not emergency_only(a)


def passes_to_dsl(a: Answers) -> bool:
    """The record goes to the DSL to decide on (a concern or a request)."""
    return tell_dsl_path(a) or hands_over(a)


def full_decision(a: Answers) -> bool:
    return not passes_to_dsl(a)


def on(*routes: str) -> Callable[[Answers], bool]:
    return lambda a: route(a) in routes


def is_dsl(a: Answers) -> bool:
    """On the DSL team: the front end knows (DSL channel members, configured
    ids, the terminal's DSL accounts), or, where the front end cannot tell
    (the terminal), the person said so ("I am the DSL", kept on the record
    as the trigger). Someone a chat service knows is not on the team is
    staff whatever they answer."""
    role = a.get(ROLE_KEY)
    return role == DSL_ROLE or (role != STAFF_ROLE and a.get("trigger") == "dsl_recording")


# "I am the DSL" (or a deputy), typed: said by someone not offered it, it is
# answered with why, not with "pick one of the options".
_CLAIMS_DSL = re.compile(
    r"\bi(?:\s*am|'m|\u2019m|m)\s+(?:the\s+|a\s+)?(?:deputy\s+|designated\s+)?"
    r"(?:dsl|dsp|ddsl|safeguarding\s+lead|safeguarding\s+person|deputy)\b|\bdsl[_ ]recording\b",
    re.IGNORECASE)


def claims_dsl(text: str) -> bool:
    return bool(_CLAIMS_DSL.search(text))


def trigger_choices(a: Answers) -> tuple[str, ...]:
    """"I am the DSL" is offered only to someone who may be on the team: never
    to a member of staff the chat service knows is not (DOMAIN.md section 10)."""
    choices = BY_ID["trigger"].choices
    return tuple(c for c in choices if c != "dsl_recording" or a.get(ROLE_KEY) != STAFF_ROLE)


def is_request(a: Answers) -> bool:
    return route(a) == "request"


# -- gates --------------------------------------------------------------------

def unverified(a: Answers) -> bool:
    """An agency request whose requester's identity is not yet checked."""
    return is_request(a) and a.get("requester_verified") in ("not_verified", NOT_SURE)


def domestic_abuse(a: Answers) -> bool:
    """Domestic abuse at home, named or described (or notified under
    Operation Encompass): the parents are separate people."""
    text = " ".join(a.get(k, "") for k in ("facts", "child_words", "what_requested", "opinion"))
    return a.get("info_source") == "operation_encompass" or bool(_DOMESTIC.search(text))


def location_request(a: Answers) -> bool:
    """Where a parent or child lives now: may put a victim of domestic abuse at
    risk (golden rule 5), so it goes to the DSL. Read from what was asked
    for (older sessions answered a question)."""
    return is_request(a) and (a.get("request_location") in ("yes", NOT_SURE)
                              or bool(_LOCATION.search(a.get("what_requested", ""))))


def fgm_nation(a: Answers) -> bool:
    """The school's nation pack carries the FGM reporting duty."""
    return a.get(NATION_KEY, DEFAULT_NATION) in fgm_duty_nations()


def fgm_known(a: Answers) -> bool:
    """A 'known' case: the girl told you, or you saw signs (never examine)."""
    return route(a) == "fgm" and a.get("fgm_kind") in ("disclosed", "seen")


def fgm_duty(a: Answers) -> bool:
    """The personal duty to report to the police applies to this person."""
    return fgm_known(a) and a.get("fgm_role") == "teacher" and fgm_nation(a)


# Recipients a named child is referred to: the referral identifies the child.
REFERRAL_TO = ("social_care", "social_worker", "adult_services", "police")


def referral(a: Answers) -> bool:
    return a.get("recipient") in REFERRAL_TO


def to_dsl_only(a: Answers) -> bool:
    """Passing a concern to the DSL is internal: it never needs consent."""
    return a.get("recipient") == "dsl_only"


def sharing(a: Answers) -> bool:
    """On the generic sharing decision (not cut short by a duty route)."""
    return route(a) in SHARING_ROUTES and not fgm_duty(a) and not passes_to_dsl(a)


def no_purpose(a: Answers) -> bool:
    return sharing(a) and a.get("purpose") == "no"


def personal_data(a: Answers) -> bool:
    return (sharing(a) and not to_dsl_only(a) and not no_purpose(a) and not unverified(a)
            and a.get("identifiable") != "no")


def family_question(a: Answers) -> bool:
    """Telling the family is asked about a child; an adult pupil speaks for
    herself (her own consent is asked as the data subject's)."""
    return personal_data(a) and not is_adult(a)


# Reasons telling the family would add risk, answered in one question.
RISK_REASONS = ("parent_source", "sexual_abuse", "fabricated_illness", "violence", "silenced",
                "evidence", "other")


def telling_adds_risk(a: Answers) -> bool:
    """Older sessions answered "yes" and then gave the reason separately."""
    return a.get("tell_risk") in (*RISK_REASONS, "yes")


def risk_reason(a: Answers) -> str:
    value = a.get("tell_risk", "")
    return value if value in RISK_REASONS else a.get("tell_risk_reason", "")


def refusal_binds(a: Answers) -> bool:
    """A refusal (the family's, or the child's) binds only for optional support
    when the concern is low-level or child in need; never at significant harm
    or "not sure", and never for telling the DSL. A pupil who is an adult
    decides for herself, whatever the level, unless she may be an adult at
    risk (care and support needs), children are at risk, or someone is in
    danger now (DOMAIN.md section 8)."""
    if not sharing(a) or to_dsl_only(a):
        return False
    if is_adult(a):
        return (child_refused(a) and a.get("care_needs") not in ("yes", NOT_SURE)
                and not a.get("others_at_risk") and not danger_now(a))
    refused = a.get("family_view") == "refused" or a.get("child_wishes") == "refuses"
    return refused and a.get("level") in ("low", "child_in_need")


def no_share_expected(a: Answers) -> bool:
    """Routes where not sharing is the right answer: no pro-sharing reminders."""
    return (no_purpose(a) or refusal_binds(a) or unverified(a)
            or route(a) == "records_request")


def shares(a: Answers) -> bool:
    return a.get("decision") in ("share", "share_part")


def without_consent(a: Answers) -> bool:
    """Sharing personal data without the family's agreement."""
    return personal_data(a) and shares(a) and a.get("family_view") != "agreed"


# What is shared: special category data (health, sex life, ethnicity,
# religion...: UK GDPR Art. 9), criminal offence data (Art. 10), or neither.
SENSITIVE_DATA = ("special", "criminal", "both", NOT_SURE)


def data_kind_asked(a: Answers) -> bool:
    """Asked of the DSL only, on a share of personal data."""
    return personal_data(a) and shares(a) and is_dsl(a)


def consent_reason_asked(a: Answers) -> bool:
    """DPA 2018 Sch.1 para 18 is a condition for special category (and,
    through para 36, criminal offence) data shared without the consent of
    the data subject: asked about the child (or adult) the data is about,
    never about the family, never for ordinary personal data, and never of
    staff who are not the DSL (DOMAIN.md section 3 step 7, corrected)."""
    return data_kind_asked(a) and a.get("data_kind") in SENSITIVE_DATA


def consent_reason_choices(a: Answers) -> tuple[str, ...]:
    """Where the data subject was asked and refused, no para 18(2) reason
    fits as worded: the honest answer is that, and why the risk justifies
    sharing anyway."""
    if child_refused(a):
        return ("refused_risk", NOT_SURE)
    return ("a", "b", "c", "refused_risk", "consented", NOT_SURE)


def family_view_choices(a: Answers) -> tuple[str, ...]:
    """Where there is domestic abuse, one parent (often the victim) may know
    while the other must not: never recorded as "the family"."""
    if telling_adds_risk(a):
        return ("one_parent", "not_told")
    if domestic_abuse(a):
        return ("one_parent", "agreed", "refused", "told_not_asked", "not_told", NOT_SURE)
    return ("agreed", "refused", "told_not_asked", "not_told", NOT_SURE)


# Who else a decision can go to.
ALSO_TO = ("social_care", "social_worker", "adult_services", "police", "health", "school",
           "early_help", "local_authority", "other")


def recipient_choices(a: Answers) -> tuple[str, ...]:
    """Adult safeguarding is offered where adult protection law applies."""
    kinds: tuple[str, ...] = ("dsl_only", "social_care", "social_worker", "police", "health",
                              "school", "early_help", "other")
    if adult_protection_age(a):
        kinds = kinds[:3] + ("adult_services",) + kinds[3:]
    return nation_choices(*kinds)(a)


def also_to_asked(a: Answers) -> bool:
    """The DSL sharing outside school: does it go to anyone else too?"""
    return (is_dsl(a) and sharing(a) and shares(a) and not to_dsl_only(a)
            and not no_purpose(a) and route(a) != "transfer")


def second_recipient(a: Answers) -> bool:
    return also_to_asked(a) and a.get("also_to", "none") not in ("", "none")


# Recipients beyond the second are asked one at a time ("anyone else as
# well?"), only after one more was named: the one-recipient case answers
# "No one else" once, as before. ``also_to_3`` ... ``also_to_{MAX_RECIPIENTS}``.
MAX_RECIPIENTS = 6


def also_key(base: str, n: int) -> str:
    """The answer key of recipient ``n`` (2 is the second, kept as before)."""
    return base if n == 2 else f"{base}_{n}"


def nth_recipient_asked(n: int) -> Callable[[Answers], bool]:
    def asked(a: Answers) -> bool:
        return all(a.get(also_key("also_to", m), "none") not in ("", "none")
                   for m in range(2, n)) and second_recipient(a)
    return asked


def nth_recipient(n: int) -> Callable[[Answers], bool]:
    def named(a: Answers) -> bool:
        return nth_recipient_asked(n)(a) and a.get(also_key("also_to", n), "none") not in (
            "", "none")
    return named


def recipients_named(a: Answers) -> list[int]:
    """The numbers (2, 3...) of the further recipients named."""
    return [n for n in range(2, MAX_RECIPIENTS + 1) if nth_recipient(n)(a)]


def _more_choices(n: int) -> Callable[[Answers], tuple[str, ...]]:
    def choices(a: Answers) -> tuple[str, ...]:
        named = {a.get("recipient"), *(a.get(also_key("also_to", m)) for m in range(2, n))}
        return tuple(c for c in nation_choices("none", *ALSO_TO)(a)
                     if c == "other" or c not in named)
    return choices


def _other_named(n: int) -> Callable[[Answers], bool]:
    def asked(a: Answers) -> bool:
        return nth_recipient(n)(a) and a.get(f"also_to_{n}") == "other"
    return asked


def _when_asked(n: int) -> Callable[[Answers], bool]:
    def asked(a: Answers) -> bool:
        return nth_recipient(n)(a) and a.get("level") != "significant"
    return asked


def _more_recipient_steps() -> list[Step]:
    steps: list[Step] = []
    for n in range(3, MAX_RECIPIENTS + 1):
        steps += [
            Step(f"also_to_{n}", "choice", ("none", *ALSO_TO), applies=nth_recipient_asked(n),
                 dynamic_choices=_more_choices(n)),
            Step(f"also_to_other_{n}", "text", max_len=200, applies=_other_named(n)),
            Step(f"also_how_{n}", "choice",
                 ("secure_email", "portal", "phone_followup", "meeting", "other"),
                 applies=nth_recipient(n)),
            Step(f"also_when_{n}", "choice", ("today", "next_working_day", "later"),
                 applies=_when_asked(n)),
        ]
    return steps


def significant_not_shared(a: Answers) -> bool:
    """Significant harm, but not shared (or put off past today). Not an adult
    pupil's own lawful refusal (see :func:`refusal_binds`): nothing there is
    a child's significant harm to challenge or sign off."""
    if not sharing(a) or a.get("level") != "significant" or to_dsl_only(a):
        return False
    if is_adult(a) and refusal_binds(a):
        return False
    decision = a.get("decision")
    return decision == "do_not_share" or (decision == "defer" and a.get(DEFER_LATER_KEY) == "yes")


# Decisions a route makes by itself, without asking (DOMAIN.md section 8).
_ROUTE_DECISIONS = {"emergency": "share", "allegation": "allegations_route", "transfer": "share",
                    "info_received": "received", "record_only": "record_only"}


def final_decision(a: Answers) -> str:
    """The decision the answers amount to: the route's own, or the one chosen."""
    path = route(a)
    if hands_over(a):  # the DSL's to decide; the minimum shared if it could not wait
        return "share" if a.get("self_referral") == "referred" else "tell_dsl"
    if path in _ROUTE_DECISIONS:
        return _ROUTE_DECISIONS[path]
    if fgm_duty(a):
        return "share"  # the teacher's report to the police
    if passes_to_dsl(a):  # anyone can refer when the DSL cannot be reached
        return "share" if a.get("self_referral") == "referred" else "tell_dsl"
    if sharing(a) and to_dsl_only(a):
        return "tell_dsl"
    if no_purpose(a):
        return "do_not_share"
    return a.get("decision", "")


def decision_choices(a: Answers) -> tuple[str, ...]:
    if route(a) == "records_request":
        return ("refer_dpo", "do_not_share")
    if unverified(a) or location_request(a):
        return ("defer", "do_not_share")
    if refusal_binds(a):
        return ("do_not_share", "defer")
    return ("share", "share_part", "do_not_share", "defer")


def _category_unknown(a: Answers) -> bool:
    """A concern the DSL has taken on whose category nothing in the answers
    says (:func:`bot.derive.category` reads it otherwise)."""
    return bool(a.get(TAKE_ON_KEY)) and not derive.category(dict(a), route(a), shown(a))


def route_check_choices(a: Answers) -> tuple[str, ...]:
    suggestion = suggested_route(a)
    return (suggestion, "keep") if suggestion else ("keep",)


def _concern(a: Answers) -> bool:
    """Routes that record what happened to a child, in the staff member's words."""
    return route(a) in (*SHARING_ROUTES, "record_only", "allegation", "info_received")


def _reflective(a: Answers) -> bool:
    """A concern in the staff member's own words: their view matters. An
    agency's request is not (the barrier check still reads the cues)."""
    return (route(a) in (*SHARING_ROUTES, "record_only") and not fgm_duty(a)
            and not is_request(a))


# Harm from someone outside the family, met online or a stranger: "would
# you read it the same about a family you didn't know?" does not fit.
_OUTSIDE_FAMILY = re.compile(
    r"\bstranger\b|(?:met|talk(?:s|ing|ed)? to|chat(?:s|ting|ted)? (?:to|with)|messag\w+) "
    r"(?:\w+ ){0,3}online|(?:a |an |some )?(?:man|men|adult|someone|person|guy) (?:\w+ ){0,2}"
    r"(?:online|on (?:snapchat|instagram|tiktok|discord|roblox|fortnite|whatsapp|xbox|a game))"
    r"|online (?:friend|boyfriend|girlfriend|stranger)", re.IGNORECASE)


# The child's own words, typed in quotes in what happened.
_QUOTED = re.compile(r'"([^"]{2,})"|\u201c([^\u201d]{2,})\u201d|\u2018([^\u2019]{2,})\u2019')


def quoted(text: str) -> str:
    """What a person put in quotes: on the short path the child's words are
    typed in quotes within what happened, not asked on a screen of their own."""
    return " ".join(f'"{"".join(m.groups(""))}"' for m in _QUOTED.finditer(text))


def words_in_facts(a: Answers) -> bool:
    """A member of staff's own account (the short path, or a low-level worry
    kept on record): the child's words come in quotes within what happened."""
    return tell_dsl_path(a) or (route(a) == "record_only" and not is_dsl(a))


def _words_in_facts(value: str, a: Answers) -> dict[str, str]:
    return {"child_words": quoted(value)} if words_in_facts(a) else {}


def outside_family(a: Answers) -> bool:
    text = " ".join(a.get(k, "") for k in ("facts", "child_words"))
    return bool(_OUTSIDE_FAMILY.search(text))


def _judges_the_family(a: Answers) -> bool:
    """The rule-of-optimism questions, asked of a concern in the person's own
    words unless the harm comes from outside the family (a stranger online),
    whoever is answering: a family they didn't know does not fit; nor, for
    staff, harm by another child."""
    return _reflective(a) and not (outside_family(a) or (
        route(a) == "child_on_child" and not is_dsl(a)))


def _sexual_violence_is_significant(value: str, a: Answers) -> dict[str, str]:
    """Rape, assault by penetration or sexual assault: the starting point is
    the police (KCSIE Part five), so staff are not asked how serious it is."""
    return {"level": "significant"} if value == "sexual_violence" and tell_dsl_path(
        a) else {}


def _fgm_is_significant(value: str, a: Answers) -> dict[str, str]:
    """FGM a girl disclosed, or its signs seen, is significant harm: staff are
    not asked how serious it is (the DSL judges for herself)."""
    return {"level": "significant"} if value in ("disclosed", "seen") and tell_dsl_path(
        a) else {}


def _short_family(a: Answers) -> bool:
    """Staff answer the optimism question and whether they know the family
    on one screen; the DSL, judging for herself, answers both."""
    return _judges_the_family(a) and not is_dsl(a)


def child_refused(a: Answers) -> bool:
    """The child (or young person) asked for secrecy or does not want it
    passed on: their wishes, not the family's consent."""
    return a.get("child_wishes") in ("secret", "refuses")


def urgent_asked(a: Answers) -> bool:
    """Anything that cannot wait for the DSL: on the short path, and on a
    request or notification passed on (not a records request). Not after
    danger now: 999 was called and the person told to phone the DSL."""
    return (tell_dsl_path(a) or (hands_over(a) and route(a) != "records_request")) and (
        not danger_now(a))


# What can't wait, and who has it, on one screen (a session begun under an
# older question set answered "yes", then whether the DSL was reached).
URGENT_CHOICES = ("no", "spoken", "going_now", "referred", "cannot_reach")
URGENT_SETS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("spoken", (("urgent", "yes"), ("dsl_reached", "spoken"))),
    ("going_now", (("urgent", "yes"), ("dsl_reached", "going_now"))),
    ("referred", (("urgent", "yes"), ("dsl_reached", "cannot_reach"),
                  ("self_referral", "referred"))),
    ("cannot_reach", (("urgent", "yes"), ("dsl_reached", "cannot_reach"),
                      ("self_referral", "not_yet"))),
)


def urgent_or_serious(a: Answers) -> bool:
    return urgent_asked(a) and (a.get("urgent") == "yes" or a.get("level") == "significant")


def cannot_reach_dsl(a: Answers) -> bool:
    return urgent_or_serious(a) and a.get("dsl_reached") == "cannot_reach"


def _decided(a: Answers) -> bool:
    """Routes that end in a decision the person makes (and must explain)."""
    return ((sharing(a) and not to_dsl_only(a) and not no_purpose(a))
            or (route(a) == "records_request" and not hands_over(a)))


def _needs_rationale(a: Answers) -> bool:
    """Reasons for a decision: a member of staff keeping a low-level worry on
    record decided nothing, so gives none."""
    return (route(a) not in ("emergency", "allegation", "transfer") and not fgm_duty(a)
            and not passes_to_dsl(a) and not _staff_record(a))


def _staff_record(a: Answers) -> bool:
    """A member of staff's record with nothing for them to follow up: a
    low-level worry kept on record, or FGM they report themselves (the report
    is theirs; anything after it is the DSL's)."""
    return not is_dsl(a) and (route(a) == "record_only" or fgm_duty(a))


def _advice_asked(a: Answers) -> bool:
    """Who was asked, and what they said: where something was not sure."""
    return (_needs_rationale(a) and route(a) != "record_only"
            and any(v == NOT_SURE for v in a.values()))


def _reminders_fit(a: Answers) -> bool:
    """Sharing may be right here, so the barriers to sharing are worth naming."""
    return sharing(a) and not no_share_expected(a) and not to_dsl_only(a)


def _reminders_apply(a: Answers) -> bool:
    """The barrier check before the decision: not once the DSL has decided to
    refer, where pushing to share is noise (:func:`reminders_at_challenge`)."""
    return _reminders_fit(a) and not referral(a)


def reminders_at_challenge(a: Answers) -> bool:
    """A referral not made after all: the barriers that fit are named where
    the decision not to share is challenged, the barrier check not asked."""
    return _reminders_fit(a) and referral(a) and significant_not_shared(a)


def _not_emergency(a: Answers) -> bool:
    return not emergency_only(a)


@dataclass(frozen=True)
class Step:
    """One question. ``key`` is where the answer is stored (several steps may
    fill one key on different routes; the first to be answered wins).
    ``rewind`` maps an answer to the step the flow goes back to (the answer
    itself is not kept)."""

    id: str
    kind: QuestionKind
    choices: tuple[str, ...] = ()
    applies: Callable[[Answers], bool] = always
    key_: str | None = None
    max_len: int = 500
    min_len: int = 1
    optional: bool = False
    check: Literal["", "child_ref", "child_refs", "date"] = ""
    dynamic_choices: Callable[[Answers], tuple[str, ...]] | None = None
    rewind: tuple[tuple[str, str], ...] = ()
    # Answers one choice gives at once ("yes, the same, and I don't know the
    # family" answers the optimism question and whether they know the family).
    sets: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    # Answers read from a typed answer (the child's words in quotes), and their keys.
    reads: Callable[[str, Answers], dict[str, str]] | None = None
    read_keys: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return self.key_ or self.id

    def derived(self, value: str, answers: Answers | None = None) -> dict[str, str]:
        found = dict(dict(self.sets).get(value, ()))
        if self.reads is not None:
            found.update(self.reads(value, answers or {}))
        return found

    @property
    def derived_keys(self) -> frozenset[str]:
        return frozenset([*(k for _, pairs in self.sets for k, _ in pairs), *self.read_keys])

    def options(self, answers: Answers) -> tuple[str, ...]:
        return self.dynamic_choices(answers) if self.dynamic_choices else self.choices


YES_NO_UNSURE = ("yes", "no", NOT_SURE)

STEPS: tuple[Step, ...] = (
    # 0. Immediate danger: first, always, and fast.
    Step("danger", "choice", ("yes", NOT_SURE, "no")),
    Step("emergency_action", "text", applies=danger_now, max_len=1000),
    Step("emergency_child", "text", applies=danger_now, key_="child_ref", max_len=40,
         check="child_ref"),
    Step("emergency_next", "choice", ("submit", "continue"), applies=danger_now),
    # 1. What prompted this? Each answer has its own route (section 8).
    Step("trigger", "choice",
         ("own_concern", "request", "allegation", "child_on_child", "fgm", "prevent",
          "record_only", "info_received", "moving_school", "records_request", "dsl_recording"),
         applies=_not_emergency, dynamic_choices=trigger_choices),
    # The DSL recording a decision of their own: what is it about?
    Step("concern_type", "choice",
         ("general", "request", "records_request", "info_received", "allegation", "fgm",
          "prevent", "child_on_child", "record_only", NOT_SURE),
         applies=lambda a: _not_emergency(a) and a.get("trigger") == "dsl_recording"),
    # A request from another agency: who, and whether they are who they say.
    Step("requester_agency", "choice",
         ("police", "social_care", "health", "school", "early_help", "other"),
         applies=is_request, dynamic_choices=nation_choices(
             "police", "social_care", "health", "school", "early_help", "other")),
    Step("requester_name", "text", applies=is_request, max_len=200),
    Step("requester_verified", "choice",
         ("called_back", "known_contact", "secure_email", "not_verified", NOT_SURE),
         applies=is_request),
    # A request for records from outside safeguarding: the DSL/DPO's.
    Step("records_requester", "choice",
         ("solicitor", "court", "parent", "subject_access", "press", "unknown", "other"),
         applies=on("records_request")),
    Step("records_requester_name", "text", applies=on("records_request"),
         key_="requester_name", max_len=200),
    Step("what_requested", "text", applies=on("request", "records_request"), max_len=2000),
    # 2. Allegations against adults who work with children: KCSIE Part four.
    Step("allegation_about", "choice", ("staff", "headteacher", "dsl", NOT_SURE),
         applies=on("allegation")),
    Step("allegation_threshold", "choice", ("harm", "low_level", NOT_SURE),
         applies=on("allegation")),
    # Information received about a child (e.g. Operation Encompass).
    Step("info_source", "choice",
         ("operation_encompass", "police", "social_care", "health", "other"),
         applies=on("info_received")),
    # 3. The child, and the facts kept apart from opinion.
    Step("child_ref", "text", applies=_not_emergency, max_len=40, check="child_ref"),
    Step("facts", "text", applies=lambda a: _concern(a) and not (is_request(a) and hands_over(a)),
         max_len=3000, min_len=10, reads=_words_in_facts, read_keys=("child_words",)),
    # A pupil who may be 16 or over: how old, asked (adults decide for
    # themselves; adult protection law starts at 18, or 16 in Scotland).
    Step("pupil_age", "choice", ("under_16", "16_17", "18_plus"),
         applies=lambda a: _concern(a) and older_pupil_cue(a)),
    Step("route_check", "choice", applies=lambda a: a.get("trigger") in (
        "own_concern", "dsl_recording", *CONCERN_ROUTES) and route(a) in (
        "concern", "child_on_child", "prevent") and suggested_route(a) is not None,
         dynamic_choices=route_check_choices),
    # Child-on-child abuse: every child involved, and the victim's wishes.
    Step("other_children", "text", applies=on("child_on_child"), max_len=500,
         check="child_refs"),
    Step("coc_kind", "choice",
         ("sexual_violence", "sexual_harassment", "physical", "online", "bullying", "other"),
         applies=on("child_on_child"), reads=_sexual_violence_is_significant,
         read_keys=("level",)),
    # Staff give the child's wishes on the screen every path asks; the DSL, this too.
    Step("victim_wishes", "text", applies=lambda a: on("child_on_child")(a)
         and not tell_dsl_path(a), max_len=1000, optional=True),
    # FGM: who knows what, and the personal duty to report (England and Wales).
    Step("fgm_kind", "choice", ("disclosed", "seen", "suspected"), applies=on("fgm"),
         reads=_fgm_is_significant, read_keys=("level",)),
    Step("fgm_role", "choice", ("teacher", "other_staff"),
         applies=lambda a: fgm_known(a) and fgm_nation(a)),
    Step("fgm_reported", "choice", ("reported", "will_report"), applies=fgm_duty),
    Step("fgm_police_ref", "text", applies=lambda a: fgm_duty(a) and a.get(
        "fgm_reported") == "reported", max_len=200),
    Step("child_words", "text", applies=lambda a: _concern(a) and not is_request(a)
         and not words_in_facts(a), max_len=2000, optional=True),
    # The child's own wishes, never mistaken for the family's consent: asked
    # on every path (DOMAIN.md section 8), the short one included.
    Step("child_wishes", "choice", ("secret", "refuses", "has_views", "not_discussed"),
         applies=_reflective),
    Step("child_views", "text", applies=lambda a: _reflective(a) and a.get(
        "child_wishes") in ("has_views", "refuses"), max_len=1000),
    Step("opinion", "text", applies=_reflective, max_len=2000, optional=True),
    # The rule of optimism is asked on every concern; cues only make it
    # louder. Staff: one screen that also says whether they know the family
    # (asked after only when the answer did not say).
    Step("family", "choice", ("same_unknown", "same_known", "more_worried", NOT_SURE),
         applies=_short_family, key_="optimism", sets=(
             ("same_unknown", (("optimism", "same"), ("knows_family", "no"))),
             ("same_known", (("optimism", "same"), ("knows_family", "yes"))))),
    Step("knows_family", "choice", ("yes", "no"), applies=_judges_the_family),
    Step("optimism", "choice", ("same", "more_worried", NOT_SURE), applies=_judges_the_family),
    # The category, asked of the DSL once where nothing said read it.
    Step("category", "choice", CATEGORIES, applies=_category_unknown,
         dynamic_choices=lambda a: derive.category_choices(derive.own_labels(a))),
    # 4. Level of concern.
    Step("level", "choice", ("significant", "child_in_need", "low", NOT_SURE),
         applies=lambda a: sharing(a) or tell_dsl_path(a)),
    # An adult pupil: an adult at risk only with care and support needs;
    # children at risk from the same harm are concerns of their own.
    Step("care_needs", "choice", ("yes", "no", NOT_SURE),
         applies=lambda a: adult_protection_age(a) and full_decision(a) and _concern(a)),
    Step("others_at_risk", "text", applies=lambda a: is_adult(a) and full_decision(a)
         and _concern(a), max_len=500, optional=True, check="child_refs"),
    # Every other child involved (siblings, children in the same MARAC case),
    # each a reference of their own, found by the chronology.
    Step("children_more", "text", applies=lambda a: is_dsl(a) and not emergency_only(a)
         and not is_adult(a) and (
        route(a) in ("concern", "request", "prevent", "record_only", "info_received")
        or (route(a) == "fgm" and not fgm_duty(a))), max_len=500, optional=True,
         check="child_refs"),
    # The short path: anything that cannot wait, and the DSL out of reach.
    # A request passed on: by when the requester needs an answer.
    Step("needed_by", "text", applies=lambda a: hands_over(a) and route(a) != "info_received",
         max_len=40, optional=True, check="date"),
    # One screen: whether anything can't wait, and whether the DSL or a
    # deputy has it ("no" at significant harm still asks who has it).
    Step("urgent", "choice", URGENT_CHOICES, applies=urgent_asked, sets=URGENT_SETS),
    # What can't wait, for a DSL who has not heard it yet (not at significant
    # harm, where the level says it; not after a referral, which says it).
    Step("urgent_detail", "text", applies=lambda a: tell_dsl_path(a) and a.get(
        "urgent") == "yes" and a.get("level") != "significant"
        and a.get("dsl_reached") != "spoken" and a.get("self_referral") != "referred",
         max_len=1000),
    Step("dsl_reached", "choice", ("spoken", "going_now", "cannot_reach"),
         applies=urgent_or_serious),
    Step("self_referral", "choice", ("referred", "not_yet"), applies=cannot_reach_dsl),
    Step("self_referral_ref", "text", applies=lambda a: cannot_reach_dsl(a) and a.get(
        "self_referral") == "referred", max_len=300),
    # Child sexual abuse, once the duty to report commences: the person's own
    # notification to the police or the local authority, or why it waits.
    Step("csa_notified", "choice", ("police", "local_authority", "will_notify", "delay"),
         applies=csa_duty),
    Step("csa_notified_ref", "text", applies=lambda a: csa_duty(a) and a.get(
        "csa_notified") in ("police", "local_authority"), max_len=300),
    Step("csa_delay_reason", "text", applies=lambda a: csa_duty(a) and a.get(
        "csa_notified") == "delay", max_len=1000),
    # Information received: the DSL decides on support or referral.
    Step("info_next", "choice", ("support_in_school", "dsl_consider_referral", "refer_now"),
         applies=lambda a: on("info_received")(a) and not hands_over(a)),
    # A child moving school: the whole CP file, securely, within 5 days.
    Step("new_school", "text", applies=on("transfer"), max_len=200),
    Step("transfer_how", "choice", ("secure_system", "secure_email", "by_hand", "other"),
         applies=on("transfer")),
    Step("transfer_due", "text", applies=on("transfer"), max_len=40, check="date"),
    Step("transfer_receipt", "choice", ("confirmed", "awaiting"), applies=on("transfer")),
    # 5. Recipient and purpose.
    Step("recipient", "choice",
         ("dsl_only", "social_care", "social_worker", "adult_services", "police", "health",
         "school", "early_help", "other"),
         applies=lambda a: sharing(a) and not is_request(a) and route(a) != "prevent",
         dynamic_choices=recipient_choices),
    Step("recipient_other", "text", applies=lambda a: sharing(a) and a.get(
        "recipient") == "other", max_len=200),
    Step("purpose", "choice", YES_NO_UNSURE,
         applies=lambda a: sharing(a) and not to_dsl_only(a)),
    # An agency's request already says what it is for.
    Step("purpose_detail", "text", applies=lambda a: sharing(a) and not to_dsl_only(a)
         and a.get("purpose") != "no" and not is_request(a), max_len=1000),
    # 6. Identifiable? Confidential? (A request about a named child is both.)
    # A referral names the child: whether it identifies them is not asked.
    Step("identifiable", "choice", YES_NO_UNSURE,
         applies=lambda a: sharing(a) and not to_dsl_only(a) and not no_purpose(a)
         and not unverified(a) and not is_request(a) and not referral(a)),
    Step("confidential", "choice", YES_NO_UNSURE,
         applies=lambda a: personal_data(a) and not is_request(a)),
    # 7. Telling the family, and what they said: asked, never inferred.
    Step("tell_risk", "choice", ("no", *RISK_REASONS, NOT_SURE), applies=family_question),
    # Domestic abuse: who must not be told, asked of whom was told.
    Step("not_to_tell", "text", applies=lambda a: personal_data(a) and (
        domestic_abuse(a) or a.get("tell_risk") in ("parent_source", "violence")),
         max_len=300),
    Step("family_view", "choice", ("one_parent", "agreed", "refused", "told_not_asked",
                                   "not_told", NOT_SURE),
         applies=lambda a: family_question(a) and (
        not telling_adds_risk(a) or domestic_abuse(a)), dynamic_choices=family_view_choices),
    Step("family_told_who", "text", applies=lambda a: family_question(a) and a.get(
        "family_view") == "one_parent", max_len=500),
    # 8. Barrier check, chosen by cues; never where not sharing is right, nor
    # once the DSL has decided to refer (the challenge names them if not).
    Step("barrier_check", "choice", ("changed", "same"), applies=_reminders_apply),
    # 11. The decision (before what and how, so a record never says how it
    # would share what it decided not to).
    Step("decision", "choice", applies=_decided, dynamic_choices=decision_choices),
    Step("defer_until", "text", applies=lambda a: _decided(a) and a.get("decision") == "defer",
         max_len=40, check="date"),
    Step("challenge", "choice", ("change", "keep"),
         applies=significant_not_shared,
         rewind=(("change", "decision"),)),
    # The duty to share, once in force: not sharing recorded with its reason.
    Step("more_detrimental", "choice", ("yes", "no", NOT_SURE), applies=not_shared_under_duty),
    Step("more_detrimental_why", "text", applies=not_shared_under_duty, max_len=1000),
    # Sharing against a competent young person's wishes: the DSL's reason.
    Step("child_override", "text", applies=lambda a: _decided(a) and shares(a)
         and child_refused(a), max_len=1000),
    # 10. What and how: only for a share.
    Step("what_to_share", "text", applies=lambda a: _decided(a) and shares(a), max_len=2000),
    # The consistent identifier (s.16LC): the school's UPN or MIS id until one is specified.
    Step("child_identifier", "text", applies=lambda a: duty_to_share(a) and shares(a),
         max_len=40, optional=True),
    # 7 (para 18): only for special category or criminal offence data.
    Step("data_kind", "choice", ("special", "criminal", "both", "ordinary", NOT_SURE),
         applies=data_kind_asked),
    Step("consent_reason", "choice", ("a", "b", "c", "refused_risk", "consented", NOT_SURE),
         applies=consent_reason_asked,
         dynamic_choices=consent_reason_choices),
    Step("consent_refused_why", "text", applies=lambda a: consent_reason_asked(a) and a.get(
        "consent_reason") == "refused_risk" and not a.get("child_override"), max_len=1000),
    Step("how", "choice", ("secure_email", "portal", "phone_followup", "meeting", "other"),
         applies=lambda a: _decided(a) and shares(a)),
    # At significant harm it is today: not asked.
    Step("when", "choice", ("today", "next_working_day", "later"),
         applies=lambda a: _decided(a) and shares(a) and a.get("level") != "significant"),
    # A decision can go to more than one recipient, each with its own how
    # and when (DOMAIN.md section 8: the social worker and the LA's elective
    # home education team; the Trust Gateway team and the PSNI).
    Step("also_to", "choice", ("none", *ALSO_TO), applies=also_to_asked,
         dynamic_choices=nation_choices("none", *ALSO_TO)),
    Step("also_to_other", "text", applies=lambda a: also_to_asked(a) and a.get(
        "also_to") == "other", max_len=200),
    Step("also_how", "choice", ("secure_email", "portal", "phone_followup", "meeting", "other"),
         key_="also_how", applies=second_recipient),
    Step("also_when", "choice", ("today", "next_working_day", "later"),
         applies=lambda a: second_recipient(a) and a.get("level") != "significant"),
    *_more_recipient_steps(),
    Step("rationale", "text", applies=_needs_rationale, max_len=3000, min_len=10),
    Step("advice", "text", applies=_advice_asked, max_len=1000, optional=True),
    # 12. Follow-up, then submit.
    # Follow-up is the DSL's to set on the short path.
    Step("followup", "text", applies=lambda a: _not_emergency(a) and not passes_to_dsl(a)
         and not _staff_record(a), max_len=1000, optional=True),
    Step("followup_due", "text", applies=lambda a: _not_emergency(a) and not passes_to_dsl(a)
         and not _staff_record(a) and bool(a.get("followup")), max_len=40, check="date"),
    # The short path sends on its last answer (its last question says so).
    Step("confirm", "confirm", ("submit",),
         applies=lambda a: _not_emergency(a) and not tell_dsl_path(a)
         and not (hands_over(a) and urgent_asked(a))),
)

BY_ID: dict[str, Step] = {s.id: s for s in STEPS}
