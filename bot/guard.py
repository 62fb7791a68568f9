"""The channel guard: before anything is posted to the DSL channel (at most
once a minute, and at start-up), a look that the channel is private to the
school's DSL team and the bot can post in it. Records are never posted
anywhere else: if the look fails they wait in the outbox and the log says
why.

Every front end has the same guard; only :meth:`ChannelGuard.inspect` (how
its chat service says what a channel is) is its own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("jigsaw")

CHANNEL_CHECK_TTL = 60.0  # seconds a channel check is trusted before the next post


class ChannelGuard:
    """Caches a successful look for ``ttl`` seconds; a failed one is looked
    at again on the next post."""

    def __init__(self, channel: str, *, ttl: float = CHANNEL_CHECK_TTL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.channel = channel
        self.ttl = ttl
        self.clock = clock
        self._checked_at: float | None = None
        self._lock = threading.Lock()

    def inspect(self) -> None:
        """Raise :class:`ChannelUnsafe` saying what is wrong with the channel
        (or that it cannot be looked at now)."""
        raise NotImplementedError

    def check(self, *, force: bool = False) -> None:
        with self._lock:
            now = self.clock()
            if (not force and self._checked_at is not None
                    and now - self._checked_at < self.ttl):
                return
            self._checked_at = None
            self.inspect()
            self._checked_at = now

    def reset(self) -> None:
        with self._lock:
            self._checked_at = None


def check_at_start(guard: ChannelGuard) -> bool:
    """At start-up, not at the first post: say clearly, in the log, if
    records cannot be posted safely (a wrong channel id, a channel not
    private, the bot not in it)."""
    from bot.outbox import ChannelUnsafe

    try:
        guard.check(force=True)
    except ChannelUnsafe as exc:
        log.error("DSL channel check failed, records will be held in the outbox: %s", exc)
        return False
    log.info("DSL channel checked: private, and Jigsaw can post in it")
    return True
