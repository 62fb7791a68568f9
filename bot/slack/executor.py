"""Bolt's listener pool, able to hold an event's listener until the HTTP
response is written."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class Hold:
    """Listener work held back on this thread until :meth:`release`."""

    def __init__(self, executor: DeferringExecutor) -> None:
        self.executor = executor
        self.queued: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []

    def __enter__(self) -> Hold:
        self.executor._local.hold = self
        return self

    def __exit__(self, *exc: object) -> None:
        self.executor._local.hold = None

    def release(self) -> None:
        for fn, args, kwargs in self.queued:
            self.executor._run(fn, *args, **kwargs)
        self.queued.clear()


class DeferringExecutor(ThreadPoolExecutor):
    """Bolt's listener pool, able to start an event's listener only once the
    HTTP response is on its way.

    Bolt acks an event and then submits its listener, whose thread would take
    the interpreter lock while the ack is still being written. Events only:
    for commands and clicks the listener itself calls ``ack()``, so it must
    start at once.
    """

    def __init__(self, max_workers: int = 10) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="jigsaw-listener")
        self._local = threading.local()
        self._busy = 0
        self._idle = threading.Condition()

    def held(self) -> Hold:
        return Hold(self)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        # Held work counts as busy from now: it is already on its way.
        with self._idle:
            self._busy += 1
        hold: Hold | None = getattr(self._local, "hold", None)
        if hold is None:
            return self._run(fn, *args, **kwargs)
        hold.queued.append((fn, args, kwargs))
        done: Future[Any] = Future()  # Bolt does not wait on a listener's future
        done.set_result(None)
        return done

    def _run(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Start work already counted busy."""
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self._finished()
            raise
        future.add_done_callback(lambda _: self._finished())
        return future

    def _finished(self) -> None:
        with self._idle:
            self._busy -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no listener is running (on shutdown, or for a test to
        know a request has been fully handled); False if ``timeout`` passed
        first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)
