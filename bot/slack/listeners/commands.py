"""``/infoshare``: start (or resume) a decision in the user's DM."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.slack.front import SlackFront


def infoshare(ack: Ack, command: dict[str, Any], front: SlackFront) -> None:
    # Ephemeral, and nothing about the child: the channel may be public.
    ack(response_type="ephemeral", text=front.t("started"))
    user, text = command.get("user_id"), command.get("text")
    if not isinstance(user, str) or not user or not front.first_time(command):
        return
    front.begin(user, fresh=isinstance(text, str) and text.strip().lower() == "new")


def register(app: App, front: SlackFront) -> None:
    app.command("/infoshare")(
        lambda ack, command: infoshare(ack, command, front))
