"""Work done after the HTTP response, one person's activities in order.

The Bot Framework wants each activity answered quickly; the store writes and
the posts back to the chat happen afterwards, in worker threads, like Slack's
listeners after their ack. Two activities from one person never run at once
or out of order (a typed answer cannot overtake the click before it).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar, Token

from bot.work import WorkInHand

log = logging.getLogger("jigsaw.teams")

Held = list[tuple[str, Callable[[], None]]]
# Work submitted while a request is being answered waits here until its
# response is written (see :meth:`KeyedExecutor.hold`).
_held: ContextVar[Held | None] = ContextVar("jigsaw_teams_held", default=None)


class KeyedExecutor:
    def __init__(self, max_workers: int = 8) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers,
                                        thread_name_prefix="jigsaw-teams")
        self._queues: dict[str, deque[Callable[[], None]]] = {}
        self._lock = threading.Lock()
        self.work = WorkInHand()

    def submit(self, key: str, fn: Callable[[], None]) -> None:
        held = _held.get()
        self.work.add()
        if held is not None:
            held.append((key, fn))
            return
        self._enqueue(key, fn)

    def hold(self, held: Held) -> Token[Held | None]:
        """Until :meth:`release`, work submitted in this context waits in
        ``held``: a worker starting while the response is still being written
        would compete with it for the interpreter."""
        return _held.set(held)

    def release(self, held: Held, token: Token[Held | None] | None = None) -> None:
        """Start the work held for one request (once; safe to call again)."""
        if token is not None:
            _held.reset(token)
        items, held[:] = list(held), []
        for key, fn in items:
            self._enqueue(key, fn)

    def _enqueue(self, key: str, fn: Callable[[], None]) -> None:
        with self._lock:
            queue = self._queues.get(key)
            if queue is not None:  # a worker is draining this key: join its line
                queue.append(fn)
                return
            self._queues[key] = deque([fn])
        self._pool.submit(self._drain, key)

    def _drain(self, key: str) -> None:
        while True:
            with self._lock:
                queue = self._queues[key]
                if not queue:
                    del self._queues[key]
                    return
                fn = queue.popleft()
            try:
                fn()
            except Exception:  # one failure must not stop the person's next activity
                log.exception("teams activity failed")
            finally:
                self.work.done()

    @property
    def busy(self) -> int:
        """Activities accepted and not yet done."""
        return self.work.count

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """True once everything submitted so far has run."""
        return self.work.wait_idle(timeout)

    def shutdown(self) -> None:
        """Finish what was accepted (its answers are stored), then stop."""
        self.wait_idle(30.0)
        self._pool.shutdown(wait=True)
