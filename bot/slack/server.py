"""A small threaded HTTP server for Slack's Events API and interactivity.

Bolt ships a development server; this one adds what a school's deployment
needs: a ``/health`` check, a cap on request size, and a clean shutdown that
lets requests in hand finish.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

from slack_bolt import App, BoltRequest

log = logging.getLogger("jigsaw.http")
MAX_BODY = 1_000_000
EVENTS_PATH = "/slack/events"


class SlackHTTPServer(ThreadingHTTPServer):
    daemon_threads = False  # shutdown waits for requests in hand
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App,
                 health: Callable[[], dict[str, object]] | None = None) -> None:
        self.app = app
        self.health = health or (lambda: {"ok": True})
        super().__init__(address, _Handler)

    @property
    def port(self) -> int:
        return self.server_address[1]


class _Handler(BaseHTTPRequestHandler):
    server: SlackHTTPServer
    protocol_version = "HTTP/1.1"

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
        if urlparse(self.path).path == "/health":
            status = self.server.health()
            self._reply(200 if status.get("ok") else 503, json.dumps(status).encode(),
                        {"Content-Type": "application/json"})
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
            self._reply(413, b"request too large")
            return
        body = self.rfile.read(length).decode("utf-8", errors="replace")
        headers = {k.lower(): [v] for k, v in self.headers.items()}
        request = BoltRequest(body=body, query=url.query, headers=headers)
        response = self.server.app.dispatch(request)
        out = (response.body or "").encode("utf-8")
        reply_headers = {k: v[0] for k, v in response.headers.items() if v}
        self._reply(response.status, out, reply_headers)
