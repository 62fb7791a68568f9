"""``/infoshare``: start (or resume) a decision in the user's DM."""

from __future__ import annotations

import html
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk.errors import SlackClientError

from bot.conversation import COMMAND_WORDS
from bot.slack.front import SlackFront
from bot.slack.listeners.guard import AckOnce, failed, guarded_action, user_of


def infoshare(ack: Ack, command: dict[str, Any], respond: Respond, front: SlackFront) -> None:
    user, text = command.get("user_id"), command.get("text")
    word, _, rest = (text if isinstance(text, str) else "").strip().partition(" ")
    helping = COMMAND_WORDS.get(word.casefold()) == "help" and not rest.strip()
    # Ephemeral, and nothing about the child: the channel may be public.
    ack(response_type="ephemeral", text=front.t("help_sent" if helping else "started"))
    if not isinstance(user, str) or not user or not front.first_delivery(command):
        return
    try:
        front.dm(user)
    except (SlackClientError, OSError):
        # No DM to talk in: say so where the command was typed.
        respond(response_type="ephemeral", replace_original=True, text=front.t("dm_failed"))
        return
    channel = command.get("channel_id") if isinstance(command.get("channel_id"), str) else None
    if word.casefold() in BY_ID and rest.strip():
        # The DSL's work on a record by its id (any case, stray spaces).
        action = BY_ID[word.casefold()]
        if action == "take_on":
            front.take_on(user, rest, channel=channel)
        else:
            front.review(user, rest, action, channel=channel)
        return
    if helping:
        front.help(user)  # /infoshare help: help, in the DM; nothing starts
        return
    front.begin(user, fresh=word.casefold() == "new")


# ``/infoshare take ISD-2026-0001``, ``close ...``, ``basis ...``: the DSL's
# actions on a record named by its id.
BY_ID = {"take": "take_on", "decide": "take_on", "close": "close",
         "basis": "confirm_basis", "confirm": "confirm_basis"}

REPORT_SHORTCUT = "report_concern"  # the message shortcut's callback_id (app.yaml)


def report(ack: Ack, body: dict[str, Any], front: SlackFront) -> None:
    """"Report a concern to the DSL" on any message: a decision starts in the
    person's DM with the message's text offered as the facts. Nothing is
    posted where the message was."""
    ack()
    user = user_of(body)
    message = body.get("message") or {}
    text = message.get("text") if isinstance(message, dict) else ""
    if not user or not isinstance(text, str) or not front.first_time(
            f"shortcut:{body.get('trigger_id') or message.get('ts')}"):
        return
    front.report(user, html.unescape(text))


def register(app: App, front: SlackFront) -> None:
    def listener(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        once = AckOnce(ack)
        try:
            infoshare(once, command, respond, front)  # type: ignore[arg-type]
        except Exception as exc:
            once.ensure()
            failed(front, command, exc, "infoshare")

    app.command("/infoshare")(listener)

    app.shortcut(REPORT_SHORTCUT)(guarded_action(front, report))
