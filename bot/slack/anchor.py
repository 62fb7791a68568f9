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
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.config import Environment

log = logging.getLogger("jigsaw.anchor")

ANCHOR_EVENT = "jigsaw_anchor"


def latest_anchor(client: WebClient, channel: str, *, pages: int = 20
                  ) -> tuple[int, str] | None:
    """The newest anchor in the DSL channel, as (line number, MAC); None if
    there is none in recent history. Slack errors propagate."""
    cursor = None
    for _ in range(pages):
        response = client.conversations_history(channel=channel, limit=200,
                                                 include_all_metadata=True, cursor=cursor)
        message: dict[str, Any]
        for message in response.get("messages", []):  # newest first
            meta: dict[str, Any] = message.get("metadata") or {}
            payload: dict[str, Any] = meta.get("event_payload") or {}
            if meta.get("event_type") == ANCHOR_EVENT and isinstance(payload.get("n"), int):
                return int(payload["n"]), str(payload.get("mac", ""))
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None
    return None


def fetch_for_verify(channel: str, environment: Environment
                     ) -> tuple[tuple[int, str] | None, str]:
    """For ``jigsaw verify``: the latest anchor and a line saying where it
    came from (or why there is none)."""
    from bot.slack.app import web_client

    try:
        found = latest_anchor(web_client(environment), channel)
    except (SlackApiError, SlackClientError, OSError) as exc:
        return None, f"note: could not read the latest anchor from Slack ({type(exc).__name__})"
    if found is None:
        return None, "note: no anchor found in the DSL channel yet"
    return found, f"anchor: ledger entry {found[0]}, from the DSL channel"
