"""SIGKILL mid-decision, then start again on the same data directory: the
answers given so far are there, the open question carries on where it was,
and the record reaches the DSL channel once; SIGTERM then exits cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.faketeams import FakeTeams, card_actions
from tests.harness.teams_driver import (
    CHANNEL,
    DSL,
    STAFF,
    TEAM,
    TeamsClient,
    chat_of,
    choice_button,
)
from tests.scenarios import STAFF_CONCERN

ROOT = Path(__file__).resolve().parents[2]
READY = "serving Teams activities"
WAIT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TeamsProcess:
    def __init__(self, fake: FakeTeams, data_dir: Path) -> None:
        self.port = free_port()
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("SLACK_", "JIGSAW_", "CLIENT_", "TENANT_"))}
        self.env.update({
            "PYTHONPATH": str(ROOT), "CLIENT_ID": fake.app_id, "CLIENT_SECRET": fake.secret,
            "TENANT_ID": fake.tenant, "JIGSAW_TEAMS_CHANNEL": CHANNEL,
            "JIGSAW_TEAMS_TEAM": TEAM, "JIGSAW_TEAMS_CONNECTOR_URL": fake.base_url,
            "JIGSAW_DSL_USERS": DSL, "JIGSAW_DATA_DIR": str(data_dir),
        })
        self.proc: subprocess.Popen[str] | None = None
        self.log: list[str] = []

    def start(self, cwd: Path) -> None:
        ready = threading.Event()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "teams", "--host", "127.0.0.1", "--port",
             str(self.port)], cwd=cwd, env=self.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

        def read() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                self.log.append(line.rstrip())
                if READY in line:
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(WAIT) or proc.poll() is not None:
            proc.kill()
            raise AssertionError("app did not start:\n" + "\n".join(self.log[-20:]))
        self.proc = proc

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(WAIT)
        self.proc = None
        return code


@pytest.fixture
def fake() -> Iterator[FakeTeams]:
    with FakeTeams() as f:
        yield f


def _open_question(fake: FakeTeams, user: str):  # noqa: ANN202
    for post in reversed(fake.posts_to(chat_of(user))):
        if any(a.get("verb") == "back" for a in card_actions(post.card)):
            return post
    return None


def _answer(fake: FakeTeams, client: TeamsClient, user: str, value: str) -> None:
    """Answer the open question and wait for the bot's next post."""
    before = len(fake.posts)
    post = _open_question(fake, user)
    assert post is not None
    try:
        activity = client.execute_activity(user, choice_button(post, value))
    except AssertionError:
        activity = client.message_activity(user, value)
    assert client.send(activity).status == 200
    fake.wait_for(lambda: len(fake.posts) > before, WAIT, "the bot's next post")


def test_sigkill_mid_decision_then_resume(fake: FakeTeams, tmp_path: Path) -> None:
    app = TeamsProcess(fake, tmp_path / "data")
    url = f"http://127.0.0.1:{app.port}/api/messages"
    client = TeamsClient(fake, url)
    app.start(tmp_path)
    try:
        before = len(fake.posts)
        assert client.message(STAFF, "hello").status == 200
        fake.wait_for(lambda: len(fake.posts) >= before + 2, WAIT, "the first question")
        for value in STAFF_CONCERN[:4]:
            _answer(fake, client, STAFF, value)
        app.kill()
        app.start(tmp_path)
        # The question open before the kill still works where it is.
        for value in STAFF_CONCERN[4:]:
            _answer(fake, client, STAFF, value)
        fake.wait_for(lambda: len(fake.posts_to(CHANNEL)) >= 1, WAIT, "the record")
        assert app.stop() == 0
    finally:
        if app.proc is not None:
            app.proc.kill()
    from storage import TinyDBStore

    store = TinyDBStore(tmp_path / "data")
    try:
        [summary] = store.list_records()
        record = store.get_record(summary["id"])
    finally:
        store.close()
    assert record["child_ref"] == "EF"
    assert "arrives late and hungry" in str(record)  # an answer given before the kill
    assert len(fake.posts_to(CHANNEL)) == 1
