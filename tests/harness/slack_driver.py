"""Drive a decision through the Slack app the way a member of staff would.

The driver reads what the app posted to the fake Slack (the question
messages in the DM, their buttons) and answers by clicking those buttons or
typing in the DM, through the same signed requests Slack sends. Each step
waits until the app has finished handling the request, so the next look at
the fake or the store sees the result.

    driver = Driver(slack)                 # slack: the Harness fixture
    driver.start()                         # /infoshare in #general
    record = driver.run(scenarios.POLICE_PREJUDICE)

A scripted answer is a choice value or free text (see tests/scenarios.py).
If the current question has a button whose value carries ``answer`` it
is clicked; otherwise the answer is typed. With ``typed=True`` every answer
is typed, choices as their button label (or number).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from bot.slack.wire import ANSWER_PREFIX, Action, ButtonValue
from tests.harness.fakeslack import DSL_CHANNEL_ID, Call
from tests.harness.slackreq import (
    AckResponse,
    SlackRequest,
    block_action,
    message_event,
    slash_command,
)

if TYPE_CHECKING:
    from tests.harness.slack import Harness

# On the DSL team as a member of the DSL channel (not a configured id): the
# account that plays the scripts in which someone says "I am the DSL".
DEPUTY = "UDSL2"
BUTTON_LABEL_MAX = 75  # Slack's limit; longer labels are cut, so type the number


# -- reading what was posted ---------------------------------------------------
def texts(obj: Any) -> Iterator[str]:
    """Every string under a ``text`` key, at any depth (message text, block
    text objects, button labels, view titles...)."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from texts(value)
    elif isinstance(obj, list):
        for item in obj:
            yield from texts(item)


def all_text(call_or_obj: Call | Any) -> str:
    """All visible text of a call's arguments (or of any blocks/view), joined."""
    obj = call_or_obj.args if isinstance(call_or_obj, Call) else call_or_obj
    return "\n".join(texts(obj))


def blocks_of(call_or_message: Call | dict[str, Any]) -> list[dict[str, Any]]:
    if isinstance(call_or_message, Call):
        blocks = call_or_message.args.get("blocks")
    else:
        blocks = call_or_message.get("blocks")
    return blocks if isinstance(blocks, list) else []


def buttons(blocks: Iterable[dict[str, Any]] | Call) -> list[dict[str, Any]]:
    """Every button in actions blocks and section accessories."""
    if isinstance(blocks, Call):
        blocks = blocks_of(blocks)
    found: list[dict[str, Any]] = []
    for block in blocks:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("type") == "button":
                found.append(element)
        accessory = block.get("accessory")
        if isinstance(accessory, dict) and accessory.get("type") == "button":
            found.append(accessory)
    return found


def value_of(button: dict[str, Any]) -> ButtonValue:
    """What a button carries (empty if the app did not make it)."""
    return ButtonValue.decode(button.get("value", ""))


def question_step(blocks: Iterable[dict[str, Any]] | Call) -> str | None:
    """The step a question message asks (its ``q:<step>`` block), or None."""
    if isinstance(blocks, Call):
        blocks = blocks_of(blocks)
    for block in blocks:
        block_id = str(block.get("block_id", ""))
        if block_id.startswith("q:"):
            return block_id[2:]
    return None


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    """Poll a condition on state the fake cannot notify about (the store)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.01)


# -- the driver -----------------------------------------------------------------
class Driver:
    """One member of staff working through a decision in their DM."""

    def __init__(self, harness: Harness, user: str = "U123") -> None:
        self.h = harness
        self.fake = harness.fake
        self.store = harness.jigsaw.store
        self.user = user

    @property
    def dm(self) -> str:
        return f"D{self.user}"

    # -- what the app posted -----------------------------------------------
    def posts(self, channel: str | None = None) -> list[Call]:
        """chat.postMessage calls Slack accepted, optionally to one channel."""
        return [c for c in self.fake.calls("chat.postMessage")
                if c.ok and (channel is None or c.args.get("channel") == channel)]

    def dm_posts(self) -> list[Call]:
        return self.posts(self.dm)

    def dsl_posts(self) -> list[Call]:
        return self.posts(DSL_CHANNEL_ID)

    def questions(self) -> list[Call]:
        """Question messages posted in this user's DM, oldest first."""
        return [c for c in self.dm_posts() if question_step(c)]

    def current(self) -> Call:
        """The latest question message."""
        found = self.questions()
        if not found:
            raise AssertionError(f"no question was posted to {self.dm}; "
                                 f"DM says: {self.last_dm_text()!r}")
        return found[-1]

    def last_dm_text(self) -> str:
        posts = self.dm_posts()
        return all_text(posts[-1]) if posts else ""

    def updates(self, ts: str, channel: str | None = None) -> list[Call]:
        """chat.update calls for one message."""
        return [c for c in self.fake.calls("chat.update")
                if c.args.get("ts") == ts and c.ok
                and (channel is None or c.args.get("channel") == channel)]

    def session_id(self) -> str | None:
        """The id of the session the latest question belongs to (from its
        buttons: sessions changed in the same second sort as equals)."""
        asked = self.questions()
        ids = [value_of(b).session for b in buttons(asked[-1])] if asked else []
        return next((i for i in ids if i), None)

    def session(self) -> dict[str, Any] | None:
        """The latest question's session document (the user's newest session
        if none was asked yet). None once a finished session was let go:
        the record then holds everything."""
        session_id = self.session_id()
        if session_id:
            return self.store.get_session(session_id)
        sessions = self.store.sessions_for_user(self.user)
        return sessions[0] if sessions else None

    def submitted(self) -> dict[str, Any] | None:
        """The record made from the latest question's session, if any."""
        session_id = self.session_id()
        return self.store.record_for_session(session_id) if session_id else None

    def record(self) -> dict[str, Any] | None:
        """The user's newest full record."""
        summaries = self.store.list_records(recorded_by=self.user)
        return self.store.get_record(summaries[0]["id"]) if summaries else None

    # -- what the user does ----------------------------------------------------
    def start(self, *, channel: str = "C123", text: str = "") -> AckResponse:
        """``/infoshare`` in a channel; returns the command's ack."""
        return self.h.send(slash_command(user=self.user, channel=channel, text=text))

    def type(self, text: str, **kwargs: Any) -> AckResponse:
        """A message typed in the DM."""
        return self.h.send(message_event(self.user, text=text, **kwargs))

    def click(self, message: Call, *, value: str | None = None, action_id: str | None = None,
              user: str | None = None, trigger_id: str | None = None) -> AckResponse:
        """Click a button on a posted message: the one whose value has
        ``value``, or the one with ``action_id``."""
        return self.h.send(self.click_request(message, value=value, action_id=action_id,
                                              user=user, trigger_id=trigger_id))

    def click_request(self, message: Call, *, value: str | None = None,
                      action_id: str | None = None, user: str | None = None,
                      trigger_id: str | None = None) -> SlackRequest:
        """The request Slack sends for that click, to deliver yourself (e.g.
        several at once)."""
        button = self.find_button(message, value=value, action_id=action_id)
        channel = str(message.args.get("channel"))
        ts = str(message.response.get("ts"))
        block_id = next((b.get("block_id", "actions") for b in blocks_of(message)
                         if button in b.get("elements", []) or b.get("accessory") == button),
                        "actions")
        return block_action(
            user or self.user, action_id=button["action_id"], value=button.get("value"),
            block_id=block_id, message_ts=ts, channel=channel, trigger_id=trigger_id,
            message=self.fake.message(channel, ts))

    @staticmethod
    def find_button(message: Call, *, value: str | None = None,
                    action_id: str | None = None) -> dict[str, Any]:
        for button in buttons(message):
            if action_id is not None and button.get("action_id") == action_id:
                return button
            if value is not None and value_of(button).value == value:
                return button
        raise AssertionError(f"no button with value {value!r} / action {action_id!r}; have "
                             f"{[(b.get('action_id'), b.get('value')) for b in buttons(message)]}")

    def answer(self, answer: str, *, typed: bool = False) -> None:
        """Answer the current question with one scripted answer."""
        question = self.current()
        choice = next((b for b in buttons(question) if value_of(b).value == answer), None)
        if choice is None:
            self.type(answer)
        elif not typed:
            self.click(question, value=answer)
        elif answer == "skip":
            self.type("skip")
        else:
            self.type(self.typed_choice(question, choice))

    @staticmethod
    def typed_choice(question: Call, button: dict[str, Any]) -> str:
        """What a person would type for a button: its label, or its number
        when the label was cut to fit Slack's limit."""
        label = button["text"]["text"]
        if len(label) < BUTTON_LABEL_MAX:
            return label
        choices = [b for b in buttons(question)
                   if b.get("action_id", "").startswith(ANSWER_PREFIX)
                   and b.get("action_id") != Action.ANSWER_SKIP]
        return str(choices.index(button) + 1)

    def run(self, script: Iterable[str], *, typed: bool = False) -> dict[str, Any] | None:
        """Answer every scripted answer in turn, checking each one moved the
        conversation on; returns the user's newest record (None if none)."""
        for n, answer in enumerate(script):
            before = len(self.questions())
            step = question_step(self.current())
            self.answer(answer, typed=typed)
            moved = len(self.questions()) > before or self.submitted() is not None
            if not moved:
                raise AssertionError(f"answer {n} ({answer!r}) to {step} did not move on; "
                                     f"DM says: {self.last_dm_text()!r}")
        return self.record()
