"""The decision service: every use case of every front end (terminal, Slack,
Teams), and the only door to the store. This module is the kernel (sessions
and answering, take on, people, DSL cover, records and the inbox); each other
use case is a class of its own, reached from the service: chronology, exports
and the access log (``service.access``, :mod:`bot.access`), the DSL's review
and urgent alerts (``service.reviews``, :mod:`bot.review`), follow-ups
(``service.follow_ups``, :mod:`bot.schedule`), the outbox's bookkeeping and
the ledger's anchor (``service.deliveries``, ``service.ledger_anchor``,
:mod:`bot.deliveries`).

This layer joins the pure flow engine to a :class:`storage.Store`: each
answer is applied under the store's lock so two clicks can't race, a finished
session becomes a record exactly once, and the DSL's review actions go through
the audit trail. It knows nothing about any chat service.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot import inbox, localtime, people
from bot import record as records
from bot.access import AccessDenied, RecordAccess
from bot.config import Settings
from bot.deliveries import Deliveries, LedgerAnchor
from bot.flow import (
    CANCELLED,
    OPEN_STATUSES,
    PAUSED,
    SUBMITTED,
    Flow,
    Result,
    Session,
    Source,
)
from bot.flow.engine import IN_PROGRESS, stamp, utcnow
from bot.flow.steps import BY_ID, TAKE_ON_KEY, TAKEN_KEY, route
from bot.prompts import Prompts, default_prompts
from bot.record import clean_id
from bot.review import Reviews
from bot.unsaved import Unsaved
from storage import NotFound, RecordSummary, Store

__all__ = ["AccessDenied", "AlreadyDecided", "DecisionService", "NotFound", "Outcome",
           "clean_id"]

log = logging.getLogger("jigsaw.service")
Clock = Callable[[], datetime]
SESSION_KEEP_DAYS = 7
PERSON_META = "person:"  # meta key prefix: a person's display name and role, by platform id
COVER_META = "cover"  # meta: the DSL marked away (or back) from a front end


class AlreadyDecided(ValueError):
    """The record has its sharing decision already, or is closed: there is
    nothing left to take on. ``closed`` says which."""

    def __init__(self, record_id: str, *, closed: bool = False) -> None:
        super().__init__(f"{record_id} is {'closed' if closed else 'decided already'}")
        self.record_id = record_id
        self.closed = closed


@dataclass(frozen=True)
class Cover:
    """Whether the DSL is away, and who covers (by name)."""

    away: bool
    name: str
    by: str = ""  # who marked it, from a front end ("" from the settings)
    at: str = ""


@dataclass
class Outcome:
    """An answer's effect, for a front end to show."""

    session: Session
    result: Result
    record: dict[str, Any] | None = None
    saved: bool = True  # False: kept in memory only, the store refused the write


class DecisionService:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        prompts: Prompts | None = None,
        clock: Clock = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.store = store
        self.prompts = prompts or default_prompts(settings.nation)
        self.clock = clock
        self.monotonic = monotonic  # for intervals: it never goes back
        self.flow = Flow(settings, self.prompts, clock)
        self.unsaved = Unsaved()
        # A front end's way to ask the chat service for a person's (name,
        # role), used when someone not yet named acts on a record.
        self.namer: Callable[[str], tuple[str, str] | None] | None = None
        self._writing = threading.RLock()
        # The outbox's bookkeeping and the ledger's anchor. The clock is read
        # through the service, which may be given another one after it is made.
        self.deliveries = Deliveries(store, lambda: self.clock(), unsaved=self.unsaved,
                                     write_session=self._write_session)
        self.ledger_anchor = LedgerAnchor(store, lambda: self.clock())
        from bot.schedule import FollowUps, Schedule

        self.schedule = Schedule(self)
        # Chronology, exports and the access log. The clock is read through
        # the service, which may be given another one after it is made.
        self.access = RecordAccess(settings, store, self.prompts, lambda: self.clock(),
                                   day=self.schedule.day, named=self._named)
        # The DSL's review and urgent alerts; follow-ups (bot.schedule).
        self.reviews = Reviews(settings, store, self.prompts, lambda: self.clock(),
                               access=self.access, schedule=self.schedule, named=self._named)
        self.follow_ups = FollowUps(store, lambda: self.clock(), access=self.access,
                                    schedule=self.schedule, named=self._named)

    # -- sessions ---------------------------------------------------------
    def start(self, user: str, source: str = Source.SLACK, meta: dict[str, Any] | None = None,
              *, dsl: bool = False, team_known: bool = False) -> Session:
        """A new session; any open one for the user is paused, not lost.
        ``dsl``: the person is on the DSL team. ``team_known``: the front
        end knows who is (a chat service); anyone else is staff."""
        for old in self.open_sessions(user):
            self._set_status(old.id, PAUSED)
        session = self.flow.start(user, source, dsl=dsl, team_known=team_known)
        session.meta.update(meta or {})
        self._save_new(session.to_dict())
        return session

    # -- writes the store may refuse (a full or read-only disk) ---------------
    def _save_new(self, doc: dict[str, Any]) -> bool:
        try:
            self.store.save_session(doc)
        except OSError as exc:
            self._kept(doc, exc)
            return False
        return True

    def _kept(self, doc: dict[str, Any], exc: OSError) -> None:
        self.unsaved.keep(doc)
        log.error("store write failed (%s): session kept in memory until it can be saved",
                  exc.strerror or type(exc).__name__, extra={"session_id": doc["id"]})

    def _write_session(self, session_id: str, mutate: Callable[[dict[str, Any]], Any]
                       ) -> tuple[dict[str, Any], bool]:
        """Apply ``mutate`` to a session and save it: (the session, saved).
        If the store refuses the write, the change is kept in memory (and
        the session read from there) until a later write gets through."""
        # One writer at a time in this process: two threads falling back to
        # memory together would each start from the store's older copy.
        with self._writing:
            return self._write_session_locked(session_id, mutate)

    def _write_session_locked(self, session_id: str, mutate: Callable[[dict[str, Any]], Any]
                              ) -> tuple[dict[str, Any], bool]:
        pending = self.unsaved.get(session_id)
        if pending is None:
            try:
                return self.store.update_session(session_id, mutate), True
            except OSError as exc:
                current = self.store.get_session(session_id)
                if current is None:
                    raise
                doc = _applied(mutate, current)
                self._kept(doc, exc)
                return doc, False
        doc = _applied(mutate, pending)
        self.unsaved.keep(doc)
        return doc, self._save_kept(doc)

    def _save_kept(self, doc: dict[str, Any]) -> bool:
        try:
            self.store.save_session(doc)
        except OSError:
            return False
        self.unsaved.saved(doc)
        log.info("session kept in memory is saved", extra={"session_id": doc["id"]})
        return True

    def retry_unsaved(self) -> list[Session]:
        """Save what the store refused earlier, and make the records of
        decisions finished meanwhile; returns the sessions that now have
        their record (the front end tells their owners)."""
        with self._writing:
            for doc in self.unsaved.docs():
                self._save_kept(doc)
        finished = []
        for session_id in self.unsaved.waiting():
            session = self.get(session_id)
            if session is None:
                self.unsaved.unfinished(session_id, done=True)
                continue
            session = self.finish_if_done(session)
            if session.record_id:
                finished.append(session)
        return finished

    def untold(self, user: str) -> list[str]:
        """Records of the person's own decisions they were never told were
        saved (the message failed, then the app stopped)."""
        return [str(d["record_id"]) for d in self.store.sessions_for_user(
            user, statuses=(SUBMITTED,)) if d.get("told") is False and d.get("record_id")]

    def told(self, user: str, record_id: str) -> None:
        """The person has been told their record ``record_id`` is saved."""
        for doc in self.store.sessions_for_user(user, statuses=(SUBMITTED,)):
            if doc.get("record_id") != record_id or doc.get("told") is not False:
                continue
            if all(e.get("delivered") for e in doc.get("events") or ()):
                # The record now holds everything; the hot store is rewritten
                # on every click, so it keeps only what is still in play.
                try:
                    self.store.delete_session(doc["id"])
                except OSError:
                    log.warning("could not drop a finished session",
                                extra={"session_id": doc["id"]})
            else:
                self._write_session(doc["id"], lambda d: d.update(told=True))

    def store_writable(self) -> bool:
        """Whether the store takes a write now (for the health check)."""
        try:
            self.store.set_meta("health_probe", stamp(self.clock()))
        except OSError:
            return False
        return True

    def open_sessions(self, user: str) -> list[Session]:
        docs = {d["id"]: d for d in self.store.sessions_for_user(user, statuses=OPEN_STATUSES)}
        for kept in self.unsaved.for_user(user):  # newer than the store's copy
            docs[kept["id"]] = kept
        found = [d for d in docs.values() if d.get("status") in OPEN_STATUSES]
        found.sort(key=lambda d: str(d.get("updated_at") or ""), reverse=True)
        return [Session.from_dict(d) for d in found]

    def latest_open(self, user: str) -> Session | None:
        sessions = self.open_sessions(user)
        return sessions[0] if sessions else None

    def get(self, session_id: str) -> Session | None:
        doc = self.unsaved.get(session_id) or self.store.get_session(session_id)
        return Session.from_dict(doc) if doc else None

    def resume(self, session_id: str) -> Session:
        session = self._set_status(session_id, IN_PROGRESS)
        return self.finish_if_done(session)

    def pause(self, session_id: str) -> Session:
        return self._set_status(session_id, PAUSED)

    def describe(self, session: Session) -> str:
        """What an unfinished decision was, for offering to resume it: the
        child's reference, the route and when it began, in school time."""
        a = session.known
        return self.prompts.render(
            "notices/unfinished.j2", child=a.get("child_ref", ""),
            route=route(a) if a.get("trigger") or a.get("danger") == "yes" else "",
            started=localtime.local_time(session.created_at, self.settings.timezone))

    def cancel(self, session_id: str) -> Session:
        """Cancel a decision. Once an urgent alert has been raised, a record
        exists whatever happens next: cancelling keeps an emergency record of
        what is known (its id is on the returned session)."""
        session = self._set_status(session_id, CANCELLED)
        alerted = any(e.get("kind") == "urgent_alert" for e in session.events)
        if session.status != CANCELLED or session.record_id or not alerted:
            return session
        built = records.build_alert_only(session, self.settings, self.prompts, now=self.clock(),
                                         person=self.person(session.user))
        stored = self.store.create_record(built)
        self.access.index_children(stored)

        def mutate(doc: dict[str, Any]) -> dict[str, Any]:
            doc["record_id"] = stored["id"]
            return doc

        return Session.from_dict(self._write_session(session_id, mutate)[0])

    def update_meta(self, session_id: str, **meta: Any) -> Session:
        def mutate(doc: dict[str, Any]) -> dict[str, Any]:
            doc.setdefault("meta", {}).update(meta)
            return doc

        return Session.from_dict(self._write_session(session_id, mutate)[0])

    def _set_status(self, session_id: str, status: str) -> Session:
        def mutate(doc: dict[str, Any]) -> dict[str, Any]:
            if doc["status"] in OPEN_STATUSES:
                doc["status"] = status
                doc["updated_at"] = stamp(self.clock())
            return doc

        return Session.from_dict(self._write_session(session_id, mutate)[0])

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

        doc, saved = self._write_session(session_id, mutate)
        session = Session.from_dict(doc)
        result = box["result"]
        for event in result.events if result.accepted else []:
            if event.get("kind") == "urgent_alert":
                self.reviews.schedule_escalation(session.id, event)
        rec = None
        if result.accepted and result.done:
            session = self.finish_if_done(session)
            rec = self.store.get_record(session.record_id) if session.record_id else None
            saved = saved and rec is not None
        return Outcome(session, result, rec, saved=saved and session.id not in self.unsaved)

    def back(self, session_id: str) -> Session:
        def mutate(doc: dict[str, Any]) -> dict[str, Any]:
            session = Session.from_dict(doc)
            if session.is_open:
                session.status = IN_PROGRESS
                self.flow.back(session)
            return session.to_dict()

        return Session.from_dict(self._write_session(session_id, mutate)[0])

    def finish_if_done(self, session: Session) -> Session:
        """Turn a completed session into its record, exactly once.

        The record is written first (idempotent on the session id), then the
        session is marked submitted; a crash between the two is healed the
        next time the session is touched.
        """
        if not session.is_open or not self.flow.done(session):
            return session
        built = records.build(session, self.settings, self.prompts, now=self.clock(),
                              person=self.person(session.user))
        concern_id = session.facts.get(TAKE_ON_KEY)
        try:
            if concern_id:
                stored = self._add_decision(concern_id, session, built)
            else:
                stored = self.store.create_record(built)
        except OSError as exc:
            # Nothing is lost: the answers stay (in the store or in memory)
            # and the record is made as soon as the store takes writes.
            self.unsaved.unfinished(session.id)
            log.error("store write failed (%s): the record will be made when it can be saved",
                      exc.strerror or type(exc).__name__, extra={"session_id": session.id})
            return session
        self.unsaved.unfinished(session.id, done=True)
        try:
            self.access.index_children(stored)
        except OSError:
            log.exception("could not index the record's children",
                          extra={"record_id": stored["id"]})
        # Before the session is marked submitted, so a crash in between is
        # healed the next time the session is touched.
        try:
            if (not concern_id and self.cover().away
                    and (stored.get("routing") or {}).get("to", "dsl") == "dsl"):
                self.schedule.covered(stored)
            self.schedule.track_record(stored)
        except OSError:
            log.exception("could not schedule the record's follow-through",
                          extra={"record_id": stored["id"]})

        def mutate(doc: dict[str, Any]) -> dict[str, Any]:
            doc["status"] = SUBMITTED
            doc["record_id"] = stored["id"]
            doc["told"] = False  # until the person is told it is saved (see untold)
            doc["updated_at"] = stamp(self.clock())
            return doc

        doc, _ = self._write_session(session.id, mutate)
        # Kept until the person is told (see told), so a restart in between
        # still tells them.
        return Session.from_dict(doc)

    def _add_decision(self, record_id: str, session: Session, built: dict[str, Any]
                      ) -> dict[str, Any]:
        """The DSL's decision joins the concern's record, exactly once (under
        the store's lock: a session finished twice adds it once)."""
        now = self.clock()
        taken = session.facts.get(TAKEN_KEY, "0")
        carried = {BY_ID[step].key for step in session.history[:int(taken) if taken.isdigit()
                                                               else 0] if step in BY_ID}

        def mutate(record: dict[str, Any]) -> dict[str, Any]:
            if record.get("decided_by"):
                return record
            people.note(record, session.user, self.person(session.user))
            return records.decided(record, built, by=session.user, at=now,
                                   answers=session.answers, carried=carried)

        return self.store.update_record(record_id, mutate)

    def take_on(self, record_id: str, by: str, *, source: str = Source.SLACK,
                meta: dict[str, Any] | None = None) -> Session:
        """The DSL takes a record on into the sharing decision, in a session
        of their own: a staff member's concern or request waiting for her,
        or any other record not yet decided (a low-level worry escalated to
        a decision). It starts from what was said; an open session for the
        same record carries on. Raises :class:`storage.NotFound`, or
        :class:`AlreadyDecided`."""
        record_id = clean_id(record_id)
        record = self.store.get_record(record_id)
        if record is None:
            raise NotFound(record_id)
        if record.get("status") == records.CLOSED:
            raise AlreadyDecided(record_id, closed=True)
        if not records.can_take_on(record):
            raise AlreadyDecided(record_id)
        for open_session in self.open_sessions(by):
            if open_session.facts.get(TAKE_ON_KEY) == record_id:
                return self._set_status(open_session.id, IN_PROGRESS)
        for old in self.open_sessions(by):
            self._set_status(old.id, PAUSED)
        session = self.flow.take_on(by, source, records.take_on_answers(record), record_id)
        session.meta.update(meta or {})
        self.store.save_session(session.to_dict())
        now = self.clock()
        self.store.update_record(record_id, self._named(by, lambda r: records.taken_on(
            r, by=by, at=now)))
        return session

    def prune_sessions(self, *, keep_days: int = SESSION_KEEP_DAYS) -> int:
        """Drop finished sessions after a while, so the hot store (rewritten on
        every click) stays small however long the school uses Jigsaw. The
        record of a submitted session lives on in the archive; a session with
        an undelivered alert is kept until the alert is through."""
        cutoff = stamp(self.clock() - timedelta(days=keep_days))
        pending = {s["id"] for s in self.deliveries.sessions_with_pending_events()}
        return self.store.delete_sessions([
            doc["id"] for doc in self.store.all_sessions()
            if doc["status"] in (SUBMITTED, CANCELLED) and doc["updated_at"] < cutoff
            and doc["id"] not in pending
        ])

    # -- the store at start-up -----------------------------------------------------
    def warm_up(self) -> None:
        """Build the record index now, not on the first click: in the
        background where the store can (its undelivered records ready at
        once), else before serving."""
        warm_up = getattr(self.store, "warm_up", None)
        if callable(warm_up):
            warm_up()
        else:
            self.store.count_records()

    # -- people -------------------------------------------------------------
    def know_person(self, who: str, name: str, role: str = "") -> None:
        """Remember how a person is named (from the chat service, or asked in
        the terminal); records they act on from now keep it."""
        person = {"name": people.clean(name), "role": people.clean(role)}
        try:
            if not who or not person["name"] or self.store.get_meta(PERSON_META + who) == person:
                return
            self.store.set_meta(PERSON_META + who, person)
        except OSError:  # a name never stands in the way of anything else
            log.warning("could not keep a person's name")

    def person(self, who: str) -> people.Person | None:
        """The name and role remembered for a platform id, if any."""
        try:
            found = self.store.get_meta(PERSON_META + who) if who else None
        except OSError:  # a name never stands in the way of a record
            return None
        if isinstance(found, dict) and found.get("name"):
            return found
        asked = self.namer(who) if self.namer and who else None
        if not asked or not asked[0]:
            return None
        self.know_person(who, *asked)
        return {"name": people.clean(asked[0]), "role": people.clean(asked[1])}

    def _named(self, by: str, mutate: Callable[[dict[str, Any]], dict[str, Any]]
               ) -> Callable[[dict[str, Any]], dict[str, Any]]:
        """``mutate`` with the actor's name kept in the record first, so the
        audit entry it makes seals the name too."""
        person = self.person(by)

        def named(record: dict[str, Any]) -> dict[str, Any]:
            entries, kept = len(record.get("audit") or ()), record.get("people")
            before = copy.deepcopy(kept)
            people.note(record, by, person)
            changed = mutate(record)
            if len(changed.get("audit") or ()) == entries:  # nothing done: nothing to seal
                if kept is None:
                    changed.pop("people", None)
                else:
                    changed["people"] = before
            return changed

        return named

    # -- DSL cover ------------------------------------------------------------
    def cover(self) -> Cover:
        """The DSL's cover as it stands: as last marked from a front end,
        else as the settings say."""
        s = self.settings
        name = s.covering or s.deputy.name or self.prompts.render("notices/cover_default.j2")
        try:
            kept = self.store.get_meta(COVER_META)
        except OSError:
            kept = None
        if isinstance(kept, dict) and isinstance(kept.get("away"), bool):
            return Cover(kept["away"], str(kept.get("name") or name), str(kept.get("by", "")),
                         str(kept.get("at", "")))
        return Cover(s.dsl_away, name)

    def set_cover(self, away: bool, *, by: str, allowed: bool, name: str = "") -> Cover:
        """Mark the DSL away (or back): the DSL team only; a refusal is
        logged and raises :class:`AccessDenied`."""
        self.access.log_access(by, "cover", allowed=allowed, ref="away" if away else "back")
        if not allowed:
            raise AccessDenied("cover")
        self.store.set_meta(COVER_META, {"away": away, "name": people.clean(name),
                                         "by": by, "at": stamp(self.clock())})
        return self.cover()

    def cover_notice(self, *, terminal: bool = False) -> str:
        """What staff are told while the DSL is away ("" when not). In the
        terminal nothing reaches anyone: they are told whom to go to."""
        cover = self.cover()
        return (self.prompts.render("notices/cover.j2", cover=cover, s=self.settings,
                                    terminal=terminal) if cover.away else "")

    # -- records (their review: bot.review) -------------------------------------
    def record(self, record_id: str) -> dict[str, Any] | None:
        return self.store.get_record(clean_id(record_id))

    def record_for_session(self, session_id: str) -> dict[str, Any] | None:
        """The record a finished session made, if any."""
        return self.store.record_for_session(session_id)

    # -- lists of records and the inbox --------------------------------------------
    def my_records(self, user: str, limit: int = 10) -> list[RecordSummary]:
        return self.store.list_records(recorded_by=user, limit=limit)

    def awaiting_review(self, limit: int | None = 20) -> list[RecordSummary]:
        return self.store.list_records(review_status=records.PENDING, limit=limit)

    def inbox(self, limit: int = 50) -> list[inbox.InboxItem]:
        """What waits for the DSL, urgent first: concerns and requests to
        decide (reviewed or not) and records not yet reviewed. Every front
        end lists this, only laying it out its own way."""
        ids: dict[str, None] = {}
        for status in (records.PENDING, records.ACKNOWLEDGED, records.FOLLOW_UP):
            for row in self.store.list_records(review_status=status, limit=limit * 4):
                ids[row["id"]] = None
        # The order needs a few fields of every candidate (urgency is not in
        # the index); only the items shown are read whole.
        first = inbox.queue(self.store.get_records(list(ids), inbox.QUEUE_FIELDS))[:limit]
        return inbox.items(self.store.get_records([r["id"] for r in first]), self.prompts,
                           timezone=self.settings.timezone)




def _applied(mutate: Callable[[dict[str, Any]], Any], doc: dict[str, Any]) -> dict[str, Any]:
    """``mutate`` applied to a copy of ``doc``, as the store would."""
    work = copy.deepcopy(doc)
    result = mutate(work)
    return work if result is None else result
