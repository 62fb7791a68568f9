"""Running Jigsaw: logs, health checks and shutdown, on the real process.

``python -m bot http`` runs as a school would run it, talking to FakeSlack
instead of Slack. Its stderr must be JSON lines holding no child's details
and no secret; ``/health`` must answer; SIGTERM must end it cleanly, finishing
the request in hand first.
"""

from __future__ import annotations

import http.client
import json
import logging
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

import bot.slack
from bot.config import Environment, Settings
from bot.service import DecisionService
from bot.slack.app import create_app
from bot.slack.wire import Action
from storage import TinyDBStore
from tests import scenarios as sc
from tests.harness.fakeslack import FakeSlack
from tests.harness.live import DSL_CHANNEL, STAFF, subprocess_env
from tests.harness.slackreq import FakeSocketModeClient, HttpTransport, block_action, message_event

TOKEN = "xoxb-secret-token"
SIGNING_SECRET = "ops-signing-secret-8f2c"
WAIT = 20.0
# On the DSL team as a member of the DSL channel: the police request is hers to
# decide (staff are never offered "I am the DSL").
DECIDER = "UDSL2"
# Everything the POLICE_PREJUDICE script says about the child or the people
# involved: none of it may reach a log line.
CHILD_DATA = ["AB-1234", "Bruise", "left cheek", "dad hit him", "DC Patel",
              "Child Abuse Investigation Team", "Police investigating an assault",
              "injury and the child's words", "telling the father"]


class BotProcess:
    """``python -m bot http`` in a subprocess, with its stderr collected
    line by line so a test can wait for a log entry instead of sleeping."""

    def __init__(self, fake: FakeSlack, data: Path, **env: str) -> None:
        self.fake = fake
        self.data = data
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "http", "--host", "127.0.0.1", "--port", "0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd=data.parent, env=subprocess_env(
                data, SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                SLACK_API_URL=fake.base_url, JIGSAW_DSL_CHANNEL=DSL_CHANNEL,
                JIGSAW_LOG_LEVEL="DEBUG", **env))
        threading.Thread(target=self._read, daemon=True).start()
        started = self.wait_log(lambda e: e.get("port") is not None)
        self.port = int(started["port"])
        self.transport = HttpTransport(f"http://127.0.0.1:{self.port}/slack/events",
                                       SIGNING_SECRET)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def entries(self) -> list[dict[str, Any]]:
        with self._cond:
            lines = list(self.lines)
        return [json.loads(line) for line in lines if line.strip()]

    def wait_log(self, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            for line in self.lines:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if match(entry):
                    return entry
            return None

        with self._cond:
            ok = self._cond.wait_for(lambda: found() is not None or self.proc.poll() is not None,
                                     WAIT)
            entry = found()
        assert ok and entry is not None, f"log entry never came; stderr: {self.lines[-20:]}"
        return entry

    def get(self, path: str) -> tuple[int, Any]:
        """(status, body parsed as JSON when it is JSON)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}",
                                        timeout=10) as resp:
                status, raw, ctype = resp.status, resp.read(), resp.headers["Content-Type"]
        except urllib.error.HTTPError as exc:
            status, raw, ctype = exc.code, exc.read(), exc.headers["Content-Type"]
        return status, json.loads(raw) if ctype == "application/json" else raw

    def say(self, text: str, user: str = STAFF) -> None:
        assert self.transport.send(message_event(user, text=text)).status == 200

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=WAIT)


def is_question(call: Any, user: str = STAFF) -> bool:
    """A question the bot asked the person in their DM."""
    return call.args.get("channel") == f"D{user}" and any(
        str(b.get("block_id", "")).startswith("q:") for b in call.args.get("blocks") or [])


def answer_and_wait(bot_: BotProcess, answers: list[str], user: str = STAFF) -> None:
    """Type each answer once the previous question has been asked."""
    def asked_them(call: Any) -> bool:
        return is_question(call, user)

    for text in answers:
        asked = len([c for c in bot_.fake.calls("chat.postMessage") if asked_them(c)])
        bot_.say(text, user)
        bot_.fake.wait_for("chat.postMessage", asked + 1, timeout=WAIT, where=asked_them)


@pytest.fixture
def running(fake: FakeSlack, tmp_path: Path) -> Iterator[BotProcess]:
    proc = BotProcess(fake, tmp_path / "data")
    yield proc
    if proc.proc.poll() is None:
        proc.proc.kill()
        proc.proc.wait(timeout=WAIT)


def test_a_whole_decision_leaves_no_child_data_or_secret_in_the_logs(
        running: BotProcess, fake: FakeSlack) -> None:
    answer_and_wait(running, ["start", *sc.POLICE_PREJUDICE[:-1]], DECIDER)
    running.say(sc.POLICE_PREJUDICE[-1], DECIDER)
    [posted] = fake.wait_for("chat.postMessage", timeout=WAIT,
                             where=lambda c: c.args.get("channel") == DSL_CHANNEL)
    running.wait_log(lambda e: e.get("msg") == "record delivered")
    record_id = posted.args["metadata"]["event_payload"]["record_id"]
    # The DSL acknowledges and opens the full record; an outsider is refused.
    for user, action in (("UDSL1", Action.REVIEW_ACK), ("UDSL2", Action.REVIEW_VIEW),
                         ("U999", Action.REVIEW_VIEW)):
        running.transport.send(block_action(user, action_id=action, channel=DSL_CHANNEL,
                                            value=json.dumps({"r": record_id})))
    fake.wait_for("views.open", timeout=WAIT)
    running.wait_log(lambda e: e.get("msg") == "review refused")
    # A bad signature and a malformed body, for good measure.
    bad = running.transport.send(message_event(STAFF, text="AB-1234 Bruise"),
                                 signing_secret="wrong")
    assert bad.status == 401
    assert running.stop() == 0
    lines = list(running.lines)
    assert len(lines) >= 10
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all(isinstance(e, dict) and {"ts", "level", "logger", "msg"} <= e.keys()
               for e in entries)
    everything = "\n".join(lines)
    for secret in [*CHILD_DATA, TOKEN, SIGNING_SECRET, TOKEN[5:]]:
        assert secret not in everything, secret
    assert "Traceback" not in everything
    assert not [e for e in entries if e["level"] in ("error", "critical")], entries
    # ...and still says what happened, by id.
    assert {"record delivered", "review refused", "stopping"} <= {e["msg"] for e in entries}
    assert any(e.get("record_id") == record_id for e in entries)
    assert any(e["level"] == "debug" for e in entries)  # DEBUG really was on


def test_health_check_answers_json(running: BotProcess) -> None:
    status, body = running.get("/health")
    assert status == 200
    assert body == {"ok": True, "mode": "http", "outbox": 0, "working": 0}
    assert running.get("/nothing-here")[0] == 404
    assert running.stop() == 0


def test_sigterm_exits_cleanly_even_with_an_idle_keep_alive_connection(
        running: BotProcess) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", running.port, timeout=WAIT)
    conn.request("GET", "/health")
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("Connection") != "close"
    response.read()  # the connection stays open, waiting for a next request
    try:
        assert running.stop() == 0
        running.wait_log(lambda e: e.get("msg") == "stopping")
    finally:
        conn.close()


def test_a_request_in_flight_at_sigterm_completes_and_is_stored(
        running: BotProcess, fake: FakeSlack) -> None:
    answer_and_wait(running, ["start", *sc.POLICE_PREJUDICE[:-1]], DECIDER)
    # Slack takes the record but holds its reply: the submission is in hand.
    held = threading.Event()
    fake.fail_while("chat.postMessage", lambda c: c.args.get("channel") == DSL_CHANNEL
                    and not held.is_set(), delay=WAIT)
    running.say(sc.POLICE_PREJUDICE[-1], DECIDER)
    [in_flight] = fake.wait_for("chat.postMessage", timeout=WAIT,
                                where=lambda c: c.args.get("channel") == DSL_CHANNEL)
    held.set()
    running.proc.send_signal(signal.SIGTERM)
    running.wait_log(lambda e: e.get("msg") == "stopping")
    assert running.proc.poll() is None, "exited with a request still in hand"
    fake.release_delayed()
    assert running.proc.wait(timeout=WAIT) == 0
    store = TinyDBStore(running.data)
    try:
        [summary] = store.list_records()
        record = store.get_record(summary["id"])
        assert record is not None and record["child_ref"] == "AB-1234"
        # The write that followed Slack's late reply made it to disk.
        assert record["delivery"]["state"] == "posted"
        assert record["delivery"]["ts"] == in_flight.response["ts"]
    finally:
        store.close()
    told = [c for c in fake.calls("chat.postMessage") if c.args.get("channel") == f"D{DECIDER}"
            and summary["id"] in c.args.get("text", "")]
    assert told, "the person who decided was not told the record was sent"
    assert len([c for c in fake.calls("chat.postMessage")
                if c.args.get("channel") == DSL_CHANNEL]) == 1


def test_missing_secrets_are_a_clear_error(fake: FakeSlack, tmp_path: Path) -> None:
    env = subprocess_env(tmp_path / "data", SLACK_BOT_TOKEN=TOKEN, SLACK_API_URL=fake.base_url,
                         JIGSAW_DSL_CHANNEL=DSL_CHANNEL)
    run = subprocess.run([sys.executable, "-m", "bot", "http", "--port", "0"],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert run.returncode == 2
    assert "SLACK_SIGNING_SECRET is not set" in run.stderr
    assert TOKEN not in run.stderr
    assert all(json.loads(line) for line in run.stderr.splitlines())


# -- Socket Mode health -------------------------------------------------------------

class _Handler:
    """Stands in for slack_bolt's SocketModeHandler: no WebSocket, a
    connection state the test controls."""

    instances: list[_Handler] = []

    def __init__(self, app: Any, app_token: str) -> None:
        assert app_token == "xapp-test"
        self.client = FakeSocketModeClient(app, app_token)
        self.client.closed = True
        _Handler.instances.append(self)

    def connect(self) -> None:
        self.client.connect()

    def close(self) -> None:
        self.client.closed = True


class _Started(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.connected = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "connected in Socket Mode":
            self.connected.set()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_socket_mode_health_reports_the_connection(fake: FakeSlack, tmp_path: Path) -> None:
    port = _free_port()
    environment = Environment.read({"SLACK_APP_TOKEN": "xapp-test",
                                    "JIGSAW_HEALTH_PORT": str(port)})
    store = TinyDBStore(tmp_path / "data")
    jigsaw = DecisionService(Settings(dsl_channel=DSL_CHANNEL), store)
    app, front = create_app(jigsaw, signing_secret="s",
                            client=WebClient(token="xoxb-t", base_url=fake.base_url))
    started = _Started()
    jigsaw_log = logging.getLogger("jigsaw")
    level = jigsaw_log.level
    jigsaw_log.setLevel(logging.INFO)
    jigsaw_log.addHandler(started)
    stop = threading.Event()
    result: list[int] = []
    runner = threading.Thread(target=lambda: result.append(
        bot.slack._serve_socket(app, front, stop, environment, handler_class=_Handler)))
    runner.start()
    try:
        assert started.connected.wait(WAIT)
        [handler] = _Handler.instances[-1:]

        def health() -> tuple[int, dict[str, Any]]:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health",
                                            timeout=10) as resp:
                    return resp.status, json.loads(resp.read())
            except urllib.error.HTTPError as exc:
                return exc.code, json.loads(exc.read())

        assert health() == (200, {"ok": True, "mode": "socket", "outbox": 0, "working": 0})
        handler.client.closed = True  # the WebSocket dropped
        assert health() == (503, {"ok": False, "mode": "socket", "outbox": 0, "working": 0})
        handler.client.connect()
        assert health()[0] == 200
    finally:
        stop.set()
        runner.join(WAIT)
        jigsaw_log.removeHandler(started)
        jigsaw_log.setLevel(level)
        store.close()
    assert result == [0]
    assert handler.client.closed  # closed on the way out


def test_health_reports_records_waiting_in_the_outbox(fake: FakeSlack, tmp_path: Path) -> None:
    """While Slack refuses the DSL channel, records wait and /health says so."""
    fake.fail_while("chat.postMessage", lambda c: c.args.get("channel") == DSL_CHANNEL,
                    error="channel_not_found")
    proc = BotProcess(fake, tmp_path / "data")
    try:
        answer_and_wait(proc, ["start", *sc.ALLEGATION[:-1]])
        proc.say(sc.ALLEGATION[-1])
        proc.wait_log(lambda e: e.get("msg", "").startswith("record delivery failed"))
        status, body = proc.get("/health")
        assert status == 200 and body["outbox"] == 1
        assert proc.stop() == 0
    finally:
        if proc.proc.poll() is None:
            proc.proc.kill()
            proc.proc.wait(timeout=WAIT)
