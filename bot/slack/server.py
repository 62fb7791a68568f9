"""A small threaded HTTP server for Slack's Events API and interactivity.

Bolt ships a development server; this one adds what a school's deployment
needs: a ``/health`` check, a cap on request size, and a clean shutdown that
lets requests in hand finish.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

from slack_bolt import BoltRequest, BoltResponse

from bot.slack.app import JigsawApp
from bot.slack.executor import AckThenWait, DeferringExecutor
from bot.slack.forms import SlackHTTPRequest

log = logging.getLogger("jigsaw.http")
MAX_BODY = 1_000_000
# An oversized body is read and dropped (up to this much) so the client gets
# the 413 instead of a reset connection; beyond it the connection is cut.
MAX_DRAIN = 16_000_000
IDLE_TIMEOUT = 30.0
EVENTS_PATH = "/slack/events"


class SlackHTTPServer(ThreadingHTTPServer):
    daemon_threads = False  # shutdown waits for requests in hand
    block_on_close = True
    allow_reuse_address = True
    # The kernel queues this many connections not yet accepted. socketserver's
    # 5 reset connections when 50 staff clicked at once (a staff briefing).
    request_queue_size = socket.SOMAXCONN

    def __init__(self, address: tuple[str, int], app: JigsawApp,
                 health: Callable[[], dict[str, object]] | None = None) -> None:
        self.app = app
        self.health = health or (lambda: {"ok": True})
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def stop(self) -> None:
        """Stop accepting, end idle keep-alive connections, and wait for the
        requests in hand to finish (their replies can still be written)."""
        self.shutdown()
        with self._connections_lock:
            open_now = list(self._connections)
        for conn in open_now:
            with contextlib.suppress(OSError):  # already closed by the client
                conn.shutdown(socket.SHUT_RD)  # a handler waiting for a next request sees EOF
        self.server_close()

    def handle_error(self, request: object, client_address: object) -> None:
        # The default prints a traceback to stderr: keep logs structured, and
        # never echo what was sent.
        log.error("http request failed", exc_info=True)

    @property
    def port(self) -> int:
        return self.server_address[1]


class _Handler(BaseHTTPRequestHandler):
    server: SlackHTTPServer
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT  # a client that stops sending cannot hold a thread forever
    # Headers and body go out in two writes; without this the body waits for
    # the client's delayed ACK (about 40 ms) before Slack sees the ack.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        # The default prints to stderr, with query strings; keep logs structured.
        log.debug("http %s", self.command)

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {"Content-Type": "text/plain"}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        url = urlparse(self.path)
        if url.path == "/health":
            status = self.server.health()
            self._reply(200 if status.get("ok") else 503, json.dumps(status).encode(),
                        {"Content-Type": "application/json"})
            return
        oauth = getattr(self.server.app, "oauth_pages", {})  # many schools: Slack installs
        if url.path in oauth:
            response = oauth[url.path](BoltRequest(body="", query=url.query, headers={
                k.lower(): [v] for k, v in self.headers.items()}))
            self._reply(response.status, (response.body or "").encode("utf-8"),
                        {k: ", ".join(v) if k.lower() != "set-cookie" else v[0]
                         for k, v in response.headers.items() if v})
            return
        self._reply(404, b"not found")

    def do_POST(self) -> None:  # noqa: N802
        url = urlparse(self.path)
        if url.path != EVENTS_PATH:
            self._reply(404, b"not found")
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            if 0 < length <= MAX_DRAIN:
                while length > 0:
                    chunk = self.rfile.read(min(length, 65536))
                    if not chunk:
                        return
                    length -= len(chunk)
            elif length > MAX_DRAIN:
                return
            self._reply(413, b"request too large", {"Content-Type": "text/plain",
                                                     "Connection": "close"})
            return
        body = self.rfile.read(length).decode("utf-8", errors="replace")
        headers = {k.lower(): [v] for k, v in self.headers.items()}
        app = self.server.app
        hold = None
        try:
            request = SlackHTTPRequest(body=body, query=url.query, headers=headers)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError):
            response = app.unparsable(body, headers)  # e.g. payload= that is not JSON
        else:
            route = getattr(app, "app_for", None)  # many schools: the request's own school
            try:
                target = app if route is None else route(request)
            except Exception as exc:  # a body no school's router can place: refused
                log.warning("request not routed: %s", type(exc).__name__)
                target = None
            if target is None:  # unsigned, or from a workspace no school installed
                response = app.unparsable(body, headers)
            else:
                event = (isinstance(request.body, dict)
                         and request.body.get("type") == "event_callback")
                executor = target.listener_runner.listener_executor
                if isinstance(executor, DeferringExecutor):
                    ack = request.context["ack"] = AckThenWait()
                    hold = executor.held(ack, defer=event)
                try:
                    with hold or contextlib.nullcontext():
                        response = target.dispatch(request)
                except Exception:  # never drop the connection without an answer
                    log.error("request dispatch failed", exc_info=True)
                    response = BoltResponse(status=500, body="")
        out = (response.body or "").encode("utf-8")
        reply_headers = {k: v[0] for k, v in response.headers.items() if v}
        try:
            self._reply(response.status, out, reply_headers)
        finally:
            if hold:
                hold.release()  # the listener's work goes on only now
