"""The Slack app under test, in this process: real Bolt listeners, a real
HTTP endpoint (or Socket Mode dispatch), and a local fake of the Slack Web
API over HTTP."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.service import DecisionService
from bot.slack.app import create_app
from bot.slack.executor import DeferringExecutor
from bot.slack.front import SlackFront
from tests.harness.fakeslack import FakeSlack, WaitTimeout
from tests.harness.slackreq import (
    AckResponse,
    SlackRequest,
    SlackTransport,
)

SECRET = "test-signing-secret"
IDLE_TIMEOUT = 10.0


@dataclass
class Harness:
    fake: FakeSlack
    transport: SlackTransport
    front: SlackFront
    jigsaw: DecisionService
    app: App | None = None
    executor: DeferringExecutor | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        """"http" or "socket": how requests reach the app."""
        return self.transport.kind

    def idle(self) -> None:
        """Wait until every listener started so far has finished."""
        if self.executor is not None:
            wait_idle(self.executor)

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


def wait_idle(executor: DeferringExecutor, timeout: float = IDLE_TIMEOUT) -> None:
    """Wait until every listener Bolt started has finished: Bolt acks first
    and runs the listener afterwards, so only this proves a click has been
    handled, or did nothing."""
    if not executor.wait_idle(timeout):
        raise WaitTimeout(f"listeners still running after {timeout}s")


def build_app(jigsaw: DecisionService, fake: FakeSlack
              ) -> tuple[App, SlackFront, DeferringExecutor]:
    """The production app factory (and its listener pool), pointed at the fake."""
    client = WebClient(token="xoxb-test", base_url=fake.base_url, timeout=5)
    app, front = create_app(jigsaw, signing_secret=SECRET, client=client)
    executor = app.listener_runner.listener_executor
    assert isinstance(executor, DeferringExecutor)
    return app, front, executor
