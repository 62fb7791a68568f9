"""Every listener answers Slack, and the person, even when it fails.

A listener that raises after its ack leaves Bolt to answer on its own, and
the person sees nothing (or a wrong "no longer in use"). Wrapped here, a
failure is logged (its type only: a payload can hold a child's details),
Slack is answered within its 3 seconds if it was not already, and the person
is told in their DM that something went wrong and their answers are kept.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack

from bot.slack.front import SlackFront

log = logging.getLogger("jigsaw.slack")


class AckOnce:
    """Bolt's ``ack``, callable once; :meth:`ensure` acks if nothing did."""

    def __init__(self, ack: Ack) -> None:
        self._ack = ack
        self._done = False
        self._lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            if self._done:
                return None
            self._done = True
        return self._ack(*args, **kwargs)

    def ensure(self) -> None:
        try:
            self()
        except Exception:  # the ack itself failed: Bolt answers
            log.warning("could not ack after a failure")


def user_of(body: Any) -> str:
    """The person behind any Slack payload; "" if none."""
    if not isinstance(body, dict):
        return ""
    for table in (body.get("user"), body.get("event")):
        if isinstance(table, dict):
            for key in ("id", "user"):
                found = table.get(key)
                if isinstance(found, str) and found:
                    return found
    found = body.get("user_id")
    return found if isinstance(found, str) else ""


def failed(front: SlackFront, body: Any, exc: BaseException, where: str) -> None:
    log.error("listener failed: %s", type(exc).__name__, exc_info=exc,
              extra={"action": where})
    front.went_wrong(user_of(body))


def guarded_action(front: SlackFront,
                   fn: Callable[[Ack, dict[str, Any], SlackFront], None]
                   ) -> Callable[[Ack, dict[str, Any]], None]:
    def listener(ack: Ack, body: dict[str, Any]) -> None:
        once = AckOnce(ack)
        try:
            fn(once, body, front)  # type: ignore[arg-type]
        except Exception as exc:
            once.ensure()
            failed(front, body, exc, fn.__name__)

    return listener


def guarded_view(front: SlackFront,
                 fn: Callable[[Ack, dict[str, Any], dict[str, Any], SlackFront], None]
                 ) -> Callable[[Ack, dict[str, Any], dict[str, Any]], None]:
    def listener(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        once = AckOnce(ack)
        try:
            fn(once, body, view, front)  # type: ignore[arg-type]
        except Exception as exc:
            once.ensure()
            failed(front, body, exc, fn.__name__)

    return listener


def guarded_event(front: SlackFront,
                  fn: Callable[[dict[str, Any], dict[str, Any], SlackFront], None]
                  ) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    def listener(event: dict[str, Any], body: dict[str, Any]) -> None:
        try:
            fn(event, body, front)
        except Exception as exc:
            failed(front, body, exc, fn.__name__)

    return listener
