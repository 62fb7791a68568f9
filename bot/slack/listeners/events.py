"""App Home."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.slack.front import SlackFront
from bot.slack.listeners.guard import guarded_event


def home_opened(event: dict[str, Any], body: dict[str, Any], front: SlackFront) -> None:
    user = event.get("user")
    if (event.get("tab", "home") == "home" and isinstance(user, str) and user
            and front.first_delivery(body)):
        front.publish_home(user)


def register(app: App, front: SlackFront) -> None:
    app.event("app_home_opened")(guarded_event(front, home_opened))
