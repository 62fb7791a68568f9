"""Listeners grouped by kind; each module exposes ``register(app, front, executor)``."""

from __future__ import annotations

from microsoft_teams.apps import App

from bot.teams.executor import KeyedExecutor
from bot.teams.front import TeamsFront
from bot.teams.listeners import actions, messages


def register(app: App, front: TeamsFront, executor: KeyedExecutor) -> None:
    messages.register(app, front, executor)
    actions.register(app, front, executor)
