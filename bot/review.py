"""The DSL's review of a record and urgent alerts: review actions
(acknowledge, follow-up, note, confirm basis, close, outcome, correct,
viewed), an alert acknowledged, where a record not for the DSL went, who
is on the DSL team. The only door to the store for these; it knows nothing
about any chat service."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot import derive
from bot import record as records
from bot.access import AccessDenied, RecordAccess, within
from bot.config import Settings
from bot.prompts import Prompts
from storage import Store

if TYPE_CHECKING:
    from bot.schedule import Schedule

__all__ = ["Reviews"]

log = logging.getLogger("jigsaw.service")
Clock = Callable[[], datetime]
Mutate = Callable[[dict[str, Any]], dict[str, Any]]
REPEAT_WINDOW = timedelta(minutes=10)  # the same note twice within this is added once


class Reviews:
    """Review actions on records and urgent alerts acknowledged, each
    audited; a refusal too."""

    def __init__(self, settings: Settings, store: Store, prompts: Prompts, clock: Clock,
                 *, access: RecordAccess, schedule: Schedule,
                 named: Callable[[str, Mutate], Mutate]) -> None:
        self.settings = settings
        self.store = store
        self.prompts = prompts
        self.clock = clock
        self.access = access  # refusals audited, the access log
        self.schedule = schedule  # escalations stopped, follow-ups tracked
        # ``mutate`` with the actor's name kept in the record first (people).
        self.named = named

    def routed_notice(self, record: dict[str, Any]) -> str:
        """For a record that does not go to the DSL channel (an allegation
        about an adult): where it went, or whom to see in person."""
        routing = record.get("routing") or {}
        if routing.get("to", "dsl") == "dsl":
            return ""
        return self.prompts.render(
            "notices/routed.j2", routing=routing,
            held=(record.get("delivery") or {}).get("state") == "held",
            contact=self.settings.contact_for(routing["to"]))

    def is_dsl(self, user: str, channel_members: set[str] | None = None) -> bool:
        """DSL team: a configured DSL user id, or a member of the DSL channel."""
        return user in self.settings.dsl_user_ids or bool(
            channel_members and user in channel_members)

    def review(self, record_id: str, action: str, *, by: str, allowed: bool,
               **params: Any) -> dict[str, Any] | None:
        """Apply a DSL review action and return the record, or None when the
        action was already done (a double click, a stale button: checked
        under the store's lock, so it holds across threads and processes).
        A refused attempt is audited and raises :class:`AccessDenied`."""
        now = self.clock()
        record_id = records.clean_id(record_id)
        if not allowed:
            self.access.audit_refusal(record_id, by=by, attempted=action)
            raise AccessDenied(action)
        if action == "correct" and params.get("field") == "category":
            # One of the school's own: the record keeps its name as it is now.
            params["label"] = derive.own_categories(self.settings.own_categories).get(
                str(params.get("value")), "")
        apply: Callable[[dict[str, Any]], dict[str, Any]] = {
            "acknowledge": lambda r: records.acknowledge(r, by=by, at=now),
            "follow_up": lambda r: records.follow_up_needed(
                r, by=by, at=now, note=params["note"], due=params["due"]),
            "note": lambda r: records.add_note(r, by=by, at=now, note=params["note"]),
            "confirm_basis": lambda r: records.confirm_basis(
                r, by=by, at=now, **_basis_to_confirm(r, params)),
            "close": lambda r: records.close(r, by=by, at=now),
            "outcome": lambda r: records.add_outcome(
                r, by=by, at=now, outcome=params["outcome"], ref=params.get("ref", ""),
                note=params.get("note", "")),
            "correct": lambda r: records.correct(
                r, by=by, at=now, field=params["field"], value=params["value"],
                label=params.get("label", "")),
            "viewed": lambda r: records.viewed(r, by=by, at=now),
        }[action]
        changed = [True]

        def mutate(record: dict[str, Any]) -> dict[str, Any]:
            if action == "acknowledge" and record["review_status"] != records.PENDING:
                changed[0] = False
                return record
            if action in ("note", "follow_up", "outcome") and _repeated(
                    record, by, action, params, now):
                changed[0] = False  # the same form sent twice (a retry, a double submit)
                return record
            if action == "correct" and _already_so(record, params):
                changed[0] = False  # chosen so already (a retry, a double submit)
                return record
            if action == "close" and record.get("status") == records.CLOSED:
                changed[0] = False
                return record
            if action == "confirm_basis" and (
                    (record.get("lawful_basis") or {}).get("confirmed")
                    or not _basis_to_confirm(record, params)["article6"]):
                changed[0] = False  # confirmed already, or nothing to confirm
                return record
            return apply(record)

        stored = self.store.update_record(record_id, self.named(by, mutate))
        if not changed[0]:
            return None
        if action == "acknowledge":
            self.schedule.alert_acknowledged(f"{stored['session_id']}:urgent")
        if action == "follow_up":
            self.schedule.track_record(stored)
        return stored

    def schedule_escalation(self, session_id: str, event: dict[str, Any]) -> None:
        """Keep the alert's escalation in the store. The alert itself (sent
        next by the front end) must never wait on this write succeeding."""
        try:
            self.schedule.alert_raised(session_id, event)
        except Exception:
            log.exception("could not schedule the alert's escalation",
                          extra={"session_id": session_id})

    def acknowledge_alert(self, event_id: str, *, by: str, allowed: bool) -> bool:
        """The DSL has an urgent alert in hand: stop its escalation. False if
        it was acknowledged already."""
        session_id = event_id.removesuffix(":urgent")
        record = self.store.record_for_session(session_id)
        if not allowed:
            if record is not None:
                self.access.audit_refusal(record["id"], by=by, attempted="acknowledge_alert")
            self.access.log_access(by, "acknowledge_alert", allowed=False, ref=event_id)
            raise AccessDenied("acknowledge_alert")
        self.schedule.alert_acknowledged(event_id)
        first = self.store.claim(f"alert-ack:{event_id}")
        if first:
            self.access.log_access(by, "acknowledge_alert", allowed=True, ref=event_id)
            if record is not None:
                now = self.clock()

                def audit(doc: dict[str, Any]) -> dict[str, Any]:
                    records.append_audit(doc, by=by, action="alert_acknowledged", at=now)
                    return doc

                self.store.update_record(record["id"], self.named(by, audit))
        return first


def _repeated(record: dict[str, Any], by: str, action: str, params: dict[str, Any],
              now: datetime) -> bool:
    """The same note (or follow-up) by the same person moments ago."""
    kind = {"note": "note_added", "outcome": "outcome_added"}.get(action, "follow_up_needed")
    want = ({"note": params.get("note")} if action == "note" else
            {"outcome": params.get("outcome"), "ref": params.get("ref", ""),
             "note": params.get("note", "")} if action == "outcome" else
            {"note": params.get("note"), "due": params.get("due")})
    return any(e.get("action") == kind and e.get("by") == by and e.get("detail") == want
               and within(e.get("at"), now, REPEAT_WINDOW)
               for e in record.get("audit") or ())


def _already_so(record: dict[str, Any], params: dict[str, Any]) -> bool:
    """A correction to what the record already shows, and not as read
    from the answers (confirming a derived value is a change: it is hers)."""
    field = params["field"]
    now = records.shown_category(record) if field == "category" else records.shown_summary(
        record)
    return now == params["value"] and record.get(f"{field}_derived") is False and (
        field != "category" or record.get("category_label", "") == params.get("label", ""))


def _basis_to_confirm(record: dict[str, Any], params: dict[str, Any]) -> dict[str, str]:
    """The lawful basis the DSL confirms: as given, else the one suggested
    on the record ("" when there is none to confirm)."""
    suggested = (record.get("lawful_basis") or {}).get("suggested") or {}
    return {"article6": str(params.get("article6") or suggested.get("article6") or ""),
            "article9": str(params.get("article9") or suggested.get("article9") or "")}
