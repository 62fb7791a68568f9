"""People as a record names them: display name and role, captured when they
acted and kept in the record, so it reads the same years later.

``record["people"]`` maps a platform id to ``{"name", "role"}``; the id stays
in the audit trail beside it. A record made before names were kept shows the
id, marked, rather than a name it never had.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Person = dict[str, str]

# How an id with no name is shown (old records, a person never named).
UNNAMED = "{id} (name not recorded)"
_MAX = 80


def clean(value: object) -> str:
    """A name or role as one short line (a chat service's profile can hold
    anything)."""
    return " ".join(str(value or "").split())[:_MAX]


def shown(record: Mapping[str, Any] | None, who: object) -> str:
    """The one way to show a person: "Ms A. Khan (DSL)", or the id marked as
    having no name."""
    if isinstance(who, Mapping):  # {"by": id, ...} blocks such as review
        who = who.get("by") or who.get("id")
    ident = str(who or "")
    if not ident:
        return ""
    if ident == "dsl":  # a follow-up owned by the DSL team, not one person
        return "the DSL"
    found = ((record or {}).get("people") or {}).get(ident)
    if not found or not found.get("name"):
        return UNNAMED.format(id=ident)
    role = found.get("role")
    return f"{found['name']} ({role})" if role else str(found["name"])


def name(record: Mapping[str, Any] | None, who: object) -> str:
    """The name alone ("Ms A. Khan"), for lines that carry the role elsewhere."""
    found = ((record or {}).get("people") or {}).get(str(who or ""))
    return str(found["name"]) if found and found.get("name") else shown(record, who)


def note(record: dict[str, Any], who: str, person: Mapping[str, str] | None) -> None:
    """Keep ``person`` in the record as the name of ``who``; a name kept
    already stays as it was when they first acted on this record, unless it
    was missing. Call before the audit entry, so it is sealed with it."""
    if not who or not person or not clean(person.get("name")):
        return
    kept = record.setdefault("people", {})
    if kept.get(who, {}).get("name"):
        return
    kept[who] = {"name": clean(person.get("name")), "role": clean(person.get("role"))}
