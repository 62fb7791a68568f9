"""A member of staff talking to the app that runs in its own process
(:class:`tests.harness.process.AppProcess`), read back from the fake Slack:
what the fault tests (a failing disk, a database gone) click and check."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from bot.slack.delivery import ALERT_EVENT, RECORD_EVENT
from bot.slack.wire import ButtonValue
from tests.harness.fakeslack import DSL_CHANNEL_ID, Call
from tests.harness.faults import WAIT, WatchedSlack
from tests.harness.process import AppProcess
from tests.harness.slack_driver import buttons, question_step, texts
from tests.harness.slackreq import block_action, message_event


def health(app: AppProcess) -> tuple[int, dict[str, Any]]:
    """``GET /health``: its status and body, failing or not."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{app.port}/health", timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def dm_post(call: Call, staff: str) -> Call | None:
    """``call`` if it is a message Slack accepted into ``staff``'s DM."""
    return call if (call.method == "chat.postMessage" and call.ok
                    and call.args.get("channel") == f"D{staff}") else None


def question(slack: WatchedSlack, mark: int, staff: str) -> Call:
    """The next question posted to ``staff``'s DM after ``mark``."""
    found = slack.wait_new(mark, lambda c: c if dm_post(c, staff) and question_step(c)
                           else None)
    assert found is not None
    return found


def shown(call: Call) -> str:
    """Everything a message's blocks show."""
    return "\n".join(texts(call.args.get("blocks") or []))


def dsl_posts(slack: WatchedSlack, event_type: str) -> list[dict[str, Any]]:
    """Top-level messages in the DSL channel carrying ``event_type``."""
    return [m for m in slack.messages(DSL_CHANNEL_ID)
            if (m.get("metadata") or {}).get("event_type") == event_type
            and not m.get("thread_ts")]


def click(app: AppProcess, q: Call, value: str, staff: str) -> float:
    """``staff`` clicks the button carrying ``value``; seconds to the ack."""
    [button] = [b for b in buttons(q) if ButtonValue.decode(b["value"]).value == value]
    started = time.monotonic()
    ack = app.send(block_action(staff, action_id=button["action_id"], value=button["value"],
                                channel=f"D{staff}", message_ts=q.args.get("ts")))
    assert ack.status == 200
    return time.monotonic() - started


def say(app: AppProcess, slack: WatchedSlack, staff: str, text: str) -> Call:
    """``staff`` types ``text`` in their DM; the next question they are asked."""
    mark = slack.mark()
    app.send(message_event(staff, text=text))
    return question(slack, mark, staff)


def dsl_alert(slack: WatchedSlack, mark: int) -> Call | None:
    """The urgent alert Slack accepted into the DSL channel after ``mark``."""
    return slack.wait_new(mark, lambda c: c if (
        c.method == "chat.postMessage" and c.ok and c.args.get("channel") == DSL_CHANNEL_ID
        and (c.args.get("metadata") or {}).get("event_type") == ALERT_EVENT) else None)


def dm_shown(slack: WatchedSlack, mark: int, staff: str) -> str:
    """Everything posted or updated in ``staff``'s DM after ``mark``."""
    return "\n".join(shown(c) for c in slack.calls()[mark:]
                     if c.method in ("chat.postMessage", "chat.update")
                     and c.args.get("channel") == f"D{staff}")


def submitted(slack: WatchedSlack, mark: int, staff: str, timeout: float = WAIT) -> Call | None:
    """The "Submitted" message in ``staff``'s DM after ``mark``."""
    return slack.wait_new(mark, lambda c: c if dm_post(c, staff) and str(
        c.args.get("text", "")).startswith("Submitted") else None, timeout=timeout)


def posted_record_id(slack: WatchedSlack) -> str:
    """The id of the one record posted to the DSL channel."""
    [record_post] = dsl_posts(slack, RECORD_EVENT)
    return str(record_post["metadata"]["event_payload"]["record_id"])
