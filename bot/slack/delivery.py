"""Slack's side of the outbox (:mod:`bot.outbox`): posting records and
urgent alerts to the DSL channel, and finding an earlier post by the id in
its message metadata when a reply was lost.

Once a day the ledger's head is anchored in the channel too (in its
metadata, which :mod:`anchor` reads back for ``jigsaw verify``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot import guard
from bot.guard import CHANNEL_CHECK_TTL
from bot.outbox import ChannelUnsafe, Kind, Notify, Outbox, Posted, PostFailed
from bot.service import DecisionService
from bot.slack.anchor import ANCHOR_EVENT
from bot.slack.blocks import Blocks

log = logging.getLogger("jigsaw.delivery")

RECORD_EVENT = "jigsaw_record"
ALERT_EVENT = "jigsaw_alert"


class ChannelGuard(guard.ChannelGuard):
    """Slack's look at the DSL channel: private to the school (not shared
    with another organisation or workspace, nor invited to be) and the bot
    in it."""

    def __init__(self, client: WebClient, channel: str, *, ttl: float = CHANNEL_CHECK_TTL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(channel, ttl=ttl, clock=clock)
        self.client = client

    def inspect(self) -> None:
        if not self.channel:
            raise ChannelUnsafe("JIGSAW_DSL_CHANNEL is not set")
        try:
            info = self.client.conversations_info(channel=self.channel)["channel"]
        except SlackApiError as exc:
            raise ChannelUnsafe(
                f"cannot see DSL channel {self.channel}: {exc.response.get('error')}"
            ) from exc
        except (SlackClientError, OSError, ValueError) as exc:
            raise ChannelUnsafe(
                f"cannot check DSL channel {self.channel} now: {type(exc).__name__}"
            ) from exc
        if not info.get("is_private") or info.get("is_im") or info.get("is_mpim"):
            raise ChannelUnsafe(f"DSL channel {self.channel} is not a private channel")
        if info.get("is_ext_shared") or info.get("is_pending_ext_shared"):
            raise ChannelUnsafe(f"DSL channel {self.channel} is shared (or invited to "
                                "be shared) with another organisation")
        if info.get("is_org_shared") or info.get("is_shared"):
            raise ChannelUnsafe(f"DSL channel {self.channel} is shared with other "
                                "workspaces")
        if not info.get("is_member", True):
            raise ChannelUnsafe(f"the bot is not a member of DSL channel {self.channel}")


class SlackDelivery(Outbox):
    """Posts to the DSL channel; retries whatever could not be posted."""

    def __init__(self, service: DecisionService, client: WebClient, blocks: Blocks,
                 *, on_delivered: Notify | None = None,
                 on_saved: Callable[[Any], None] | None = None) -> None:
        super().__init__(service, service.settings.dsl_channel, on_delivered=on_delivered,
                         on_saved=on_saved)
        self.client = client
        self.blocks = blocks
        self.guard = ChannelGuard(client, self.channel)

    def dsl_mention(self) -> str:
        ids = self.service.settings.dsl_user_ids
        return " ".join(f"<@{u}>" for u in ids) if ids else "<!channel>"

    # -- the outbox's calls -------------------------------------------------
    def check_channel(self) -> None:
        self.guard.check()

    def channel_failed(self) -> None:
        self.guard.reset()

    def tell_directly(self, user_id: str, text: str) -> None:
        channel = self.open_direct(user_id)
        with self._slack(maybe_posted=False):
            self.client.chat_postMessage(channel=channel, text=text,
                                         blocks=self.blocks.plain(text))

    def held_text(self, problem: str) -> str:
        return self.blocks.t("dsl_channel_unsafe", problem=problem)

    def find_posted(self, kind: Kind, item_id: str) -> str | None:
        """The ts of an earlier post carrying this id in its metadata."""
        event_type, field = _MARKS[kind]
        cursor = None
        with self._slack():
            for _ in range(5):  # recent history is enough: a retry is minutes late
                response = self.client.conversations_history(
                    channel=self.channel, limit=200, include_all_metadata=True, cursor=cursor)
                message: dict[str, Any]
                for message in response.get("messages", []):
                    meta: dict[str, Any] = message.get("metadata") or {}
                    if (meta.get("event_type") == event_type
                            and (meta.get("event_payload") or {}).get(field) == item_id):
                        return str(message["ts"])
                cursor = (response.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return None
        return None

    def open_direct(self, user_id: str) -> str:
        with self._slack(maybe_posted=False):
            return str(self.client.conversations_open(users=user_id)["channel"]["id"])

    def post_record(self, record: dict[str, Any], conversation: str | None, *,
                    review: bool) -> Posted:
        """The record as one message; what breaks Slack's limits follows in
        its thread."""
        channel = conversation or self.channel
        main, replies = self.blocks.record_message(record, review=review)
        with self._slack():
            response = self.client.chat_postMessage(
                channel=channel,
                text=self.blocks.t("record_fallback", r=record),
                blocks=main,
                metadata={"event_type": RECORD_EVENT,
                          "event_payload": {"record_id": record["id"]}},
                unfurl_links=False,
                unfurl_media=False,
            )
        ts = str(response["ts"])

        def thread() -> None:
            try:
                with self._slack():
                    for reply in replies:
                        self.client.chat_postMessage(channel=channel, thread_ts=ts,
                                                     text=self.blocks.t("record_more", r=record),
                                                     blocks=reply)
            except PostFailed:
                # The record itself is in the channel; say in its thread that
                # the rest is in "View full record", then let the outbox log it.
                try:
                    with self._slack():
                        note = self.blocks.t("record_more_failed", r=record)
                        self.client.chat_postMessage(channel=channel, thread_ts=ts, text=note,
                                                     blocks=self.blocks.plain(note))
                except PostFailed as exc:
                    log.warning("could not say in the thread that the rest of a record is "
                                "missing: %s", exc.error, extra={"record_id": record["id"]})
                raise

        return Posted(channel, ts, thread if replies else None)

    def post_alert(self, event: dict[str, Any]) -> str:
        with self._slack():
            response = self.client.chat_postMessage(
                channel=self.channel,
                text=self.blocks.t("alert_fallback"),
                blocks=self.blocks.urgent_alert(event["user"], event["answer"],
                                                self.dsl_mention(), event["id"]),
                metadata={"event_type": ALERT_EVENT, "event_payload": {"event_id": event["id"]}},
            )
        return str(response["ts"])

    def post_anchor(self, n: int, mac: str) -> str:
        text = self.blocks.t("anchor", n=n, mac=mac)
        with self._slack():
            response = self.client.chat_postMessage(
                channel=self.channel, text=text, blocks=self.blocks.plain(text),
                metadata={"event_type": ANCHOR_EVENT, "event_payload": {"n": n, "mac": mac}},
                unfurl_links=False, unfurl_media=False)
        return str(response["ts"])

    @contextmanager
    def _slack(self, *, maybe_posted: bool = True) -> Iterator[None]:
        """Slack's errors as the outbox's: a 429's ``Retry-After`` kept, and
        the channel checked again when Slack says it has gone."""
        try:
            yield
        except SlackApiError as exc:
            response = exc.response
            error = str(response.get("error") if response is not None else "error")
            retry_after = None
            if response is not None and response.status_code == 429:
                try:
                    retry_after = float(response.headers.get("Retry-After", "1"))
                except (TypeError, ValueError):
                    retry_after = 1.0
            if error in ("not_in_channel", "channel_not_found", "is_archived"):
                self.guard.reset()
            raise PostFailed(error, retry_after=retry_after, maybe_posted=maybe_posted
                             ) from exc
        except (SlackClientError, OSError, TimeoutError) as exc:
            raise PostFailed(type(exc).__name__, maybe_posted=maybe_posted) from exc

_MARKS = {Kind.RECORD: (RECORD_EVENT, "record_id"), Kind.ALERT: (ALERT_EVENT, "event_id")}
