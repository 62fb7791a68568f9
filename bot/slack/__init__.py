"""The Slack front end (Bolt for Python): Socket Mode or HTTP."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import Any

from bot import collector, logs
from bot.config import Environment, Settings
from bot.guard import check_at_start
from bot.schedule import SCHEDULE_EVERY, Ticker
from bot.service import DecisionService
from bot.slack.app import JigsawApp, create_app, web_client
from bot.slack.executor import DeferringExecutor
from bot.slack.front import SlackFront

log = logging.getLogger("jigsaw")


def health(app: JigsawApp, front: SlackFront, status: dict[str, object]) -> dict[str, object]:
    """``GET /health``: not ok while the store refuses writes (or holds
    answers only in memory) or this server's clock disagrees with Slack's;
    ``working`` counts the listeners still at work on requests answered."""
    problems = []
    if not front.service.store_writable():
        problems.append("store: cannot write to the data directory")
    elif len(front.service.unsaved):
        problems.append("store: answers kept in memory are not saved yet")
    skew = app.clock_skew()
    if skew is not None:
        problems.append(f"clock: {skew:+.0f} s from Slack's")
    try:
        outbox: int | None = len(front.delivery.pending())
    except OSError:  # a database that cannot be reached cannot be read either
        outbox = None
        problems.append("store: cannot read the outbox")
    executor = app.listener_runner.listener_executor
    working = executor.busy if isinstance(executor, DeferringExecutor) else None
    out = {**status, "outbox": outbox, "working": working}
    if problems:
        out.update(ok=False, problems=problems)
    return out


def run(command: str, jigsaw: DecisionService, args: argparse.Namespace, environment: Environment
        ) -> int:
    logs.setup(environment.log_level)
    if not environment.slack_bot_token:
        log.error("SLACK_BOT_TOKEN is not set")
        return 2
    if command == "http" and not environment.slack_signing_secret:
        log.error("SLACK_SIGNING_SECRET is not set")
        return 2
    app, front = create_app(jigsaw, signing_secret=environment.slack_signing_secret,
                            client=web_client(environment))
    jigsaw.prune_sessions()
    collector.warm_up(jigsaw)
    check_at_start(front.delivery.guard)
    front.delivery.start()
    ticker = Ticker(front.scheduler, every=SCHEDULE_EVERY)
    ticker.start()
    stop = threading.Event()

    def on_term(signum: int, _frame: object) -> None:
        log.info("stopping", extra={"mode": command})
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    try:
        if command == "http":
            return _serve_http(app, front, args, stop)
        return _serve_socket(app, front, stop, environment)
    finally:
        ticker.stop()
        front.delivery.stop()
        app.listener_runner.listener_executor.shutdown(wait=True)


def _serve_http(app: JigsawApp, front: SlackFront, args: argparse.Namespace,
                stop: threading.Event) -> int:
    from bot.slack.server import SlackHTTPServer

    server = SlackHTTPServer((args.host, args.port), app,
                             health=lambda: health(app, front, {"ok": True, "mode": "http"}))
    thread = threading.Thread(target=server.serve_forever, name="jigsaw-http")
    thread.start()
    log.info("serving Slack events on /slack/events", extra={"port": server.port})
    stop.wait()
    server.stop()  # waits for requests in hand; idle keep-alive connections are ended
    thread.join()
    return 0


def _serve_socket(app: JigsawApp, front: SlackFront, stop: threading.Event,
                  environment: Environment, *, handler_class: Any = None) -> int:
    """Serve over Socket Mode (``handler_class``: Bolt's handler, unless a
    test brings its own connection)."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    if not environment.slack_app_token:
        log.error("SLACK_APP_TOKEN is not set")
        return 2
    handler = (handler_class or SocketModeHandler)(app, environment.slack_app_token)
    handler.connect()
    server = None
    if environment.health_port:
        from bot.slack.server import SlackHTTPServer

        server = SlackHTTPServer(("127.0.0.1", environment.health_port), app, health=lambda: health(
            app, front, {"ok": handler.client.is_connected(), "mode": "socket"}))
        threading.Thread(target=server.serve_forever, name="jigsaw-health", daemon=True).start()
    log.info("connected in Socket Mode")
    stop.wait()
    handler.close()
    if server:
        server.stop()
    return 0


def schools_health(tenants: Any) -> dict[str, object]:
    """``GET /health`` serving many schools: each school's own check, not ok
    while any school's fails (its problems named by school)."""
    schools = outbox = 0
    problems: list[str] = []
    for tenant in tenants.tenants():
        one: dict[str, Any] = health(tenant.app, tenant.front, {"ok": True})
        schools += 1
        outbox += int(one["outbox"] or 0)
        problems.extend(f"{tenant.school_id}: {p}" for p in one.get("problems") or [])
    out: dict[str, object] = {"ok": not problems, "mode": "http", "schools": schools,
                              "outbox": outbox}
    if problems:
        out["problems"] = problems
    return out


def serve_schools(db: Any, settings: Settings, args: argparse.Namespace,
                  environment: Environment) -> int:
    """``jigsaw http`` for many schools: every school installed through
    Slack's OAuth flow, served from one database (see bot.slack.tenants)."""
    from bot.slack.server import SlackHTTPServer
    from bot.slack.tenants import Tenant, Tenants

    logs.setup(environment.log_level)
    if not environment.slack_signing_secret:
        log.error("SLACK_SIGNING_SECRET is not set")
        return 2
    if not environment.slack_client_secret:
        log.error("JIGSAW_SLACK_CLIENT_SECRET is not set")
        return 2
    tenants = Tenants(db, settings, environment)
    tickers: list[Ticker] = []

    def started(tenant: Tenant) -> None:
        tenant.front.service.prune_sessions()
        ticker = Ticker(tenant.front.scheduler, every=SCHEDULE_EVERY)
        ticker.start()
        tickers.append(ticker)

    tenants.on_tenant = started
    tenants.warm()
    stop = threading.Event()

    def on_term(signum: int, _frame: object) -> None:
        log.info("stopping", extra={"mode": "http"})
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    server = SlackHTTPServer((args.host, args.port), tenants,  # type: ignore[arg-type]
                             health=lambda: schools_health(tenants))
    thread = threading.Thread(target=server.serve_forever, name="jigsaw-http")
    thread.start()
    log.info("serving Slack events on /slack/events for every school",
             extra={"port": server.port})
    try:
        stop.wait()
        server.stop()
        thread.join()
    finally:
        for ticker in tickers:
            ticker.stop()
        tenants.stop()
    return 0
