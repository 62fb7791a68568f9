"""Shared pieces for the security and operations tests.

:class:`LiveApp` is the Slack app as it runs in a school: the real Bolt app
from :func:`bot.slack.app.create_app`, served by the real
:class:`bot.slack.server.SlackHTTPServer` (or fed Socket Mode envelopes),
talking to :class:`tests.harness.fakeslack.FakeSlack`. Bolt acks Slack before it runs
a listener, so :meth:`LiveApp.idle` waits (on a condition, not a clock) until
every listener started so far has finished; then what the fake recorded and
what the store holds are final.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path
from typing import Any

from slack_sdk import WebClient

from bot.config import Settings
from bot.service import DecisionService
from bot.slack.app import create_app
from bot.slack.server import SlackHTTPServer
from bot.slack.wire import ButtonValue
from storage import TinyDBStore
from tests.harness.fakeslack import Call, FakeSlack
from tests.harness.slack import wait_idle
from tests.harness.slack_driver import texts
from tests.harness.slackreq import (
    AckResponse,
    HttpTransport,
    SlackRequest,
    SocketModeTransport,
    block_action,
    message_event,
)

SECRET = "reliability-signing-secret"
STAFF = "U123"
DSL_CHANNEL = "CDSL"
IDLE_TIMEOUT = 15.0


class ErrorLog(logging.Handler):
    """Collects WARNING-and-above records from every logger: a listener that
    raised shows up here (Bolt and ``bot.slack.app._on_error`` log it)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def errors(self) -> list[str]:
        return [f"{r.name}: {r.getMessage()}" for r in self.records if r.levelno >= logging.ERROR]


class LiveApp:
    """The app under test, reachable over ``kind`` ("http" or "socket")."""

    def __init__(self, kind: str, fake: FakeSlack, data_dir: Path,
                 settings: Settings | None = None) -> None:
        self.kind = kind
        self.fake = fake
        self.data_dir = data_dir
        self.settings = settings or Settings(school_name="Hillside Primary",
                                             dsl_channel=DSL_CHANNEL, dsl_user_ids=("UDSL1",))
        self.store = TinyDBStore(data_dir)
        self.jigsaw = DecisionService(self.settings, self.store)
        client = WebClient(token="xoxb-test", base_url=fake.base_url, timeout=5)
        self.app, self.front = create_app(self.jigsaw, signing_secret=SECRET, client=client)
        self.executor = self.app.listener_runner.listener_executor
        self.log = ErrorLog()
        logging.getLogger().addHandler(self.log)
        self.server: SlackHTTPServer | None = None
        self.http: HttpTransport | None = None
        self.socket: SocketModeTransport | None = None
        if kind == "http":
            self.server = SlackHTTPServer(("127.0.0.1", 0), self.app)
            threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                             daemon=True,
                             name="jigsaw-http-test").start()
            self.http = HttpTransport(f"http://127.0.0.1:{self.server.port}/slack/events",
                                      SECRET)
        else:
            self.socket = SocketModeTransport(self.app)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.port}"

    def send(self, request: SlackRequest, **kwargs: Any) -> AckResponse:
        """Deliver one request and wait until its listener has finished."""
        transport = self.http if self.http is not None else self.socket
        assert transport is not None
        ack = transport.send(request, **kwargs)
        self.idle()
        return ack

    def idle(self) -> None:
        wait_idle(self.executor, IDLE_TIMEOUT)

    def review_click(self, user: str, action_id: str, record_id: str) -> AckResponse:
        """``user`` clicks a review button on the record's message in the DSL
        channel."""
        return self.send(block_action(user, action_id=action_id,
                                      value=ButtonValue(record=record_id).encode(),
                                      channel=DSL_CHANNEL))

    def say(self, text: str, user: str = STAFF) -> AckResponse:
        """The staff member types ``text`` in their DM with the bot."""
        return self.send(message_event(user, text=text))

    def answer_all(self, answers: list[str], user: str = STAFF) -> None:
        """Type each answer in turn. The first message of a DM only opens the
        decision, so scripts of answers start with "start"."""
        for text in answers:
            ack = self.say(text, user)
            assert ack.status == 200, (text, ack)

    def decide(self, answers: list[str], user: str = STAFF) -> None:
        """A whole decision, from opening the DM to the last answer."""
        self.answer_all(["start", *answers], user)

    def close(self) -> None:
        self.idle()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.socket is not None:
            self.socket.close()
        self.front.delivery.stop()
        self.executor.shutdown(wait=True)
        logging.getLogger().removeHandler(self.log)
        self.store.close()

    # -- what Slack and the store saw ------------------------------------------
    def posts_to(self, channel: str) -> list[Call]:
        return [c for c in self.fake.calls("chat.postMessage")
                if c.args.get("channel") == channel]

    def dm_calls(self, user: str = STAFF) -> list[Call]:
        """Every message posted or updated in the user's DM, in order."""
        return [c for c in self.fake.calls() if c.method in ("chat.postMessage", "chat.update")
                and c.args.get("channel") == f"D{user}"]

    def dm_said(self, user: str = STAFF) -> list[str]:
        """The text of each message posted to the user's DM, in order."""
        return [c.args.get("text", "") for c in self.dm_calls(user)
                if c.method == "chat.postMessage"]

    def dm_texts(self, user: str = STAFF) -> list[str]:
        """Every string shown in the user's DM (fallback text and blocks)."""
        return [t for c in self.dm_calls(user) for t in texts(c.args)]

    def only_record(self) -> dict[str, Any]:
        [summary] = self.store.list_records()
        record = self.store.get_record(summary["id"])
        assert record is not None
        return record


def fingerprint(root: Path) -> dict[str, str]:
    """Content hash of every file under ``root``: equal means nothing written."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def subprocess_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """A clean environment for ``python -m bot``: no inherited Slack or
    Jigsaw settings, the project on the path."""
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "JIGSAW_"))}
    env.update(PYTHONPATH=str(root), JIGSAW_DATA_DIR=str(data_dir), **extra)
    return env


def decide_in_process(jigsaw: DecisionService, answers: list[str], user: str = STAFF
                      ) -> dict[str, Any]:
    """One whole decision through the service (no Slack); returns the record."""
    session = jigsaw.start(user, "slack")
    outcome = None
    for answer in answers:
        outcome = jigsaw.answer(session.id, answer)
        assert outcome.result.accepted, (answer, outcome.result.error)
    assert outcome is not None and outcome.record is not None
    return outcome.record
