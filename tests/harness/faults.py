"""Shared pieces for the fault tests: a fake Slack many drivers can wait on
at once, the app served in this process over its real HTTP endpoint, and the
checks every fault test ends with (files parse, records verify, one post each).
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import urllib.error
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from slack_bolt import App
from slack_sdk import WebClient

from bot import record as records
from bot.config import Settings
from bot.service import DecisionService
from bot.slack.app import create_app
from bot.slack.delivery import ALERT_EVENT, RECORD_EVENT
from bot.slack.front import SlackFront
from bot.slack.server import SlackHTTPServer
from storage import TinyDBStore
from tests.harness.fakeslack import DSL_CHANNEL_ID, Call, FakeSlack, WaitTimeout
from tests.harness.slack import wait_idle
from tests.harness.slackreq import AckResponse, HttpTransport, SlackRequest

T = TypeVar("T")
SECRET = "reliability-signing-secret"
WAIT = 20.0  # generous: a wait only runs this long when something is broken


def settings() -> Settings:
    return Settings(school_name="Hillside Primary", dsl_channel=DSL_CHANNEL_ID,
                    dsl_user_ids=("UDSL1",))


class AppDown(ConnectionError):
    """The request never got an answer: the app is not there (killed, restarting)."""


def post(transport: HttpTransport, request: SlackRequest, **kwargs: Any) -> AckResponse:
    """Deliver a signed request; a dead app is :class:`AppDown`, anything but
    a 200 ack is a test failure."""
    try:
        ack = transport.send(request, **kwargs)
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise AppDown(type(exc).__name__) from exc
    assert ack.status == 200, f"app answered {ack.status}: {ack.body!r}"
    return ack


class WatchedSlack(FakeSlack):
    """FakeSlack whose waits look only at calls that arrived after a mark.

    ``wait_for`` rescans every call on every wake-up; with a dozen drivers
    waiting at once over thousands of calls that is quadratic. Here each
    waiter keeps its own cursor, and :meth:`nudge` wakes waiters when
    something outside Slack changed (the app was killed).
    """

    def mark(self) -> int:
        """A position in the call log; later waits see only calls after it."""
        with self._lock:
            return len(self._calls)

    def wait_new(self, mark: int, pick: Callable[[Call], T | None], *,
                 stop: Callable[[], bool] = lambda: False, timeout: float = WAIT) -> T | None:
        """The first ``pick(call)`` that is not None among calls after ``mark``;
        None if ``stop()`` became true first. Raises WaitTimeout."""
        cursor = mark
        found: list[T] = []

        def ready() -> bool:
            nonlocal cursor
            while cursor < len(self._calls):
                picked = pick(self._calls[cursor])
                cursor += 1
                if picked is not None:
                    found.append(picked)
                    return True
            return stop()

        with self._cond:
            if not self._cond.wait_for(ready, timeout):
                raise WaitTimeout(f"nothing wanted arrived within {timeout}s "
                                  f"({len(self._calls) - mark} calls since the mark)")
        return found[0] if found else None

    def wait_calls(self, count: int, *, stop: Callable[[], bool], timeout: float = WAIT) -> bool:
        """Until at least ``count`` calls in all were received (True) or
        ``stop()`` (False)."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._calls) >= count or stop(), timeout):
                raise WaitTimeout(f"only {len(self._calls)} of {count} calls arrived")
            return len(self._calls) >= count

    def nudge(self) -> None:
        """Wake every waiter so it re-checks its stop condition."""
        with self._cond:
            self._cond.notify_all()

    # -- what the DSL channel holds ---------------------------------------
    def dsl_posts(self, event_type: str = RECORD_EVENT) -> dict[str, list[dict[str, Any]]]:
        """Top-level DSL channel messages by the record (or alert event) id
        in their metadata."""
        key = "record_id" if event_type == RECORD_EVENT else "event_id"
        found: dict[str, list[dict[str, Any]]] = {}
        for message in self.messages(DSL_CHANNEL_ID):
            meta = message.get("metadata") or {}
            if meta.get("event_type") == event_type and not message.get("thread_ts"):
                found.setdefault(meta["event_payload"][key], []).append(message)
        return found

    def dsl_attempts(self) -> int:
        """chat.postMessage calls to the DSL channel, failed ones included."""
        return sum(1 for c in self.calls("chat.postMessage")
                   if c.args.get("channel") == DSL_CHANNEL_ID)

    def dm_texts(self, user: str) -> list[str]:
        """Texts of the messages Slack accepted into a user's DM, oldest first."""
        return [str(c.args.get("text", "")) for c in self.calls("chat.postMessage")
                if c.ok and c.args.get("channel") == f"D{user}"]


class InProcessApp:
    """The app built by the production factory and served by the production
    HTTP server in this process; :meth:`restart` is a clean stop and a new
    app (new store object, SlackFront and SlackDelivery) on the same data dir.

    The outbox worker is not started: tests drive retries with
    ``front.delivery.flush`` so nothing depends on timing.
    """

    def __init__(self, data_dir: Path, fake: FakeSlack, *, timeout: float = 5.0,
                 audit_key: bytes | None = None) -> None:
        self.data_dir = data_dir
        self.audit_key = audit_key
        self.fake = fake
        self.timeout = timeout
        self.starts = 0

    def start(self) -> InProcessApp:
        self.store = TinyDBStore(self.data_dir, audit_key=self.audit_key)
        self.jigsaw = DecisionService(settings(), self.store, clock=lambda: datetime.now(UTC))
        self.client = WebClient(token="xoxb-test", base_url=self.fake.base_url,
                                timeout=self.timeout)
        app, front = create_app(self.jigsaw, signing_secret=SECRET, client=self.client)
        self.app: App = app
        self.front: SlackFront = front
        self.executor = app.listener_runner.listener_executor
        self.server = SlackHTTPServer(("127.0.0.1", 0), app)
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True,
                                        name="jigsaw-http-test")
        self._thread.start()
        self.transport = HttpTransport(f"http://127.0.0.1:{self.server.port}/slack/events",
                                       SECRET)
        self.starts += 1
        return self

    def stop(self) -> None:
        """Stop as ``run()`` does: no new requests, let listeners in hand finish."""
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)
        wait_idle(self.executor)
        self.front.delivery.stop()
        self.executor.shutdown(wait=True)
        self.store.close()

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> InProcessApp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def idle(self) -> None:
        """Wait until every listener started so far has finished: the only
        way to prove a request did nothing."""
        wait_idle(self.executor)

    # -- the Link a Staff driver uses -----------------------------------------
    def send(self, request: SlackRequest, **kwargs: Any) -> AckResponse:
        return post(self.transport, request, **kwargs)

    def epoch(self) -> int:
        return self.starts

    def wait_up(self) -> int:
        return self.starts


# -- checks -------------------------------------------------------------------
def store_files(data_dir: Path) -> Iterator[Path]:
    """Every data file of a store (lock files and temporaries aside)."""
    for root, _, names in os.walk(data_dir):
        for name in names:
            if name.endswith(".json") and not name.startswith("."):
                yield Path(root) / name


def assert_files_parse(data_dir: Path) -> int:
    """Every store file is whole JSON; returns how many there are."""
    count = 0
    for path in store_files(data_dir):
        json.loads(path.read_text(encoding="utf-8"))
        count += 1
    assert (data_dir / "hot.json").is_file(), f"no hot.json in {data_dir}"
    return count


def assert_records_whole(store: TinyDBStore) -> list[dict[str, Any]]:
    """Every record verifies, and no session has two records."""
    all_records = list(store.iter_records())
    problems = [p for r in all_records for p in records.verify(r)]
    assert not problems, problems
    sessions = [r["session_id"] for r in all_records]
    assert len(sessions) == len(set(sessions)), "a session produced two records"
    ids = [r["id"] for r in all_records]
    assert len(ids) == len(set(ids)), "a record id was given out twice"
    return all_records


def sessions(data_dir: Path) -> list[dict[str, Any]]:
    """Every session in the hot store, read straight from the file."""
    hot = json.loads((data_dir / "hot.json").read_text(encoding="utf-8"))
    return list(hot.get("sessions", {}).values())


def assert_posted_once(fake: WatchedSlack, store: TinyDBStore, data_dir: Path) -> None:
    """Every record and every urgent alert is in the DSL channel exactly once,
    and the store knows the ts of that one message."""
    all_records = list(store.iter_records())
    posts = fake.dsl_posts(RECORD_EVENT)
    for record in all_records:
        found = posts.get(record["id"], [])
        assert len(found) == 1, f"{record['id']} posted {len(found)} times"
        delivery = record["delivery"]
        assert delivery["state"] == "posted", (record["id"], delivery)
        assert delivery["ts"] == found[0]["ts"], (record["id"], delivery)
    assert set(posts) <= {r["id"] for r in all_records}, "a post for no record"
    # A finished session leaves the hot store once its alert is through; its
    # record still says whether there was one (the flow raises it on danger).
    alerts = fake.dsl_posts(ALERT_EVENT)
    expected = {f"{r['session_id']}:urgent" for r in all_records
                if r["immediate_danger"]["alerted_at"]}
    for session in sessions(data_dir):
        for event in session.get("events", []):
            expected.add(event["id"])
            assert event.get("delivered") is True, event
    for event_id in expected:
        found = alerts.get(event_id, [])
        assert len(found) == 1, f"alert {event_id} posted {len(found)} times"
    assert set(alerts) == expected, "an alert posted for no decision"
