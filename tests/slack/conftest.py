"""The Slack app under test: real Bolt listeners, a real HTTP endpoint (or
Socket Mode dispatch), and a local fake of the Slack Web API over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from slack_bolt import App
from slack_sdk import WebClient

from bot.service import Jigsaw
from bot.slack.app import create_app
from bot.slack.front import SlackFront
from tests.fakeslack import FakeSlack, WaitTimeout
from tests.slackreq import (
    TRANSPORT_KINDS,
    AckResponse,
    SlackRequest,
    SlackTransport,
    open_transport,
)

SECRET = "test-signing-secret"
IDLE_TIMEOUT = 10.0


class IdleExecutor(ThreadPoolExecutor):
    """Bolt's listener pool, counting what is still running.

    Bolt acks Slack first and runs the listener afterwards in this pool, so a
    test cannot tell from the ack alone that a click has been handled.
    :meth:`wait_idle` can: it returns once every submitted listener finished,
    which is also the only way to prove that a click did *nothing*.
    """

    def __init__(self, max_workers: int = 5) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="bolt-listener")
        self._busy = 0
        self._idle = threading.Condition()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._idle:
            self._busy += 1

        def run() -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

        try:
            return super().submit(run)
        except BaseException:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()
            raise

    def wait_idle(self, timeout: float = IDLE_TIMEOUT) -> None:
        with self._idle:
            if not self._idle.wait_for(lambda: self._busy == 0, timeout):
                raise WaitTimeout(f"{self._busy} listener(s) still running after {timeout}s")


@dataclass
class Harness:
    fake: FakeSlack
    transport: SlackTransport
    front: SlackFront
    jigsaw: Jigsaw
    app: App | None = None
    executor: IdleExecutor | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        """"http" or "socket": how requests reach the app."""
        return self.transport.kind

    def idle(self) -> None:
        """Wait until every listener started so far has finished."""
        if self.executor is not None:
            self.executor.wait_idle()

    def send(self, request: SlackRequest, **kwargs: Any) -> AckResponse:
        """Deliver one request, check Slack got a 200 ack, and wait until the
        app has finished handling it."""
        ack = self.transport.send(request, **kwargs)
        assert ack.status == 200, f"app answered {ack.status}: {ack.body!r}"
        self.idle()
        return ack

    def send_at_once(self, requests: list[SlackRequest]) -> list[AckResponse]:
        """Deliver several requests concurrently (a double click, two DSLs
        clicking together), then wait until the app has handled them all."""
        barrier = threading.Barrier(len(requests))

        def deliver(request: SlackRequest) -> AckResponse:
            barrier.wait(IDLE_TIMEOUT)
            return self.transport.send(request)

        with ThreadPoolExecutor(len(requests)) as pool:
            acks = list(pool.map(deliver, requests))
        self.idle()
        assert all(ack.status == 200 for ack in acks), [ack.status for ack in acks]
        return acks


def build_app(jigsaw: Jigsaw, fake: FakeSlack) -> tuple[App, SlackFront, IdleExecutor]:
    """The production app factory, pointed at the fake, with a listener pool
    the tests can wait on."""
    client = WebClient(token="xoxb-test", base_url=fake.base_url, timeout=5)
    app, front = create_app(jigsaw, signing_secret=SECRET, client=client)
    executor = IdleExecutor()
    runner = app.listener_runner
    runner.listener_executor = executor
    runner.lazy_listener_runner.executor = executor
    return app, front, executor


@pytest.fixture(params=TRANSPORT_KINDS)
def slack(request: pytest.FixtureRequest, fake: FakeSlack, jigsaw: Jigsaw) -> Iterator[Harness]:
    app, front, executor = build_app(jigsaw, fake)
    with open_transport(request.param, app, signing_secret=SECRET) as transport:
        yield Harness(fake, transport, front, jigsaw, app, executor)
        executor.wait_idle()
    front.delivery.stop()
    executor.shutdown(wait=True)
