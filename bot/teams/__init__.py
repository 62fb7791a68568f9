"""The Microsoft Teams front end (the Teams SDK for Python)."""

from __future__ import annotations

import argparse
import asyncio
import logging

from bot import collector, logs
from bot.config import Environment
from bot.service import DecisionService

log = logging.getLogger("jigsaw")


def run(jigsaw: DecisionService, args: argparse.Namespace, environment: Environment) -> int:
    from bot.teams.app import create_app
    from bot.teams.server import listen, serve

    logs.setup(environment.log_level)
    # The SDK logs whole activities at DEBUG: they can hold a child's details.
    for noisy in ("microsoft_teams", "httpx", "httpcore", "uvicorn", "msal"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    teams = environment.teams
    if not teams.configured:
        log.error("CLIENT_ID and CLIENT_SECRET are not set")
        return 2
    if not teams.dsl_channel:
        log.error("JIGSAW_TEAMS_CHANNEL is not set: records will be held in the outbox")
    app, front, executor = create_app(jigsaw, teams)
    jigsaw.prune_sessions()
    collector.warm_up(jigsaw)
    asyncio.run(serve(app, front, executor, listen(args.host, args.port)))
    log.info("stopped", extra={"mode": "teams"})
    return 0
