"""Follow-up actions on a record: who owns each, when it is due, whether it
is done.

A record's ``follow_up`` is a list of ``{action, owner, due}`` dicts, made by
the flow and added to by the DSL. Each item is known by a stable id: its own
``id`` if it has one, else its place in the list (the list only ever grows,
so a place never changes hands). Records written before ids and done state
existed load unchanged. Nothing here knows about Slack.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot import record as records
from bot.flow.engine import iso
from bot.localtime import local_date

DSL_OWNER = "dsl"  # the DSL team, not one person


class UnknownFollowUp(KeyError):
    """No follow-up with that id on the record."""


@dataclass(frozen=True)
class FollowUp:
    record_id: str
    id: str
    action: str  # a code from record/labels.j2 (action_*) or the DSL's words
    owner: str  # "dsl" or a user id
    due: str  # ISO date, or "" for no date
    done: dict[str, str] | None

    @property
    def key(self) -> str:
        return f"{self.record_id}:{self.id}"

    def due_date(self) -> date | None:
        try:
            return date.fromisoformat(self.due) if self.due else None
        except ValueError:
            return None

    @property
    def due_shown(self) -> str:
        """The due date as people write it ("Mon 7 Dec 2026"); "" for none."""
        return local_date(self.due) if self.due else ""

    def state(self, today: date) -> str:
        """done, overdue, due (today), open (later or no date)."""
        if self.done:
            return "done"
        due = self.due_date()
        if due is None or due > today:
            return "open"
        return "due" if due == today else "overdue"

    def owned_by(self, user: str, *, is_dsl: bool) -> bool:
        return self.owner == user or (self.owner == DSL_OWNER and is_dsl)

    def as_dict(self) -> dict[str, Any]:
        return {"record_id": self.record_id, "id": self.id, "action": self.action,
                "owner": self.owner, "due": self.due, "done": self.done}


def item_id(item: dict[str, Any], position: int) -> str:
    return str(item.get("id") or position + 1)


def items(record: dict[str, Any]) -> list[FollowUp]:
    """The record's follow-ups, each with its id and done state."""
    found = []
    for n, item in enumerate(record.get("follow_up") or []):
        if not isinstance(item, dict):
            continue
        done = item.get("done")
        found.append(FollowUp(
            record_id=str(record.get("id") or ""), id=item_id(item, n),
            action=str(item.get("action") or ""), owner=str(item.get("owner") or ""),
            due=str(item.get("due") or ""), done=done if isinstance(done, dict) else None))
    return found


def find(record: dict[str, Any], follow_up_id: str) -> FollowUp:
    for item in items(record):
        if item.id == follow_up_id:
            return item
    raise UnknownFollowUp(follow_up_id)


def mark_done(record: dict[str, Any], follow_up_id: str, *, by: str, at: datetime
              ) -> dict[str, Any]:
    """Mark one follow-up done (audited). Done twice is a no-op."""
    for n, item in enumerate(record.get("follow_up") or []):
        if isinstance(item, dict) and item_id(item, n) == follow_up_id:
            if item.get("done"):
                return record
            item["id"] = follow_up_id
            item["done"] = {"by": by, "at": iso(at)}
            records.append_audit(record, by=by, action="follow_up_done", at=at,
                                 detail={"follow_up": follow_up_id})
            return record
    raise UnknownFollowUp(follow_up_id)
