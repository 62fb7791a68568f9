"""Listener work starts only once the HTTP response is written: an event's
listener is held, and a click's listener waits after its ack."""

from __future__ import annotations

import threading

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.slack.app import JigsawApp
from bot.slack.executor import AckThenWait, DeferringExecutor
from bot.slack.server import SlackHTTPServer
from tests.harness.fakeslack import FakeSlack
from tests.harness.slackreq import (
    DEFAULT_SIGNING_SECRET,
    HttpTransport,
    block_action,
    message_event,
)


def test_held_work_starts_on_release_and_other_work_at_once() -> None:
    pool = DeferringExecutor(max_workers=2)
    ran: list[str] = []
    done = threading.Event()
    hold = pool.held()
    with hold:
        pool.submit(ran.append, "event listener")
    assert ran == []  # held while the response is written
    pool.submit(ran.append, "click listener").result(timeout=5)  # no hold: runs at once
    assert ran == ["click listener"]
    pool.submit(done.set)
    hold.release()
    pool.shutdown(wait=True)
    assert ran == ["click listener", "event listener"] and done.is_set()


def test_hold_is_per_thread() -> None:
    pool = DeferringExecutor(max_workers=2)
    ran: list[str] = []
    with pool.held():
        other = threading.Thread(target=lambda: pool.submit(ran.append, "other thread"))
        other.start()
        other.join()
    pool.shutdown(wait=True)
    assert ran == ["other thread"]


def test_wait_idle_knows_when_every_listener_has_finished() -> None:
    pool = DeferringExecutor(max_workers=2)
    gate = threading.Event()
    pool.submit(gate.wait)
    assert pool.wait_idle(timeout=0) is False  # one listener still running
    ran: list[str] = []
    hold = pool.held()
    with hold:
        pool.submit(ran.append, "held")
    gate.set()
    assert pool.wait_idle(timeout=0) is False  # held work is on its way: not idle
    assert ran == []
    hold.release()
    assert pool.wait_idle(timeout=5) is True
    assert ran == ["held"]
    pool.shutdown(wait=True)


def test_a_request_thread_hears_the_ack_when_it_is_made_not_at_the_next_poll() -> None:
    """Bolt looks for a listener's ack as soon as submit returns, then every
    10 ms; submit returns once the listener has acked, so the answer can go
    out at once. The listener then waits until the answer is written."""
    pool = DeferringExecutor(max_workers=2)
    ack = AckThenWait()
    gate = threading.Event()
    went_on = threading.Event()

    def listener() -> None:
        gate.wait(5)
        ack()
        went_on.set()

    with pool.held(ack, defer=False) as hold:
        threading.Thread(target=gate.set).start()
        pool.submit(listener)
        assert ack.response is not None  # acked before submit returned
    assert not went_on.is_set()  # waiting for the answer to be written
    hold.release()
    assert went_on.wait(5)
    pool.shutdown(wait=True)


def _served(app: JigsawApp) -> tuple[SlackHTTPServer, threading.Thread]:
    server = SlackHTTPServer(("127.0.0.1", 0), app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def test_a_click_listener_goes_on_after_its_ack_only_once_the_response_is_written() -> None:
    """Bolt's request thread notices an ack only every 10 ms; a listener that
    went straight on to its real work would compete with it for the
    interpreter while the ack was still to be written."""
    with FakeSlack() as fake:
        app = JigsawApp(signing_secret=DEFAULT_SIGNING_SECRET, token="xoxb-test",
                        client=WebClient(token="xoxb-test", base_url=fake.base_url, timeout=5),
                        token_verification_enabled=False, listener_executor=DeferringExecutor())
        _click_and_message(app)


def _click_and_message(app: JigsawApp) -> None:
    after_ack: list[bool] = []
    finished = threading.Event()

    @app.action("work")
    def work(ack: Ack, context: BoltContext) -> None:
        ack()
        after_ack.append(context.ack.written.is_set())
        finished.set()

    @app.event("message")
    def message(context: BoltContext) -> None:  # Bolt acked it on the request thread
        after_ack.append(context.ack.written.is_set())
        finished.set()

    server, thread = _served(app)
    try:
        http = HttpTransport(server.port)
        for request in (block_action("U1", action_id="work", value="x"),
                        message_event("U1", text="hello")):
            finished.clear()
            assert http.send(request).status == 200
            assert finished.wait(5)
        assert after_ack == [True, True]
    finally:
        server.stop()
        thread.join(5)
