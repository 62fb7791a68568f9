"""Where a concern about an adult who works with children goes (KCSIE Part
four; DOMAIN.md section 3 step 2). Pure: settings in, a routing out."""

from __future__ import annotations

from typing import Any

from bot.config import Settings
from bot.flow.steps import Answers, route


def routing(a: Answers, settings: Settings) -> dict[str, Any]:
    """Where the record goes: the DSL channel, or for an allegation about an
    adult, the person KCSIE Part four names (never the DSL channel when the
    allegation is about the DSL or a deputy).

    About staff: the headteacher (the case manager), who consults the LADO.
    About the head: the chair of governors (or proprietor), or the LADO when
    the head is the sole proprietor. About the DSL: the headteacher, or the
    head's route when the DSL is the head. A low-level concern goes where the
    school's policy says (the DSL by default), never to its subject.
    """
    if route(a) != "allegation":
        return {"to": "dsl", "user_id": "", "contact": settings.dsl.name}
    about = a.get("allegation_about", "")
    low = a.get("allegation_threshold") == "low_level"
    head_route = "lado" if settings.head_is_sole_proprietor else "chair"
    if about == "headteacher":
        to = "chair" if low else head_route
    elif about == "dsl":
        to = head_route if settings.dsl_is_head else "headteacher"
    elif low:
        to = settings.low_level_concerns_to
    else:
        to = "headteacher"
    contact = settings.contact_for(to)
    return {"to": to, "user_id": contact.user_id if to != "dsl" else "",
            "contact": contact.name}
