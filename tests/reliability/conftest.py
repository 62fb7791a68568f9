"""Fixtures shared by the reliability tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.fakeslack import FakeSlack
from tests.harness.live import LiveApp


@pytest.fixture(params=["http", "socket"])
def live(request: pytest.FixtureRequest, fake: FakeSlack, tmp_path: Path) -> Iterator[LiveApp]:
    """The real app over HTTP or Socket Mode dispatch, on a fresh data dir."""
    app = LiveApp(request.param, fake, tmp_path / "data")
    yield app
    app.close()
