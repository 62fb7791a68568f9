"""Fixtures for the Teams suite: the app behind its HTTP endpoint."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.config import Settings
from bot.service import DecisionService
from tests.harness.faketeams import FakeTeams
from tests.harness.teams import Harness, running
from tests.harness.teams_driver import CHANNEL, DSL, DSL_MEMBER


@pytest.fixture
def settings() -> Settings:
    return Settings(school_name="Hillside Primary", dsl_user_ids=(DSL,))


@pytest.fixture
def fake_teams() -> Iterator[FakeTeams]:
    with FakeTeams() as fake:
        fake.members[CHANNEL] = [
            {"id": f"29:{DSL}", "aadObjectId": DSL, "name": "Dana DSL"},
            {"id": f"29:{DSL_MEMBER}", "aadObjectId": DSL_MEMBER, "name": "Deputy Dev"},
        ]
        yield fake


@pytest.fixture
def teams(fake_teams: FakeTeams, jigsaw: DecisionService) -> Iterator[Harness]:
    with running(jigsaw, fake_teams) as harness:
        yield harness
