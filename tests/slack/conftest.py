"""Fixtures for the Slack suite: the app behind each transport."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.service import DecisionService
from tests.harness.fakeslack import FakeSlack
from tests.harness.slack import SECRET, Harness, build_app, wait_idle
from tests.harness.slackreq import TRANSPORT_KINDS, open_transport


@pytest.fixture(params=TRANSPORT_KINDS)
def slack(request: pytest.FixtureRequest, fake: FakeSlack, jigsaw: DecisionService
          ) -> Iterator[Harness]:
    app, front, executor = build_app(jigsaw, fake)
    with open_transport(request.param, app, signing_secret=SECRET) as transport:
        yield Harness(fake, transport, front, jigsaw, app, executor)
        wait_idle(executor)
    front.delivery.stop()
    executor.shutdown(wait=True)
