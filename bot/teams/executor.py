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

log = logging.getLogger("jigsaw.teams")


class KeyedExecutor:
    def __init__(self, max_workers: int = 8) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers,
                                        thread_name_prefix="jigsaw-teams")
        self._queues: dict[str, deque[Callable[[], None]]] = {}
        self._lock = threading.Condition()
        self._busy = 0

    def submit(self, key: str, fn: Callable[[], None]) -> None:
        with self._lock:
            self._busy += 1
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
                with self._lock:
                    self._busy -= 1
                    self._lock.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """True once everything submitted so far has run."""
        with self._lock:
            return self._lock.wait_for(lambda: self._busy == 0, timeout)

    def shutdown(self) -> None:
        """Finish what was accepted (its answers are stored), then stop."""
        self.wait_idle(30.0)
        self._pool.shutdown(wait=True)
