"""Serving the Teams app: ``/api/messages`` (the SDK's, token-checked) and
``/health``, on uvicorn, with a shutdown that finishes accepted work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from microsoft_teams.apps import App

from bot.guard import check_at_start
from bot.schedule import Ticker
from bot.teams.executor import KeyedExecutor
from bot.teams.front import TeamsFront
from bot.teams.gate import Gate

log = logging.getLogger("jigsaw.http")
READY = "serving Teams activities on /api/messages"


Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class AnswerFirst:
    """ASGI wrapper: the work a request's listeners hand to the executor
    starts only once that request's response has been written, so the
    response never waits on a worker (Teams wants an answer quickly; the
    store writes and posts follow)."""

    def __init__(self, app: Any, executor: KeyedExecutor) -> None:
        self.app = app
        self.executor = executor

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: list[Any] = []
        token = self.executor.hold(held)

        async def sending(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.executor.release(held)

        try:
            await self.app(scope, receive, sending)
        finally:
            # Whatever happened to the response, accepted work is never dropped.
            self.executor.release(held, token)


def add_health(fastapi: FastAPI, front: TeamsFront, executor: KeyedExecutor) -> None:
    @fastapi.get("/health")
    def health() -> JSONResponse:
        return JSONResponse({"ok": True, "mode": "teams",
                             "outbox": len(front.delivery.pending()),
                             "working": executor.busy})


async def serve(app: App, front: TeamsFront, executor: KeyedExecutor, sock: socket.socket,
                *, on_ready: Callable[[uvicorn.Server], None] | None = None,
                start_outbox: bool = True) -> None:
    """Serve on ``sock`` until the server is told to exit (SIGTERM/SIGINT in
    the main thread, or ``server.should_exit``)."""
    await app.initialize()
    front.connector.bind(asyncio.get_running_loop())
    fastapi = app.server.adapter.app  # type: ignore[attr-defined]
    add_health(fastapi, front, executor)
    gate = Gate(fastapi, path=app.server.messaging_endpoint, app_id=app.id or "",
                tenant_id=front.tenant_id)
    config = uvicorn.Config(AnswerFirst(gate, executor), log_config=None, access_log=False,
                            lifespan="off", timeout_graceful_shutdown=20)
    server = uvicorn.Server(config)
    # SIGTERM/SIGINT end the server gracefully (requests in hand finish) and
    # the process then exits 0, rather than uvicorn re-raising the signal.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    if threading.current_thread() is threading.main_thread():
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, lambda: setattr(server, "should_exit", True))
    # The schedule (escalations, reminders, nudges, the digest) runs beside
    # the outbox; tests tick it themselves with their own clock.
    ticker = Ticker(front.scheduler) if start_outbox else None
    if start_outbox:
        front.delivery.start()
    if ticker:
        ticker.start()
    task = asyncio.create_task(server.serve(sockets=[sock]))
    checking: asyncio.Task[bool] | None = None
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if server.started:
        log.info(READY, extra={"port": sock.getsockname()[1]})
        # At start-up, not at the first post: a wrong channel id, a public
        # channel, a team without the bot are said now, in the log.
        checking = asyncio.create_task(asyncio.to_thread(check_at_start, front.delivery.guard))
        if on_ready:
            on_ready(server)
    try:
        await task
        if checking is not None:
            await checking
    finally:
        # Accepted activities finish (their answers are stored) before exit.
        await asyncio.to_thread(executor.shutdown)
        if ticker:
            await asyncio.to_thread(ticker.stop)
        front.delivery.stop()


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock
