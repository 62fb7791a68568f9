"""``/infoshare``: start (or resume) a decision in the user's DM."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk.errors import SlackClientError

from bot.slack.front import SlackFront
from bot.slack.listeners.guard import AckOnce, failed


def infoshare(ack: Ack, command: dict[str, Any], respond: Respond, front: SlackFront) -> None:
    # Ephemeral, and nothing about the child: the channel may be public.
    ack(response_type="ephemeral", text=front.t("started"))
    user, text = command.get("user_id"), command.get("text")
    if not isinstance(user, str) or not user or not front.first_delivery(command):
        return
    try:
        front.dm(user)
    except (SlackClientError, OSError):
        # No DM to talk in: say so where the command was typed.
        respond(response_type="ephemeral", replace_original=True, text=front.t("dm_failed"))
        return
    front.begin(user, fresh=isinstance(text, str) and text.strip().lower() == "new")


def register(app: App, front: SlackFront) -> None:
    def listener(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        once = AckOnce(ack)
        try:
            infoshare(once, command, respond, front)  # type: ignore[arg-type]
        except Exception as exc:
            once.ensure()
            failed(front, command, exc, "infoshare")

    app.command("/infoshare")(listener)
