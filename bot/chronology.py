"""A child's chronology: every record and follow-up about one child
reference, in time order, each with its decision. Nothing here knows about
Slack; the service layer checks who may see it and audits each view.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot import followups, localtime
from bot import record as recs
from bot.prompts import Prompts

# Review steps worth a line of their own (from the audit trail).
_EVENTS = ("taken_on", "decision_made", "acknowledged", "follow_up_needed", "note_added",
           "outcome_added", "basis_confirmed", "closed", "follow_up_done", "alert_acknowledged")


def ref_key(ref: str) -> str:
    """A reference as compared: case and spacing forgiven ("ab 1234" is
    "AB-1234" only if the school writes it so)."""
    return " ".join(str(ref).split()).casefold()


def same_child(a: str, b: str) -> bool:
    """References match ignoring case and spacing."""
    return ref_key(a) == ref_key(b) != ""


def matching_ids(summaries: Iterable[Mapping[str, Any]], child_ref: str) -> list[str]:
    return [s["id"] for s in summaries if same_child(str(s.get("child_ref") or ""), child_ref)]


def entries(records: Iterable[dict[str, Any]], prompts: Prompts) -> list[dict[str, Any]]:
    """Lines of the chronology, in time order, as practitioners write one:
    each has ``when`` (school time), ``source`` (the record and its kind),
    ``summary`` (one line of what happened), and ``at``/``record_id``/``what``
    for sorting and filtering."""
    lines: list[dict[str, Any]] = []
    for r in records:
        words = prompts.for_record(r)  # each record in the words it was made in
        see = recs.reading(r, prompts)
        rid = str(r.get("id") or "")
        kind = (words.wording(f"route_{r['route']}") if r.get("route")
                else words.wording(f"kind_{r.get('kind')}", str(r.get("kind"))))
        source = f"{rid} ({kind})"

        def add(at: Any, what: str, summary: str, *, see: dict[str, Any] = see,
                rid: str = rid, source: str = source, **more: Any) -> None:
            lines.append({"at": localtime.sort_key(at), "when": see["when"](at),
                          "record_id": rid, "what": what, "source": source,
                          "summary": summary, **more})

        decision = words.wording(f"decision_{r.get('decision')}", str(r.get("decision")))
        add(r.get("created_at"), "record", words.wording("chronology_record").format(
            what=_one_line(r), decision=decision, by=see["who"](r.get("recorded_by"))),
            kind=kind, decision=decision, by=see["who"](r.get("recorded_by")))
        for entry in r.get("audit") or []:
            action = entry.get("action")
            if action not in _EVENTS:
                continue
            detail = entry.get("detail") or {}
            text = words.wording(f"audit_{action}", str(action).replace("_", " "))
            if action == "decision_made" and detail.get("decision"):
                text += ": " + words.wording(f"decision_{detail['decision']}")
            if action == "outcome_added" and detail.get("outcome"):
                text += ": " + words.wording(f"outcome_{detail['outcome']}") + (
                    f" (ref {detail['ref']})" if detail.get("ref") else "")
            if detail.get("note"):
                text += ": " + _short(str(detail["note"]))
            add(entry.get("at"), str(action),
                words.wording("chronology_event").format(what=text,
                                                         by=see["who"](entry.get("by"))),
                by=see["who"](entry.get("by")))
        for item in followups.items(r):
            owner = see["who"](item.owner)
            action = words.wording(f"action_{item.action}", item.action)
            state = (words.wording("action_done_by").format(
                by=see["who"](item.done.get("by")), at=see["when"](item.done.get("at")))
                if item.done else words.wording("action_open"))
            add(item.due or r.get("created_at"), "follow_up",
                words.wording("chronology_action").format(what=action, owner=owner,
                                                          state=state))
    lines.sort(key=lambda line: (line["at"], line["record_id"]))
    return lines


def _short(text: str, limit: int = 110) -> str:
    one = " ".join(text.split())
    return one if len(one) <= limit else one[:limit - 1].rstrip() + "…"


def _one_line(r: dict[str, Any]) -> str:
    """What the record is about in one line: the staff member's own summary,
    else the start of the facts."""
    return _short(str(r.get("summary_line") or r.get("facts") or
                      (r.get("immediate_danger") or {}).get("action") or ""))


def as_text(child_ref: str, lines: list[dict[str, Any]], prompts: Prompts) -> str:
    return prompts.render("record/chronology.txt.j2", child_ref=child_ref, lines=lines,
                          records=len({line["record_id"] for line in lines}))
