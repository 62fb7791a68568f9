"""Teams' side of the outbox (:mod:`bot.outbox`): posting records and urgent
alerts to the DSL team's channel as Adaptive Cards, and finding an earlier
post by the id its card carries (read through Graph) when a reply was lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bot import guard
from bot.outbox import ChannelUnsafe, Kind, Notify, Outbox, Posted, PostFailed
from bot.service import DecisionService
from bot.teams.cards import ALERT_MARK, RECORD_MARK, Cards
from bot.teams.connector import Connector, ConnectorError

log = logging.getLogger("jigsaw.delivery")

_MARKS = {Kind.RECORD: RECORD_MARK, Kind.ALERT: ALERT_MARK}
ALERT_META = "teams:alert:"  # where an alert was posted, kept past its session


class ChannelGuard(guard.ChannelGuard):
    """Teams' look at the DSL channel (through Graph and the Bot Connector):
    it exists in the team (a wrong id is found here, not by a failed post),
    is private or a standard channel of a private team, is not shared with
    other teams or organisations, has no guests in it, and the bot is
    installed in its team."""

    def __init__(self, connector: Connector, channel: str, team: str) -> None:
        super().__init__(channel)
        self.connector = connector
        self.team = team

    def inspect(self) -> None:
        if not self.channel:
            raise ChannelUnsafe("JIGSAW_TEAMS_CHANNEL is not set")
        if not self.team:
            raise ChannelUnsafe("JIGSAW_TEAMS_TEAM is not set: Jigsaw cannot check that the "
                                "DSL channel is private")
        where = f"DSL channel {self.channel} (team {self.team})"
        try:
            problem = self.connector.channel_problem(self.team, self.channel)
            roster = self.connector.roster(self.channel)
        except ConnectorError as exc:
            if exc.status == 404:
                raise ChannelUnsafe(
                    f"{where} was not found (HTTP 404): check JIGSAW_TEAMS_CHANNEL and "
                    "JIGSAW_TEAMS_TEAM against the channel's \"Get link to channel\"") from exc
            if exc.status in (401, 403):
                raise ChannelUnsafe(
                    f"cannot look at {where} (HTTP {exc.status}): is Jigsaw installed in "
                    "that team, with the permissions its app package asks for?") from exc
            raise ChannelUnsafe(f"cannot check {where} now: {exc}") from exc
        if problem:
            raise ChannelUnsafe(f"{where} is not safe for records: {problem}")
        if any(member.role.lower() == "guest" for member in roster.values()):
            raise ChannelUnsafe(f"{where} has guests (people from outside the school) in it")


class TeamsDelivery(Outbox):
    """Posts to the DSL channel; retries whatever could not be posted."""

    thread_name = "jigsaw-teams-outbox"

    def __init__(self, service: DecisionService, connector: Connector, cards: Cards, *,
                 channel: str, team: str, names: Callable[[str], str],
                 chat_of: Callable[[str], str | None],
                 on_delivered: Notify | None = None) -> None:
        super().__init__(service, channel, on_delivered=on_delivered)
        self.connector = connector
        self.cards = cards
        self.team = team
        self.names = names
        self.chat_of = chat_of
        self.guard = ChannelGuard(connector, channel, team)
        self.mentions: Callable[[], list[tuple[str, str]]] = lambda: []
        # The DSL team's Teams ids (``29:…``): they see the record card with
        # its review buttons, everyone else without (see Cards.viewed_by).
        self.viewers: Callable[[], list[str]] = lambda: []

    # -- the outbox's calls -------------------------------------------------
    def check_channel(self) -> None:
        self.guard.check()

    def channel_failed(self) -> None:
        self.guard.reset()

    def tell_directly(self, user_id: str, text: str) -> None:
        conversation = self.open_direct(user_id)
        with self._teams():
            self.connector.post(conversation, self.cards.plain(text),
                                summary=self.cards.t("notification"))

    def post_anchor(self, n: int, mac: str) -> str:
        with self._teams():
            return self.connector.post(self.channel, self.cards.anchor(n, mac),
                                       summary=self.cards.t("notification"))

    def posted_alert(self, event_id: str) -> dict[str, str] | None:
        """Where an alert's card is (its activity id) and what it showed."""
        found = self.service.store.get_meta(f"{ALERT_META}{event_id}")
        return found if isinstance(found, dict) else None

    def held_text(self, problem: str) -> str:
        return self.cards.t("dsl_channel_unsafe", problem=problem)

    def find_posted(self, kind: Kind, item_id: str) -> str | None:
        """The activity id of an earlier post of the app's own (a person's
        post is never taken for it) whose card carries the item's id. When
        it cannot look, nothing is posted: a duplicate is worse than a delay."""
        if not self.team:
            raise PostFailed("JIGSAW_TEAMS_TEAM is not set: cannot check the channel "
                             "before posting again")
        mark = f'"{_MARKS[kind]}{item_id}"'
        with self._teams():
            for message_id, content in self.connector.channel_posts(self.team, self.channel,
                                                                    only_own=True):
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
        names = {author: self.names(author)}
        if review:  # in the channel: read-only, the buttons in the DSL team's own view
            card = self.cards.viewed_by(self.cards.record(record, review=False, names=names),
                                        record["id"], self.viewers())
        else:
            card = self.cards.record(record, review=False, names=names)
        target = conversation or self.channel
        with self._teams():
            activity_id = self.connector.post(
                target, card, summary=self.cards.t("record_fallback", r=record))
        return Posted(target, activity_id)

    def post_alert(self, event: dict[str, Any]) -> str:
        card = self.cards.urgent_alert(self.names(event["user"]), event["answer"],
                                       self.mentions(), event["id"], staff=event["user"])
        with self._teams():
            posted = self.connector.post(self.channel, card,
                                         summary=self.cards.t("alert_notification"))
        # Kept apart from the session (which goes once its record is made),
        # so an acknowledgement later still finds the card to update.
        try:
            self.service.store.set_meta(f"{ALERT_META}{event['id']}", {
                "ts": posted, "user": event["user"], "answer": event["answer"]})
        except OSError:
            log.warning("could not keep where an alert was posted")
        return posted

    @staticmethod
    @contextmanager
    def _teams() -> Iterator[None]:
        try:
            yield
        except ConnectorError as exc:
            raise PostFailed(str(exc), retry_after=exc.retry_after) from exc
