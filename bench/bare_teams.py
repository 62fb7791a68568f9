"""The Teams yardstick: a Teams SDK app whose handlers only acknowledge.

The same SDK options, token checks (against the bench's fake connector's
signing keys), credentials and uvicorn settings as Jigsaw's ``jigsaw teams``,
so the difference in latency between the two is what Jigsaw itself adds.

``python -m bench.bare_teams --port P`` (CLIENT_ID, CLIENT_SECRET, TENANT_ID
and JIGSAW_TEAMS_CONNECTOR_URL from the environment); serves until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from typing import Any

import uvicorn
from fastapi.responses import JSONResponse
from microsoft_teams.api.activities.invoke.adaptive_card.action import (
    AdaptiveCardInvokeActivity,
)
from microsoft_teams.api.activities.message.message import MessageActivity
from microsoft_teams.api.models.adaptive_card import AdaptiveCardActionMessageResponse
from microsoft_teams.api.models.invoke_response import AdaptiveCardInvokeResponse
from microsoft_teams.apps import ActivityContext, App
from microsoft_teams.apps.http import FastAPIAdapter

from bot.config import Environment
from bot.teams.app import MESSAGES_PATH, JigsawTeamsApp, cloud_for, credentials_for
from bot.teams.server import listen


def create_bare_app() -> App:
    teams = Environment.read().teams
    app = JigsawTeamsApp(
        credentials_for(teams), client_id=teams.client_id, tenant_id=teams.tenant_id or None,
        cloud=cloud_for(teams), http_server_adapter=FastAPIAdapter(),
        messaging_endpoint=MESSAGES_PATH, service_url=teams.connector_url, state=False,
        telemetry={"agent365": False})

    @app.on_message
    async def on_message(ctx: ActivityContext[MessageActivity]) -> None:
        return None

    @app.on_card_action_execute
    async def on_execute(ctx: ActivityContext[AdaptiveCardInvokeActivity]
                         ) -> AdaptiveCardInvokeResponse:
        return AdaptiveCardActionMessageResponse(value="")

    return app


async def serve(app: App, host: str, port: int) -> None:
    await app.initialize()
    fastapi: Any = app.server.adapter.app  # type: ignore[attr-defined]

    @fastapi.get("/health")
    def health() -> JSONResponse:
        return JSONResponse({"ok": True, "mode": "bare teams"})

    config = uvicorn.Config(fastapi, log_config=None, access_log=False, lifespan="off",
                            timeout_graceful_shutdown=20)
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, lambda: setattr(server, "should_exit", True))
    await server.serve(sockets=[listen(host, port)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_teams")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    opts = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve(create_bare_app(), opts.host, opts.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
