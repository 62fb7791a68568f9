"""Messages typed in the DM with the bot: answers, commands, a way in."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.slack.front import SlackFront

MAX_MESSAGE = 40_000  # Slack's own limit; anything larger is not a real message


def direct_message(event: dict[str, Any], front: SlackFront) -> None:
    if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
        return
    user, text = event.get("user"), event.get("text")
    if not isinstance(user, str) or not isinstance(text, str):
        return
    front.message(user, text[:MAX_MESSAGE])


def register(app: App, front: SlackFront) -> None:
    app.event("message")(lambda event: direct_message(event, front))
