"""Who is in the DSL channel, one rule for every chat service.

The list is cached briefly (chat services rate-limit lookups, and a review
click must stay fast). When a lookup fails the last list is used a little
longer, so a passing outage does not lock the DSL team out; once it is older
than the hard limit (``membership_max_stale_minutes``) nobody is taken to be
a member: someone removed from the channel cannot keep viewing records while
the chat service cannot be asked.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("jigsaw.membership")

MEMBERS_TTL = 60.0


class MembershipUnknown(RuntimeError):
    """The chat service could not say who is in the DSL channel, and the last
    list is too old to trust: callers refuse."""


class Membership:
    def __init__(self, lookup: Callable[[], set[str]], *, max_stale: float,
                 ttl: float = MEMBERS_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.lookup = lookup  # raises whatever the chat service raises
        self.max_stale = max_stale  # seconds
        self.ttl = ttl
        self.clock = clock
        self._members: set[str] = set()
        self._at: float | None = None
        self._lock = threading.Lock()

    def members(self) -> set[str]:
        with self._lock:
            now = self.clock()
            if self._at is not None and now - self._at < self.ttl:
                return self._members
            try:
                members = set(self.lookup())
            except Exception as exc:  # whatever went wrong, the rule below decides
                if self._at is not None and now - self._at < self.max_stale:
                    log.warning("cannot list DSL channel members (%s): using the list from "
                                "%.0f s ago", type(exc).__name__, now - self._at)
                    return self._members
                log.warning("cannot list DSL channel members (%s): nobody is let in until "
                            "it can", type(exc).__name__)
                raise MembershipUnknown(type(exc).__name__) from exc
            self._members, self._at = members, now
            return members
