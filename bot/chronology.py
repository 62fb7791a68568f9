"""A child's chronology: every record and follow-up about one child
reference, in time order, each with its decision. Nothing here knows about
Slack; the service layer checks who may see it and audits each view.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot import followups
from bot.prompts import Prompts

# Review steps worth a line of their own (from the audit trail).
_EVENTS = ("acknowledged", "follow_up_needed", "note_added", "basis_confirmed", "closed",
           "follow_up_done", "alert_acknowledged")


def same_child(a: str, b: str) -> bool:
    """References match ignoring case and spacing ("ab 1234" is "AB-1234"
    only if the school writes it so; spacing and case are all we forgive)."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold() != ""


def matching_ids(summaries: Iterable[Mapping[str, Any]], child_ref: str) -> list[str]:
    return [s["id"] for s in summaries if same_child(str(s.get("child_ref") or ""), child_ref)]


def entries(records: Iterable[dict[str, Any]], prompts: Prompts) -> list[dict[str, Any]]:
    """Lines of the chronology, oldest first. Each has ``at``, ``record_id``
    and ``what`` (record, an audit action, or follow_up) and its details;
    ``prompts/record/chronology.txt.j2`` words them."""
    lines: list[dict[str, Any]] = []
    for r in records:
        words = prompts.for_record(r)  # each record in the words it was made in
        rid = str(r.get("id") or "")
        lines.append({"at": str(r.get("created_at") or ""), "record_id": rid, "what": "record",
                      "kind": words.wording(f"kind_{r.get('kind')}", str(r.get("kind"))),
                      "decision": words.wording(f"decision_{r.get('decision')}",
                                                str(r.get("decision"))),
                      "by": str(r.get("recorded_by") or "")})
        for entry in r.get("audit") or []:
            if entry.get("action") not in _EVENTS:
                continue
            detail = entry.get("detail") or {}
            lines.append({"at": str(entry.get("at") or ""), "record_id": rid,
                          "what": entry["action"], "by": str(entry.get("by") or ""),
                          "note": str(detail.get("note") or ""),
                          "due": str(detail.get("due") or "")})
        for item in followups.items(r):
            lines.append({"at": item.due or str(r.get("created_at") or ""), "record_id": rid,
                          "what": "follow_up", "owner": item.owner, "due": item.due,
                          "team": words.pack.term("lead_team"),
                          "action": words.wording(f"action_{item.action}", item.action),
                          "done": item.done})
    lines.sort(key=lambda line: (line["at"], line["record_id"]))
    return lines


def as_text(child_ref: str, lines: list[dict[str, Any]], prompts: Prompts) -> str:
    return prompts.render("record/chronology.txt.j2", child_ref=child_ref, lines=lines,
                          records=len({line["record_id"] for line in lines}))
