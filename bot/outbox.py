"""The outbox: records and urgent alerts on their way to the DSL's channel,
exactly once, whichever chat service carries them.

The store is written first; the chat service is told afterwards. Anything not
yet in the channel is, by definition, the outbox: records whose
``delivery.state`` is not settled and sessions holding an undelivered urgent
alert. A background worker retries them with backoff (honouring
``Retry-After``), including after a restart; the schedule is kept in the
store.

Exactly once: before each post the record (or alert) is claimed in the store,
``sending`` with this process as owner and a lease (:mod:`bot.claims`), so no
other process posts it meanwhile. If a process dies after the service
accepted a post but before its id was stored, or the answer leaves it
unclear, the next owner first looks in the channel for a post carrying the
item's id instead of posting again.

An urgent alert never waits for the disk: when the store is behind memory
(it refused a write), the alert goes from memory, at least once.

A front end subclasses :class:`Outbox` with the calls only it can make
(:meth:`Outbox.check_channel`, :meth:`Outbox.find_posted`,
:meth:`Outbox.open_direct`, :meth:`Outbox.post_record`,
:meth:`Outbox.post_alert`), raising :class:`PostFailed` or
:class:`ChannelUnsafe`; everything else is here, once.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot import claims
from bot import record as records
from bot.service import DecisionService

log = logging.getLogger("jigsaw.delivery")

BACKOFF_BASE = 2.0
BACKOFF_MAX = 300.0
UNSAVED_RETRY = 2.0  # seconds between tries to save what the store refused


class Kind(StrEnum):
    RECORD = "record"
    ALERT = "alert"


class ChannelUnsafe(RuntimeError):
    """The DSL channel is not set, not private, shared outside the school, or
    lacks the bot: nothing is posted anywhere else, the item waits."""


class PostFailed(Exception):
    """The chat service refused a call or never answered.

    ``maybe_posted``: the post may have gone through all the same, so the
    next try looks in the channel first.
    """

    def __init__(self, error: str, *, retry_after: float | None = None,
                 maybe_posted: bool = True) -> None:
        super().__init__(error)
        self.error = error
        self.retry_after = retry_after
        self.maybe_posted = maybe_posted


@dataclass
class Attempt:
    ok: bool
    retry_after: float | None = None
    error: str = ""


@dataclass
class Posted:
    """A record's main post; ``then`` posts what follows it (e.g. overflow
    in a thread) once the post is safely recorded."""

    conversation: str
    message_id: str
    then: Callable[[], None] | None = None


Notify = Callable[[str, dict[str, Any]], None]


class Outbox:
    """Posts to the DSL channel; retries whatever could not be posted."""

    thread_name = "jigsaw-outbox"

    def __init__(self, service: DecisionService, channel: str, *,
                 on_delivered: Notify | None = None,
                 on_saved: Callable[[Any], None] | None = None) -> None:
        self.service = service
        self.channel = channel  # the DSL channel's id in the chat service
        # Told when an item that had to be retried is through (staff were
        # told it was held), and when answers the store refused are saved.
        self.on_delivered = on_delivered
        self.on_saved = on_saved
        self.owner = claims.new_owner()
        self.wall = time.time  # the wall clock, for retry times kept in the store
        # One lock per item being delivered, gone once nobody holds it: a
        # long-running app must not keep one for every record it ever posted.
        self._locks: weakref.WeakValueDictionary[str, threading.Lock] = (
            weakref.WeakValueDictionary())
        self._locks_guard = threading.Lock()
        self._problem: str | None = None  # the unsafe channel's problem the DSL was told
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- what a front end provides ------------------------------------------
    def check_channel(self) -> None:
        """Raise :class:`ChannelUnsafe` unless records may go to the channel."""
        raise NotImplementedError

    def channel_failed(self) -> None:
        """The channel refused a post: check it again before the next."""

    def find_posted(self, kind: Kind, item_id: str) -> str | None:
        """The message id of an earlier post of this item in the channel."""
        raise NotImplementedError

    def open_direct(self, user_id: str) -> str:
        """The conversation for a record that goes to one person directly."""
        raise NotImplementedError

    def post_record(self, record: dict[str, Any], conversation: str | None, *,
                    review: bool) -> Posted:
        """Post a record (to the DSL channel when ``conversation`` is None)."""
        raise NotImplementedError

    def post_alert(self, event: dict[str, Any]) -> str:
        """Post an urgent alert to the DSL channel; its message id."""
        raise NotImplementedError

    def post_anchor(self, n: int, mac: str) -> str:
        """Post the ledger's head (its line count and last MAC) to the DSL
        channel where the data directory's writers cannot change it; the
        message id (raising :class:`PostFailed`)."""
        raise NotImplementedError

    def periodic(self) -> None:
        """Anything else the worker does on each pass: the ledger anchor."""
        self.anchor_if_due()

    # -- the ledger anchor ----------------------------------------------------
    def anchor_if_due(self, *, force: bool = False) -> str | None:
        """Once a day (or ``force``), the ledger head into the checked DSL
        channel, so ``jigsaw verify`` can tell a store cut back or put back
        from yesterday's copy; the anchor is then written to the ledger too.
        The message id when one was posted."""
        if not (force or self.service.ledger_anchor.anchor_due()):
            return None
        try:
            self.check_channel()
            n, mac = self.service.ledger_anchor.ledger_head()
            where = self.post_anchor(n, mac)
        except ChannelUnsafe as exc:
            log.error("ledger anchor held: %s", exc)
            self.channel_failed()
            return None
        except PostFailed as exc:
            log.warning("ledger anchor failed: %s", exc.error)
            return None
        self.service.ledger_anchor.anchored(n, where)
        log.info("ledger anchored in the DSL channel", extra={"count": n})
        return where

    def tell_directly(self, user_id: str, text: str) -> None:
        """A plain message to one person in their own chat with the bot
        (raising :class:`PostFailed`); used to tell the DSL that the channel
        is unsafe and items are held."""
        raise NotImplementedError

    def held_text(self, problem: str) -> str:
        """What the DSL is told when the channel is unsafe (no child details)."""
        raise NotImplementedError

    # -- an unsafe channel --------------------------------------------------
    def _held(self, exc: ChannelUnsafe) -> None:
        """Items wait; the DSL is told by direct message, once per problem
        (again only if the channel was safe in between)."""
        problem = str(exc)
        with self._locks_guard:
            if self._problem == problem:
                return
            self._problem = problem
        for user in self.service.settings.dsl_user_ids:
            try:
                self.tell_directly(user, self.held_text(problem))
            except PostFailed as failed:
                log.error("could not tell the DSL the channel is unsafe: %s", failed.error)

    def _require_channel(self) -> None:
        """Raise :class:`ChannelUnsafe` unless the channel may be posted to;
        when it may, a later problem is news the DSL is told of again."""
        self.check_channel()
        with self._locks_guard:
            self._problem = None

    def _unsafe(self, exc: ChannelUnsafe) -> None:
        self.channel_failed()
        self._held(exc)

    # -- records ----------------------------------------------------------
    def _lock_for(self, key: str) -> threading.Lock:
        with self._locks_guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = threading.Lock()
            return lock

    def deliver_record(self, record_id: str) -> bool:
        """Post one record if it is not already in the channel."""
        key = f"{Kind.RECORD}:{record_id}"
        with self._lock_for(key):
            if not self._due(key):
                return False
            record = self.service.record(record_id)
            if record is None:
                return True
            if record.get("delivery", {}).get("state") in records.SETTLED_STATES:
                return True
            retried = bool(self.service.deliveries.outbox_state(key))
            delivered = self._settle(key, self._attempt_record(record))
            if delivered and retried and self.on_delivered:
                self.on_delivered(Kind.RECORD, record)
            return delivered

    def _attempt_record(self, record: dict[str, Any]) -> Attempt:
        """One try at posting, holding the record's claim in the store."""
        record_id = record["id"]
        routing = record.get("routing") or {}
        direct = routing.get("to", "dsl") != "dsl"
        claim = None
        try:
            if direct:
                # An allegation about an adult goes to the person KCSIE Part
                # four names, never to the DSL channel (it may be about the DSL).
                conversation: str | None = self.open_direct(routing["user_id"])
            else:
                self._require_channel()
                conversation = None
            claim = claims.claim_record(self.service.store, record_id, self.owner,
                                        self.service.clock())
            if claim is None:  # posted already, or another process holds it
                return Attempt(False, error="claimed by another process")
            if claim.maybe_posted and not direct:
                found = self.find_posted(Kind.RECORD, record_id)
                if found:
                    self.service.deliveries.record_posted(record_id, found, self.channel)
                    return Attempt(True)
            posted = self.post_record(record, conversation, review=not direct)
            self.service.deliveries.record_posted(record_id, posted.message_id, posted.conversation)
            log.info("record delivered", extra={"record_id": record_id})
            if posted.then is not None:
                self._follow_up(posted.then, record_id)
            return Attempt(True)
        except ChannelUnsafe as exc:
            log.error("record held: %s", exc, extra={"record_id": record_id})
            self._unsafe(exc)
            return Attempt(False, error=str(exc))
        except PostFailed as exc:
            self._let_go_record(record_id, claim, maybe_posted=exc.maybe_posted)
            log.warning("record delivery failed: %s", exc.error, extra={"record_id": record_id})
            return Attempt(False, retry_after=exc.retry_after, error=exc.error)
        except OSError as exc:  # the store refused the claim or the posted mark
            self._let_go_record(record_id, claim, maybe_posted=True)
            log.warning("record delivery not recorded: %s", type(exc).__name__,
                        extra={"record_id": record_id})
            return Attempt(False, error=type(exc).__name__)

    @staticmethod
    def _follow_up(then: Callable[[], None], record_id: str) -> None:
        try:
            then()
        except (PostFailed, OSError) as exc:  # the record itself is in the channel
            log.error("the rest of a record was not posted: %s", exc,
                      extra={"record_id": record_id})

    def _let_go_record(self, record_id: str, claim: claims.Claim | None, *,
                       maybe_posted: bool) -> None:
        """After a failed post: free the claim for whoever tries next."""
        if claim is None:
            return
        try:
            claims.release_record(self.service.store, record_id, self.owner, self.service.clock(),
                                  maybe_posted=maybe_posted)
        except OSError:  # the lease runs out by itself; the next owner looks first
            log.warning("could not release a record claim", extra={"record_id": record_id})

    # -- urgent alerts ----------------------------------------------------
    def deliver_alert(self, session_id: str, event_id: str) -> bool:
        """Post one urgent alert if it has not been posted."""
        key = f"{Kind.ALERT}:{event_id}"
        with self._lock_for(key):
            if not self._due(key):
                return False
            session = self.service.get(session_id)
            event = next((e for e in (session.events if session else [])
                          if e["id"] == event_id), None)
            if event is None or event.get("delivered"):
                return True
            retried = bool(self.service.deliveries.outbox_state(key))
            claim = None
            # The store's copy of the session is behind memory (it refused a
            # write): a claim there would act on an old copy, so the alert goes
            # from memory. At least once: it must never wait for the disk.
            from_memory = self.service.deliveries.unsaved_session(session_id)
            try:
                self._require_channel()
                if not from_memory:
                    try:
                        claim = claims.claim_alert(self.service.store, session_id, event_id,
                                                   self.owner, self.service.clock())
                    except OSError as exc:
                        log.error("urgent alert sent without a claim: the store refused it "
                                  "(%s)", exc.strerror or type(exc).__name__,
                                  extra={"session_id": session_id})
                        from_memory = True
                if not from_memory and claim is None:  # delivered, or another process has it
                    return False
                if claim is not None and claim.maybe_posted:
                    found = self.find_posted(Kind.ALERT, event_id)
                    if found:
                        self.service.deliveries.mark_event_delivered(session_id, event_id, ts=found)
                        return self._alert_delivered(key, event, retried)
                message_id = self.post_alert(event)
                self.service.deliveries.mark_event_delivered(session_id, event_id, ts=message_id)
                log.info("urgent alert delivered", extra={"session_id": session_id})
                return self._alert_delivered(key, event, retried)
            except ChannelUnsafe as exc:
                log.error("urgent alert held: %s", exc, extra={"session_id": session_id})
                self._unsafe(exc)
                return self._settle(key, Attempt(False, error=str(exc)))
            except PostFailed as exc:
                self._let_go_alert(session_id, event_id, claim)
                log.warning("urgent alert failed: %s", exc.error,
                            extra={"session_id": session_id})
                return self._settle(key, Attempt(False, retry_after=exc.retry_after,
                                                 error=exc.error))

    def _let_go_alert(self, session_id: str, event_id: str, claim: claims.Claim | None) -> None:
        if claim is None:
            return
        try:
            claims.release_alert(self.service.store, session_id, event_id, self.owner,
                                 self.service.clock(), maybe_posted=True)
        except OSError:  # the lease runs out by itself
            log.warning("could not release an alert claim", extra={"session_id": session_id})

    def _alert_delivered(self, key: str, event: dict[str, Any], retried: bool) -> bool:
        """Settle a delivered alert; whoever was told it was held hears it is through."""
        self._settle(key, Attempt(True))
        if retried and self.on_delivered:
            self.on_delivered(Kind.ALERT, event)
        return True

    # -- backoff (kept in the store, so it survives a restart) -----------------
    def _due(self, key: str) -> bool:
        state = self.service.deliveries.outbox_state(key)
        if not state:
            return True
        wait = float(state.get("next_at", 0)) - self.wall()
        # A retry further off than it was ever put is a wall clock set back
        # since: due now, not an hour late (a DSL alert must not wait on it).
        return wait <= 0 or wait > float(state.get("delay", BACKOFF_MAX)) + 1.0

    def _settle(self, key: str, attempt: Attempt) -> bool:
        """Keep the retry schedule; best effort, as the store may refuse writes."""
        try:
            return self._keep_schedule(key, attempt)
        except OSError as exc:
            log.warning("could not keep the outbox schedule: %s", type(exc).__name__)
            self._wake.set()
            return attempt.ok

    def _keep_schedule(self, key: str, attempt: Attempt) -> bool:
        if attempt.ok:
            if self.service.deliveries.outbox_state(key):
                self.service.deliveries.set_outbox_state(key, None)
            return True
        state = self.service.deliveries.outbox_state(key) or {"attempts": 0}
        attempts = state["attempts"] + 1
        delay = min(BACKOFF_MAX, BACKOFF_BASE ** min(attempts, 9))
        if attempt.retry_after is not None:
            delay = max(delay, attempt.retry_after)
        self.service.deliveries.set_outbox_state(key, {"attempts": attempts,
                                                       "next_at": self.wall() + delay,
                                                       "delay": delay, "error": attempt.error})
        self._wake.set()
        return False

    # -- the worker -------------------------------------------------------
    def pending(self) -> list[tuple[Kind, str, str]]:
        """Everything not yet in the channel: (kind, session or record id, id)."""
        items: list[tuple[Kind, str, str]] = []
        for session in self.service.deliveries.sessions_with_pending_events():
            for event in session.get("events", []):
                if not event.get("delivered"):
                    items.append((Kind.ALERT, session["id"], event["id"]))
        for summary in self.service.deliveries.undelivered_records():
            items.append((Kind.RECORD, summary["id"], summary["id"]))
        return items

    def flush(self, *, force: bool = False) -> int:
        """Try every pending item that is due (or all, with ``force``);
        returns how many are still pending."""
        left = 0
        for kind, owner, item in self.pending():
            if force:  # due now, but still known as a retry (staff get told)
                key = f"{kind}:{item}"
                state = self.service.deliveries.outbox_state(key)
                if state:
                    self.service.deliveries.set_outbox_state(key, {**state, "next_at": 0})
            ok = (self.deliver_alert(owner, item) if kind == Kind.ALERT
                  else self.deliver_record(item))
            left += 0 if ok else 1
        return left

    def save_kept(self) -> None:
        """Save what the store refused earlier; records made now are posted,
        and their staff told, by ``on_saved``."""
        if not len(self.service.unsaved):
            return
        for session in self.service.retry_unsaved():
            if self.on_saved:
                self.on_saved(session)

    def next_wait(self) -> float:
        """Seconds until the earliest retry is due (capped)."""
        waits = [BACKOFF_MAX if not len(self.service.unsaved) else UNSAVED_RETRY]
        now = self.wall()
        for kind, _, item in self.pending():
            state = self.service.deliveries.outbox_state(f"{kind}:{item}") or {}
            wait = max(0.0, state.get("next_at", now) - now)
            waits.append(0.0 if wait > float(state.get("delay", BACKOFF_MAX)) + 1.0 else wait)
        return max(0.05, min(waits))

    def start(self) -> None:
        """Run the outbox in a background thread until :meth:`stop`."""
        if self._thread:
            return
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def kick(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.save_kept()
                self.flush()
                self.periodic()
                wait = self.next_wait()
            except Exception:  # the worker must outlive any one failure
                log.exception("outbox pass failed")
                wait = BACKOFF_BASE
            self._wake.wait(timeout=wait)
            self._wake.clear()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)
            self._thread = None
