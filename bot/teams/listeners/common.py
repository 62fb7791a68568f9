"""Who an activity is from, and whether to act on it at all."""

from __future__ import annotations

import logging
from html.parser import HTMLParser
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


class _Text(HTMLParser):
    """What a Teams message's HTML body says, as plain text."""

    BREAKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "blockquote"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def message_text(body: Any) -> str:
    """The text of a message Teams hands a message extension (its body is
    HTML or plain text), lines kept, markup gone."""
    content = str(getattr(body, "content", "") or "")
    if str(getattr(body, "content_type", "") or "").lower() != "html":
        return content.strip()
    parser = _Text()
    parser.feed(content)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return "\n".join(line for line in lines if line)
