"""Shared fixtures: a fresh store and service per test, on a temporary dir."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import Settings
from bot.service import DecisionService
from storage import TinyDBStore
from tests.harness.fakeslack import FakeSlack

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def settings() -> Settings:
    return Settings(school_name="Hillside Primary", dsl_channel="CDSL",
                    dsl_user_ids=("UDSL1",))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TinyDBStore]:
    s = TinyDBStore(tmp_path / "data")
    yield s
    s.close()


@pytest.fixture
def jigsaw(settings: Settings, store: TinyDBStore) -> DecisionService:
    return DecisionService(settings, store, clock=lambda: datetime.now(UTC))


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    """A fake Slack Web API on loopback, fresh for each test."""
    with FakeSlack() as f:
        yield f
