"""Button clicks: answers, navigation, resuming, App Home, DSL review."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.slack.front import SlackFront
from bot.slack.listeners.guard import guarded_action
from bot.slack.wire import (
    ANSWER_PREFIX,
    DSL_TOOLS,
    EXPORTS,
    NAVIGATION,
    REVIEW,
    Action,
    ButtonValue,
)


def _field(table: Any, key: str) -> str:
    """A text field of a payload table; "" when missing or not text."""
    found = table.get(key) if isinstance(table, dict) else None
    return found if isinstance(found, str) else ""


def _action(body: dict[str, Any]) -> dict[str, Any]:
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else None
    return first if isinstance(first, dict) else {}


def _value(body: dict[str, Any]) -> ButtonValue:
    return ButtonValue.decode(_field(_action(body), "value"))


def _action_id(body: dict[str, Any]) -> str:
    return _field(_action(body), "action_id")


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
    if value.has("session", "step"):  # an empty choice is answered as a wrong one
        front.answer(_user(body), value.session, value.step, value.value)
    else:
        _unusable(body, front)


def navigate(ack: Ack, body: dict[str, Any], front: SlackFront) -> None:
    ack()
    value = _value(body)
    command = {Action.NAV_BACK: "back", Action.NAV_PAUSE: "pause",
               Action.NAV_CANCEL: "cancel", Action.NAV_HELP: "help"}[Action(_action_id(body))]
    if value.has("session", "step"):
        front.navigate(_user(body), value.session, value.step, command)
    else:
        _unusable(body, front)


def resume(ack: Ack, body: dict[str, Any], front: SlackFront) -> None:
    ack()
    value = _value(body)
    if value.has("session"):
        front.resume(_user(body), value.session)
    else:
        _unusable(body, front)


def start(ack: Ack, body: dict[str, Any], front: SlackFront) -> None:
    ack()
    user = _user(body)
    if user:
        front.begin(user, fresh=_action_id(body) == Action.SESSION_NEW)


def review(ack: Ack, body: dict[str, Any], front: SlackFront) -> None:
    ack()
    record_id = _value(body).record
    action_id = _action_id(body)
    user, channel, trigger = _user(body), _channel(body), _field(body, "trigger_id")
    if not user:
        return
    if action_id == Action.REVIEW_ACK:
        front.review(user, record_id, "acknowledge", channel=channel)
    elif action_id == Action.REVIEW_VIEW:
        front.view_record(user, record_id, trigger, channel)
    elif action_id == Action.REVIEW_FOLLOWUP:
        front.open_review_modal(user, record_id, "follow_up", trigger, channel)
    elif action_id == Action.REVIEW_NOTE:
        front.open_review_modal(user, record_id, "note", trigger, channel)
    elif action_id == Action.REVIEW_OUTCOME:
        front.open_review_modal(user, record_id, "outcome", trigger, channel)
    elif action_id == Action.REVIEW_CORRECT:
        front.open_review_modal(user, record_id, "correct", trigger, channel)
    elif action_id == Action.REVIEW_TAKE_ON:
        front.take_on(user, record_id, channel=channel)
    elif action_id == Action.REVIEW_BASIS:
        front.review(user, record_id, "confirm_basis", channel=channel)
    elif action_id == Action.REVIEW_CLOSE:
        front.review(user, record_id, "close", channel=channel)


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
    event_id = _value(body).event
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
    if not value.has("record", "follow_up"):
        _unusable(body, front)
        return
    ts, shown = _message(body)
    from_home = isinstance(body.get("view"), dict) and body["view"].get("type") == "home"
    front.complete_follow_up(user, value.record, value.follow_up, channel=_channel(body), ts=ts,
                             shown=shown, from_home=from_home)


def cover(ack: Ack, body: dict[str, Any], front: SlackFront) -> None:
    ack()
    user, value = _user(body), _value(body).value
    if user and value in ("on", "off"):
        front.set_cover(user, value == "on")
    else:
        _unusable(body, front)


def dsl_tool(ack: Ack, body: dict[str, Any], front: SlackFront) -> None:
    ack()
    user = _user(body)
    which = {Action.DSL_CHRONOLOGY: "chronology", Action.DSL_CSV: "csv"}[Action(_action_id(body))]
    if user:
        front.open_dsl_modal(user, which, _field(body, "trigger_id"))


def export(ack: Ack, body: dict[str, Any], front: SlackFront) -> None:
    ack()
    user, value = _user(body), _value(body)
    action_id = _action_id(body)
    if not user:
        return
    if action_id == Action.RECORD_PDF and value.record:
        front.export(user, "record_pdf", record_id=value.record)
    elif action_id == Action.CHRONOLOGY_PDF and value.child_ref:
        front.export(user, "chronology_pdf", child_ref=value.child_ref)
    elif action_id == Action.RECORD_CHRONOLOGY and value.child_ref and _field(
            body.get("view"), "id"):
        front.show_chronology(user, value.child_ref, _field(body.get("view"), "id"))
    else:
        _unusable(body, front)


def unknown(ack: Ack, body: dict[str, Any], front: SlackFront) -> None:
    """A button we don't know (an old message, a tampered payload)."""
    ack()
    _unusable(body, front)


# Every action id this app makes, as patterns: the catch-all below answers
# only ids outside these, so a listener of ours that fails is never answered
# "no longer in use" on top of its own reply.
def _any(*actions: Action) -> str:
    return "|".join(re.escape(a) for a in actions)


HANDLERS: tuple[tuple[str, Callable[[Ack, dict[str, Any], SlackFront], None]], ...] = (
    (re.escape(ANSWER_PREFIX) + ".+", answer),
    (_any(*NAVIGATION), navigate),
    (_any(Action.SESSION_RESUME, Action.HOME_RESUME), resume),
    (_any(Action.SESSION_NEW, Action.HOME_START), start),
    (_any(*REVIEW), review),
    (_any(Action.ALERT_ACK), alert_ack),
    (_any(Action.FOLLOWUP_DONE), followup_done),
    (_any(*DSL_TOOLS), dsl_tool),
    (_any(Action.HOME_COVER), cover),
    (_any(*EXPORTS), export),
)
OWNED = re.compile("|".join(f"(?:{pattern})" for pattern, _ in HANDLERS))
NOT_OWNED = re.compile(rf"^(?!(?:{OWNED.pattern})$).*$", re.DOTALL)


def register(app: App, front: SlackFront) -> None:
    for pattern, handler in HANDLERS:
        app.action(re.compile(f"^(?:{pattern})$"))(guarded_action(front, handler))
    app.action(NOT_OWNED)(guarded_action(front, unknown))
