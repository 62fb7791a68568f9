"""Teams' side of the outbox (:mod:`bot.outbox`): posting records and urgent
alerts to the DSL team's channel as Adaptive Cards, and finding an earlier
post by the id its card carries (read through Graph) when a reply was lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bot.outbox import ChannelUnsafe, Kind, Notify, Outbox, Posted, PostFailed
from bot.service import DecisionService
from bot.teams.cards import ALERT_MARK, RECORD_MARK, Cards
from bot.teams.connector import Connector, ConnectorError

log = logging.getLogger("jigsaw.delivery")

_MARKS = {Kind.RECORD: RECORD_MARK, Kind.ALERT: ALERT_MARK}


class TeamsDelivery(Outbox):
    """Posts to the DSL channel; retries whatever could not be posted."""

    thread_name = "jigsaw-teams-outbox"

    def __init__(self, app: DecisionService, connector: Connector, cards: Cards, *, channel: str,
                 team: str, names: Callable[[str], str],
                 chat_of: Callable[[str], str | None],
                 on_delivered: Notify | None = None) -> None:
        super().__init__(app, channel, on_delivered=on_delivered)
        self.connector = connector
        self.cards = cards
        self.team = team
        self.names = names
        self.chat_of = chat_of

    def mention(self) -> str:
        return self.cards.t("alert_mention")

    # -- the outbox's calls -------------------------------------------------
    def check_channel(self) -> None:
        if not self.channel:
            raise ChannelUnsafe("JIGSAW_TEAMS_CHANNEL is not set")

    def tell_directly(self, user_id: str, text: str) -> None:
        conversation = self.open_direct(user_id)
        with self._teams():
            self.connector.post(conversation, self.cards.plain(text),
                                summary=self.cards.t("notification"))

    def held_text(self, problem: str) -> str:
        return self.cards.t("dsl_channel_unsafe", problem=problem)

    def find_posted(self, kind: Kind, item_id: str) -> str | None:
        """The activity id of an earlier post whose card carries the item's
        id. When it cannot look, nothing is posted: a duplicate is worse than
        a delay."""
        if not self.team:
            raise PostFailed("JIGSAW_TEAMS_TEAM is not set: cannot check the channel "
                             "before posting again")
        mark = f'"{_MARKS[kind]}{item_id}"'
        with self._teams():
            for message_id, content in self.connector.channel_posts(self.team, self.channel):
                if mark in content:
                    return message_id
        return None

    def open_direct(self, user_id: str) -> str:
        conversation = self.chat_of(user_id)
        if conversation is None:  # Teams lets a bot write only where it was let in
            raise PostFailed("no chat with the recipient yet", maybe_posted=False)
        return conversation

    def post_record(self, record: dict[str, Any], conversation: str | None, *,
                    review: bool) -> Posted:
        author = record.get("recorded_by", "")
        card = self.cards.record(record, review=review, names={author: self.names(author)})
        target = conversation or self.channel
        with self._teams():
            activity_id = self.connector.post(
                target, card, summary=self.cards.t("record_fallback", r=record))
        return Posted(target, activity_id)

    def post_alert(self, event: dict[str, Any]) -> str:
        card = self.cards.urgent_alert(self.names(event["user"]), event["answer"],
                                       self.mention(), event["id"])
        with self._teams():
            return self.connector.post(self.channel, card,
                                       summary=self.cards.t("alert_notification"))

    @staticmethod
    @contextmanager
    def _teams() -> Iterator[None]:
        try:
            yield
        except ConnectorError as exc:
            raise PostFailed(str(exc), retry_after=exc.retry_after) from exc
