"""Bolt's listener pool, answering Slack as soon as a listener acks and
keeping listener work off the interpreter until that answer is written.

Bolt's request thread submits the listener to this pool, then looks for the
listener's ``ack()`` every 10 ms; meanwhile the listener goes straight on to
its real work (store writes, Web API calls), and every time the request
thread wants the interpreter back to write the answer it waits for the
listener to give it up. Here, for one request (a :class:`Hold`):

* an event's listener (Bolt acks events itself, on the request thread) is
  queued, and starts once the answer is written;
* a command's, click's or form's listener starts at once, and the request
  thread waits for its ``ack()`` (:class:`AckThenWait`) rather than polling,
  so the answer goes out as soon as there is one; the listener then waits,
  inside ``ack()``, until the answer is written.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from slack_bolt.context.ack import Ack

from bot.work import WorkInHand

# Slack waits 3 s for an answer; Bolt gives up on a listener's ack then too.
ACK_TIMEOUT = 3.0
# Longest a listener waits after its ack for the answer to be written; the
# server always signals, this only bounds a request that never finishes.
WRITTEN_TIMEOUT = 5.0


class AckThenWait(Ack):
    """Bolt's ``ack`` for one HTTP request: says when it was called, and
    then waits until the answer carrying it is written. An ``ack()`` made on
    the request thread itself (Bolt acks events before their listener
    starts) never waits."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Bolt's is unannotated
        self.acked = threading.Event()
        self.written = threading.Event()
        self._request_thread = threading.get_ident()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        response = super().__call__(*args, **kwargs)
        self.acked.set()
        if threading.get_ident() != self._request_thread:
            self.written.wait(WRITTEN_TIMEOUT)
        return response


Queued = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class Hold:
    """One request's listener work, on the request thread, until
    :meth:`release` (called once the answer is written)."""

    def __init__(self, executor: DeferringExecutor, ack: AckThenWait | None, *,
                 defer: bool) -> None:
        self.executor = executor
        self.ack = ack
        self.defer = defer  # queue the work (an event), or start it and wait for its ack
        self.queued: list[Queued] = []

    def __enter__(self) -> Hold:
        self.executor._local.hold = self
        return self

    def __exit__(self, *exc: object) -> None:
        self.executor._local.hold = None

    def release(self) -> None:
        if self.ack is not None:
            self.ack.written.set()
        for fn, args, kwargs in self.queued:
            self.executor._run(fn, *args, **kwargs)
        self.queued.clear()


class DeferringExecutor(ThreadPoolExecutor):
    """Bolt's listener pool (its ``listener_executor``), following each
    request's :class:`Hold`; work submitted outside one starts at once."""

    def __init__(self, max_workers: int = 10) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="jigsaw-listener")
        self._local = threading.local()
        self.work = WorkInHand()

    def held(self, ack: AckThenWait | None = None, *, defer: bool = True) -> Hold:
        """The hold for the request being dispatched on this thread."""
        return Hold(self, ack, defer=defer)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.work.add()  # held work counts from now: it is already on its way
        hold: Hold | None = getattr(self._local, "hold", None)
        if hold is None:
            return self._run(fn, *args, **kwargs)
        if not hold.defer:
            future = self._run(fn, *args, **kwargs)
            if hold.ack is not None:  # Bolt looks for the ack as soon as this returns
                hold.ack.acked.wait(ACK_TIMEOUT)
            return future
        hold.queued.append((fn, args, kwargs))
        done: Future[Any] = Future()  # Bolt does not wait on a listener's future
        done.set_result(None)
        return done

    def _run(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Start work already counted busy."""
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self.work.done()
            raise
        future.add_done_callback(lambda _: self.work.done())
        return future

    @property
    def busy(self) -> int:
        """Listeners running or held, for ``/health``."""
        return self.work.count

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no listener is running (on shutdown, or for a test to
        know a request has been fully handled); False if ``timeout`` passed
        first."""
        return self.work.wait_idle(timeout)
