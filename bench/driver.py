"""Plays Slack and the people using it: signed requests in, timings out.

:class:`Sender` posts signed requests over one keep-alive connection and
times the HTTP response. :class:`Staff` keeps one person's real session
moving: it reads the question the app posted to their DM from the fake's
feed and answers it with the scenario's next answer, by clicking the
matching button or by typing, exactly as a person would.
"""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass, field
from typing import Any

from bench.fake import BenchFake, Seen
from bot.slack.wire import Action, BlockId, ButtonValue
from tests.harness import slackreq
from tests.harness.slackreq import SlackRequest

SIGNING_SECRET = "bench-signing-secret"

SLASH, CLICK, TEXT, SUBMIT, REVIEW, HOME = (
    "slash command", "answer click", "free-text reply", "final submission",
    "DSL review click", "App Home (DSL)")
KINDS = (SLASH, CLICK, TEXT, SUBMIT, REVIEW, HOME)


class BenchError(RuntimeError):
    """The app did not do what a real person would have seen it do."""


@dataclass
class Sample:
    """One request's timings, in seconds from just before it was sent."""

    kind: str
    status: int
    http: float
    first_call: float | None = None
    extra: dict[str, float] = field(default_factory=dict)


def wait_idle(port: int, what: str, wait: float = 30.0) -> None:
    """Wait until the app on ``port`` has finished the work of everything it
    answered (its ``/health`` says nothing is ``working``), so each sample
    finds it idle, as a person's next click, seconds later, would."""
    deadline = time.monotonic() + wait
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=wait)
    try:
        while time.monotonic() < deadline:
            conn.request("GET", "/health")
            if not json.loads(conn.getresponse().read()).get("working"):
                return
            time.sleep(0.005)
    finally:
        conn.close()
    raise BenchError(f"{what} was still working after {wait:.0f} s")


class Sender:
    """Signed POSTs to ``/slack/events`` over a persistent connection."""

    def __init__(self, port: int, secret: str = SIGNING_SECRET, timeout: float = 30.0) -> None:
        self.port = port
        self.secret = secret
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            self._conn.connect()
        return self._conn

    def send(self, request: SlackRequest) -> tuple[int, float, float, bytes]:
        """(status, sent at, answered at, body); times are time.monotonic()."""
        body = request.body.encode("utf-8")
        headers = request.headers(self.secret)
        for attempt in (1, 2):
            conn = self._connection()
            try:
                sent = time.monotonic()
                conn.request("POST", slackreq.EVENTS_PATH, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                answered = time.monotonic()
                if response.getheader("Connection", "").lower() == "close":
                    self.close()
                return response.status, sent, answered, data
            except (ConnectionError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def idle(self) -> None:
        wait_idle(self.port, "the app")

    def get(self, path: str) -> tuple[int, bytes]:
        conn = self._connection()
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class Mirror:
    """The bare app's side: each timed request, once the app has finished
    with it, goes to the bare app too, so both are measured on the same
    requests under the same conditions (the machine may be busy with other
    work, and this spreads that over both alike)."""

    def __init__(self, sender: Sender) -> None:
        self.sender = sender
        self.samples: list[Sample] = []

    def replay(self, kind: str, request: SlackRequest) -> None:
        status, sent, answered, _ = self.sender.send(request)
        self.samples.append(Sample(kind, status, answered - sent))


def _is_question_for(dm: str) -> Any:
    return lambda s: s.method == "chat.postMessage" and s.channel == dm and bool(
        s.question_step())


# Blocks of a scheduled message (a follow-up due, an alert escalated): the
# schedule DMs the DSL team these at any moment, a walk under way or not, so
# they are never the answer to what the person just did.
_SCHEDULED = frozenset({BlockId.FOLLOWUP, BlockId.ALERT})


def _is_scheduled(s: Seen) -> bool:
    return not _SCHEDULED.isdisjoint(s.block_ids())


def _is_plain_dm(dm: str) -> Any:
    """A message in the DM that is neither a question nor a scheduled one:
    the app's reply to what the person did (a refusal, or "submitted")."""
    return lambda s: s.method == "chat.postMessage" and s.channel == dm and not (
        s.question_step()) and not _is_scheduled(s)


def _is_record_post(s: Seen) -> bool:
    return s.method == "chat.postMessage" and (s.args.get("metadata") or {}).get(
        "event_type") == "jigsaw_record"


def _first_for(dm: str, user: str) -> Any:
    """A call this person's request caused: anything in (or opening) their DM."""
    return lambda s: s.channel == dm or s.args.get("users") == user


class Staff:
    """One member of staff working through a decision in their DM."""

    def __init__(self, user: str, sender: Sender, fake: BenchFake, *,
                 mirror: Mirror | None = None) -> None:
        self.user = user
        self.dm = f"D{user}"
        self.sender = sender
        self.fake = fake
        self.mirror = mirror
        self.question: Seen | None = None
        self.session_id: str | None = None
        self.record_id: str | None = None
        self.record_ts: str | None = None

    def _asked(self, question: Seen) -> None:
        self.question = question
        for _, value in question.buttons().values():
            self.session_id = ButtonValue.decode(value).session or self.session_id
            break

    def _send(self, kind: str, request: SlackRequest) -> tuple[int, float, float, int]:
        mark = self.fake.mark()
        status, sent, answered, _ = self.sender.send(request)
        if status != 200:
            raise BenchError(f"{kind} by {self.user}: HTTP {status}")
        return status, sent, answered, mark

    def _replay(self, kind: str, request: SlackRequest) -> None:
        if self.mirror is not None:
            self.mirror.replay(kind, request)

    def _first(self, mark: int, sent: float, *, shared: bool) -> float:
        """Seconds to the first Web API call the request caused. Alone on
        the app (``shared`` False) any call counts; with others, only calls
        in this person's DM."""
        match = (lambda s: True) if not shared else _first_for(self.dm, self.user)
        return self.fake.wait(match, mark).at - sent

    def start(self, *, shared: bool = False) -> Sample:
        """``/infoshare new``: a fresh decision; waits for the first question."""
        request = slackreq.slash_command(user=self.user, user_name=self.user.lower(), text="new",
                                         response_url=self.fake.response_url())
        status, sent, answered, mark = self._send(SLASH, request)
        first = self._first(mark, sent, shared=shared)
        question = self.fake.wait(_is_question_for(self.dm), mark)
        self._asked(question)
        self._replay(SLASH, request)
        return Sample(SLASH, status, answered - sent, first,
                      {"question_posted": question.at - sent})

    def answer(self, raw: str, *, last: bool, shared: bool = False) -> Sample:
        """Give one answer: click its button if the question has one, else type it."""
        if self.question is None:
            raise BenchError(f"{self.user} has no question to answer")
        buttons = self.question.buttons()
        if raw in buttons:
            action_id, value = buttons[raw]
            request = slackreq.block_action(
                self.user, action_id=action_id, value=value, channel=self.dm,
                message_ts=str(self.question.response.get("ts", "")),
                block_id="choices:0", response_url=self.fake.response_url())
            kind = SUBMIT if last else CLICK
        else:
            if last:
                raise BenchError(f"{self.user}: the last answer {raw!r} is not a button")
            request = slackreq.message_event(self.user, text=raw, channel=self.dm)
            kind = TEXT
        status, sent, answered, mark = self._send(kind, request)
        first = self._first(mark, sent, shared=shared)
        if last:
            sample = self._submitted(kind, status, sent, answered, first, mark)
            self._replay(kind, request)
            return sample
        asked = self.question.question_step()
        posted = self.fake.wait(lambda s: _is_question_for(self.dm)(s) or _is_plain_dm(
            self.dm)(s), mark)
        if not posted.question_step() and asked == "danger":
            # The 999 notice goes out first, on its own; the next question follows.
            posted = self.fake.wait(_is_question_for(self.dm), mark)
        if not posted.question_step():
            text = str(posted.args.get("text", ""))[:120]
            raise BenchError(f"{self.user}: answer {raw!r} to {asked} was refused: {text}")
        self._asked(posted)
        self._replay(kind, request)
        return Sample(kind, status, answered - sent, first,
                      {"next_question": posted.at - sent})

    def _submitted(self, kind: str, status: int, sent: float, answered: float, first: float,
                   mark: int) -> Sample:
        dm_done = self.fake.wait(_is_plain_dm(self.dm), mark)
        posted = [s for s in self.fake.after(mark) if _is_record_post(s) and s.at <= dm_done.at
                  and s.ok and self._mine(s)]
        if not posted:
            raise BenchError(f"{self.user}: submitted, but no record reached the DSL channel")
        record_post = posted[-1]
        self.record_id = record_post.args["metadata"]["event_payload"]["record_id"]
        self.record_ts = str(record_post.response.get("ts"))
        self.question = None
        return Sample(kind, status, answered - sent, first,
                      {"posted_to_dsl": record_post.at - sent, "submitted_dm": dm_done.at - sent})

    def _mine(self, post: Seen) -> bool:
        """Whether a record post in the DSL channel is this person's."""
        text = json.dumps(post.args.get("blocks") or [])
        return f"<@{self.user}>" in text

    def walk(self, answers: list[str], *, shared: bool = False) -> list[Sample]:
        """Answer a whole scenario, ending with the submission."""
        samples = []
        for i, raw in enumerate(answers):
            samples.append(self.answer(raw, last=i == len(answers) - 1, shared=shared))
        return samples


class DSL:
    """A DSL reviewing records in the channel and opening the App Home."""

    def __init__(self, user: str, sender: Sender, fake: BenchFake, channel: str, *,
                 mirror: Mirror | None = None) -> None:
        self.user = user
        self.sender = sender
        self.fake = fake
        self.channel = channel
        self.mirror = mirror

    def acknowledge(self, record_id: str, ts: str, staff: str) -> Sample:
        """Click "Acknowledge" on a record's channel message; waits for the
        staff member to be told."""
        request = slackreq.block_action(
            self.user, action_id=Action.REVIEW_ACK, value=ButtonValue(record=record_id).encode(),
            channel=self.channel, message_ts=ts, block_id=BlockId.REVIEW,
            response_url=self.fake.response_url())
        mark = self.fake.mark()
        status, sent, answered, _ = self.sender.send(request)
        if status != 200:
            raise BenchError(f"review of {record_id}: HTTP {status}")
        first = self.fake.wait(lambda s: True, mark)
        updated = self.fake.wait(lambda s: s.method == "chat.update"
                                 and s.channel == self.channel and s.args.get("ts") == ts, mark)
        told = self.fake.wait(_is_plain_dm(f"D{staff}"), mark)
        if not updated.ok:
            raise BenchError(f"review of {record_id}: chat.update failed {updated.response}")
        if self.mirror is not None:
            self.mirror.replay(REVIEW, request)
        return Sample(REVIEW, status, answered - sent, first.at - sent,
                      {"message_updated": updated.at - sent, "staff_told": told.at - sent})

    def open_home(self) -> Sample:
        request = slackreq.app_home_opened(self.user)
        mark = self.fake.mark()
        status, sent, answered, _ = self.sender.send(request)
        if status != 200:
            raise BenchError(f"App Home: HTTP {status}")
        first = self.fake.wait(lambda s: True, mark)
        published = self.fake.wait(lambda s: s.method == "views.publish"
                                   and s.args.get("user_id") == self.user, mark)
        if not published.ok:
            raise BenchError(f"App Home: views.publish failed {published.response}")
        if self.mirror is not None:
            self.mirror.replay(HOME, request)
        return Sample(HOME, status, answered - sent, first.at - sent,
                      {"home_published": published.at - sent})
