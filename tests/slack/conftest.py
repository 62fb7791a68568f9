"""The Slack app under test: real Bolt listeners, a real HTTP endpoint (or
Socket Mode dispatch), and a local fake of the Slack Web API over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from slack_sdk import WebClient

from bot.service import Jigsaw
from bot.slack.app import create_app
from bot.slack.front import SlackFront
from tests.fakeslack import FakeSlack
from tests.slackreq import TRANSPORT_KINDS, SlackTransport, open_transport

SECRET = "test-signing-secret"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        yield f


@dataclass
class Harness:
    fake: FakeSlack
    transport: SlackTransport
    front: SlackFront
    jigsaw: Jigsaw


@pytest.fixture(params=TRANSPORT_KINDS)
def slack(request: pytest.FixtureRequest, fake: FakeSlack, jigsaw: Jigsaw) -> Iterator[Harness]:
    client = WebClient(token="xoxb-test", base_url=fake.base_url, timeout=5)
    app, front = create_app(jigsaw, signing_secret=SECRET, client=client)
    with open_transport(request.param, app, signing_secret=SECRET) as transport:
        yield Harness(fake, transport, front, jigsaw)
    front.delivery.stop()
