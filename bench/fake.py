"""The fake Slack Web API, with a feed of calls the benchmark can wait on.

:class:`tests.harness.fakeslack.FakeSlack` keeps one list of calls and wakes every
waiter to rescan it on each call; with 20 simulated staff and thousands of
calls that rescanning would load the benchmark process. :class:`BenchFake`
adds an append-only feed where each waiter scans only what is new to it.

It runs in the benchmark's process, in threads: while a latency sample is
being taken the benchmark only waits on a socket, so it does not compete
with the fake for the GIL, and the apps under test run in their own
processes. ``at`` is ``time.monotonic()`` (system-wide CLOCK_MONOTONIC on
Linux), so it compares directly with the sender's clock.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.slack.wire import ANSWER_PREFIX, ButtonValue
from tests.harness.fakeslack import FakeSlack

JSON_FIELDS = ("blocks", "metadata", "view")


@dataclass(frozen=True)
class Seen:
    """One Web API call as it arrived, with what the fake answered."""

    at: float
    method: str
    args: dict[str, Any]
    status: int
    response: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))

    @property
    def channel(self) -> str:
        return str(self.args.get("channel") or "")

    def block_ids(self) -> list[str]:
        blocks = self.args.get("blocks")
        return [str(b.get("block_id", "")) for b in blocks if isinstance(b, dict)] if isinstance(
            blocks, list) else []

    def question_step(self) -> str | None:
        """The step id when this posts a question (a ``q:<step>`` block)."""
        for block_id in self.block_ids():
            if block_id.startswith("q:"):
                return block_id[2:]
        return None

    def buttons(self) -> dict[str, tuple[str, str]]:
        """Answer buttons by answer value: ``{v: (action_id, value)}``."""
        found: dict[str, tuple[str, str]] = {}
        for block in self.args.get("blocks") or []:
            if not isinstance(block, dict) or block.get("type") != "actions":
                continue
            for element in block.get("elements", []):
                action_id = str(element.get("action_id", ""))
                if not action_id.startswith(ANSWER_PREFIX):
                    continue
                value = ButtonValue.decode(element.get("value", ""))
                if value.value:
                    found[value.value] = (action_id, element["value"])
        return found


Predicate = Callable[[Seen], bool]


class BenchFake(FakeSlack):
    """FakeSlack plus an append-only feed of :class:`Seen` calls."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.feed: list[Seen] = []
        self._feed_cond = threading.Condition()
        super().__init__(*args, **kwargs)

    def handle(self, method: str, args: dict[str, Any], headers: dict[str, str]
               ) -> tuple[int, dict[str, str], dict[str, Any]]:
        at = time.monotonic()
        copied = {k: v for k, v in args.items() if k != "token"}
        status, extra, response = super().handle(method, args, headers)
        for name in JSON_FIELDS:
            if isinstance(copied.get(name), str):
                with contextlib.suppress(ValueError):
                    copied[name] = json.loads(copied[name])
        seen = Seen(at, method, copied, status, response)
        with self._feed_cond:
            self.feed.append(seen)
            self._feed_cond.notify_all()
        return status, extra, response

    def mark(self) -> int:
        """Where the feed ends now: pass it to :meth:`wait` as ``since``."""
        with self._feed_cond:
            return len(self.feed)

    def wait(self, predicate: Predicate, since: int, timeout: float = 15.0) -> Seen:
        """The first call at or after position ``since`` matching ``predicate``."""
        deadline = time.monotonic() + timeout
        position = since
        with self._feed_cond:
            while True:
                feed = self.feed
                while position < len(feed):
                    seen = feed[position]
                    position += 1
                    if predicate(seen):
                        return seen
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no matching Web API call within {timeout} s")
                self._feed_cond.wait(left)

    def after(self, since: int) -> list[Seen]:
        with self._feed_cond:
            return self.feed[since:]

    def forget(self) -> None:
        """Drop recorded calls (between phases) so memory stays flat."""
        with self._feed_cond:
            self.feed = []
        self.clear()
