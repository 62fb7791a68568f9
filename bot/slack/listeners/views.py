"""Modal submissions from the DSL's review buttons."""

from __future__ import annotations

from datetime import date
from typing import Any

from slack_bolt import Ack, App

from bot.derive import SUMMARY_MAX
from bot.flow.validate import InvalidAnswer, clean_text
from bot.record import CATEGORIES, OUTCOMES, category_offered, corrections_wanted
from bot.slack.front import SlackFront
from bot.slack.listeners.guard import guarded_view
from bot.slack.wire import Action, BlockId, ButtonValue, Modal


def _table(parent: Any, key: str) -> dict[str, Any]:
    found = parent.get(key) if isinstance(parent, dict) else None
    return found if isinstance(found, dict) else {}


def _field(view: dict[str, Any], block: str) -> str | None:
    """A submitted input's text (or date); None if absent or not text."""
    value = _table(_table(_table(_table(view, "state"), "values"), block), Action.INPUT)
    found = (value.get("value") if "value" in value else
             _table(value, "selected_option").get("value") if "selected_option" in value
             else value.get("selected_date"))
    return found if isinstance(found, str) else None


def _user(body: dict[str, Any]) -> str:
    user = _table(body, "user").get("id")
    return user if isinstance(user, str) else ""


def _note(front: SlackFront, view: dict[str, Any], errors: dict[str, str]) -> str:
    try:
        return clean_text(_field(view, BlockId.NOTE) or "", max_len=2000, min_len=1)
    except InvalidAnswer as exc:
        errors[BlockId.NOTE] = front.flow.error(exc.code, **exc.params)
        return ""


def _submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], front: SlackFront,
            errors: dict[str, str], *reviews: tuple[str, dict[str, str]]) -> None:
    """Answer the modal (with its field errors, if any), then apply the
    reviews, as (action, params), in order."""
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack()
    record_id = ButtonValue.decode(view.get("private_metadata", "")).record
    view_id = view.get("id")
    # The same modal submitted again (a retry, a second click on Submit) is
    # added once; the same words in a new modal are caught by the service.
    if isinstance(view_id, str) and view_id and not front.first_time(
            f"view:{view_id}:{view.get('hash') or ''}"):
        return
    for action, params in reviews if _user(body) else ():
        front.review(_user(body), record_id, action, **params)


def followup_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any],
                       front: SlackFront) -> None:
    errors: dict[str, str] = {}
    note = _note(front, view, errors)
    due = _field(view, BlockId.DUE) or ""
    try:
        if date.fromisoformat(due) < front.service.clock().date():
            errors[BlockId.DUE] = front.flow.error("past_date")
    except ValueError:
        errors[BlockId.DUE] = front.flow.error("bad_date")
    _submit(ack, body, view, front, errors, ("follow_up", {"note": note, "due": due}))


def note_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any],
                   front: SlackFront) -> None:
    errors: dict[str, str] = {}
    note = _note(front, view, errors)
    _submit(ack, body, view, front, errors, ("note", {"note": note}))


def outcome_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any],
                      front: SlackFront) -> None:
    errors: dict[str, str] = {}
    outcome = _field(view, BlockId.OUTCOME) or ""
    if outcome not in OUTCOMES:
        errors[BlockId.OUTCOME] = front.flow.error("not_a_choice")
    texts = {}
    for block, limit in ((BlockId.REF, 100), (BlockId.NOTE, 2000)):
        try:
            texts[block] = clean_text(_field(view, block) or "", max_len=limit, min_len=0)
        except InvalidAnswer as exc:
            errors[block] = front.flow.error(exc.code, **exc.params)
    _submit(ack, body, view, front, errors, ("outcome", {
        "outcome": outcome, "ref": texts.get(BlockId.REF, ""),
        "note": texts.get(BlockId.NOTE, "")}))


def correct_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any],
                      front: SlackFront) -> None:
    """Category and one-line summary: each one changed is a correction of
    its own (see :func:`bot.record.corrections_wanted`)."""
    errors: dict[str, str] = {}
    record = front.service.record(ButtonValue.decode(view.get("private_metadata", "")).record)
    category = _field(view, BlockId.CATEGORY) or ""
    if not (category in CATEGORIES if record is None else category_offered(
            record, category, front.service.prompts, front.service.settings.own_categories)):
        errors[BlockId.CATEGORY] = front.flow.error("not_a_choice")
    try:
        line = clean_text(_field(view, BlockId.SUMMARY) or "", max_len=SUMMARY_MAX, min_len=1)
    except InvalidAnswer as exc:
        errors[BlockId.SUMMARY] = front.flow.error(exc.code, **exc.params)
        line = ""
    wanted = corrections_wanted(record, category=category, summary_line=line) if record else {}
    _submit(ack, body, view, front, errors,
            *[("correct", {"field": field, "value": value}) for field, value in wanted.items()])


def chronology_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any],
                         front: SlackFront) -> None:
    try:
        child_ref = clean_text(_field(view, BlockId.CHILD_REF) or "", max_len=100, min_len=1)
    except InvalidAnswer as exc:
        ack(response_action="errors",
            errors={BlockId.CHILD_REF: front.flow.error(exc.code, **exc.params)})
        return
    user = _user(body)
    shown = front.chronology_view(user, child_ref) if user else None
    if shown is None:
        ack(response_action="errors", errors={BlockId.CHILD_REF: front.t("refused")})
        return
    ack(response_action="update", view=shown)


def csv_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any],
                  front: SlackFront) -> None:
    errors: dict[str, str] = {}
    days: dict[str, date] = {}
    for block in (BlockId.FROM, BlockId.TO):
        try:
            days[block] = date.fromisoformat(_field(view, block) or "")
        except ValueError:
            errors[block] = front.flow.error("bad_date")
    if not errors and days[BlockId.TO] < days[BlockId.FROM]:
        errors[BlockId.TO] = front.blocks.r("csv_order")
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack()
    if _user(body):
        front.export(_user(body), "csv", start=days[BlockId.FROM], end=days[BlockId.TO])


def register(app: App, front: SlackFront) -> None:
    app.view(Modal.CHRONOLOGY_ASK)(
        guarded_view(front, chronology_submitted))
    app.view(Modal.CSV_ASK)(
        guarded_view(front, csv_submitted))
    app.view(Modal.REVIEW_FOLLOWUP)(
        guarded_view(front, followup_submitted))
    app.view(Modal.REVIEW_NOTE)(
        guarded_view(front, note_submitted))
    app.view(Modal.REVIEW_OUTCOME)(
        guarded_view(front, outcome_submitted))
    app.view(Modal.REVIEW_CORRECT)(
        guarded_view(front, correct_submitted))
