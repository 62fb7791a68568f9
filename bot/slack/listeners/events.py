"""App Home."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.slack.front import SlackFront


def home_opened(event: dict[str, Any], front: SlackFront) -> None:
    if event.get("tab", "home") == "home":
        front.publish_home(event["user"])


def register(app: App, front: SlackFront) -> None:
    app.event("app_home_opened")(lambda event: home_opened(event, front))
