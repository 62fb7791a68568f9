"""Anchoring the ledger outside the store, in the DSL channel.

Someone who can write the data directory can cut the newest lines off the
ledger, or put back yesterday's copy of everything: the store would be
consistent with itself. So once a day the ledger's head (its last line's
number and MAC) is posted into the DSL channel's message metadata, which the
data directory's writers cannot change (the outbox posts it: see
:meth:`bot.outbox.Outbox.anchor_if_due`), and ``jigsaw verify`` checks the
ledger still reaches the latest anchor unchanged, read back from here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.config import Environment

log = logging.getLogger("jigsaw.anchor")

ANCHOR_EVENT = "jigsaw_anchor"


@dataclass
class ChannelEvidence:
    """What the DSL channel holds about the store, from the app's own posts
    only: the newest anchor (line number, MAC) and the records posted."""

    anchor: tuple[int, str] | None = None
    posted: list[str] = field(default_factory=list)


def read_channel(client: WebClient, channel: str, *, pages: int = 20) -> ChannelEvidence:
    """The app's anchors and record posts in recent history, newest first.
    A message from anyone but the app's own bot user is ignored, however
    it is shaped. Slack errors propagate."""
    from bot.slack.delivery import RECORD_EVENT

    me = client.auth_test()
    bot_user, bot_id = me.get("user_id"), me.get("bot_id")
    found = ChannelEvidence()
    cursor = None
    for _ in range(pages):
        response = client.conversations_history(channel=channel, limit=200,
                                                 include_all_metadata=True, cursor=cursor)
        message: dict[str, Any]
        for message in response.get("messages", []):  # newest first
            if message.get("user") != bot_user or (bot_id and message.get("bot_id") != bot_id):
                continue
            meta: dict[str, Any] = message.get("metadata") or {}
            payload: dict[str, Any] = meta.get("event_payload") or {}
            kind = meta.get("event_type")
            if kind == RECORD_EVENT and isinstance(payload.get("record_id"), str):
                found.posted.append(payload["record_id"])
            elif (kind == ANCHOR_EVENT and found.anchor is None
                  and isinstance(payload.get("n"), int)):
                found.anchor = (int(payload["n"]), str(payload.get("mac", "")))
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    return found


def latest_anchor(client: WebClient, channel: str, *, pages: int = 20
                  ) -> tuple[int, str] | None:
    """The newest anchor the app itself posted in the DSL channel."""
    return read_channel(client, channel, pages=pages).anchor


def fetch_for_verify(channel: str, environment: Environment
                     ) -> tuple[ChannelEvidence | None, str]:
    """For ``jigsaw verify``: what the channel holds, and a line saying
    where the anchor came from; None (and why) if Slack cannot be read."""
    from bot.slack.app import web_client

    try:
        found = read_channel(web_client(environment), channel)
    except (SlackApiError, SlackClientError, OSError) as exc:
        return None, (f"could not read the DSL channel from Slack ({type(exc).__name__}), "
                      "so the ledger was not checked against its anchor (run again when "
                      "Slack can be reached, or with --offline to check without it)")
    if found.anchor is None:
        return found, "note: no anchor found in the DSL channel yet"
    return found, f"anchor: ledger entry {found.anchor[0]}, from the DSL channel"
