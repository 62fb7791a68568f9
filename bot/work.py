"""A count of work accepted and not yet finished, for both fronts' worker pools:
``/health`` reports it, shutdown and the tests wait for it to reach zero."""

from __future__ import annotations

import threading


class WorkInHand:
    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    def add(self) -> None:
        with self._changed:
            self._count += 1

    def done(self) -> None:
        with self._changed:
            self._count -= 1
            self._changed.notify_all()

    @property
    def count(self) -> int:
        with self._changed:
            return self._count

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is in hand; False if ``timeout`` passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: self._count == 0, timeout)
