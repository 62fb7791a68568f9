"""Messages typed in the DM with the bot: answers, commands, a way in."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.slack.front import SlackFront
from bot.slack.listeners.guard import guarded_event

MAX_MESSAGE = 40_000  # Slack's own limit; anything larger is not a real message


def unescape(text: str) -> str:
    """Slack sends a typed ``&``, ``<`` and ``>`` as entities; the record
    keeps what the person typed (and :func:`bot.slack.blocks.escape` escapes
    it again, once, wherever it is shown). ``&amp;`` goes last so a typed
    ``&lt;`` stays literal."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def direct_message(event: dict[str, Any], body: dict[str, Any], front: SlackFront) -> None:
    channel_type = event.get("channel_type")
    direct = channel_type == "im" or (
        channel_type is None and str(event.get("channel", "")).startswith("D"))
    if not direct or event.get("subtype") or event.get("bot_id"):
        return
    user, text = event.get("user"), event.get("text")
    if not isinstance(user, str) or not isinstance(text, str) or not front.first_delivery(body):
        return
    front.message(user, unescape(text[:MAX_MESSAGE]))


def register(app: App, front: SlackFront) -> None:
    app.event("message")(guarded_event(front, direct_message))
