"""Sends what the schedule says is due (escalations, reminders, follow-up
nudges, the weekly digest) to Slack. It decides nothing: see bot/schedule.py.

Every message carries its schedule key as metadata, so after a crash the
scheduler can ask whether it went before sending it again. Notification
text (the preview on a phone's lock screen) never names a child or quotes
anyone's words.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.outbox import ChannelUnsafe
from bot.schedule import CHANNEL, Send, SendFailed
from bot.slack.blocks import Blocks
from bot.slack.delivery import ChannelGuard

log = logging.getLogger("jigsaw.reminders")

REMINDER_EVENT = "jigsaw_reminder"
_ERRORS = (SlackApiError, SlackClientError, OSError, TimeoutError, ValueError)


@dataclass
class SlackReminders:
    """The scheduler's :class:`~bot.schedule.Sender` for Slack."""

    client: WebClient
    blocks: Blocks
    guard: ChannelGuard
    dsl_mention: Callable[[], str]  # called each time: the mention can depend on settings

    def _where(self, message: Send) -> str:
        if message.to == CHANNEL:
            # Only ever the private DSL channel with the bot in it, as for records.
            self.guard.check()
            return self.guard.channel
        return str(self.client.conversations_open(users=message.to)["channel"]["id"])

    def send(self, message: Send) -> None:
        try:
            channel = self._where(message)
            text, blocks = self.blocks.reminder(message.kind, message.data,
                                                mention=self.dsl_mention(),
                                                to_channel=message.to == CHANNEL)
            posted = self.client.chat_postMessage(
                channel=channel, text=text, blocks=blocks, unfurl_links=False,
                unfurl_media=False,
                metadata={"event_type": REMINDER_EVENT, "event_payload": {"key": message.key}})
            for filename, content in message.files:
                self.client.files_upload_v2(channel=channel, thread_ts=posted["ts"],
                                            filename=filename, content=content,
                                            title=filename)
        except ChannelUnsafe as exc:
            self.guard.reset()
            raise SendFailed(str(exc)) from exc
        except _ERRORS as exc:
            error = (exc.response.get("error") if isinstance(exc, SlackApiError)
                     else type(exc).__name__)
            raise SendFailed(str(error)) from exc

    def was_sent(self, message: Send) -> bool:
        try:
            channel = self._where(message)
            cursor = None
            for _ in range(5):  # recent history: a retry is at most minutes late
                page = self.client.conversations_history(channel=channel, limit=200,
                                                         include_all_metadata=True,
                                                         cursor=cursor)
                shown: dict[str, Any]
                for shown in page.get("messages", []):
                    meta: dict[str, Any] = shown.get("metadata") or {}
                    if (meta.get("event_type") == REMINDER_EVENT
                            and (meta.get("event_payload") or {}).get("key") == message.key):
                        return True
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return False
        except (ChannelUnsafe, *_ERRORS) as exc:
            log.warning("cannot check for an earlier reminder: %s", type(exc).__name__)
        return False
