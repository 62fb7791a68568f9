"""The decision record: built from a finished session, changed only through
audit entries, and rendered for people.

A record is a plain dict so any store can keep it. Every change appends an
audit entry (who, when, what) chained by SHA-256 to the one before and to the
record's content, so an edit or deletion of history is detectable
(:func:`verify`). Nothing here knows about Slack.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable, Collection, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot import derive, localtime, nations, people
from bot.config import Settings
from bot.flow import Session, situations
from bot.flow.allegations import routing
from bot.flow.basis import emergency_basis, suggest
from bot.flow.engine import iso
from bot.flow.steps import (
    NATION_KEY,
    NOT_SURE,
    also_key,
    csa_duty,
    fgm_duty,
    final_decision,
    hands_over,
    is_adult,
    is_dsl,
    location_request,
    passes_to_dsl,
    recipients_named,
    referral,
    risk_reason,
    route,
    significant_not_shared,
    tell_dsl_path,
    telling_adds_risk,
    unverified,
)
from bot.flow.validate import child_role, next_working_day, other_children
from bot.prompts import Prompts

Record = dict[str, Any]

SUBMITTED, ACKNOWLEDGED, CLOSED = "submitted", "acknowledged", "closed"
PENDING, FOLLOW_UP = "pending", "follow_up_needed"

# Fields outside the audited content: the id is assigned by the store after
# the first entry is written, and delivery bookkeeping and the audit itself
# change without being decisions about the child.
_UNHASHED = ("id", "audit", "delivery", "updated_at")


# Delivery states that leave nothing for the outbox to do: posted, or held
# on purpose because the record must not go to the DSL channel.
SETTLED_STATES = ("posted", "held")


def clean_id(text: str) -> str:
    """A record id as people type or paste it: any case, stray spaces
    (``" isd-2026-0001 "`` is ``ISD-2026-0001``)."""
    return "".join(str(text or "").split()).upper()


def kind_of(answers: dict[str, str]) -> str:
    if answers.get("emergency_next") == "submit":
        return "emergency"
    if route(answers) == "allegation":
        return "allegation"
    if passes_to_dsl(answers):  # a concern, or a request, for the DSL to decide
        return "concern"
    return "decision"


def school_day(now: datetime, settings: Settings) -> date:
    """The date at the school when ``now`` happens: the day whose guidance applies."""
    return now.astimezone(ZoneInfo(settings.timezone)).date() if now.tzinfo else now.date()


def build(session: Session, settings: Settings, prompts: Prompts, *, now: datetime,
          person: people.Person | None = None) -> Record:
    """The record for a completed session (DOMAIN.md sections 5 and 8).
    ``person``: the name and role of whoever answered, as they are now."""
    a = session.known
    kind = kind_of(a)
    path = route(a)
    alert = next((e for e in session.events if e["kind"] == "urgent_alert"), None)
    # The nation the session began under (its steps were asked in its terms),
    # with the guidance editions in force on the school's day it was made.
    pack = nations.pack(a.get(NATION_KEY) or settings.nation, school_day(now, settings),
                        settings.commencements)
    prompts = prompts.on(pack)
    decision, rationale = _decision(path, a, prompts, settings)
    suggested = suggest(a, settings.school_type, decision=decision)
    shared = decision in ("share", "share_part")
    signoff = significant_not_shared(a)
    routed = routing(a, settings)
    recipient = _recipient(path, a, decision, settings)
    duties = _duties(path, a, pack)
    cited = pack.cited(path, *duties, *situations.shown(a))
    own = derive.own_in(a)  # the school's own categories, as the session began
    record: Record = {
        "id": None,
        "session_id": session.id,
        "kind": kind,
        "route": path,
        "path": "tell_dsl" if kind == "concern" else "decision",
        "flow_version": session.flow_version,
        # Named briefly: only what this record cites.
        "guidance_version": pack.version_of(g["id"] for g in cited),
        "school": settings.school_name,
        "nation": pack.name,
        # The pack's version and words, so the record renders as it was made.
        "pack": pack.snapshot(),
        "destination": _destination(path, recipient, routed, pack),
        "duties": duties,
        "situations": situations.shown(a),
        # Read from the answers (bot.derive): the DSL may correct them.
        "category": a.get("category") or derive.category(a, path, situations.shown(a)),
        "category_derived": not a.get("category"),
        **({"category_label": own[a["category"]]} if a.get("category") in own else {}),
        "summary_line": derive.summary_line(a),
        "happened": derive.happened(a),
        # Children Act 2004 ss.16LA and 16LC, once in force: whether not sharing
        # was judged more detrimental to the child, and why; the identifier.
        "duty_to_share": ({"more_detrimental": a.get("more_detrimental", ""),
                           "why": a.get("more_detrimental_why", "")}
                          if "cwsa_duty_to_share" in duties else None),
        "child_identifier": ({"scheme": "upn_or_mis", "value": a.get("child_identifier", "")}
                             if "cwsa_duty_to_share" in duties and shared else None),
        # The personal duty to report child sexual abuse, once commenced:
        # the person's own notification, or why it waits.
        "mandatory_report": ({"notified": a.get("csa_notified", ""),
                              "ref": a.get("csa_notified_ref", ""),
                              "delay_reason": a.get("csa_delay_reason", "")}
                             if "mandatory_reporting" in duties else None),
        "guidance_cited": cited,
        "created_at": iso(now),
        "updated_at": iso(now),
        # The zone its times are shown in, as the school kept it then.
        "timezone": settings.timezone,
        "recorded_by": session.user,
        "recorded_by_dsl": is_dsl(a),
        "source": session.source,
        "status": SUBMITTED,
        "trigger": a.get("trigger", ""),
        "requester": _requester(a),
        "what_requested": a.get("what_requested", ""),
        "child_ref": a.get("child_ref", ""),
        "children": children(a),
        "pupil": _pupil(a),
        "immediate_danger": {
            "answer": a.get("danger", ""),
            "action": a.get("emergency_action", ""),
            # The terminal alerts no one: never recorded as an alert raised.
            "alerted_at": alert["at"] if alert and not _reached_no_one(alert) else None,
            "reached_no_one": bool(alert and _reached_no_one(alert)),
        },
        "allegation_against_adult": "yes" if path == "allegation" else "",
        "facts": a.get("facts", ""),
        "child_words": a.get("child_words", ""),
        "child_wishes": {"answer": a.get("child_wishes", ""), "views": a.get("child_views", ""),
                         "override_reason": a.get("child_override", "") if shared else ""},
        "opinion": a.get("opinion", ""),
        "knows_family": a.get("knows_family", ""),
        "optimism": a.get("optimism", ""),
        "level_of_concern": _level(path, a),
        "purpose": {"answer": a.get("purpose", ""), "detail": a.get("purpose_detail", "")},
        "recipient": recipient,
        "recipients": _recipients(path, a, recipient, shared, settings, pack, routed),
        # A referral names the child, so it is not asked.
        "identifiable": a.get("identifiable") or ("yes" if referral(a) else ""),
        "confidential": a.get("confidential", ""),
        "family": _family(a, shared),
        "special_category": _special_category(a, shared),
        "lawful_basis": {
            "suggested": suggested.as_dict() if suggested else None,
            "emergency": (basis_for_emergency.as_dict()
                          if (basis_for_emergency := emergency_basis(a)) and path != "emergency"
                          else None),
            "staff_view": "",
            "confirmed": None,
        },
        "what_to_share": a.get("what_to_share", "") if shared else "",
        "how": a.get("how", "") if shared else "",
        # At significant harm it is today: not asked, but recorded.
        "when": (a.get("when", "") or ("today" if a.get("level") == "significant" else ""))
        if shared else "",
        "barriers": copy.deepcopy(session.barriers),
        "decision": decision,
        "defer_until": a.get("defer_until", "") if decision == "defer" else "",
        "rationale": rationale,
        "second_signoff": {"required": signoff, "reason": "significant_not_shared"
                           if signoff else "", "by": None, "at": None},
        "route_details": _route_details(path, a),
        "routing": routed,
        "advice": {
            "needed": bool(session.not_sure),
            "not_sure_at": list(session.not_sure),
            "sought": a.get("advice", ""),
        },
        "follow_up": _follow_up(path, a, session.user, decision, now.date(), signoff, routed,
                                pack),
        "urgent": _urgent(a),
        # The staff member's answers, for the DSL to take the concern on from.
        "concern_answers": dict(session.answers) if kind == "concern" else None,
        "awaiting_dsl_decision": kind == "concern" and (decision == "tell_dsl"
                                                        or hands_over(a)),
        "decided_by": None,
        "review_status": PENDING,
        "review": None,
        "notes": [],
        "delivery": {"state": "pending"} if routed["to"] == "dsl" or routed["user_id"]
        else {"state": "held", "to": routed["to"]},
        "people": {},
        "audit": [],
    }
    people.note(record, session.user, person)
    append_audit(record, by=session.user, action="submitted", at=now,
                 detail={"decision": decision})
    return record


def build_alert_only(session: Session, settings: Settings, prompts: Prompts, *,
                     now: datetime, person: people.Person | None = None) -> Record:
    """The emergency record kept when someone cancels after the DSL was
    alerted: what is known, so the alert never stands without a record."""
    a = session.answers
    done = {k: v for k, v in a.items() if k in ("danger", "emergency_action", "child_ref")}
    stub = Session(**{**session.to_dict(), "answers": {**done, "emergency_next": "submit"}})
    record = build(stub, settings, prompts, now=now, person=person)
    record["audit"] = []
    record["decision"] = "alert_only"
    record["rationale"] = prompts.render("record/alert_only_rationale.j2", s=settings,
                                         a=a, answered=len(session.history))
    record["lawful_basis"]["suggested"] = None
    record["follow_up"] = [{"action": "emergency_followup", "owner": "dsl",
                            "due": now.date().isoformat()}]
    append_audit(record, by=session.user, action="submitted", at=now,
                 detail={"decision": "alert_only", "cancelled": True})
    return record


def _duties(path: str, a: dict[str, str], pack: nations.NationPack) -> list[str]:
    """The legal duties this record discharges, by the nation's pack."""
    duties = ["fgm_duty"] if fgm_duty(a) else []
    duties += situations.duties(a, pack)
    if path == "prevent" and pack.duty("prevent"):
        duties.append("prevent_duty")
    # Children Act 2004 s.16LA (once commenced): a decision to share or not.
    if pack.duty("cwsa_duty_to_share") and path in ("concern", "request", "child_on_child",
                                                     "prevent") and not tell_dsl_path(a):
        duties.append("cwsa_duty_to_share")
    return duties


def _destination(path: str, recipient: dict[str, str] | None, routed: dict[str, Any],
                 pack: nations.NationPack) -> str:
    """Where the information goes outside school, in the nation's terms
    (``routes`` of its pack): empty when nothing leaves the school."""
    kind = (recipient or {}).get("kind", "")
    if path == "allegation":
        return pack.destination("allegation")
    if path == "transfer":
        return pack.destination("transfer")
    if path == "emergency":
        return "emergency_services"
    if kind == "police" and path == "fgm":
        return pack.destination("fgm_duty") or "police"
    if kind == "prevent":
        return pack.destination("prevent")
    if kind == "social_care":
        return pack.destination("referral")
    if kind in ("", "dsl_only"):
        return ""
    return kind


def _pupil(a: dict[str, str]) -> dict[str, Any] | None:
    """How old the pupil is, where asked, and whether an adult pupil may be
    an adult at risk (only with care and support needs)."""
    if not a.get("pupil_age"):
        return None
    return {"age": a["pupil_age"], "adult": is_adult(a),
            "care_needs": a.get("care_needs", ""),
            "adult_at_risk": a.get("care_needs") == "yes"}


def children(a: dict[str, str]) -> list[dict[str, str]]:
    """Every child the record is about, each a reference: the first is the
    subject (``child_ref``); then the other child in child-on-child abuse,
    siblings and other children involved (DOMAIN.md section 8)."""
    subject = a.get("child_ref", "")
    found = [{"ref": subject, "role": "subject", "note": ""}] if subject else []
    seen = {subject.casefold()}
    for key in ("other_children", "children_more", "others_at_risk"):
        for ref, note in other_children(a.get(key, "")):
            if ref.casefold() not in seen:
                seen.add(ref.casefold())
                # A child at risk in an adult pupil's case is a concern of
                # their own, whatever their relation to the pupil.
                role = "at_risk" if key == "others_at_risk" else child_role(note)
                found.append({"ref": ref, "role": role, "note": note})
    return found


def child_refs(record: Record) -> list[str]:
    """The references a record names (old records: the one child_ref)."""
    kids = record.get("children")
    if isinstance(kids, list) and kids:
        return [str(c.get("ref") or "") for c in kids if isinstance(c, dict)]
    return [str(record.get("child_ref") or "")]


def _reached_no_one(event: dict[str, Any]) -> bool:
    """An urgent alert shown only on the terminal that raised it."""
    return event.get("channel") == "console"


def _urgent(a: dict[str, str]) -> dict[str, str] | None:
    if not passes_to_dsl(a):
        return None
    return {key: a.get(key, "") for key in ("urgent", "urgent_detail", "dsl_reached",
                                            "self_referral", "self_referral_ref")}


def _level(path: str, a: dict[str, str]) -> str:
    if path == "record_only":
        return "low"
    return a.get("level", "")


def _requester(a: dict[str, str]) -> dict[str, str] | None:
    path = route(a)
    if path == "request":
        return {
            "agency": a.get("requester_agency", ""),
            "name_role": a.get("requester_name", ""),
            "verified": a.get("requester_verified", ""),
            "location_request": "yes" if location_request(a) else "",
            "needed_by": a.get("needed_by", ""),
        }
    if path == "records_request":
        return {"agency": a.get("records_requester", ""),
                "name_role": a.get("requester_name", ""), "verified": "",
                "location_request": "", "needed_by": a.get("needed_by", "")}
    return None


def _recipient(path: str, a: dict[str, str], decision: str, settings: Settings
               ) -> dict[str, str] | None:
    """Who receives the information; none when nothing is shared. A refused
    requester is "requested by", never "recipient"."""
    if path == "emergency":
        return {"kind": "emergency_services", "detail": ""}
    if path == "allegation":
        return {"kind": "allegations_route", "detail": ""}
    if path == "transfer":
        return {"kind": "school", "detail": a.get("new_school", "")}
    if decision == "tell_dsl":
        return {"kind": "dsl_only", "detail": ""}
    if path == "fgm" and decision == "share" and a.get("fgm_role") == "teacher":
        return {"kind": "police", "detail": ""}
    if decision not in ("share", "share_part"):
        return None
    if path == "request":
        return {"kind": a.get("requester_agency", ""), "detail": a.get("requester_name", "")}
    if hands_over(a):  # the minimum shared, the DSL unreachable: whom with is typed
        return {"kind": "other", "detail": a.get("self_referral_ref", "")}
    if tell_dsl_path(a):  # the member of staff referred, the DSL unreachable
        return {"kind": "social_care", "detail": a.get("self_referral_ref", "")}
    if path == "prevent":
        return {"kind": "prevent", "detail": ""}
    return {"kind": a.get("recipient", ""), "detail": a.get("recipient_other", "")}


# "Only one parent or carer" is neither "the family told" nor its consent.
def _recipients(path: str, a: dict[str, str], first: dict[str, str] | None, shared: bool,
                settings: Settings, pack: nations.NationPack, routed: dict[str, Any]
                ) -> list[dict[str, Any]]:
    """Every recipient, each with its own how, when and suggested basis;
    the first is ``recipient`` (NOTES.md: record["recipients"])."""
    if first is None:
        return []
    today = "today" if a.get("level") == "significant" else ""
    found: list[dict[str, Any]] = [{**first, "how": a.get("how", "") if shared else "",
              "when": (a.get("when", "") or today) if shared else "",
              "destination": _destination(path, first, routed, pack)}]
    for n in recipients_named(a) if shared else ():
        kind = a[also_key("also_to", n)]
        more = {"kind": kind, "detail": a.get(also_key("also_to_other", n), "")}
        basis = suggest({**a, "recipient": kind}, settings.school_type)
        found.append({**more, "how": a.get(also_key("also_how", n), ""),
                      "when": a.get(also_key("also_when", n), "") or today,
                      "destination": _destination(path, more, routed, pack),
                      "basis": basis.as_dict() if basis else None})
    if len(found) > 1:
        basis = suggest(a, settings.school_type)
        found[0]["basis"] = basis.as_dict() if basis else None
    return found


_TOLD = {"agreed": True, "refused": True, "told_not_asked": True, "not_told": False}
_CONSENT = {"agreed": "given", "refused": "refused", "told_not_asked": "not_sought",
            "not_told": "not_sought", NOT_SURE: NOT_SURE}


def _family(a: dict[str, str], shared: bool) -> dict[str, Any]:
    """What the family was told and said, only as the person answered it,
    and of whom. The para 18 reason is the data subject's, not the
    family's (see :func:`_special_category`); older records kept it here."""
    tell_risk = a.get("tell_risk", "")
    view = a.get("family_view", "")
    told: bool | None = _TOLD.get(view)
    not_told_reason = ""
    if telling_adds_risk(a):
        tell_risk = "yes"
        not_told_reason = risk_reason(a)
        if view != "one_parent":
            told = False
    return {
        "tell_risk": tell_risk,
        "view": view,
        "told": told,
        "told_who": a.get("family_told_who", "") if view == "one_parent" else "",
        "not_to_tell": a.get("not_to_tell", ""),
        "not_told_reason": not_told_reason,
        "consent": _CONSENT.get(view, ""),
        "override_reason": "",
        "override_reason_unsure": False,
    }


def _special_category(a: dict[str, str], shared: bool) -> dict[str, Any] | None:
    """What kind of data is shared and, for special category or criminal
    offence data, the data subject's consent under DPA 2018 Sch.1 para 18
    (read with para 36 for criminal offence data). None when not asked."""
    if not shared or not a.get("data_kind"):
        return None
    reason = a.get("consent_reason", "")
    return {
        "data_kind": a["data_kind"],
        "subject": "the child" if a.get("pupil_age") != "18_plus" else "the pupil",
        "para18_reason": "" if reason == NOT_SURE else reason,
        "para18_unsure": reason == NOT_SURE,
        "refused_why": (a.get("consent_refused_why") or a.get("child_override", "")
                        if reason == "refused_risk" else ""),
    }


def _decision(path: str, a: dict[str, str], prompts: Prompts, settings: Settings
              ) -> tuple[str, str]:
    decision = final_decision(a)
    if path == "emergency":
        return decision, a.get("emergency_action", "")
    if passes_to_dsl(a):
        return decision, prompts.render("record/tell_dsl_rationale.j2", s=settings, a=a,
                                        route=path)
    if path in ("allegation", "transfer") or fgm_duty(a):
        name = "fgm" if fgm_duty(a) else path
        return decision, prompts.render(f"record/{name}_rationale.j2", s=settings, a=a,
                                        routed=routing(a, settings))
    return decision, a.get("rationale", "")


def _route_details(path: str, a: dict[str, str]) -> dict[str, Any]:
    keys = {
        "allegation": ("allegation_about", "allegation_threshold"),
        "fgm": ("fgm_kind", "fgm_role", "fgm_reported", "fgm_police_ref"),
        "child_on_child": ("other_children", "coc_kind", "victim_wishes"),
        "info_received": ("info_source", "info_next"),
        "transfer": ("new_school", "transfer_how", "transfer_due", "transfer_receipt"),
        "records_request": ("records_requester",),
    }.get(path, ())
    details: dict[str, Any] = {k: a.get(k, "") for k in keys}
    if path == "fgm":
        details["duty_applies"] = fgm_duty(a)
    if path == "transfer":
        details["separate_from_pupil_file"] = True
    return details


# A follow-up that names the DSL team as the one to act ("DSL to chase the
# Gateway team") is theirs, whoever typed it.
_DSL_DOES = re.compile(
    r"^\W*(?:the\s+)?(?:deputy\s+)?(?:dsl|dsp|dsl team|designated (?:safeguarding |teacher)"
    r"\w*|safeguarding lead|child protection co-?ordinator|cp co-?ordinator)\b"
    r"(?:\s+or\s+(?:a\s+)?deputy)?\s*(?:to|will|must|should|:)", re.IGNORECASE)


def followup_owner(text: str, user: str) -> str:
    return "dsl" if _DSL_DOES.search(text) else user


def _follow_up(path: str, a: dict[str, str], user: str, decision: str, today: date,
               signoff: bool, routed: dict[str, Any], pack: nations.NationPack
               ) -> list[dict[str, str]]:
    """What must happen next, only for what actually happened."""
    same_day, next_day = today.isoformat(), next_working_day(today).isoformat()
    actions: list[dict[str, str]] = []

    def add(action: str, owner: str, due: str) -> None:
        actions.append({"action": action, "owner": owner, "due": due})

    if signoff:
        add("second_signoff", "dsl", same_day)
    if a.get("followup"):
        add(a["followup"], followup_owner(a["followup"], user), a.get("followup_due", ""))
    if decision == "defer":
        if unverified(a):
            add("verify_requester", user, same_day)
        add("decide_deferred", user, a.get("defer_until", ""))
    referral = decision in ("share", "share_part") and (
        path == "prevent" or (path != "request" and a.get("recipient") == "social_care")
        or any(a.get(also_key("also_to", n)) == "social_care" for n in recipients_named(a)))
    # A private fostering notice tells the local authority of an arrangement:
    # nothing was referred, so nothing is chased as a referral.
    notice_only = "private_fostering" in situations.shown(a) and a.get("level") != "significant"
    if referral and notice_only:
        add("confirm_notice", "dsl", next_day)
    elif referral:
        add("chase_referral", "dsl", next_day)
    if path == "emergency":
        add("emergency_followup", "dsl", same_day)
    if passes_to_dsl(a):
        if decision == "share":
            add("follow_up_staff_referral", "dsl", same_day)
        pressing = a.get("urgent") == "yes" or a.get("level") in ("significant", NOT_SURE)
        if decision == "tell_dsl" or hands_over(a):  # a request still waits for the answer
            add("dsl_decide", "dsl", a.get("needed_by", "") or (
                same_day if pressing or hands_over(a) else next_day))
    if path == "allegation" and routed["to"] != "dsl":  # the record itself tells the DSL
        add(f"tell_{routed['to']}", user, same_day)
    if path == "transfer" and a.get("transfer_receipt") != "confirmed":
        add("confirm_receipt", "dsl", a.get("transfer_due", "") or same_day)
    if path == "transfer" and pack.duty("dsl_transfer_conversation"):
        add("talk_to_new_dsl", "dsl", a.get("transfer_due", "") or same_day)
    if fgm_duty(a) and a.get("fgm_reported") != "reported":
        add("report_fgm_police", user, next_day)
    if csa_duty(a) and a.get("csa_notified") == "will_notify":
        add("notify_csa", user, same_day)
    elif csa_duty(a) and a.get("csa_notified") == "delay":
        add("notify_csa_delayed", user, next_day)
    if path == "info_received" and not hands_over(a) and a.get("info_next") in (
            "refer_now", "dsl_consider_referral"):
        add("dsl_consider_referral", "dsl", same_day)
    return actions


def what_next(record: Record) -> dict[str, Any]:
    """What happens next to a record just submitted, for the last screen:
    whether it waits for the DSL's decision and by when they look at it,
    whether it cannot wait, and whether the person made a decision."""
    decide = next((f for f in record.get("follow_up") or []
                   if f.get("action") == "dsl_decide" and f.get("due")), None)
    urgent = record.get("urgent") or {}
    return {
        "waiting": bool(record.get("awaiting_dsl_decision")),
        "by": localtime.local_time(decide["due"], record.get("timezone")) if decide else "",
        "pressing": urgent.get("urgent") == "yes" or record.get("level_of_concern") == (
            "significant"),
        "request": record.get("route") in ("request", "records_request"),
        "decided": bool(record.get("recorded_by_dsl")) and record.get("kind") == "decision",
        "shared_minimum": urgent.get("self_referral") == "referred",
    }


# -- the DSL takes a concern on ---------------------------------------------

# What the DSL's sharing decision adds to a concern record: the rest (who
# raised it, when, the facts and the child's words) stays as the staff said it.
_DECISION_FIELDS = (
    "route", "decision", "rationale", "recipient", "family", "lawful_basis", "what_to_share",
    "how", "when", "defer_until", "second_signoff", "route_details", "purpose",
    "identifiable", "confidential", "level_of_concern", "child_wishes", "knows_family",
    "special_category", "children", "recipients", "pupil",
    "optimism", "advice", "barriers", "requester", "what_requested", "routing",
    "destination", "duties", "guidance_cited", "guidance_version", "mandatory_report",
    "duty_to_share", "child_identifier", "situations",
)
# The staff member's own judgement, kept beside the DSL's (each attributed:
# the concern's "by", and the record's "decided_by").
_STAFF_JUDGEMENT = ("level_of_concern", "knows_family", "optimism", "child_wishes")


# What a record without the staff member's own answers (a low-level worry,
# an older record) still says, as the answers a take-on starts from.
_TAKE_ON_FIELDS = ("child_ref", "facts", "child_words", "opinion")


def can_take_on(record: Record) -> bool:
    """Whether the DSL can still take the record on into a sharing decision:
    one waiting for her, or one nobody on the DSL team has decided (a
    low-level worry, a staff member's own decision). Not once decided."""
    if record.get("decided_by") or record.get("status") == CLOSED:
        return False
    if record.get("awaiting_dsl_decision"):
        return True
    return not record.get("recorded_by_dsl") and record.get("kind") != "emergency"


def basis_to_confirm(record: Record) -> bool:
    """A lawful basis is suggested on the record and the DSL has not yet
    confirmed it."""
    basis = record.get("lawful_basis") or {}
    return bool((basis.get("suggested") or {}).get("article6")) and not basis.get("confirmed")


def take_on_answers(record: Record) -> dict[str, str]:
    """The answers a take-on starts from: the staff member's own where the
    record kept them, else what the record says of the worry, told to the
    DSL as a concern of theirs."""
    if record.get("concern_answers"):
        return dict(record["concern_answers"])
    answers = {"danger": (record.get("immediate_danger") or {}).get("answer") or "no",
               "trigger": "own_concern"}
    for key in _TAKE_ON_FIELDS:
        if isinstance(record.get(key), str) and (record[key] or key in ("child_words",
                                                                        "opinion")):
            answers[key] = record[key]
    wishes = record.get("child_wishes") or {}
    if wishes.get("answer"):
        answers["child_wishes"] = wishes["answer"]
        if wishes.get("views"):
            answers["child_views"] = wishes["views"]
    return answers


def taken_on(record: Record, *, by: str, at: datetime) -> Record:
    append_audit(record, by=by, action="taken_on", at=at)
    return record


def decided(record: Record, decision: Record, *, by: str, at: datetime,
            answers: Mapping[str, str] | None = None,
            carried: Collection[str] | None = None) -> Record:
    """Add the DSL's sharing decision to a staff member's concern: one record,
    one audit trail, the concern kept as it was raised. ``answers``: the
    DSL's session answers; those she gave herself (not the staff member's,
    carried over unchanged) are kept in ``answered_by_dsl``, so each line of
    the record says whose answer it is. ``carried``: the keys the take-on
    filled from the staff member's answers (without it, any answer equal to
    the staff member's is taken as theirs)."""
    staff = record.get("concern_answers") or {}
    record["answered_by_dsl"] = sorted(
        key for key, value in (answers or {}).items()
        if not key.startswith("_") and (staff.get(key) != value
                                        or (carried is not None and key not in carried)))
    record["concern"] = {"decision": record["decision"], "rationale": record["rationale"],
                         **{key: copy.deepcopy(record.get(key)) for key in _STAFF_JUDGEMENT},
                         "by": record["recorded_by"], "at": record["created_at"]}
    asked_by = (record.get("requester") or {}).get("needed_by", "")
    for key in _DECISION_FIELDS:
        record[key] = copy.deepcopy(decision.get(key))
    requester = record.get("requester")
    if asked_by and isinstance(requester, dict) and not requester.get("needed_by"):
        requester["needed_by"] = asked_by  # when the requester asked for an answer
    record["follow_up"] = [f for f in record["follow_up"] if f["action"] != "dsl_decide"] + [
        f for f in decision["follow_up"] if f not in record["follow_up"]]
    chosen = (answers or {}).get("category")
    if chosen and not record.get("category"):  # asked of her: nothing said it
        record["derived"] = {**(record.get("derived") or {}), "category": ""}
        record["category"] = chosen
        record["category_derived"] = False
        if decision.get("category_label"):  # the school's own, as it was named then
            record["category_label"] = decision["category_label"]
    record["path"] = "decision"
    record["awaiting_dsl_decision"] = False
    record["decided_by"] = {"by": by, "at": iso(at)}
    if record["review_status"] == PENDING:  # the DSL has it in hand
        record["review_status"] = ACKNOWLEDGED
        record["status"] = ACKNOWLEDGED
        record["review"] = {"by": by, "at": iso(at), "note": "", "due": ""}
    append_audit(record, by=by, action="decision_made", at=at,
                 detail={"decision": record["decision"]})
    return record


# -- audit trail ------------------------------------------------------------

def content_hash(record: Record) -> str:
    body = {k: v for k, v in record.items() if k not in _UNHASHED}
    return _sha(body)


def _sha(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def append_audit(record: Record, *, by: str, action: str, at: datetime,
                 detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """Add an audit entry chained to the previous one and to the content as
    it now stands. Call it after changing the record."""
    audit = record.setdefault("audit", [])
    entry = {
        "seq": len(audit) + 1,
        "at": iso(at),
        "by": by,
        "action": action,
        "detail": detail or {},
        "prev": audit[-1]["hash"] if audit else "",
        "state": content_hash(record),
    }
    entry["hash"] = _sha(entry)
    audit.append(entry)
    record["updated_at"] = entry["at"]
    return entry


def verify(record: Record) -> list[str]:
    """Problems with a record's audit chain; empty when it is intact."""
    problems: list[str] = []
    audit = record.get("audit") or []
    if not audit:
        return [f"{record.get('id')}: no audit trail"]
    prev = ""
    for i, entry in enumerate(audit, start=1):
        # "mac" is the store's keyed seal over this hash (storage.seal).
        body = {k: v for k, v in entry.items() if k not in ("hash", "mac")}
        if entry.get("seq") != i:
            problems.append(f"{record.get('id')}: audit entry {i} is missing or out of order")
        if entry.get("prev") != prev:
            problems.append(f"{record.get('id')}: audit entry {i} does not follow entry {i - 1}")
        if _sha(body) != entry.get("hash"):
            problems.append(f"{record.get('id')}: audit entry {i} was altered")
        prev = entry.get("hash", "")
    # Every audit entry stamps updated_at, so a newer stamp than the last
    # entry means entries were cut from the end (even ones that changed no
    # content, such as "viewed" or a refusal).
    if record.get("updated_at", audit[-1].get("at")) != audit[-1].get("at"):
        problems.append(f"{record.get('id')}: audit entries after entry {len(audit)} "
                        "are missing")
    if audit[-1].get("state") != content_hash(record):
        problems.append(f"{record.get('id')}: content changed outside the audit trail")
    return problems


# -- review actions (the DSL) -------------------------------------------------

def acknowledge(record: Record, *, by: str, at: datetime) -> Record:
    record["review_status"] = ACKNOWLEDGED
    record["status"] = ACKNOWLEDGED
    record["review"] = {"by": by, "at": iso(at), "note": "", "due": ""}
    append_audit(record, by=by, action="acknowledged", at=at)
    return record


def follow_up_needed(record: Record, *, by: str, at: datetime, note: str, due: str) -> Record:
    record["review_status"] = FOLLOW_UP
    if record["status"] == SUBMITTED:
        record["status"] = ACKNOWLEDGED
    record["review"] = {"by": by, "at": iso(at), "note": note, "due": due}
    record["follow_up"].append({"action": note, "owner": by, "due": due})
    append_audit(record, by=by, action="follow_up_needed", at=at,
                 detail={"note": note, "due": due})
    return record


def add_note(record: Record, *, by: str, at: datetime, note: str) -> Record:
    record["notes"].append({"by": by, "at": iso(at), "note": note})
    append_audit(record, by=by, action="note_added", at=at, detail={"note": note})
    return record


# What happened after, as the DSL hears it from the follow-up.
OUTCOMES = ("referral_accepted", "child_protection", "child_in_need", "early_help",
            "nfa", "police", "advice_only", "other")


def add_outcome(record: Record, *, by: str, at: datetime, outcome: str, ref: str = "",
                note: str = "") -> Record:
    """The outcome the DSL records after the decision (a referral accepted,
    no further action, early help...), with who and when; each one added is
    kept, the latest shown, and sealed in the audit trail."""
    if outcome not in OUTCOMES:
        raise ValueError(outcome)
    kept = dict(record.get("referral") or {})
    entry = {"outcome": outcome, "ref": ref, "note": note, "by": by, "at": iso(at)}
    kept["outcomes"] = [*kept.get("outcomes", []), entry]
    kept["outcome"] = outcome
    if ref and not kept.get("ref"):
        kept["ref"] = ref
    record["referral"] = kept
    append_audit(record, by=by, action="outcome_added", at=at,
                 detail={"outcome": outcome, "ref": ref, "note": note})
    return record


def outcomes_text(record: Record, prompts: Prompts) -> list[str]:
    """Every outcome recorded, oldest first, each in words with its
    reference and note, who recorded it and when (the full record)."""
    see = reading(record, prompts)
    words = prompts.for_record(record)
    shown = []
    for entry in (record.get("referral") or {}).get("outcomes") or []:
        text = words.wording(f"outcome_{entry.get('outcome')}", str(entry.get("outcome") or ""))
        if entry.get("ref"):
            text += f" (ref {entry['ref']})"
        if entry.get("note"):
            text += f": {entry['note']}"
        shown.append(f"{text} ({see['who'](entry.get('by'))}, {see['when'](entry.get('at'))})")
    return shown


CATEGORIES = derive.CATEGORIES
# What was read from the answers (bot.derive) and the DSL may correct.
CORRECTABLE = ("category", "summary_line")


def shown_category(record: Record) -> str:
    """The category code the record shows: kept, else (an older record that
    never kept one) read from its answers as a new record would be."""
    if "category" in record:
        return str(record.get("category") or "")
    return derive.category(_answers_of(record), str(record.get("route") or ""),
                           list(record.get("situations") or []))


def shown_summary(record: Record) -> str:
    return str(record.get("summary_line") or "") or derive.summary_line(_answers_of(record))


def correct(record: Record, *, by: str, at: datetime, field: str, value: str,
            label: str = "") -> Record:
    """The DSL corrects what was read from the answers (the category, the
    one-line summary). The record shows hers; what was read first is kept
    under ``derived``, and each correction (from, to, who, when) under
    ``corrections`` and in the audit trail. ``label``: a school's own
    category, as it is named now."""
    if field not in CORRECTABLE or not value:
        raise ValueError(field)
    if field == "category" and value not in CATEGORIES and not label:
        raise ValueError(value)
    before = shown_category(record) if field == "category" else shown_summary(record)
    derived = dict(record.get("derived") or {})
    if field not in derived:  # the first value, before anyone corrected it
        derived[field] = before if record.get(f"{field}_derived", True) else ""
    record["derived"] = derived
    record[field] = value
    record[f"{field}_derived"] = False
    if field == "category":
        if label:
            record["category_label"] = label
        else:
            record.pop("category_label", None)
    record["corrections"] = [*(record.get("corrections") or []), {
        "field": field, "from": before, "to": value, "by": by, "at": iso(at)}]
    append_audit(record, by=by, action="corrected", at=at,
                 detail={"field": field, "from": before, "to": value})
    return record


def corrections_wanted(record: Record, **values: str) -> dict[str, str]:
    """Of the values a DSL's correction form sent back (``category``,
    ``summary_line``), those that change the record: a different value, or
    a category she kept as it was read from the answers (now hers). A
    summary left as it was is no correction."""
    wanted = {}
    for field, value in values.items():
        if field not in CORRECTABLE or not value:
            continue
        now = shown_category(record) if field == "category" else shown_summary(record)
        if value != now or (field == "category" and record.get(
                "category_derived", "category" not in record)):
            wanted[field] = value
    return wanted


def corrections_text(record: Record, prompts: Prompts) -> list[str]:
    """Each correction in words: the field, what it was, what it is now,
    who and when (the full record, under the summary)."""
    see = reading(record, prompts)
    words = prompts.for_record(record)

    def shown(field: str, value: str) -> str:
        if field == "category":
            return words.wording(f"category_{value}", value) if value else words.wording(
                "category_none")
        return f"\u201c{value}\u201d"

    return [words.block("record/labels.j2", "correction_row",
                        field=words.wording(f"headline_{c.get('field')}"),
                        was=shown(str(c.get("field")), str(c.get("from") or "")),
                        now=shown(str(c.get("field")), str(c.get("to") or "")),
                        by=see["who"](c.get("by")), at=see["when"](c.get("at")))
            for c in record.get("corrections") or [] if isinstance(c, dict)]


def outcome_due(record: Record) -> bool:
    """Whether the DSL may record what happened after: once decided (not
    while it waits for her decision), until the record is closed."""
    return not record.get("awaiting_dsl_decision") and record.get("status") != CLOSED


def outcome_text(record: Record, prompts: Prompts) -> str:
    """The latest outcome in words, with who recorded it and when; empty
    when none is recorded."""
    found = ((record.get("referral") or {}).get("outcomes") or [])
    if not found:
        return ""
    last = found[-1]
    see = reading(record, prompts)
    words = prompts.for_record(record)
    text = words.wording(f"outcome_{last.get('outcome')}", str(last.get("outcome") or ""))
    if last.get("ref"):
        text += f" (ref {last['ref']})"
    return f"{text}: {see['who'](last.get('by'))}, {see['when'](last.get('at'))}"


def confirm_basis(record: Record, *, by: str, at: datetime, article6: str, article9: str
                  ) -> Record:
    record["lawful_basis"]["confirmed"] = {"article6": article6, "article9": article9,
                                           "by": by, "at": iso(at)}
    append_audit(record, by=by, action="basis_confirmed", at=at,
                 detail={"article6": article6, "article9": article9})
    return record


def close(record: Record, *, by: str, at: datetime) -> Record:
    record["status"] = CLOSED
    append_audit(record, by=by, action="closed", at=at)
    return record


def viewed(record: Record, *, by: str, at: datetime) -> Record:
    """Reading a child's full record is itself recorded."""
    append_audit(record, by=by, action="viewed", at=at)
    return record


def exported(record: Record, *, by: str, at: datetime, reason: str = "") -> Record:
    """Taking a copy out of Jigsaw is recorded like reading it, with why."""
    append_audit(record, by=by, action="exported", at=at,
                 detail={"reason": reason} if reason else None)
    return record


def refused(record: Record, *, by: str, at: datetime, attempted: str) -> Record:
    """Someone without the right tried something: that is recorded too."""
    append_audit(record, by=by, action="access_refused", at=at, detail={"attempted": attempted})
    return record


# -- rendering ------------------------------------------------------------------

Section = tuple[str, list[tuple[str, str]]]


def sections(record: Record, prompts: Prompts) -> list[Section]:
    """The whole record as ``(heading, [(label, value), ...])`` sections in
    reading order (``prompts/record/full.txt.j2`` words them): every answer
    given, people by name, times in the school's time zone. Empty sections
    are left out."""
    view = {**_NEWER_FIELDS, **record}
    prompts = prompts.for_record(record)
    found: list[Section] = []

    def section(title: str) -> str:
        found.append((title, []))
        return ""

    given = answered_by(record, prompts)

    def row(label: str, value: Any, key: str = "") -> str:
        """``key``: the answer the line shows (or "@dsl", "@staff"), for
        whose it is and when on a record two people made."""
        text = "" if value is None else str(value).strip()
        if text and found:
            by = given(key)
            found[-1][1].append((label, f"{text}\n{by}" if by else text))
        return ""

    helpers = reading(record, prompts)
    prompts.render("record/full.txt.j2", r=view, guidance_text=guidance_text,
                   basis_text=lambda r: basis_text(r, prompts), section=section, row=row,
                   category=category_shown(record, prompts),
                   summary_line=shown_summary(record),
                   corrections=corrections_text(record, prompts),
                   status=status_text(record, prompts),
                   other_children=other_children_text(record),
                   outcomes=outcomes_text(record, prompts),
                   destination=destination_text(record, prompts),
                   actions=action_rows(record, prompts), **helpers)
    return [(title, rows) for title, rows in found if rows]


def answered_by(record: Record, prompts: Prompts) -> Callable[[str], str]:
    """For a record two people made (a concern the DSL took on): the line
    saying whose an answer is and when ("given by ..., ..."), by the
    answer's key ("@dsl", "@staff" for lines that are always one's). Empty
    for a record one person made: "Recorded by" already says it."""
    concern, decided_by = record.get("concern") or {}, record.get("decided_by") or {}
    if not concern or not decided_by:
        return lambda key: ""
    words, see = prompts.for_record(record), reading(record, prompts)
    theirs = set(record.get("answered_by_dsl") or ())
    known = "answered_by_dsl" in record  # older records: only the always-one lines

    def given(key: str) -> str:
        if key == "@dsl" or (known and key in theirs):
            by, at = decided_by.get("by"), decided_by.get("at")
        elif key == "@staff" or (known and key):
            by, at = concern.get("by"), concern.get("at")
        else:
            return ""
        return words.wording("answered_by").format(who=see["who"](by), when=see["when"](at))

    return given


def render_text(record: Record, prompts: Prompts) -> str:
    """The whole record as plain text, for the terminal and the full-record
    views: a title, then each section with its rows aligned."""
    words = prompts.for_record(record)
    lines = [words.block("record/reports.j2", "pdf_record_title", id=record.get("id") or "")]
    for title, rows in sections(record, prompts):
        lines += ["", title.upper()]
        for label, value in rows:
            first, *rest = value.splitlines() or [""]
            lines.append(f"{label + ':':<27} {first}")
            lines += [f"{'':<27} {more}" for more in rest]
    return "\n".join(lines)


def reading(record: Record, prompts: Prompts) -> dict[str, Any]:
    """What every rendering of a record uses to show people and times:
    ``who(id)`` (by name, as the record kept it), ``when(iso)`` and
    ``day(iso)`` in the school's time zone."""
    zone = str(record.get("timezone") or localtime.DEFAULT_ZONE)
    team = prompts.for_record(record).pack.term("lead_team")

    def who(ident: Any) -> str:
        if str(ident or "") == "dsl":  # a follow-up the whole team owns
            return team
        return people.shown(record, ident)

    return {"who": who, "when": lambda at: localtime.local_time(at, zone) if at else "",
            "day": lambda at: localtime.local_date(at, zone) if at else ""}


def category_text(record: Record, prompts: Prompts) -> str:
    """The category of concern in words (the school's own ones included)."""
    code = str(record.get("category") or "")
    if not code:
        return ""
    own = record.get("category_label")  # a school's own category, as it was named then
    return str(own) if own else prompts.for_record(record).wording(f"category_{code}", code)


def category_options(record: Record, prompts: Prompts, own: tuple[str, ...]
                     ) -> list[tuple[str, str]]:
    """Every category the DSL can correct the record to, in words: the
    standard ones, the school's own (and the record's own one if the school
    has renamed or dropped it since), then "other"."""
    words = prompts.for_record(record).wording
    labels = derive.own_categories(own)
    now, named = shown_category(record), record.get("category_label")
    if named and now not in labels:
        labels[now] = str(named)
    return [(code, labels.get(code) or words(f"category_{code}"))
            for code in derive.category_choices(tuple(labels.values()))]


def category_offered(record: Record, code: str, prompts: Prompts, own: tuple[str, ...]
                     ) -> bool:
    """Whether ``code`` is one of the categories the DSL's form offers."""
    return any(code == offered for offered, _ in category_options(record, prompts, own))


def category_shown(record: Record, prompts: Prompts) -> str:
    """The category in words as the record shows it, marked "read from the
    answers" until someone chose or corrected it; empty when none."""
    r = record
    category = category_text({**r, "category": shown_category(r)}, prompts)
    if category and r.get("category_derived", "category" not in r):
        category = prompts.for_record(r).block("record/labels.j2", "category_derived",
                                               category=category)
    return category


def urgency_text(record: Record, prompts: Prompts) -> str:
    """What makes the record urgent, in words, most pressing first; empty when
    nothing does."""
    words = prompts.for_record(record)
    found = []
    if (record.get("immediate_danger") or {}).get("answer") == "yes":
        found.append(words.wording("urgent_danger"))
    if (record.get("urgent") or {}).get("urgent") == "yes":
        found.append(words.wording("urgent_cant_wait"))
    if (record.get("second_signoff") or {}).get("required"):
        found.append(words.wording("urgent_signoff"))
    return "; ".join(found)


def referral_of(record: Record) -> dict[str, Any]:
    """Whether a referral (or report) went outside school, and its reference
    as recorded: the DSL's, the staff member's own, or a police report's."""
    urgent = record.get("urgent") or {}
    details = record.get("route_details") or {}
    kept = record.get("referral") or {}
    reported = record.get("mandatory_report") or {}
    ref = str(kept.get("ref") or urgent.get("self_referral_ref") or
              details.get("fgm_police_ref") or reported.get("ref") or "")
    shared = record.get("decision") in ("share", "share_part")
    made = bool(kept.get("ref") or urgent.get("self_referral") == "referred"
                or details.get("fgm_reported") == "reported"
                or reported.get("notified") in ("police", "local_authority")
                or (shared and record.get("destination") and record.get("route") not in (
                    "request", "records_request", "transfer")))
    return {"made": made, "ref": ref, "outcome": str(kept.get("outcome") or "")}


def status_text(record: Record, prompts: Prompts) -> str:
    """Where the record stands, in words: closed, waiting for the DSL's
    decision, or its review state."""
    words = prompts.for_record(record)
    if record.get("status") == CLOSED:
        return words.wording("status_closed")
    if record.get("awaiting_dsl_decision"):
        return words.wording("status_waiting")
    return words.wording(f"review_{record.get('review_status') or PENDING}")


def headline(record: Record, prompts: Prompts) -> list[tuple[str, str, str]]:
    """What the DSL channel post and card show, in this order, as
    ``(field, label, value)``: what makes it urgent, the child, the category,
    the one-line summary, who raised it and when (school time), what is asked
    of the DSL, the decision and who made it, and the status. Everything else
    is in the full record. Values are plain text; front ends escape them.
    Older records (no category or summary line kept) read them from their
    answers as a new record would."""
    words = prompts.for_record(record)
    see = reading(record, prompts)
    r = record
    requester = r.get("requester") or {}
    category = category_shown(r, prompts)
    line = shown_summary(r)
    unverified = (r.get("route") == "request" and bool(requester)
                  and requester.get("verified", "") in ("not_verified", NOT_SURE, ""))
    asked = (words.wording("signoff_needed") if (r.get("second_signoff") or {}).get("required")
             else words.wording("verification_missing") if unverified
             else words.wording("awaiting_decision") if r.get("awaiting_dsl_decision")
             else words.wording("asked_review")
             if (r.get("review_status") or PENDING) == PENDING and r.get("status") != CLOSED
             else "")
    decision = str(r.get("decision") or "")
    decided = r.get("decided_by") if isinstance(r.get("decided_by"), dict) else None
    warnings = [urgency_text(r, prompts),
                words.wording("verification_missing") if unverified else "",
                words.wording("location_warning")
                if requester.get("location_request") in ("yes", NOT_SURE) else ""]
    rows = [
        ("urgency", "; ".join(w for w in warnings if w)),
        ("urgent_detail", _urgent_text(r.get("urgent"), words)),
        ("child_ref", str(r.get("child_ref") or "")),
        ("category", category or words.wording("category_none")),
        ("summary_line", line),
        ("kind", words.wording(f"route_{r['route']}") if r.get("route")
         else words.wording(f"kind_{r.get('kind', '')}")),
        ("recorded_by", see["who"](r.get("recorded_by"))),
        ("created_at", see["when"](r.get("created_at"))),
        ("asked", asked),
        ("decision", words.wording(f"decision_{decision}", decision)
         if decision and not r.get("awaiting_dsl_decision") else ""),
        ("recipient", _recipient_text(r.get("recipient"), words)
         if decision in ("share", "share_part") else ""),
        ("requested_by", _requested_by(r, words)),
        ("decided_by", f"{see['who'](decided.get('by'))}, {see['when'](decided.get('at'))}"
         if decided else ""),
        ("outcome", outcome_text(r, prompts)),
        ("status", status_text(r, prompts)),
    ]
    still_open = words.wording("action_open")
    open_actions = [a for a in action_rows(r, prompts) if a["state"] == still_open]
    if open_actions:
        latest = open_actions[-1]
        more = len(open_actions) - 1
        rows.append(("next", f"{latest['text']} ({latest['owner']}, by {latest['due']})"
                     + (words.block("record/labels.j2", "headline_more", n=more) if more else "")))
    return [(key, words.wording(f"headline_{key}"), value) for key, value in rows if value]


def _answers_of(record: Record) -> dict[str, str]:
    return {step: str(record.get(step) or "") for step in ("facts", "child_words", "opinion",
                                                           "what_requested")}


def other_children_text(record: Record) -> str:
    """Other children involved: the references of ``children`` beyond the
    first, else what was typed about them on the child-on-child route."""
    others = [str(c.get("ref")) for c in (record.get("children") or [])[1:]
              if isinstance(c, dict) and c.get("ref")]
    if others:
        return ", ".join(others)
    return str((record.get("route_details") or {}).get("other_children") or "")


def action_rows(record: Record, prompts: Prompts) -> list[dict[str, str]]:
    """Follow-up actions in words: what, owner, due, open or done (by whom, when)."""
    words = prompts.for_record(record)
    helpers = reading(record, prompts)
    rows = []
    for n, item in enumerate(record.get("follow_up") or []):
        if not isinstance(item, dict):
            continue
        done = item.get("done") if isinstance(item.get("done"), dict) else None
        rows.append({
            "n": str(n + 1),
            "text": _action_text(str(item.get("action") or ""), words),
            "owner": helpers["who"](item.get("owner")) or "-",
            "due": helpers["day"](item.get("due")) or words.wording("no_date"),
            "state": (words.wording("action_done_by").format(
                by=helpers["who"](done.get("by")), at=helpers["when"](done.get("at")))
                if done else words.wording("action_open")),
        })
    return rows


# Fields older question sets did not have, so their records render the same.
_NEWER_FIELDS: dict[str, Any] = {
    "route": "", "requester": None, "what_requested": "", "route_details": {},
    "routing": None, "child_wishes": {}, "optimism": "", "second_signoff": {},
    "delivery": {}, "nation": "", "pack": None, "destination": "", "duties": [],
    "guidance_cited": [], "concern": None, "referral": None, "happened": None,
    "summary_line": "", "category": "", "urgent": None, "decided_by": None,
    "special_category": None, "children": [], "recipients": [], "pupil": None,
    "awaiting_dsl_decision": False, "notes": [], "review": None,
}


def summary(record: Record, prompts: Prompts) -> list[tuple[str, str, str]]:
    """The fields the DSL needs to act (DOMAIN.md section 7) as
    ``(field, label, value)`` triples that a front end lays out, most urgent
    first: a second sign-off, then whether a requester is verified.

    Facts, the child's words and opinions stay in the store: the channel gets
    what is needed to act. Values are plain text; front ends escape them.
    Records made under older question sets render too.
    """
    prompts = prompts.for_record(record)
    lbl, word = prompts.label, prompts.wording
    r = record
    see = reading(record, prompts)
    requester = r.get("requester") or {}
    family = r.get("family") or {}
    rows: list[tuple[str, str]] = [
        ("second_signoff", word("signoff_needed")
         if (r.get("second_signoff") or {}).get("required") else ""),
        ("requester_verified", _verification(r, prompts)),
        ("location_request", word("location_warning")
         if requester.get("location_request") in ("yes", NOT_SURE) else ""),
        ("urgent", _urgent_text(r.get("urgent"), prompts)),
        ("next_step", word("awaiting_decision") if r.get("awaiting_dsl_decision") else ""),
        ("id", r.get("id") or ""),
        ("kind", word(f"route_{r['route']}") if r.get("route") else word(f"kind_{r['kind']}")),
        ("child_ref", r.get("child_ref", "")),
        ("other_children", ", ".join(child_refs(r)[1:])),
        ("decision", word(f"decision_{r['decision']}", r["decision"])),
        ("defer_until", r.get("defer_until", "")),
        ("requested_by", _requested_by(r, prompts)),
        ("recipient", _recipient_text(r.get("recipient"), prompts)),
        ("also_to", "; ".join(prompts.label("also_to", str(x.get("kind") or ""))
                              for x in (r.get("recipients") or [])[1:])),
        ("routed_to", (r.get("routing") or {}).get("contact", "")
         if (r.get("routing") or {}).get("to", "dsl") != "dsl" else ""),
        ("destination", destination_text(r, prompts)),
        ("level_of_concern", lbl("level", r.get("level_of_concern", ""))),
        ("trigger", lbl("trigger", r.get("trigger", ""))),
        ("immediate_danger", lbl("danger", (r.get("immediate_danger") or {}).get("answer", ""))),
        ("lawful_basis", basis_text(r, prompts)),
        ("family", _family_text(family, prompts)),
        ("override_reason", lbl("consent_reason", family.get("override_reason", "")
                                or (r.get("special_category") or {}).get("para18_reason", ""))),
        ("child_wishes", lbl("child_wishes", (r.get("child_wishes") or {}).get("answer", ""))),
        ("rationale", r.get("rationale", "")),
        ("advice", word("advice_needed") if (r.get("advice") or {}).get("needed") else ""),
        ("follow_up", "; ".join(
            f"{f['text']} ({f['owner']}, by {f['due']})" for f in action_rows(r, prompts))),
        ("barriers", ", ".join(word(f"barrier_{b}", b)
                               for b in (r.get("barriers") or {}).get("shown", []))),
        ("guidance", guidance_text(r)),
        ("recorded_by", see["who"](r.get("recorded_by"))),
        ("created_at", see["when"](r.get("created_at"))),
        ("decided_by", (f"{see['who'](r['decided_by'].get('by'))}, "
                        f"{see['when'](r['decided_by'].get('at'))}")
         if isinstance(r.get("decided_by"), dict) else ""),
        ("review_status", word(f"review_{r.get('review_status', PENDING)}")),
    ]
    return [(key, word(f"field_{key}"), value) for key, value in rows if value]


def destination_text(r: Record, prompts: Prompts) -> str:
    """Where the information goes outside school, in words (an agency
    without a wording of its own is named as the recipient choice is)."""
    dest = str(r.get("destination") or "")
    if not dest:
        return ""
    words = prompts.for_record(r)
    if words.has_block("record/labels.j2", f"destination_{dest}"):
        return words.wording(f"destination_{dest}")
    return words.label("recipient", dest)


def guidance_text(r: Record) -> str:
    """The guidance the record cites, as it stored it (nation and year)."""
    return "; ".join(
        " ".join(p for p in (g["title"], g.get("year", "")) if p)
        + (f", {g['section']}" if g.get("section") else "")
        for g in r.get("guidance_cited") or [])


def _urgent_text(urgent: dict[str, str] | None, prompts: Prompts) -> str:
    if not urgent:
        return ""
    parts = []
    if urgent.get("self_referral") == "referred":
        parts.append(prompts.wording("staff_referred"))
    if urgent.get("urgent") == "yes":
        parts.append(urgent.get("urgent_detail", ""))
    return ". ".join(p for p in parts if p)


def _verification(r: Record, prompts: Prompts) -> str:
    requester = r.get("requester") or {}
    if not requester or r.get("route", "request") != "request":
        return ""
    verified = requester.get("verified", "")
    if verified in ("not_verified", NOT_SURE, ""):
        return prompts.wording("verification_missing")
    return prompts.label("requester_verified", verified)


def _requested_by(r: Record, prompts: Prompts) -> str:
    requester = r.get("requester") or {}
    if not requester:
        return ""
    step = "records_requester" if r.get("route") == "records_request" else "requester_agency"
    text = prompts.label(step, requester.get("agency", ""))
    return f"{text}: {requester['name_role']}" if requester.get("name_role") else text


def _recipient_text(recipient: dict[str, str] | None, prompts: Prompts) -> str:
    if not recipient or not recipient.get("kind"):
        return ""
    kind = recipient["kind"]
    text = (prompts.wording(f"recipient_{kind}")
            if prompts.has_block("record/labels.j2", f"recipient_{kind}")
            else prompts.label("recipient", kind))
    return f"{text}: {recipient['detail']}" if recipient.get("detail") else text


def _family_text(family: dict[str, Any], prompts: Prompts) -> str:
    if family.get("view"):
        return prompts.label("family_view", family["view"])
    if family.get("tell_risk") == "yes":
        return prompts.wording("family_not_told_risk")
    if family.get("consent"):  # older records
        return prompts.label("consent", family["consent"])
    return ""


def basis_text(r: Record, prompts: Prompts) -> str:
    """The suggested basis, plain-English name first, citation second."""
    basis = (r.get("lawful_basis") or {}).get("suggested")
    if not basis:
        return ""
    if "article10" not in basis:  # older records carried bare citations
        return f"Art. {basis['article6']}; Art. {basis['article9']} (suggested)"
    parts = [prompts.wording(f"basis_{basis['article6']}")]
    if basis.get("article9"):  # none where the DSL said no special category data
        parts.append(prompts.wording(f"basis_{basis['article9']}"))
    if basis.get("article10"):
        parts.append(prompts.wording(f"basis_{basis['article10']}"))
    return "; ".join(parts) + " " + prompts.wording("basis_suggested")


def _action_text(action: str, prompts: Prompts) -> str:
    return prompts.block("record/labels.j2", f"action_{action}", default=action)
