"""Who an activity is from, and whether to act on it at all."""

from __future__ import annotations

import logging
from typing import Any

from bot.teams.front import Person, TeamsFront

log = logging.getLogger("jigsaw.teams")


def person(activity: Any, front: TeamsFront) -> Person | None:
    """The sender, by Entra object id; None (and nothing done) for an
    activity without one, or from another tenant than the school's."""
    sender = activity.from_
    user = getattr(sender, "aad_object_id", None)
    if not user:
        log.info("activity ignored: no Entra object id", extra={"action": activity.type})
        return None
    tenant = getattr(activity.conversation, "tenant_id", None)
    if front.tenant_id and tenant and tenant != front.tenant_id:
        log.warning("activity ignored: another tenant", extra={"action": activity.type})
        return None
    return Person(user=user, name=sender.name or "", member=sender.id or "",
                  chat=activity.conversation.id,
                  service_url=activity.service_url or front.connector.service_url,
                  personal=personal(activity))


def personal(activity: Any) -> bool:
    return getattr(activity.conversation, "conversation_type", None) == "personal"
