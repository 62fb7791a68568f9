"""What waits for the DSL: concerns and requests passed to them, and records
not yet reviewed, urgent first, each as its id and one line.

Every front end lists the same items (the terminal's ``jigsaw inbox``, the
Slack App Home, the Teams home card): this module decides what waits and in
what order; the front ends only lay it out. Nothing here knows a chat service.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot import people
from bot.localtime import local_time
from bot.prompts import Prompts
from bot.record import can_take_on, child_refs, shown_summary

NOT_SURE = "not_sure"


@dataclass(frozen=True)
class InboxItem:
    """One thing waiting for the DSL. ``line`` holds the child's reference,
    never a name, and is plain text (each front end escapes it)."""

    id: str
    urgent: bool
    awaiting_decision: bool  # a concern or request the DSL has still to decide
    created_at: str  # UTC, as stored
    line: str
    can_take_on: bool = False  # the DSL may take it on into a sharing decision

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "urgent": self.urgent,
                "awaiting_decision": self.awaiting_decision,
                "created_at": self.created_at, "line": self.line,
                "can_take_on": self.can_take_on}


# What waiting() and urgent() read, and the queue's order: enough to choose
# the items shown before reading their full records.
QUEUE_FIELDS = ("id", "status", "awaiting_dsl_decision", "review_status", "immediate_danger",
                "urgent", "level_of_concern", "second_signoff", "created_at")


def urgent(record: dict[str, Any]) -> bool:
    """Needs the DSL today: danger, something that cannot wait, significant
    harm, or a second sign-off."""
    danger = (record.get("immediate_danger") or {}).get("answer")
    pressing = (record.get("urgent") or {}).get("urgent") == "yes"
    return (danger in ("yes", NOT_SURE) or pressing
            or record.get("level_of_concern") in ("significant", NOT_SURE)
            or bool((record.get("second_signoff") or {}).get("required")))


def waiting(record: dict[str, Any]) -> bool:
    """The DSL has something to do: a decision to make, or a review."""
    if record.get("status") == "closed":
        return False
    return bool(record.get("awaiting_dsl_decision")) or record.get("review_status") == "pending"


def queue(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The waiting records in the inbox's order: urgent first, then
    decisions to make before reviews, then oldest first. Reads only
    :data:`QUEUE_FIELDS`."""
    return sorted((r for r in records if waiting(r)),
                  key=lambda r: (not urgent(r), not r.get("awaiting_dsl_decision"),
                                 r["created_at"]))


def items(records: Iterable[dict[str, Any]], prompts: Prompts, *, timezone: str
          ) -> list[InboxItem]:
    """The waiting records as inbox items, in :func:`queue` order."""
    found = []
    for record in queue(records):
        line = prompts.render("inbox/line.j2", r=record, urgent=urgent(record),
                              about=shown_summary(record),
                              who=people.shown(record, record.get("recorded_by")),
                              others=[ref for ref in child_refs(record)[1:] if ref],
                              local=local_time(record["created_at"], timezone))
        found.append(InboxItem(id=record["id"], urgent=urgent(record),
                               awaiting_decision=bool(record.get("awaiting_dsl_decision")),
                               created_at=record["created_at"], line=" ".join(line.split()),
                               can_take_on=can_take_on(record)))
    return found
