"""What is due to be sent, and when: escalations, reminders, follow-up
nudges and the weekly digest.

The schedule lives in the store (one small hot-store value), so it survives
a restart. A :class:`Scheduler` tick, driven by an injected clock, works out
what is due and hands each message to a :class:`Sender` (the chat front
end). Every message is claimed in the store before it is sent and marked
sent after, so it goes at most once; a message that may have gone before a
crash is looked for in the chat service before it is sent again. Nothing
here knows about Slack.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from bot import digest, followups
from bot.access import AccessDenied, RecordAccess
from bot.flow.engine import iso
from bot.schoolday import SchoolDay
from bot.steady import SteadyClock
from storage import NotFound, Store

if TYPE_CHECKING:
    from bot.service import DecisionService

log = logging.getLogger("jigsaw.schedule")

SCHEDULE_KEY = "schedule"
SENT_KEEP = timedelta(days=8)
BACKFILLED_KEY = "schedule_backfilled"
BACKFILL_DAYS = timedelta(days=30)
CHANNEL = "channel"  # a Send addressed to the DSL channel rather than a person
TERMINAL = "console:"  # people of the terminal runner: no chat to nudge them in
SCHEDULE_EVERY = 30.0  # seconds between a ticker's looks at what is due
# Finished sessions past their keep period are dropped at start-up and this
# often after, so an app that runs for months keeps no more than a week's.
PRUNE_EVERY = timedelta(hours=1)
# A message claimed but not yet marked sent is taken as still being sent (by
# this or another instance, e.g. a slow chat service) for this long; after,
# as a send a crash cut short, looked for in the chat service before a retry.
IN_FLIGHT = timedelta(minutes=2)


class SendFailed(RuntimeError):
    """The chat service did not take the message; it is tried again next tick."""


@dataclass
class Send:
    """One message to send: ``key`` is unique to it, for ever."""

    key: str
    job: str
    kind: str  # escalate | cover | unacked | followup_due | followup_overdue | digest
    to: str  # CHANNEL or a user id
    data: dict[str, Any] = field(default_factory=dict)
    files: list[tuple[str, bytes]] = field(default_factory=list)


class Sender(Protocol):
    def send(self, message: Send) -> None:
        """Send it, or raise :class:`SendFailed`."""

    def was_sent(self, message: Send) -> bool:
        """Whether the chat service already has this message (after a crash)."""


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


# -- the stored schedule ----------------------------------------------------------


def _track(jobs: dict[str, dict[str, Any]], record: dict[str, Any]) -> None:
    """One job per open follow-up of ``record``, and none for the rest."""
    open_items = {f"followup:{f.key}": f for f in followups.items(record) if not f.done}
    prefix = f"followup:{record['id']}:"
    for key in [k for k in jobs if k.startswith(prefix) and k not in open_items]:
        del jobs[key]
    for key, item in open_items.items():
        job = jobs.setdefault(key, {"kind": "followup", "sent": {}})
        job.update(item.as_dict())


def _state(raw: Any) -> dict[str, Any]:
    state = raw if isinstance(raw, dict) else {}
    state.setdefault("jobs", {})
    return state


def stored_escalations(store: Any) -> set[str]:
    """Event ids of the escalations the stored schedule holds."""
    jobs = _state(store.get_meta(SCHEDULE_KEY)).get("jobs", {})
    return {str(job.get("event_id")) for job in (jobs.values() if isinstance(jobs, dict)
                                                  else ()) if isinstance(job, dict)
            and job.get("kind") == "escalate"}


def lost_escalations(store: Any) -> list[str]:
    """Urgent alerts whose escalation the ledger says is waiting but the
    stored schedule no longer holds: deleted while still pending. The
    ledger is read before and after the schedule, so a job finished or
    added meanwhile is not taken for one deleted."""
    before = store.pending_escalations()
    stored = stored_escalations(store)
    after = store.pending_escalations()
    return sorted((before & after) - stored)


class Schedule:
    """The jobs kept in the store, changed atomically."""

    def __init__(self, service: DecisionService) -> None:
        self.service = service
        self.day = SchoolDay(service.settings)
        # Due times are kept by this clock: set the wall clock back and an
        # escalation still goes once, on time (see bot.steady).
        self.now = SteadyClock(service.clock, service.monotonic, floor=self._ledger_time)
        # Escalations the store did not take when their alert was raised
        # (disk full, database away): kept here, so the escalation never
        # depends on that write, and written at each tick until it is taken.
        self._held: dict[str, dict[str, Any]] = {}
        # Escalations in the schedule the ledger has not been told of yet
        # (its write failed): told at each tick.
        self._unnoted: set[str] = set()
        self._held_lock = threading.Lock()

    @property
    def store(self) -> Any:
        return self.service.store

    def _ledger_time(self) -> datetime | None:
        """The newest time the ledger holds: real time was at least that."""
        stamp = self.store.ledger_head()[2]
        return _parse(stamp.replace("Z", "+00:00")) if stamp else None

    def jobs(self) -> dict[str, dict[str, Any]]:
        jobs = _state(self.store.get_meta(SCHEDULE_KEY)).get("jobs", {})
        jobs = jobs if isinstance(jobs, dict) else {}
        with self._held_lock:
            for key, job in self._held.items():
                jobs.setdefault(key, dict(job))
        return jobs

    def keep_held(self) -> int:
        """Write the escalations held in memory to the store; returns how
        many are still held (the store refused again)."""
        with self._held_lock:
            held = {k: dict(v) for k, v in self._held.items()}
        if not held:
            return 0
        def change(jobs: dict[str, dict[str, Any]]) -> None:
            for key, job in held.items():
                jobs.setdefault(key, job)

        try:
            self._edit(change)
        except Exception:
            log.warning("escalations still held in memory: the store refused the write",
                        extra={"count": len(held)})
            return len(held)
        with self._held_lock:
            for key in held:
                self._held.pop(key, None)
                self._unnoted.add(str(held[key].get("event_id", "")))
            return len(self._held)

    def note_raised(self) -> None:
        """Tell the ledger of escalations now in the store (after the
        store took them: a crash between leaves the ledger behind the
        schedule, which :meth:`recover` puts right, never ahead of it)."""
        with self._held_lock:
            events = sorted(e for e in self._unnoted if e)
        if not events:
            return
        try:
            self.store.note_escalations(raised=events)
        except Exception:
            log.warning("the ledger could not be told of an escalation yet",
                        extra={"count": len(events)})
            return
        with self._held_lock:
            self._unnoted.difference_update(events)

    def _note_done(self, events: list[str]) -> None:
        """Tell the ledger these escalations are finished with, before they
        leave the schedule (so one missing from it while the ledger says it
        waits was deleted, not finished)."""
        if events:
            self.store.note_escalations(done=sorted(events))

    def _stored_escalations(self) -> set[str]:
        return stored_escalations(self.store)

    def lost(self) -> list[str]:
        return lost_escalations(self.store)

    def recover(self, now: datetime) -> list[str]:
        """At start-up: an escalation deleted from the schedule while still
        waiting is raised again (due when it always was) and logged; one in
        the schedule the ledger was not told of (a crash between the two
        writes) is told now. Returns the event ids raised again."""
        lost = self.lost()
        with self._held_lock:
            self._unnoted.update(self._stored_escalations() - self.store.pending_escalations())
        self.note_raised()
        if not lost:
            return []
        jobs = {f"escalate:{event}": self._job_again(event, now) for event in lost}

        def change(stored: dict[str, dict[str, Any]]) -> None:
            for key, job in jobs.items():
                stored.setdefault(key, job)

        self._edit(change)
        log.error("urgent alert escalations were deleted from the schedule while still "
                  "waiting: raised again (restore meta.json or look at who changed it)",
                  extra={"count": len(lost)})
        return lost

    def _job_again(self, event_id: str, now: datetime) -> dict[str, Any]:
        """The escalation job of ``event_id`` again, from the alert its
        session still holds (or due now if the session is gone)."""
        session_id = event_id.removesuffix(":urgent")
        session = self.store.get_session(session_id) or {}
        event = next((e for e in session.get("events") or ()
                      if isinstance(e, dict) and e.get("id") == event_id), {})
        at = (_parse(event["at"]) + self.day.escalation if isinstance(event.get("at"), str)
              else now)
        return {"kind": "escalate", "next_at": iso(at), "session_id": session_id,
                "event_id": event_id, "user": event.get("user", ""),
                "answer": event.get("answer", ""), "sent": {}, "raised_again": iso(now)}

    def _edit(self, change: Callable[[dict[str, dict[str, Any]]], None]) -> None:
        def mutate(raw: Any) -> dict[str, Any]:
            state = _state(raw)
            change(state["jobs"])
            return state

        self.store.update_meta(SCHEDULE_KEY, mutate)

    # -- urgent alerts -----------------------------------------------------
    def alert_raised(self, session_id: str, event: dict[str, Any]) -> None:
        # While the DSL is away, the deputies have it at once.
        # From the schedule's own time, not the event's stamp: a wall clock
        # set back before the alert must not make its escalation early.
        at = max(_parse(event["at"]), self.now.quick()) + (timedelta(0) if self.service.cover().away
                                                           else self.day.escalation)
        key = f"escalate:{event['id']}"

        job = {"kind": "escalate", "next_at": iso(at), "session_id": session_id,
               "event_id": event["id"], "user": event.get("user", ""),
               "answer": event.get("answer", ""), "sent": {}}

        def change(jobs: dict[str, dict[str, Any]]) -> None:
            jobs.setdefault(key, dict(job))

        try:
            self._edit(change)
        except Exception:
            with self._held_lock:
                self._held.setdefault(key, job)
            raise
        with self._held_lock:
            self._unnoted.add(event["id"])
        self.note_raised()

    def covered(self, record: dict[str, Any]) -> None:
        """A record for the DSL made while the DSL is away: the deputies
        covering are told at once (its id, nothing about the child)."""
        key = f"cover:{record['id']}"
        at = iso(self.now())

        def change(jobs: dict[str, dict[str, Any]]) -> None:
            jobs.setdefault(key, {"kind": "cover", "next_at": at, "record_id": record["id"],
                                  "urgent": bool(record.get("urgent")), "sent": {}})

        self._edit(change)

    def alert_acknowledged(self, event_id: str) -> bool:
        """Stop the escalation; False if there was none waiting."""
        key = f"escalate:{event_id}"
        if event_id in self._stored_escalations():
            self._note_done([event_id])
        with self._held_lock:
            found = [self._held.pop(key, None) is not None]
            self._unnoted.discard(event_id)

        def change(jobs: dict[str, dict[str, Any]]) -> None:
            found[0] = jobs.pop(key, None) is not None or found[0]

        self._edit(change)
        return found[0]

    # -- follow-ups ----------------------------------------------------------
    def track_record(self, record: dict[str, Any]) -> None:
        """Keep one job per open follow-up of the record (idempotent)."""
        self._edit(lambda jobs: _track(jobs, record))

    def backfill(self, now: datetime) -> int:
        """Once per data directory: follow-ups of records made before the
        schedule existed get their jobs. Only recent records (a follow-up
        years overdue would otherwise nudge someone every day); returns how
        many records were looked at."""
        if self.store.get_meta(BACKFILLED_KEY):
            return 0
        cutoff = iso(now - BACKFILL_DAYS)
        recent = [s["id"] for s in self.store.list_records()
                  if (s.get("created_at") or "") >= cutoff]
        found = [r for r in map(self.store.get_record, recent) if r is not None]

        def change(jobs: dict[str, dict[str, Any]]) -> None:
            for record in found:
                _track(jobs, record)

        self._edit(change)  # one write, however many records: clicks wait on it
        self.store.set_meta(BACKFILLED_KEY, iso(now))
        return len(recent)

    def follow_ups(self) -> list[followups.FollowUp]:
        """Every open follow-up, oldest due date first (no date last)."""
        found = [followups.FollowUp(record_id=j["record_id"], id=j["id"], action=j["action"],
                                    owner=j["owner"], due=j["due"], done=None)
                 for j in self.jobs().values() if j.get("kind") == "followup"]
        found.sort(key=lambda f: (f.due or "9999", f.record_id, f.id))
        return found

    # -- sending -------------------------------------------------------------
    def mark_sent(self, job_key: str, send_key: str, now: datetime) -> None:
        def change(jobs: dict[str, dict[str, Any]]) -> None:
            job = jobs.get(job_key)
            if job is not None:
                job.setdefault("sent", {})[send_key] = iso(now)

        self._edit(change)

    def sending(self, job_key: str, send_key: str, now: datetime) -> None:
        """Note that this message is being sent now (see :data:`IN_FLIGHT`)."""
        def change(jobs: dict[str, dict[str, Any]]) -> None:
            job = jobs.get(job_key)
            if job is not None:
                job.setdefault("sending", {})[send_key] = iso(now)

        self._edit(change)

    def in_flight(self, job_key: str, send_key: str, now: datetime) -> bool | None:
        """True if the message is being sent (claimed within
        :data:`IN_FLIGHT` of ``now``, either way, so a clock set back does not
        make it look stale), None if it was sent meanwhile, else False."""
        job = self.jobs().get(job_key) or {}
        if send_key in (job.get("sent") or {}):
            return None
        started = (job.get("sending") or {}).get(send_key)
        if not isinstance(started, str):
            return False
        return abs(now - _parse(started)) < IN_FLIGHT

    def attempts(self, job_key: str, send_key: str) -> int:
        job = self.jobs().get(job_key) or {}
        return int((job.get("attempts") or {}).get(send_key, 0))

    def bump(self, job_key: str, send_key: str) -> None:
        def change(jobs: dict[str, dict[str, Any]]) -> None:
            job = jobs.get(job_key)
            if job is not None:
                tries = job.setdefault("attempts", {})
                tries[send_key] = int(tries.get(send_key, 0)) + 1

        self._edit(change)

    def settle(self, now: datetime, finished: dict[str, str | None]) -> None:
        """After a tick: drop finished one-off jobs, move recurring ones on
        (``finished`` maps a job to its next time, or None to drop it), add
        the recurring jobs if missing, forget old sent marks."""
        cutoff = iso(now - SENT_KEEP)
        if not finished and self._settled(cutoff):
            return  # most ticks: nothing to change, so no copy of the schedule to make
        ending = [k for k, after in finished.items() if after is None and k.startswith("escalate:")]
        if ending:
            try:
                self._note_done([k.removeprefix("escalate:") for k in ending])
            except Exception:  # kept until the ledger can be told (sent marks stay)
                log.warning("escalations kept: the ledger could not be told they are done",
                            extra={"count": len(ending)})
                finished = {k: v for k, v in finished.items() if k not in ending}

        def change(jobs: dict[str, dict[str, Any]]) -> None:
            for key, next_at in finished.items():
                if key not in jobs:
                    continue
                if next_at is None:
                    del jobs[key]
                else:
                    jobs[key]["next_at"] = next_at
                    jobs[key]["attempts"] = {}
                    jobs[key].pop("sending", None)
            jobs.setdefault("unacked", {"kind": "unacked",
                                        "next_at": iso(self.day.next_end(now)), "sent": {}})
            jobs.setdefault("digest", {"kind": "digest",
                                       "next_at": iso(self.day.next_digest(now)), "sent": {}})
            for job in jobs.values():
                sent = job.get("sent") or {}
                job["sent"] = {k: v for k, v in sent.items() if v >= cutoff}

        self._edit(change)

    def _settled(self, cutoff: str) -> bool:
        """Whether the recurring jobs exist and no sent mark is older than
        ``cutoff``: what :meth:`settle` would otherwise put right."""
        jobs = self.jobs()
        if "unacked" not in jobs or "digest" not in jobs:
            return False
        return not any(isinstance(sent, dict) and any(v < cutoff for v in sent.values())
                       for sent in (job.get("sent") for job in jobs.values()))



class FollowUps:
    """Follow-ups done, and each person's open ones. The only door to the
    store for these."""

    def __init__(self, store: Store, clock: Callable[[], datetime], *, access: RecordAccess,
                 schedule: Schedule,
                 named: Callable[[str, Callable[[dict[str, Any]], dict[str, Any]]],
                                 Callable[[dict[str, Any]], dict[str, Any]]]) -> None:
        self.store = store
        self.clock = clock
        self.access = access  # refusals audited
        self.schedule = schedule  # the follow-ups open, school dates
        # ``mutate`` with the actor's name kept in the record first (people).
        self.named = named

    def complete_follow_up(self, record_id: str, follow_up_id: str, *, by: str,
                           is_dsl: bool) -> dict[str, Any] | None:
        """Mark a follow-up done (its owner or the DSL team may); None if it
        was done already. A refusal is audited and raises AccessDenied;
        raises NotFound / UnknownFollowUp for what does not exist."""
        now = self.clock()
        record = self.store.get_record(record_id)
        if record is None:
            if not is_dsl:  # answered as a refusal: no record-id oracle
                raise AccessDenied("follow_up_done")
            raise NotFound(record_id)
        try:
            owned = followups.find(record, follow_up_id).owned_by(by, is_dsl=False)
        except followups.UnknownFollowUp:
            if not is_dsl:
                owned = False
            else:
                raise
        if not (is_dsl or owned):
            self.access.audit_refusal(record_id, by=by, attempted="follow_up_done")
            raise AccessDenied("follow_up_done")
        changed = [False]

        def mutate(doc: dict[str, Any]) -> dict[str, Any]:
            if followups.find(doc, follow_up_id).done:
                return doc
            changed[0] = True
            return followups.mark_done(doc, follow_up_id, by=by, at=now)

        stored = self.store.update_record(record_id, self.named(by, mutate))
        self.schedule.track_record(stored)
        return stored if changed[0] else None

    def follow_ups_for(self, user: str, *, is_dsl: bool) -> list[followups.FollowUp]:
        """Open follow-ups this person owns (the DSL team's too, for the DSL)."""
        return [f for f in self.schedule.follow_ups() if f.owned_by(user, is_dsl=is_dsl)]

    def overdue_follow_ups(self) -> list[followups.FollowUp]:
        today = self.schedule.day.today(self.clock())
        return [f for f in self.schedule.follow_ups() if f.state(today) == "overdue"]


class Scheduler:
    """Runs the schedule: call :meth:`tick` (a background ticker does, every
    half minute; tests call it with a fake clock)."""

    def __init__(self, service: DecisionService, sender: Sender) -> None:
        self.service = service
        self.schedule = service.schedule
        self.day = self.schedule.day
        self.sender = sender
        self._lock = threading.Lock()
        self._recovered = False  # the first tick looks for escalations deleted meanwhile
        self._next_prune: datetime | None = None  # start-up prunes; the first tick waits

    def tick(self) -> int:
        """Send whatever is due now; returns how many messages went."""
        with self._lock:
            now = self.schedule.now()
            self._prune(now)
            if not self._recovered:
                try:
                    self.schedule.recover(now)
                    self._recovered = True
                except Exception:  # the store is away: what is due still goes
                    log.warning("could not look for escalations deleted from the schedule")
            self.schedule.keep_held()
            self.schedule.note_raised()
            self.schedule.backfill(now)
            self.schedule.settle(now, {})  # the recurring jobs exist from the first tick
            sent = 0
            finished: dict[str, str | None] = {}
            for key, job in self.schedule.jobs().items():
                try:
                    messages, after = self._due(key, job, now)
                except Exception:  # one bad job must not stop the others
                    log.exception("schedule job failed", extra={"job": key})
                    continue
                done = True
                for message in messages:
                    if message.key in (job.get("sent") or {}):
                        continue
                    if self._deliver(message, now):
                        sent += 1
                    else:
                        done = False
                if done and (after is None or isinstance(after, str)):
                    finished[key] = after
            self.schedule.settle(now, finished)
            return sent

    def _prune(self, now: datetime) -> None:
        """Drop finished sessions past their keep period, every
        :data:`PRUNE_EVERY` (start-up did it once before the first tick)."""
        if self._next_prune is None:
            self._next_prune = now + PRUNE_EVERY
        if now < self._next_prune:
            return
        self._next_prune = now + PRUNE_EVERY
        try:
            self.service.prune_sessions()
        except Exception:  # the store is away: the next hour tries again
            log.warning("could not drop finished sessions")

    # -- what is due ----------------------------------------------------------
    def _due(self, key: str, job: dict[str, Any], now: datetime
             ) -> tuple[list[Send], str | None | bool]:
        """The messages a job has due now, and what becomes of the job once
        they are all sent: a next time, None (drop it) or False (keep it)."""
        kind = job.get("kind")
        if kind == "followup":
            return self._followup(key, job, now), False
        next_at = job.get("next_at")
        if not next_at or _parse(next_at) > now:
            return [], False
        if kind == "escalate":
            return self._escalate(key, job), None
        if kind == "cover":
            data = {"record_id": job.get("record_id", ""), "covering": self.service.cover().name}
            return [Send(f"{key}:dm:{deputy}", key, "cover", deputy, data)
                    for deputy in self.service.settings.deputy_user_ids], None
        if kind == "unacked":
            return self._unacked(key, job, now), iso(self.day.next_end(now))
        if kind == "digest":
            return self._digest(key, now), iso(self.day.next_digest(now))
        return [], None  # an unknown kind (from a newer version): drop it

    def _escalate(self, key: str, job: dict[str, Any]) -> list[Send]:
        record = self.service.store.record_for_session(job["session_id"])
        if record is not None and record.get("review_status") != "pending":
            return []  # the DSL has the record in hand
        data = {"event_id": job["event_id"], "user": job.get("user", ""),
                "answer": job.get("answer", ""),
                "record_id": record["id"] if record else "",
                "minutes": int(self.day.escalation.total_seconds() // 60)}
        cover = self.service.cover()
        if cover.away:
            data["covering"] = cover.name
        messages = [Send(f"{key}:channel", key, "escalate", CHANNEL, data)]
        for deputy in self.service.settings.deputy_user_ids:
            messages.append(Send(f"{key}:dm:{deputy}", key, "escalate", deputy, data))
        return messages

    def _unacked(self, key: str, job: dict[str, Any], now: datetime) -> list[Send]:
        cutoff = job["next_at"]
        waiting = [{"id": r["id"], "created_at": r.get("created_at", "")}
                   for r in self.service.awaiting_review(limit=None)
                   if (r.get("created_at") or "") <= cutoff]
        if not waiting:
            return []
        waiting.sort(key=lambda r: r["created_at"])
        day = self.day.today(_parse(cutoff)).isoformat()
        return [Send(f"unacked:{day}", key, "unacked", CHANNEL, {"records": waiting,
                                                                  "day": day})]

    def _followup(self, key: str, job: dict[str, Any], now: datetime) -> list[Send]:
        today = self.day.today(now)
        if not self.day.is_working(today) or now < self.day.at(today, self.day.start):
            return []
        item = followups.FollowUp(record_id=job["record_id"], id=job["id"],
                                  action=job["action"], owner=job["owner"], due=job["due"],
                                  done=None)
        state = item.state(today)
        if state not in ("due", "overdue"):
            return []
        data = {**item.as_dict(), "state": state, "today": today.isoformat()}
        kind = f"followup_{state}"
        owners = ([*self.service.settings.dsl_user_ids] or [CHANNEL]
                  if item.owner == followups.DSL_OWNER else [item.owner])
        return [Send(f"{key}:{today.isoformat()}:{to}", key, kind, to, data)
                for to in owners if to == CHANNEL or not to.startswith(TERMINAL)]

    def _digest(self, key: str, now: datetime) -> list[Send]:
        numbers = digest.weekly(self.service.store.iter_records(), self.schedule.follow_ups(),
                                now=now, day=self.day)
        week = self.day.today(now).isoformat()
        return [Send(f"digest:{week}", key, "digest", CHANNEL, numbers,
                     files=[(f"digest-{week}.png",
                             digest.chart_png(numbers, self.service.prompts))])]

    # -- one message ----------------------------------------------------------
    def _deliver(self, message: Send, now: datetime) -> bool:
        """Claim, send, mark sent. False if it has to wait for another tick."""
        attempt = self.schedule.attempts(message.job, message.key)
        if attempt and self.sender.was_sent(message):
            # A refused or unanswered try may still have landed.
            self.schedule.mark_sent(message.job, message.key, now)
            return True
        claim = f"send:{message.key}" + (f"#{attempt}" if attempt else "")
        if not self.service.store.claim(claim):
            # Claimed but not marked sent: being sent now (by another
            # instance, to a slow chat service), or a crash mid-send.
            flying = self.schedule.in_flight(message.job, message.key, now)
            if flying is None:
                return True  # sent meanwhile
            if flying:
                return False  # the sender will mark it; look again next tick
            # A crash mid-send, or a failed try: look before sending again.
            if self.sender.was_sent(message):
                self.schedule.mark_sent(message.job, message.key, now)
                return True
            self.schedule.bump(message.job, message.key)
            claim = f"send:{message.key}#{attempt + 1}"
            if not self.service.store.claim(claim):
                return False
        try:
            self.schedule.sending(message.job, message.key, now)
        except Exception:  # the send never waits on this note being kept
            log.warning("could not note a send in progress", extra={"kind": message.kind})
        try:
            self.sender.send(message)
        except SendFailed as exc:
            log.warning("reminder not sent: %s", exc, extra={"kind": message.kind})
            self.schedule.bump(message.job, message.key)
            return False
        self.schedule.mark_sent(message.job, message.key, now)
        log.info("reminder sent", extra={"kind": message.kind})
        return True


class Ticker:
    """Calls :meth:`Scheduler.tick` every ``every`` seconds in a thread."""

    def __init__(self, scheduler: Scheduler, every: float = SCHEDULE_EVERY) -> None:
        self.scheduler = scheduler
        self.every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread:
            return
        self._thread = threading.Thread(target=self._run, name="jigsaw-schedule", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.scheduler.tick()
            except Exception:  # the ticker must outlive any one failure
                log.exception("schedule tick failed")
            self._stop.wait(self.every)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)
            self._thread = None
