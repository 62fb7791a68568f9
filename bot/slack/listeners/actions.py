"""Button clicks: answers, navigation, resuming, App Home, DSL review."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.slack.blocks import parse_value
from bot.slack.front import SlackFront
from bot.slack.listeners.guard import guarded_action


def _field(table: Any, key: str) -> str:
    """A text field of a payload table; "" when missing or not text."""
    found = table.get(key) if isinstance(table, dict) else None
    return found if isinstance(found, str) else ""


def _action(body: dict[str, Any]) -> dict[str, Any]:
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else None
    return first if isinstance(first, dict) else {}


def _value(body: dict[str, Any]) -> dict[str, str]:
    return parse_value(_field(_action(body), "value"))


def _user(body: dict[str, Any]) -> str:
    return _field(body.get("user"), "id")


def _channel(body: dict[str, Any]) -> str | None:
    return _field(body.get("channel"), "id") or None


def _unusable(body: dict[str, Any], front: SlackFront) -> None:
    """A button whose value we did not make (tampered, or from an old
    version): say so rather than do nothing."""
    user = _user(body)
    if user:
        front.say(user, front.t("unknown_action"))


def answer(ack: Ack, body: dict[str, Any], front: SlackFront) -> None:
    ack()
    value = _value(body)
    if {"s", "st", "v"} <= value.keys():
        front.answer(_user(body), value["s"], value["st"], value["v"])
    else:
        _unusable(body, front)


def navigate(ack: Ack, body: dict[str, Any], front: SlackFront) -> None:
    ack()
    value = _value(body)
    command = _field(_action(body), "action_id").removeprefix("nav_")
    if {"s", "st"} <= value.keys():
        front.navigate(_user(body), value["s"], value["st"], command)
    else:
        _unusable(body, front)


def resume(ack: Ack, body: dict[str, Any], front: SlackFront) -> None:
    ack()
    value = _value(body)
    if "s" in value:
        front.resume(_user(body), value["s"])
    else:
        _unusable(body, front)


def start(ack: Ack, body: dict[str, Any], front: SlackFront) -> None:
    ack()
    user = _user(body)
    if user:
        front.begin(user, fresh=_field(_action(body), "action_id") == "session_new")


def review(ack: Ack, body: dict[str, Any], front: SlackFront) -> None:
    ack()
    record_id = _value(body).get("r", "")
    action_id = _field(_action(body), "action_id")
    user, channel, trigger = _user(body), _channel(body), _field(body, "trigger_id")
    if not user:
        return
    if action_id == "review_ack":
        front.review(user, record_id, "acknowledge", channel=channel)
    elif action_id == "review_view":
        front.view_record(user, record_id, trigger, channel)
    elif action_id == "review_followup":
        front.open_review_modal(user, record_id, "follow_up", trigger, channel)
    elif action_id == "review_note":
        front.open_review_modal(user, record_id, "note", trigger, channel)
    elif action_id == "review_take_on":
        front.take_on(user, record_id, channel=channel)


def _message(body: dict[str, Any]) -> tuple[str | None, list[dict[str, Any]]]:
    """The clicked message's ts and blocks (none for a view's button)."""
    message = body.get("message")
    if not isinstance(message, dict):
        return None, []
    ts = message.get("ts")
    blocks = message.get("blocks")
    return (ts if isinstance(ts, str) else None,
            [b for b in blocks if isinstance(b, dict)] if isinstance(blocks, list) else [])


def alert_ack(ack: Ack, body: dict[str, Any], front: SlackFront) -> None:
    ack()
    event_id = _value(body).get("e", "")
    user = _user(body)
    if not user:
        return
    if not event_id:
        _unusable(body, front)
        return
    ts, shown = _message(body)
    front.acknowledge_alert(user, event_id, _channel(body), ts, shown)


def followup_done(ack: Ack, body: dict[str, Any], front: SlackFront) -> None:
    ack()
    value = _value(body)
    user = _user(body)
    if not user:
        return
    if not {"r", "f"} <= value.keys():
        _unusable(body, front)
        return
    ts, shown = _message(body)
    from_home = isinstance(body.get("view"), dict) and body["view"].get("type") == "home"
    front.complete_follow_up(user, value["r"], value["f"], channel=_channel(body), ts=ts,
                             shown=shown, from_home=from_home)


def dsl_tool(ack: Ack, body: dict[str, Any], front: SlackFront) -> None:
    ack()
    user = _user(body)
    which = _field(_action(body), "action_id").removeprefix("dsl_")
    if user:
        front.open_dsl_modal(user, which, _field(body, "trigger_id"))


def export(ack: Ack, body: dict[str, Any], front: SlackFront) -> None:
    ack()
    user, value = _user(body), _value(body)
    action_id = _field(_action(body), "action_id")
    if not user:
        return
    if action_id == "record_pdf" and value.get("r"):
        front.export(user, "record_pdf", record_id=value["r"])
    elif action_id == "chronology_pdf" and value.get("c"):
        front.export(user, "chronology_pdf", child_ref=value["c"])
    elif action_id == "record_chronology" and value.get("c") and _field(body.get("view"),
                                                                        "id"):
        front.show_chronology(user, value["c"], _field(body.get("view"), "id"))
    else:
        _unusable(body, front)


def unknown(ack: Ack, body: dict[str, Any], front: SlackFront) -> None:
    """A button we don't know (an old message, a tampered payload)."""
    ack()
    user = _user(body)
    if user:
        front.say(user, front.t("unknown_action"))


# Every action id this app makes, as patterns: the catch-all below answers
# only ids outside these, so a listener of ours that fails is never answered
# "no longer in use" on top of its own reply.
HANDLERS: tuple[tuple[str, Callable[[Ack, dict[str, Any], SlackFront], None]], ...] = (
    (r"answer_.+", answer),
    (r"nav_(back|pause|cancel)", navigate),
    (r"session_resume|home_resume", resume),
    (r"session_new|home_start", start),
    (r"review_(ack|view|followup|note|take_on)", review),
    (r"alert_ack", alert_ack),
    (r"followup_done", followup_done),
    (r"dsl_(chronology|csv)", dsl_tool),
    (r"record_pdf|chronology_pdf|record_chronology", export),
)
OWNED = re.compile("|".join(f"(?:{pattern})" for pattern, _ in HANDLERS))
NOT_OWNED = re.compile(rf"^(?!(?:{OWNED.pattern})$).*$", re.DOTALL)


def register(app: App, front: SlackFront) -> None:
    for pattern, handler in HANDLERS:
        app.action(re.compile(f"^(?:{pattern})$"))(guarded_action(front, handler))
    app.action(NOT_OWNED)(guarded_action(front, unknown))
