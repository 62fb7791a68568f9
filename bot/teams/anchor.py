"""Reading the ledger's anchor back from the Teams DSL channel, for
``jigsaw verify``.

The outbox posts the ledger's head into the DSL channel once a day
(:meth:`bot.teams.delivery.TeamsDelivery.post_anchor`): a card whose id
carries the line's number and MAC, which the data directory's writers cannot
change. Here the channel's recent posts are read back through Microsoft
Graph, the app's own posts only (a card pasted by a person is ignored,
however it is shaped), and the newest anchor and the records posted found.
"""

from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import dataclass, field

from bot.config import TeamsSettings
from bot.teams.cards import ANCHOR_MARK, RECORD_MARK
from bot.teams.connector import Connector, ConnectorError

_ANCHOR = re.compile(rf'"{ANCHOR_MARK}(\d+)-([0-9a-f]+)"')
_RECORD = re.compile(rf'"{RECORD_MARK}([A-Za-z0-9_.:-]+)"')


@dataclass
class ChannelEvidence:
    """What the DSL channel holds about the store, from the app's own posts:
    the newest anchor (line number, MAC) and the records posted."""

    anchor: tuple[int, str] | None = None
    posted: list[str] = field(default_factory=list)


def read_channel(connector: Connector, team: str, channel: str) -> ChannelEvidence:
    """The app's anchors and record cards in the channel's recent posts.
    ConnectorError propagates."""
    found = ChannelEvidence()
    for _, content in connector.channel_posts(team, channel, only_own=True):
        for n, mac in _ANCHOR.findall(content):
            if found.anchor is None or int(n) > found.anchor[0]:
                found.anchor = (int(n), mac)
        found.posted += [rid for rid in _RECORD.findall(content) if rid not in found.posted]
    return found


def fetch_for_verify(teams: TeamsSettings) -> tuple[ChannelEvidence | None, str]:
    """For ``jigsaw verify``: what the channel holds, and a line saying
    where the anchor came from; None (and why) if Teams cannot be read."""
    from bot.teams.app import sdk_app

    if not teams.dsl_team:
        return None, ("JIGSAW_TEAMS_TEAM is not set, so the DSL channel's anchor could not be "
                      "read (set it, or run with --offline to check without it)")
    app, connector = sdk_app(teams)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="jigsaw-verify", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(app.initialize(), loop).result(connector.timeout)
        connector.bind(loop)
        found = read_channel(connector, teams.dsl_team, teams.dsl_channel)
    except (ConnectorError, OSError, TimeoutError) as exc:
        return None, (f"could not read the DSL channel from Teams ({exc}), so the ledger was "
                      "not checked against its anchor (run again when Teams can be reached, "
                      "or with --offline to check without it)")
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
    if found.anchor is None:
        return found, "note: no anchor found in the DSL channel yet"
    return found, f"anchor: ledger entry {found.anchor[0]}, from the DSL channel"
