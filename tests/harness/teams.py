"""The Teams app under test: the real SDK app and listeners behind a real
HTTP endpoint with production token checks, and a fake Bot Connector (with
its signing keys) on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bot.config import TeamsSettings
from bot.service import DecisionService
from bot.teams.app import create_app
from bot.teams.executor import KeyedExecutor
from bot.teams.front import TeamsFront
from bot.teams.server import listen, serve
from tests.harness.faketeams import FakeTeams, Post, card_actions
from tests.harness.teams_driver import (
    CHANNEL,
    TEAM,
    Reply,
    TeamsClient,
    chat_of,
    choice_button,
)

IDLE = 15.0
CARD = "application/vnd.microsoft.card.adaptive"


def teams_settings(fake: FakeTeams, **overrides: Any) -> TeamsSettings:
    values: dict[str, Any] = dict(
        client_id=fake.app_id, client_secret=fake.secret, tenant_id=fake.tenant,
        dsl_channel=CHANNEL, dsl_team=TEAM, connector_url=fake.base_url)
    values.update(overrides)
    return TeamsSettings(**values)


@dataclass
class Harness:
    fake: FakeTeams
    client: TeamsClient
    front: TeamsFront
    jigsaw: DecisionService
    executor: KeyedExecutor

    def idle(self) -> None:
        assert self.executor.wait_idle(IDLE), "work still running"

    def send(self, activity: dict[str, Any]) -> Reply:
        reply = self.client.send(activity)
        assert reply.status == 200, reply
        self.idle()
        return reply

    def say(self, user: str, text: str) -> Reply:
        return self.send(self.client.message_activity(user, text))

    def chat(self, user: str) -> list[Post]:
        return self.fake.posts_to(chat_of(user))

    def channel(self) -> list[Post]:
        return self.fake.posts_to(CHANNEL)

    def view(self, user: str, post: Post, *, name: str = "Dana DSL") -> Post:
        """The card as Teams shows it to ``user``: the post's card, or the
        view the bot answers its ``refresh`` with when ``user`` is one of
        its ``userIds`` (Universal Actions' user-specific views)."""
        card = post.card
        refresh = card.get("refresh") or {}
        if f"29:{user}" not in (refresh.get("userIds") or [f"29:{user}"]):
            return post
        reply = self.send(self.client.execute_activity(
            user, refresh["action"], conversation=post.conversation, name=name,
            trigger="automatic"))
        if not reply.body or reply.body.get("type") != CARD:
            return post
        return Post(post.conversation, post.id, {"attachments": [
            {"contentType": CARD, "content": reply.body["value"]}]})

    def question(self, user: str) -> Post:
        """The question card waiting for an answer (its buttons still there)."""
        for post in reversed(self.chat(user)):
            if any(a.get("verb") == "back" for a in card_actions(post.card)):
                return post
        raise AssertionError(f"no open question; last: {self.chat(user)[-1].text[:300]}")

    def answer(self, user: str, value: str) -> Reply:
        """Click the choice, or type the answer when it is not one."""
        post = self.question(user)
        try:
            action = choice_button(post, value)
        except AssertionError:
            return self.say(user, value)
        return self.send(self.client.execute_activity(user, action))

    def decide(self, user: str, answers: list[str]) -> None:
        self.say(user, "hello")
        for value in answers:
            self.answer(user, value)


def wait_for_log(caplog: Any, text: str, timeout: float = IDLE) -> str:
    """The first log message containing ``text``, waiting for the app's
    threads to write it (the start-up check runs beside serving)."""
    import time

    until = time.monotonic() + timeout
    while time.monotonic() < until:
        for record in caplog.records:
            if text in record.getMessage():
                return str(record.getMessage())
        time.sleep(0.02)
    raise AssertionError(f"no log line with {text!r}")


@contextlib.contextmanager
def running(jigsaw: DecisionService, fake: FakeTeams) -> Iterator[Harness]:
    """The Teams app for ``jigsaw`` served on a loopback port, until the
    block ends (its outbox and schedule are driven by the test)."""
    app, front, executor = create_app(jigsaw, teams_settings(fake))
    sock = listen("127.0.0.1", 0)
    ready = threading.Event()
    held: dict[str, Any] = {}

    def on_ready(server: Any) -> None:
        held["server"] = server
        ready.set()

    def main() -> None:
        loop = asyncio.new_event_loop()
        held["loop"] = loop
        try:
            loop.run_until_complete(serve(app, front, executor, sock, on_ready=on_ready,
                                          start_outbox=False))
        finally:
            ready.set()
            loop.close()

    thread = threading.Thread(target=main, name="teams-app", daemon=True)
    thread.start()
    assert ready.wait(IDLE) and "server" in held, "the Teams app did not start"
    port = sock.getsockname()[1]
    client = TeamsClient(fake, f"http://127.0.0.1:{port}/api/messages")
    try:
        yield Harness(fake, client, front, jigsaw, executor)
    finally:
        held["loop"].call_soon_threadsafe(setattr, held["server"], "should_exit", True)
        thread.join(30)
