"""A member of staff working through decisions with signed requests, who
carries on when the app dies under them.

tests/harness/slack_driver.py sends one request at a time and waits for the app to
go idle. This driver only looks at what reached Slack, so many can run at
once against an app in another process. When a request is lost to a crash
it recovers the way a person would: it clicks Resume on its decision (or
runs /infoshare again if it never saw one) and answers whatever question the
app asks next.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from bot.config import Settings
from bot.flow import Flow
from bot.prompts import default_prompts
from bot.slack.wire import Action, BlockId, ButtonValue
from storage.index import RECORD_ID as RECORD_ID_PATTERN
from tests.harness.fakeslack import Call, WaitTimeout
from tests.harness.faults import WAIT, AppDown, WatchedSlack
from tests.harness.slack_driver import buttons, question_step, value_of
from tests.harness.slackreq import (
    AckResponse,
    SlackRequest,
    block_action,
    message_event,
    slash_command,
)

RECORD_ID = re.compile(rf"\*({RECORD_ID_PATTERN.pattern})\*")
CHILD_STEPS = ("child_ref", "emergency_child", "allegation_child")


class Link(Protocol):
    """How a driver reaches the app, and the app's life cycle."""

    def send(self, request: SlackRequest, **kwargs: object) -> AckResponse: ...

    def epoch(self) -> int:
        """Changes whenever the app dies."""

    def wait_up(self) -> int:
        """Block until the app is serving; its epoch."""


def plan(answers: list[str], settings: Settings) -> list[str]:
    """The step each scripted answer is given to, from the pure engine."""
    flow = Flow(settings)
    session = flow.start("UPLAN")
    steps: list[str] = []
    for answer in answers:
        question = flow.question(session)
        assert question is not None, "the script is longer than the flow"
        steps.append(question.step)
        result = flow.answer(session, answer, step_id=question.step)
        assert result.accepted, (question.step, answer, result.error)
    assert flow.done(session), "the script does not finish the flow"
    return steps


def with_child(answers: list[str], steps: list[str], child: str) -> list[str]:
    """The script with its child reference replaced, so each decision's
    record can be told apart."""
    return [child if step in CHILD_STEPS else a for a, step in zip(answers, steps, strict=True)]


@dataclass(frozen=True)
class Seen:
    """Something the app said in the DM that the driver acts on."""

    kind: str  # question | offer | submitted | no_session
    call: Call
    step: str = ""
    session_id: str = ""
    record_id: str = ""


@dataclass
class Decision:
    session_id: str
    record_id: str
    child: str
    answers: list[str]


@dataclass
class Tally:
    answers: int = 0
    lost_requests: int = 0
    recoveries: int = 0
    resumed_in_progress: int = 0
    told_finished_on_resume: int = 0
    decisions: list[Decision] = field(default_factory=list)


class Staff:
    """One user (``U…``) with a DM ``D…``, talking to the app over ``link``."""

    def __init__(self, user: str, slack: WatchedSlack, link: Link, settings: Settings) -> None:
        self.user = user
        self.dm = f"D{user}"
        self.slack = slack
        self.link = link
        self.settings = settings
        self.tally = Tally()
        self._no_session = default_prompts().render("slack/no_session.j2", s=settings).strip()

    # -- reading the DM ---------------------------------------------------------
    def classify(self, call: Call) -> Seen | None:
        if (call.method != "chat.postMessage" or call.args.get("channel") != self.dm
                or not call.ok):
            return None
        step = question_step(call)
        if step:
            session = next((value_of(b).session for b in buttons(call) if value_of(b).session), "")
            return Seen("question", call, step=step, session_id=session)
        for button in buttons(call):
            if button.get("action_id") == Action.SESSION_RESUME:
                return Seen("offer", call, session_id=value_of(button).session)
        text = str(call.args.get("text", ""))
        found = RECORD_ID.search(text)
        if found and text.startswith("Submitted"):
            return Seen("submitted", call, record_id=found[1])
        if text.strip() == self._no_session:
            return Seen("no_session", call)
        return None

    def _await(self, mark: int, epoch: int, want: Callable[[Seen], bool]) -> Seen | None:
        """The first wanted thing said after ``mark``, or None if the app
        died first."""

        def pick(call: Call) -> Seen | None:
            seen = self.classify(call)
            return seen if seen is not None and want(seen) else None

        try:
            return self.slack.wait_new(mark, pick, stop=lambda: self.link.epoch() != epoch,
                                       timeout=WAIT)
        except WaitTimeout as exc:
            # Everything the app did in this DM lately (posts, updates,
            # failures), so a timeout says where the conversation stopped.
            seen = [(c.method, c.ok, str(c.args.get("text", ""))[:60],
                     (self.classify(c) or Seen("", c)).step)
                    for c in self.slack.calls() if c.args.get("channel") == self.dm][-6:]
            raise WaitTimeout(f"{self.user}: {exc}; the DM's last calls {seen}; "
                              f"last sent to {getattr(self.link, 'last', '?')}") from None

    # -- acting -------------------------------------------------------------------
    def _send(self, request: SlackRequest, want: Callable[[Seen], bool]) -> Seen | None:
        """Send and wait for the wanted reply; None if the app died meanwhile."""
        epoch = self.link.wait_up()
        mark = self.slack.mark()
        try:
            self.link.send(request)
        except AppDown:
            self.tally.lost_requests += 1
            return None
        return self._await(mark, epoch, want)

    def reply(self, seen: Seen, answer: str) -> SlackRequest:
        """Click the button carrying ``answer``, or type it."""
        for button in buttons(seen.call):
            if value_of(button).value == answer:
                return block_action(self.user, action_id=button["action_id"],
                                    value=button["value"], block_id="choices",
                                    message_ts=str(seen.call.response.get("ts")),
                                    channel=self.dm)
        return message_event(self.user, text=answer)

    def resume_request(self, session_id: str) -> SlackRequest:
        """The Resume button of the app's "pick up where you left off" offer."""
        value = ButtonValue(session=session_id).encode()
        return block_action(self.user, action_id=Action.SESSION_RESUME, value=value,
                            block_id=BlockId.RESUME, channel=self.dm)

    def _recover(self, session_id: str) -> Seen:
        """Get back to the conversation after a lost request."""
        while True:
            if session_id:
                seen = self._send(self.resume_request(session_id), lambda s, sid=session_id: (
                    s.kind in ("submitted", "no_session")
                    or (s.kind == "question" and s.session_id == sid)))
            else:
                seen = self._send(slash_command(user=self.user), lambda s: s.kind in (
                    "question", "offer", "submitted"))
            if seen is None:
                continue
            if seen.kind == "offer":
                session_id = seen.session_id
                continue
            return seen

    def begin(self) -> Seen:
        """/infoshare, then the first question."""
        return self._recover("")

    def give(self, seen: Seen, answer: str, request: SlackRequest | None = None) -> Seen:
        """Answer the question ``seen`` (with ``request`` if given) and return
        what the app says next: the next question, or "submitted"."""
        nxt = self._send(request or self.reply(seen, answer), lambda s: (
            s.kind == "submitted" or (s.kind == "question" and s.step != seen.step)))
        assert nxt is not None, "the app went away"
        return nxt

    def decide(self, answers: list[str], child: str) -> Decision:
        """Work through one decision to the end, surviving crashes."""
        steps = plan(answers, self.settings)
        answers = with_child(answers, steps, child)
        at = {step: i for i, step in enumerate(steps)}
        session_id = ""
        seen = self._recover("")
        while True:
            if seen.kind == "no_session":
                raise AssertionError(f"{self.user}: decision {session_id} vanished")
            if seen.kind == "submitted" and not session_id and seen.record_id in {
                    d.record_id for d in self.tally.decisions}:
                # An earlier decision's "saved" message, said again because
                # the app was killed before it noted that it had gone.
                seen = self._recover("")
                continue
            if seen.kind == "submitted":
                decision = Decision(session_id, seen.record_id, child, answers)
                self.tally.decisions.append(decision)
                return decision
            session_id = seen.session_id
            if seen.step not in at:
                raise AssertionError(f"{self.user}: asked {seen.step}, not in {steps}")
            k = at[seen.step]
            last = k == len(steps) - 1

            def moved_on(s: Seen, k: int = k, last: bool = last, sid: str = session_id) -> bool:
                if s.kind == "submitted":
                    return last
                return (s.kind == "question" and s.session_id == sid
                        and at.get(s.step, len(steps)) > k)

            self.tally.answers += 1
            nxt = self._send(self.reply(seen, answers[k]), moved_on)
            if nxt is None:
                self.tally.recoveries += 1
                nxt = self._recover(session_id)
                if nxt.kind == "question":
                    self.tally.resumed_in_progress += 1
                elif nxt.kind == "submitted":
                    self.tally.told_finished_on_resume += 1
            if nxt.kind == "question" and nxt.step not in at:
                raise AssertionError(f"{self.user}: asked {nxt.step}, not in {steps}")
            seen = nxt
