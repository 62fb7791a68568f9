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
from datetime import date, datetime
from typing import Any

from bot.config import Settings
from bot.flow import GUIDANCE_VERSION, Session
from bot.flow.basis import suggest
from bot.flow.engine import iso
from bot.flow.steps import NOT_SURE, no_purpose
from bot.flow.validate import next_working_day
from bot.prompts import Prompts

Record = dict[str, Any]

SUBMITTED, ACKNOWLEDGED, CLOSED = "submitted", "acknowledged", "closed"
PENDING, FOLLOW_UP = "pending", "follow_up_needed"

# Fields outside the audited content: the id is assigned by the store after
# the first entry is written, and delivery bookkeeping and the audit itself
# change without being decisions about the child.
_UNHASHED = ("id", "audit", "delivery", "updated_at")


def kind_of(answers: dict[str, str]) -> str:
    if answers.get("emergency_next") == "submit":
        return "emergency"
    if answers.get("allegation") == "yes":
        return "allegation"
    return "decision"


def build(session: Session, settings: Settings, prompts: Prompts, *, now: datetime) -> Record:
    """The record for a completed session (DOMAIN.md section 5)."""
    a = session.answers
    kind = kind_of(a)
    alert = next((e for e in session.events if e["kind"] == "urgent_alert"), None)
    basis = suggest(a, settings.school_type).as_dict()
    decision, rationale = _decision(kind, a, prompts, settings)
    record: Record = {
        "id": None,
        "session_id": session.id,
        "kind": kind,
        "flow_version": session.flow_version,
        "guidance_version": GUIDANCE_VERSION,
        "school": settings.school_name,
        "nation": settings.nation,
        "created_at": iso(now),
        "updated_at": iso(now),
        "recorded_by": session.user,
        "source": session.source,
        "status": SUBMITTED,
        "trigger": a.get("trigger", ""),
        "requester": _requester(a),
        "child_ref": a.get("child_ref", ""),
        "immediate_danger": {
            "answer": a.get("danger", ""),
            "action": a.get("emergency_action", ""),
            "alerted_at": alert["at"] if alert else None,
        },
        "allegation_against_adult": a.get("allegation", ""),
        "facts": a.get("facts", ""),
        "child_words": a.get("child_words", ""),
        "opinion": a.get("opinion", ""),
        "knows_family": a.get("knows_family", ""),
        "level_of_concern": a.get("level", ""),
        "purpose": {"answer": a.get("purpose", ""), "detail": a.get("purpose_detail", "")},
        "recipient": _recipient(kind, a),
        "identifiable": a.get("identifiable", ""),
        "confidential": a.get("confidential", ""),
        "family": _family(a),
        "lawful_basis": {
            "suggested": basis if kind != "allegation" and not no_purpose(a) else None,
            "staff_view": a.get("lawful_basis", ""),
            "confirmed": None,
        },
        "what_to_share": a.get("what_to_share", ""),
        "how": a.get("how", ""),
        "when": a.get("when", ""),
        "barriers": copy.deepcopy(session.barriers),
        "decision": decision,
        "defer_until": a.get("defer_until", ""),
        "rationale": rationale,
        "advice": {
            "needed": bool(session.not_sure),
            "not_sure_at": list(session.not_sure),
            "sought": a.get("advice", ""),
        },
        "follow_up": _follow_up(kind, a, session.user, decision, now.date()),
        "review_status": PENDING,
        "review": None,
        "notes": [],
        "delivery": {"state": "pending"},
        "audit": [],
    }
    append_audit(record, by=session.user, action="submitted", at=now,
                 detail={"decision": decision})
    return record


def _requester(a: dict[str, str]) -> dict[str, str] | None:
    if a.get("trigger") != "request":
        return None
    return {
        "agency": a.get("requester_agency", ""),
        "name_role": a.get("requester_name", ""),
        "verified": a.get("requester_verified", ""),
    }


def _recipient(kind: str, a: dict[str, str]) -> dict[str, str]:
    if kind == "emergency":
        return {"kind": "emergency_services", "detail": ""}
    if kind == "allegation":
        return {"kind": "allegations_route", "detail": ""}
    if a.get("trigger") == "request":
        return {"kind": a.get("requester_agency", ""), "detail": a.get("requester_name", "")}
    return {"kind": a.get("recipient", ""), "detail": a.get("recipient_other", "")}


def _family(a: dict[str, str]) -> dict[str, Any]:
    tell_risk = a.get("tell_risk", "")
    consent = a.get("consent", "")
    told: bool | None
    not_told_reason = ""
    override = ""
    if tell_risk == "yes":
        told, not_told_reason, override = False, a.get("tell_risk_reason", ""), "c"
    elif consent in ("given", "refused"):
        told = True
    elif consent == "not_sought":
        told, not_told_reason = False, "without_consent"
        override = a.get("consent_reason", "")
    else:
        told = None
    if consent == "refused" and a.get("consent_reason"):
        override = a["consent_reason"]
    return {
        "tell_risk": tell_risk,
        "told": told,
        "not_told_reason": not_told_reason,
        "consent": consent,
        "override_reason": "" if override == NOT_SURE else override,
        "override_reason_unsure": override == NOT_SURE,
    }


def _decision(kind: str, a: dict[str, str], prompts: Prompts, settings: Settings
              ) -> tuple[str, str]:
    if kind == "emergency":
        return "share", a.get("emergency_action", "")
    if kind == "allegation":
        return "allegations_route", prompts.render("record/allegation_rationale.j2", s=settings)
    if no_purpose(a):
        return "do_not_share", a.get("rationale", "")
    return a.get("decision", ""), a.get("rationale", "")


def _follow_up(kind: str, a: dict[str, str], user: str, decision: str, today: date
               ) -> list[dict[str, str]]:
    actions: list[dict[str, str]] = []
    if a.get("followup"):
        actions.append({"action": a["followup"], "owner": user, "due": a.get("followup_due", "")})
    if decision == "defer":
        actions.append({"action": "decide_deferred", "owner": user,
                        "due": a.get("defer_until", "")})
    referral = decision in ("share", "share_part") and (
        a.get("recipient") == "social_care" or a.get("level") == "significant"
    )
    if referral or kind == "emergency":
        actions.append({"action": "chase_referral", "owner": "dsl",
                        "due": next_working_day(today).isoformat()})
    if kind == "allegation":
        actions.append({"action": "tell_headteacher_lado", "owner": "dsl",
                        "due": today.isoformat()})
    return actions


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

def render_text(record: Record, prompts: Prompts) -> str:
    """The whole record as plain text, for the terminal and exports."""
    return prompts.render("record/full.txt.j2", r=record)


def summary(record: Record, prompts: Prompts) -> list[tuple[str, str, str]]:
    """The fields the DSL needs to act (DOMAIN.md section 7) as
    ``(field, label, value)`` triples that a front end lays out.

    Facts, the child's words and opinions stay in the store: the channel gets
    what is needed to act. Values are plain text; front ends escape them.
    """
    lbl = prompts.label
    r = record
    recipient = r["recipient"]
    recipient_text = lbl("recipient", recipient["kind"]) if recipient["kind"] in (
        "social_care", "police", "health", "school", "early_help", "dsl_only", "other"
    ) else prompts.block("record/labels.j2", f"recipient_{recipient['kind']}",
                         default=lbl("requester_agency", recipient["kind"]))
    if recipient.get("detail"):
        recipient_text = f"{recipient_text}: {recipient['detail']}"
    basis = r["lawful_basis"]["suggested"]
    family = r["family"]
    follow = "; ".join(
        f"{_action_text(f['action'], prompts)} ({f['owner']}, by {f['due'] or 'no date'})"
        for f in r["follow_up"]
    )
    rows: list[tuple[str, str]] = [
        ("id", r.get("id") or ""),
        ("kind", prompts.block("record/labels.j2", f"kind_{r['kind']}")),
        ("child_ref", r["child_ref"]),
        ("decision", prompts.block("record/labels.j2", f"decision_{r['decision']}",
                                   default=r["decision"])),
        ("defer_until", r.get("defer_until", "")),
        ("recipient", recipient_text),
        ("level_of_concern", lbl("level", r["level_of_concern"])),
        ("trigger", lbl("trigger", r["trigger"])),
        ("immediate_danger", lbl("danger", r["immediate_danger"]["answer"])),
        ("lawful_basis", f"Art. {basis['article6']}; Art. {basis['article9']} (suggested)"
         if basis else ""),
        ("consent", lbl("consent", family["consent"])),
        ("override_reason", lbl("consent_reason", family["override_reason"])),
        ("family_told", prompts.block("record/labels.j2", f"told_{family['told']}".lower())
         if family["told"] is not None else ""),
        ("rationale", r["rationale"]),
        ("advice", prompts.block("record/labels.j2", "advice_needed")
         if r["advice"]["needed"] else ""),
        ("follow_up", follow),
        ("barriers", ", ".join(prompts.block("record/labels.j2", f"barrier_{b}")
                               for b in r["barriers"]["shown"])),
        ("recorded_by", r["recorded_by"]),
        ("created_at", r["created_at"]),
        ("review_status", prompts.block("record/labels.j2", f"review_{r['review_status']}")),
    ]
    return [(key, prompts.block("record/labels.j2", f"field_{key}"), value)
            for key, value in rows if value]


def _action_text(action: str, prompts: Prompts) -> str:
    return prompts.block("record/labels.j2", f"action_{action}", default=action)
