"""Fixtures for the Teams suite: the app behind its HTTP endpoint."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from bot.config import Settings
from bot.service import DecisionService
from bot.teams.app import create_app
from bot.teams.server import listen, serve
from tests.harness.faketeams import FakeTeams
from tests.harness.teams import IDLE, Harness, teams_settings
from tests.harness.teams_driver import (
    CHANNEL,
    DSL,
    DSL_MEMBER,
    TeamsClient,
)


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
    app, front, executor = create_app(jigsaw, teams_settings(fake_teams))
    sock = listen("127.0.0.1", 0)
    ready = threading.Event()
    held: dict[str, Any] = {}

    def on_ready(server: Any) -> None:
        held["server"] = server
        ready.set()

    def main() -> None:
        loop = asyncio.new_event_loop()
        held["loop"] = loop
        try:
            loop.run_until_complete(serve(app, front, executor, sock, on_ready=on_ready,
                                          start_outbox=False))
        finally:
            ready.set()
            loop.close()

    thread = threading.Thread(target=main, name="teams-app", daemon=True)
    thread.start()
    assert ready.wait(IDLE) and "server" in held, "the Teams app did not start"
    port = sock.getsockname()[1]
    client = TeamsClient(fake_teams, f"http://127.0.0.1:{port}/api/messages")
    yield Harness(fake_teams, client, front, jigsaw, executor)
    held["loop"].call_soon_threadsafe(setattr, held["server"], "should_exit", True)
    thread.join(30)
