"""Listeners grouped by kind; each module exposes ``register(app, front)``."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.front import SlackFront
from bot.slack.listeners import actions, commands, events, messages, views


def register_listeners(app: App, front: SlackFront) -> None:
    commands.register(app, front)
    messages.register(app, front)
    events.register(app, front)
    views.register(app, front)
    actions.register(app, front)  # last: it ends with the catch-all for unknown buttons
