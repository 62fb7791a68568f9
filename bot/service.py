"""Jigsaw's use cases, shared by every front end (terminal, Slack).

This layer joins the pure flow engine to a :class:`storage.Store`: each
answer is applied under the store's lock so two clicks can't race, a finished
session becomes a record exactly once, and the DSL's review actions go through
the audit trail. It knows nothing about Slack.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot import record as records
from bot.config import Settings
from bot.flow import CANCELLED, OPEN_STATUSES, PAUSED, SUBMITTED, Flow, Result, Session
from bot.flow.engine import IN_PROGRESS, stamp, utcnow
from bot.prompts import Prompts, default_prompts
from storage import Store

Clock = Callable[[], datetime]
SESSION_KEEP_DAYS = 7


class AccessDenied(PermissionError):
    """The person may not do this; the attempt has been recorded."""


@dataclass
class Outcome:
    """An answer's effect, for a front end to show."""

    session: Session
    result: Result
    record: dict[str, Any] | None = None


class Jigsaw:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        prompts: Prompts | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.settings = settings
        self.store = store
        self.prompts = prompts or default_prompts()
        self.clock = clock
        self.flow = Flow(settings, self.prompts, clock)

    # -- sessions ---------------------------------------------------------
    def start(self, user: str, source: str = "slack", meta: dict[str, Any] | None = None
              ) -> Session:
        """A new session; any open one for the user is paused, not lost."""
        for old in self.open_sessions(user):
            self._set_status(old.id, PAUSED)
        session = self.flow.start(user, source)
        session.meta.update(meta or {})
        self.store.save_session(session.to_dict())
        return session

    def open_sessions(self, user: str) -> list[Session]:
        docs = self.store.sessions_for_user(user, statuses=OPEN_STATUSES)
        return [Session.from_dict(d) for d in docs]

    def latest_open(self, user: str) -> Session | None:
        sessions = self.open_sessions(user)
        return sessions[0] if sessions else None

    def get(self, session_id: str) -> Session | None:
        doc = self.store.get_session(session_id)
        return Session.from_dict(doc) if doc else None

    def resume(self, session_id: str) -> Session:
        session = self._set_status(session_id, IN_PROGRESS)
        return self.finish_if_done(session)

    def pause(self, session_id: str) -> Session:
        return self._set_status(session_id, PAUSED)

    def cancel(self, session_id: str) -> Session:
        return self._set_status(session_id, CANCELLED)

    def update_meta(self, session_id: str, **meta: Any) -> Session:
        def mutate(doc: dict[str, Any]) -> dict[str, Any]:
            doc.setdefault("meta", {}).update(meta)
            return doc

        return Session.from_dict(self.store.update_session(session_id, mutate))

    def _set_status(self, session_id: str, status: str) -> Session:
        def mutate(doc: dict[str, Any]) -> dict[str, Any]:
            if doc["status"] in OPEN_STATUSES:
                doc["status"] = status
                doc["updated_at"] = stamp(self.clock())
            return doc

        return Session.from_dict(self.store.update_session(session_id, mutate))

    # -- answering ----------------------------------------------------------
    def answer(self, session_id: str, raw: Any, *, step_id: str | None = None) -> Outcome:
        """Apply one answer under the store's lock; submit when complete."""
        box: dict[str, Result] = {}

        def mutate(doc: dict[str, Any]) -> dict[str, Any]:
            session = Session.from_dict(doc)
            if not session.is_open:
                code = "finished" if session.status == SUBMITTED else "stale"
                box["result"] = Result(False, self.flow.error(code), code)
                return doc
            session.status = IN_PROGRESS
            box["result"] = self.flow.answer(session, raw, step_id=step_id)
            return session.to_dict()

        session = Session.from_dict(self.store.update_session(session_id, mutate))
        result = box["result"]
        rec = None
        if result.accepted and result.done:
            session = self.finish_if_done(session)
            rec = self.store.get_record(session.record_id) if session.record_id else None
        return Outcome(session, result, rec)

    def back(self, session_id: str) -> Session:
        def mutate(doc: dict[str, Any]) -> dict[str, Any]:
            session = Session.from_dict(doc)
            if session.is_open:
                session.status = IN_PROGRESS
                self.flow.back(session)
            return session.to_dict()

        return Session.from_dict(self.store.update_session(session_id, mutate))

    def finish_if_done(self, session: Session) -> Session:
        """Turn a completed session into its record, exactly once.

        The record is written first (idempotent on the session id), then the
        session is marked submitted; a crash between the two is healed the
        next time the session is touched.
        """
        if not session.is_open or not self.flow.done(session):
            return session
        built = records.build(session, self.settings, self.prompts, now=self.clock())
        stored = self.store.create_record(built)

        def mutate(doc: dict[str, Any]) -> dict[str, Any]:
            doc["status"] = SUBMITTED
            doc["record_id"] = stored["id"]
            doc["updated_at"] = stamp(self.clock())
            return doc

        done = Session.from_dict(self.store.update_session(session.id, mutate))
        if all(e.get("delivered") for e in done.events):
            # The record now holds everything; the hot store is rewritten on
            # every click, so it keeps only what is still in play.
            self.store.delete_session(done.id)
        return done

    def prune_sessions(self, *, keep_days: int = SESSION_KEEP_DAYS) -> int:
        """Drop finished sessions after a while, so the hot store (rewritten on
        every click) stays small however long the school uses Jigsaw. The
        record of a submitted session lives on in the archive; a session with
        an undelivered alert is kept until the alert is through."""
        cutoff = stamp(self.clock() - timedelta(days=keep_days))
        pending = {s["id"] for s in self.store.sessions_with_pending_events()}
        return self.store.delete_sessions([
            doc["id"] for doc in self.store.all_sessions()
            if doc["status"] in (SUBMITTED, CANCELLED) and doc["updated_at"] < cutoff
            and doc["id"] not in pending
        ])

    def mark_event_delivered(self, session_id: str, event_id: str, **info: Any) -> None:
        def mutate(doc: dict[str, Any]) -> dict[str, Any]:
            for event in doc.get("events", []):
                if event["id"] == event_id:
                    event["delivered"] = True
                    event.update(info)
            return doc

        self.store.update_session(session_id, mutate)

    # -- records and review ---------------------------------------------------
    def record(self, record_id: str) -> dict[str, Any] | None:
        return self.store.get_record(record_id)

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
        if not allowed:
            self.store.update_record(
                record_id, lambda r: records.refused(r, by=by, at=now, attempted=action))
            raise AccessDenied(action)
        apply = {
            "acknowledge": lambda r: records.acknowledge(r, by=by, at=now),
            "follow_up": lambda r: records.follow_up_needed(
                r, by=by, at=now, note=params["note"], due=params["due"]),
            "note": lambda r: records.add_note(r, by=by, at=now, note=params["note"]),
            "confirm_basis": lambda r: records.confirm_basis(
                r, by=by, at=now, article6=params["article6"], article9=params["article9"]),
            "close": lambda r: records.close(r, by=by, at=now),
            "viewed": lambda r: records.viewed(r, by=by, at=now),
        }[action]
        changed = [True]

        def mutate(record: dict[str, Any]) -> dict[str, Any]:
            if action == "acknowledge" and record["review_status"] != records.PENDING:
                changed[0] = False
                return record
            return apply(record)

        stored = self.store.update_record(record_id, mutate)
        return stored if changed[0] else None

    def my_records(self, user: str, limit: int = 10) -> list[dict[str, Any]]:
        return self.store.list_records(recorded_by=user, limit=limit)

    def awaiting_review(self, limit: int = 20) -> list[dict[str, Any]]:
        return self.store.list_records(review_status=records.PENDING, limit=limit)
