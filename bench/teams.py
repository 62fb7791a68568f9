"""The Teams part of the benchmark: ``jigsaw teams`` against a bare Teams SDK
app that only acknowledges (:mod:`bench.bare_teams`), in the same run.

A fake Bot Connector (:class:`tests.harness.faketeams.FakeTeams`, in this process)
stands in for Microsoft: it serves the OpenID metadata and signing keys both
apps check inbound tokens against, issues their outbound tokens, and
receives every card the real app posts. Simulated staff walk real decisions
in their personal chat: "hello" to start, then each answer as a click on
the card's button (an ``Action.Execute`` invoke) or typed (a message), each
request signed with a token from the fake's key. Each is timed to its HTTP
response; once the app has posted the next card, the same activity goes to
the bare app too.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import procs
from bench.driver import BenchError, Sample, wait_idle
from tests.harness.faketeams import FakeTeams, Post, card_actions
from tests.harness.teams_driver import TeamsClient, chat_of

MESSAGE, ACTION = "message", "card action"
KINDS = (MESSAGE, ACTION)
CHANNEL = "19:bench-dsl@thread.tacv2"
TEAM = "bench-dsl-team"
APP_ID = "5f1c7a2e-3b4d-4e6f-8a9b-0c1d2e3f4a5b"
DSL = "00000000-0000-0000-0000-0000000000d1"  # the DSL, a configured id (JIGSAW_DSL_USERS)
TOKEN_LIFE = 600.0  # re-sign well before the fake's tokens expire
WAIT = 30.0

CONFIG = """\
[school]
name = "Hillside Primary School"
nation = "england"
type = "maintained"
"""


class BenchTeams(FakeTeams):
    """The fake connector, noting when each post and update arrived."""

    def __init__(self) -> None:
        super().__init__(app_id=APP_ID)
        self.arrived = 0  # posts and updates so far

    def _post(self, conversation: str, activity: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        result = super()._post(conversation, activity)
        with self.lock:
            self.arrived += 1
        return result

    def _update(self, conversation: str, activity_id: str, activity: dict[str, Any]
                ) -> tuple[int, Any]:
        result = super()._update(conversation, activity_id, activity)
        with self.lock:
            self.arrived += 1
        return result

    def forget(self) -> None:
        """Drop what has been seen, so waits scan only what is new."""
        with self.lock:
            self.posts.clear()
            self.calls.clear()


class Sender:
    """Signed activities to ``/api/messages`` over one keep-alive connection."""

    def __init__(self, fake: BenchTeams, port: int) -> None:
        self.fake = fake
        self.port = port
        self._conn: http.client.HTTPConnection | None = None
        self._token = ("", 0.0)

    def token(self) -> str:
        token, made = self._token
        if not token or time.monotonic() - made > TOKEN_LIFE:
            token = self.fake.token()
            self._token = (token, time.monotonic())
        return token

    def send(self, activity: dict[str, Any]) -> tuple[int, float, float]:
        """(status, sent at, answered at), times from time.monotonic()."""
        body = json.dumps(activity).encode()
        headers = {"Content-Type": "application/json",
                   "Authorization": f"Bearer {self.token()}"}
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=WAIT)
                self._conn.connect()
            try:
                sent = time.monotonic()
                self._conn.request("POST", "/api/messages", body=body, headers=headers)
                response = self._conn.getresponse()
                response.read()
                return response.status, sent, time.monotonic()
            except (ConnectionError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def idle(self) -> None:
        wait_idle(self.port, "the Teams app", WAIT)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def first_request(fake: BenchTeams) -> Any:
    """A signed activity no handler acts on (typing), through the SDK's
    whole token check: the app is ready for people."""
    def send(port: int) -> None:
        activity = TeamsClient(fake, "").message_activity(
            "00000000-0000-0000-0000-0000000000f0", "", name="Bench")
        activity["type"] = "typing"
        sender = Sender(fake, port)
        try:
            status, _, _ = sender.send(activity)
        finally:
            sender.close()
        if status != 200:
            raise RuntimeError(f"the Teams app refused a signed activity: HTTP {status}")
    return send


class Staff:
    """One member of staff working through a decision in their personal chat."""

    def __init__(self, user: str, fake: BenchTeams, sender: Sender, mirror: Sender) -> None:
        self.user = user
        self.chat = chat_of(user)
        self.fake = fake
        self.client = TeamsClient(fake, "")
        self.sender = sender
        self.mirror = mirror
        self.bare: list[Sample] = []

    def _open_question(self, after: int) -> Post | None:
        posts = self.fake.posts_to(self.chat)
        for post in reversed(posts[after:]):
            if any(a.get("verb") == "back" for a in card_actions(post.card)):
                return post
        return None

    def _send(self, kind: str, activity: dict[str, Any], done: Any) -> Sample:
        status, sent, answered = self.sender.send(activity)
        if status != 200:
            raise BenchError(f"{kind} by {self.user}: HTTP {status}")
        self.fake.wait_for(done, WAIT, f"{self.user}'s next card after a {kind}")
        ready = time.monotonic()
        self.sender.idle()
        bare_status, bare_sent, bare_answered = self.mirror.send(activity)
        self.bare.append(Sample(kind, bare_status, bare_answered - bare_sent))
        return Sample(kind, status, answered - sent, None, {"next_card": ready - sent})

    def start(self) -> Sample:
        before = len(self.fake.posts_to(self.chat))
        activity = self.client.message_activity(self.user, "start")
        return self._send(MESSAGE, activity, lambda: self._open_question(before))

    def answer(self, raw: str, *, last: bool) -> Sample:
        question = self._open_question(0)
        if question is None:
            raise BenchError(f"{self.user} has no question to answer")
        chat_before = len(self.fake.posts_to(self.chat))
        action = next((a for a in card_actions(question.card) if a.get("verb") == "answer"
                       and (a.get("data") or {}).get("v") == raw), None)
        if action is not None:
            kind, activity = ACTION, self.client.execute_activity(self.user, action)
        else:
            kind, activity = MESSAGE, self.client.message_activity(self.user, raw)

        def done() -> Any:
            if last:  # the person is told where their record went
                return len(self.fake.posts_to(self.chat)) > chat_before
            return self._open_question(chat_before)

        return self._send(kind, activity, done)


@dataclass
class TeamsResult:
    samples: list[Sample]
    bare: list[Sample]
    app: procs.Started


def env_for(base: dict[str, str], fake: BenchTeams, tmp: Path, data_dir: Path | None,
            key: str | None) -> dict[str, str]:
    env = {k: v for k, v in base.items()
           if not k.startswith(("SLACK_", "JIGSAW_", "CLIENT_", "TENANT_", "SERVICE_URL",
                                "DANGEROUSLY_"))}
    config = tmp / "jigsaw-teams.toml"
    config.write_text(CONFIG, encoding="utf-8")
    env.update(CLIENT_ID=fake.app_id, CLIENT_SECRET=fake.secret, TENANT_ID=fake.tenant,
               JIGSAW_TEAMS_CONNECTOR_URL=fake.base_url, JIGSAW_TEAMS_CHANNEL=CHANNEL,
               JIGSAW_TEAMS_TEAM=TEAM, JIGSAW_DSL_USERS=DSL, JIGSAW_CONFIG=str(config),
               PYTHONUNBUFFERED="1")
    if data_dir is not None:
        env["JIGSAW_DATA_DIR"] = str(data_dir)
    if key:
        env["JIGSAW_DATA_KEY"] = key
    return env


def start_bare(fake: BenchTeams, tmp: Path) -> procs.Started:
    return procs.start("bare-teams", ["-m", "bench.bare_teams"],
                       env_for(dict(os.environ), fake, tmp, None, None), "", tmp,
                       first_request=first_request(fake))


def walker(i: int) -> str:
    """The Entra id of the person walking decision ``i`` (from -2: two to warm up)."""
    return f"00000000-0000-0000-0000-{i + 2:012d}"


def dsl_team(decisions: int, scenario_for: Any) -> list[dict[str, Any]]:
    """The DSL channel's members: the DSL, and everyone who walks a DSL
    script (a deputy added to the channel, as a school adds one)."""
    ids = [DSL, *(walker(i) for i in range(-2, decisions) if scenario_for(max(i, 0)).dsl)]
    return [{"id": f"29:{user}", "aadObjectId": user, "name": "Dana DSL"} for user in ids]


def walk(fake: BenchTeams, port: int, bare_port: int, decisions: int,
         scenario_for: Any, think: float, say: Any) -> tuple[list[Sample], list[Sample]]:
    sender, mirror = Sender(fake, port), Sender(fake, bare_port)
    samples: list[Sample] = []
    bare: list[Sample] = []
    try:
        for i in range(-2, decisions):  # two untimed decisions first, to warm both apps
            person = Staff(walker(i), fake, sender, mirror)
            mine = [person.start()]
            time.sleep(think)
            answers = scenario_for(max(i, 0)).answers
            for j, raw in enumerate(answers):
                mine.append(person.answer(raw, last=j == len(answers) - 1))
                time.sleep(think)
            if i >= 0:
                samples += mine
                bare += person.bare
            if i >= 0 and i % 20 == 19:
                say(f"  teams: {i + 1}/{decisions} decisions walked")
                fake.forget()
    finally:
        sender.close()
        mirror.close()
    return samples, bare


def measure(fake: BenchTeams, tmp: Path, pristine: Path, size: int, key: str | None,
            bare_port: int, decisions: int, scenario_for: Any, think: float, say: Any,
            keep: bool) -> dict[str, Any]:
    data_dir = tmp / f"teams-{size}"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    shutil.copytree(pristine, data_dir)
    fake.forget()
    fake.members[CHANNEL] = dsl_team(decisions, scenario_for)
    say(f"Teams, store of {size:,} records: starting jigsaw teams ...")
    app = procs.start(f"teams-{size}", ["-m", "bot", "teams"],
                      env_for(dict(os.environ), fake, tmp, data_dir, key), "", tmp,
                      first_request=first_request(fake))
    try:
        say(f"  healthy after {app.to_health:.2f} s; timing activities one at a time ...")
        samples, bare = walk(fake, app.port, bare_port, decisions, scenario_for, think, say)
        memory = app.memory_kb()
        errors = app.errors_logged()
    finally:
        code = app.stop()
    fake.forget()
    if not keep:
        shutil.rmtree(data_dir, ignore_errors=True)
    return {"records": size,
            "startup": {"to_health_s": round(app.to_health, 3),
                        "to_first_request_s": round(app.to_first_request, 3)},
            "peak_rss_mb": round(memory.get("VmHWM", 0) / 1024, 1),
            "exit_code": code, "errors_logged": errors[:20],
            "samples": samples, "bare_samples": bare}


def run_all(tmp: Path, stores: Any, sizes: list[int], key: str | None, decisions: int,
            scenario_for: Any, think: float, say: Any, keep: bool) -> dict[str, Any]:
    """Every size against one bare Teams app, started once for the run."""
    results = []
    with BenchTeams() as fake:
        say("bare Teams SDK app: starting ...")
        bare_app = start_bare(fake, tmp)
        try:
            for size in sizes:
                pristine, _ = stores(size)
                results.append(measure(fake, tmp, pristine, size, key, bare_app.port,
                                       decisions, scenario_for, think, say, keep))
            memory = bare_app.memory_kb()
        finally:
            code = bare_app.stop()
    return {"bare": {"startup": {"to_health_s": round(bare_app.to_health, 3)},
                     "peak_rss_mb": round(memory.get("VmHWM", 0) / 1024, 1),
                     "exit_code": code},
            "sizes": results}
