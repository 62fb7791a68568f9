"""The schedule's time: the wall clock, never going back.

An escalation is due a quarter of an hour after its alert *in real time*,
whatever an administrator or a bad time server does to the wall clock. So
intervals are measured with the monotonic clock (injected, as the wall
clock is): the time the schedule works with is the wall clock, or, when the
wall clock is behind where it was plus the monotonic time since, that
instead. A wall clock that moves back is logged once per jump, at ERROR.

A process started after the clock was set back does not know the monotonic
time before; it takes the ledger's newest time (``floor``) as the earliest
it can be, unless that is more than a day ahead (then the old time was the
wrong one, and the wall clock is taken).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

log = logging.getLogger("jigsaw.schedule")

TOLERANCE = timedelta(seconds=30)  # drift between the two clocks not worth a word
MAX_FLOOR = timedelta(days=1)


class SteadyClock:
    def __init__(self, wall: Callable[[], datetime],
                 monotonic: Callable[[], float] = time.monotonic,
                 floor: Callable[[], datetime | None] | None = None) -> None:
        self._wall = wall
        self._monotonic = monotonic
        self._floor = floor
        self._base: tuple[float, datetime] | None = None
        self._behind = timedelta(0)  # how far behind the wall clock was last told
        self._lock = threading.Lock()
        self.moved_back: list[tuple[datetime, datetime]] = []  # (steady, wall) at each jump

    def __call__(self) -> datetime:
        wall, mono = self._wall(), self._monotonic()
        with self._lock:
            if self._base is None:
                start = max(wall, self._earliest(wall) or wall)
                self._base = (mono, start)
                if start > wall:
                    self._report(start, wall)
                return start
            since, then = self._base
            steady = then + timedelta(seconds=max(0.0, mono - since))
            if wall >= steady - TOLERANCE:
                self._base, self._behind = (mono, max(wall, steady)), timedelta(0)
                return max(wall, steady)
            self._report(steady, wall)
            return steady

    def quick(self) -> datetime:
        """The time, never asking the store for the ledger's (on the 999
        path the store may be away): before the first tick this clock is
        set going from the wall clock alone, so what is due is counted from
        then (a due time set now is never early)."""
        with self._lock:
            if self._base is None:
                wall = self._wall()
                self._base = (self._monotonic(), wall)
                return wall
        return self()

    def _earliest(self, wall: datetime) -> datetime | None:
        if self._floor is None:
            return None
        try:
            floor = self._floor()
        except Exception:  # the store is away: the wall clock it is
            return None
        if floor is None or floor - wall > MAX_FLOOR:
            return None
        return floor

    def _report(self, steady: datetime, wall: datetime) -> None:
        behind = steady - wall
        if behind <= self._behind + TOLERANCE:
            return
        self._behind = behind
        self.moved_back.append((steady, wall))
        log.error("the wall clock moved back: the schedule keeps time by the monotonic clock",
                  extra={"seconds_back": int(behind.total_seconds())})
