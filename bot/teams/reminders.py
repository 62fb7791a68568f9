"""Sends what the schedule says is due (escalations, reminders, follow-up
nudges, the weekly digest with its chart) to Teams, as proactive posts. It
decides nothing: see :mod:`bot.schedule`.

Each card carries its schedule key (a container id), so after a crash the
DSL channel can be searched for it (through Graph) before it is sent again.
A personal chat cannot be searched: a message to a person that may have
gone when the app stopped is sent again (at least once rather than never).
Notification text never names a child or quotes anyone's words.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.outbox import ChannelUnsafe
from bot.schedule import CHANNEL, Send, SendFailed
from bot.teams.cards import REMINDER_MARK, Cards
from bot.teams.connector import Connector, ConnectorError
from bot.teams.delivery import ChannelGuard

log = logging.getLogger("jigsaw.reminders")


@dataclass
class TeamsReminders:
    """The scheduler's :class:`~bot.schedule.Sender` for Teams."""

    connector: Connector
    cards: Cards
    guard: ChannelGuard
    chat_of: Callable[[str], dict[str, str] | None]  # a person's chat, opened if need be
    name_of: Callable[[str], str]
    mentions: Callable[[], list[tuple[str, str]]]  # the DSL team, for the channel's posts
    local: Callable[[datetime], str]  # a time as the school reads it

    def _where(self, message: Send) -> tuple[str, str | None]:
        if message.to == CHANNEL:
            # Only ever the checked DSL channel, as for records.
            self.guard.check()
            return self.guard.channel, None
        chat = self.chat_of(message.to)
        if chat is None:
            raise SendFailed("no personal chat with the recipient yet")
        return chat["chat"], chat.get("url") or None

    def card_for(self, message: Send) -> object:
        data = message.data
        to_channel = message.to == CHANNEL
        mentions: list[tuple[str, str]] = []
        if to_channel and message.kind in ("escalate", "followup_due", "followup_overdue"):
            mentions = self.mentions()
        if to_channel and message.kind == "escalate":
            # The deputies are named on the channel's post as well as told directly.
            known = {user for user, _ in mentions}
            mentions += [(deputy, self.name_of(deputy))
                         for deputy in self.cards.settings.deputy_user_ids if deputy not in known]
        times = {r["id"]: self.local(datetime.fromisoformat(r["created_at"]))
                 for r in data.get("records", []) if r.get("created_at")}
        who = self.name_of(data["user"]) if data.get("user") else ""
        return self.cards.reminder(message.kind, data, message.key, who=who,
                                   mentions=mentions, times=times)

    def send(self, message: Send) -> None:
        try:
            conversation, service_url = self._where(message)
            self.connector.post(conversation, self.card_for(message),  # type: ignore[arg-type]
                                summary=self.cards.r(f"{message.kind}_text"),
                                service_url=service_url, images=tuple(message.files))
        except ChannelUnsafe as exc:
            self.guard.reset()
            raise SendFailed(str(exc)) from exc
        except ConnectorError as exc:
            raise SendFailed(str(exc)) from exc

    def was_sent(self, message: Send) -> bool:
        if message.to != CHANNEL or not self.guard.team:
            return False
        mark = f'"{REMINDER_MARK}{message.key}"'
        try:
            return any(mark in content for _, content in
                       self.connector.channel_posts(self.guard.team, self.guard.channel))
        except ConnectorError as exc:
            log.warning("cannot check for an earlier reminder: %s", exc)
            return False
