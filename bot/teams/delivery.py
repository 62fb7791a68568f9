"""Getting records and urgent alerts into the DSL team's channel, exactly once.

The same design as Slack's (:mod:`bot.slack.delivery`): the store is written
first and Teams told afterwards; whatever is not yet in the channel is the
outbox (records whose ``delivery.state`` is not ``posted``, sessions holding
an undelivered urgent alert), retried with backoff (honouring
``Retry-After``) by a background worker, also after a restart.

Exactly once: each item is claimed in the store (:mod:`bot.claims`) before it
is posted. The activity id Teams gives back is stored with it. If a process
died after Teams accepted a post but before the id was stored, or Teams'
answer was lost, the next owner first reads the channel's recent posts (via
Graph) for the card carrying the item's id before posting again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot import claims
from bot import record as records
from bot.flow.engine import iso
from bot.service import Jigsaw
from bot.teams.cards import ALERT_MARK, RECORD_MARK, Cards
from bot.teams.connector import Connector, ConnectorError

log = logging.getLogger("jigsaw.delivery")

BACKOFF_BASE = 2.0
BACKOFF_MAX = 300.0


class ChannelUnsafe(RuntimeError):
    """No DSL channel is configured: nothing is posted anywhere else."""


@dataclass
class Attempt:
    ok: bool
    retry_after: float | None = None
    error: str = ""


class TeamsDelivery:
    """Posts to the DSL channel; retries whatever could not be posted."""

    def __init__(self, app: Jigsaw, connector: Connector, cards: Cards, *, channel: str,
                 team: str, names: Callable[[str], str],
                 on_delivered: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        self.app = app
        self.connector = connector
        self.cards = cards
        self.channel = channel
        self.team = team
        self.names = names
        self.on_delivered = on_delivered
        self.owner = claims.new_owner()
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _lock_for(self, key: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())

    def _check(self) -> None:
        if not self.channel:
            raise ChannelUnsafe("JIGSAW_TEAMS_CHANNEL is not set")

    def mention(self) -> str:
        return self.cards.t("alert_mention")

    # -- records ------------------------------------------------------------
    def deliver_record(self, record_id: str) -> bool:
        """Post one record if it is not already in the channel."""
        key = f"record:{record_id}"
        with self._lock_for(key):
            if not self._due(key):
                return False
            record = self.app.record(record_id)
            if record is None:
                return True
            if record.get("delivery", {}).get("state") in records.SETTLED_STATES:
                return True
            retried = bool(self.app.store.get_meta(f"outbox:{key}"))
            delivered = self._settle(key, self._attempt_record(record))
            if delivered and retried and self.on_delivered:
                self.on_delivered("record", record)
            return delivered

    def _attempt_record(self, record: dict[str, Any]) -> Attempt:
        record_id = record["id"]
        routing = record.get("routing") or {}
        direct = routing.get("to", "dsl") != "dsl"
        claim = None
        try:
            if not direct:
                self._check()
            claim = claims.claim_record(self.app.store, record_id, self.owner, self.app.clock())
            if claim is None:  # posted already, or another process holds it
                return Attempt(False, error="claimed by another process")
            if claim.maybe_posted and not direct:
                found = self._find_posted(f"{RECORD_MARK}{record_id}")
                if found:
                    self._mark_posted(record_id, found, self.channel)
                    return Attempt(True)
            if direct:
                # An allegation about an adult goes to the person KCSIE Part
                # four names, in their own chat, never to the DSL channel.
                conversation = self.chat_of(routing["user_id"])
                if conversation is None:
                    self._let_go(record_id, claim, maybe_posted=False)
                    return Attempt(False, error="no chat with the recipient yet")
            else:
                conversation = self.channel
            card = self.cards.record(record, review=not direct,
                                     names={record.get("recorded_by", ""):
                                            self.names(record.get("recorded_by", ""))})
            activity_id = self.connector.post(
                conversation, card, summary=self.cards.t("record_fallback", r=record))
            self._mark_posted(record_id, activity_id, conversation)
            log.info("record delivered", extra={"record_id": record_id})
            return Attempt(True)
        except ChannelUnsafe as exc:
            log.error("record held: %s", exc, extra={"record_id": record_id})
            return Attempt(False, error=str(exc))
        except ConnectorError as exc:
            self._let_go(record_id, claim, maybe_posted=True)
            log.warning("record delivery failed: %s", exc, extra={"record_id": record_id})
            return Attempt(False, retry_after=exc.retry_after, error=str(exc))

    chat_of: Callable[[str], str | None] = staticmethod(lambda _user: None)  # set by the front

    def _let_go(self, record_id: str, claim: claims.Claim | None, *, maybe_posted: bool) -> None:
        """Free the claim for whoever tries next; Teams may have posted
        despite the error, so the next try looks first."""
        if claim is not None:
            claims.release_record(self.app.store, record_id, self.owner, self.app.clock(),
                                  maybe_posted=maybe_posted)

    def _find_posted(self, mark: str) -> str | None:
        """The activity id of an earlier post carrying ``mark``, if the
        channel has one. Raises ConnectorError when it cannot look: then
        nothing is posted (a duplicate is worse than a delay)."""
        if not self.team:
            raise ConnectorError(None, error="JIGSAW_TEAMS_TEAM is not set: cannot check "
                                             "the channel before posting again")
        for message_id, content in self.connector.channel_posts(self.team, self.channel):
            if f'"{mark}"' in content:
                return message_id
        return None

    def _set_delivery(self, record_id: str, delivery: dict[str, Any]) -> None:
        def mutate(doc: dict[str, Any]) -> dict[str, Any]:
            doc["delivery"] = {**doc.get("delivery", {}), **delivery}
            return doc

        self.app.store.update_record(record_id, mutate)

    def _mark_posted(self, record_id: str, activity_id: str, conversation: str) -> None:
        # ``ts`` is the message's id, as the Slack front names it.
        self._set_delivery(record_id, {"state": "posted", "channel": conversation,
                                       "ts": activity_id, "posted_at": iso(self.app.clock())})

    # -- urgent alerts ---------------------------------------------------------
    def deliver_alert(self, session_id: str, event_id: str) -> bool:
        """Post one urgent alert if it has not been posted."""
        key = f"alert:{event_id}"
        with self._lock_for(key):
            if not self._due(key):
                return False
            session = self.app.get(session_id)
            event = next((e for e in (session.events if session else [])
                          if e["id"] == event_id), None)
            if event is None or event.get("delivered"):
                return True
            retried = bool(self.app.store.get_meta(f"outbox:{key}"))
            claim = None
            try:
                self._check()
                claim = claims.claim_alert(self.app.store, session_id, event_id, self.owner,
                                           self.app.clock())
                if claim is None:
                    return False
                if claim.maybe_posted:
                    found = self._find_posted(f"{ALERT_MARK}{event_id}")
                    if found:
                        self.app.mark_event_delivered(session_id, event_id, ts=found)
                        return self._alert_delivered(key, event, retried)
                activity_id = self.connector.post(
                    self.channel,
                    self.cards.urgent_alert(self.names(event["user"]), event["answer"],
                                            self.mention(), event_id),
                    summary=self.cards.t("alert_notification"))
                self.app.mark_event_delivered(session_id, event_id, ts=activity_id)
                log.info("urgent alert delivered", extra={"session_id": session_id})
                return self._alert_delivered(key, event, retried)
            except ChannelUnsafe as exc:
                log.error("urgent alert held: %s", exc, extra={"session_id": session_id})
                return self._settle(key, Attempt(False, error=str(exc)))
            except ConnectorError as exc:
                if claim is not None:
                    claims.release_alert(self.app.store, session_id, event_id, self.owner,
                                         self.app.clock(), maybe_posted=True)
                log.warning("urgent alert failed: %s", exc, extra={"session_id": session_id})
                return self._settle(key, Attempt(False, retry_after=exc.retry_after,
                                                 error=str(exc)))

    def _alert_delivered(self, key: str, event: dict[str, Any], retried: bool) -> bool:
        self._settle(key, Attempt(True))
        if retried and self.on_delivered:
            self.on_delivered("alert", event)
        return True

    # -- backoff (kept in the store, so it survives a restart) -------------------------
    def _due(self, key: str) -> bool:
        state = self.app.store.get_meta(f"outbox:{key}")
        return not state or state.get("next_at", 0) <= time.time()

    def _settle(self, key: str, attempt: Attempt) -> bool:
        meta_key = f"outbox:{key}"
        if attempt.ok:
            if self.app.store.get_meta(meta_key):
                self.app.store.set_meta(meta_key, None)
            return True
        state = self.app.store.get_meta(meta_key) or {"attempts": 0}
        attempts = state["attempts"] + 1
        delay = min(BACKOFF_MAX, BACKOFF_BASE ** min(attempts, 9))
        if attempt.retry_after is not None:
            delay = max(delay, attempt.retry_after)
        self.app.store.set_meta(meta_key, {"attempts": attempts, "next_at": time.time() + delay,
                                           "error": attempt.error})
        self._wake.set()
        return False

    # -- the outbox worker ---------------------------------------------------------
    def pending(self) -> list[tuple[str, str, str]]:
        items: list[tuple[str, str, str]] = []
        for session in self.app.sessions_with_pending_events():
            for event in session.get("events", []):
                if not event.get("delivered"):
                    items.append(("alert", session["id"], event["id"]))
        for summary in self.app.undelivered_records():
            items.append(("record", summary["id"], summary["id"]))
        return items

    def flush(self, *, force: bool = False) -> int:
        """Try every pending item that is due (or all, with ``force``);
        returns how many are still pending."""
        left = 0
        for kind, owner, item in self.pending():
            if force:
                meta_key = f"outbox:{kind}:{item}"
                state = self.app.store.get_meta(meta_key)
                if state:
                    self.app.store.set_meta(meta_key, {**state, "next_at": 0})
            ok = (self.deliver_alert(owner, item) if kind == "alert"
                  else self.deliver_record(item))
            left += 0 if ok else 1
        return left

    def next_wait(self) -> float:
        waits = [BACKOFF_MAX]
        now = time.time()
        for kind, _, item in self.pending():
            state = self.app.store.get_meta(f"outbox:{kind}:{item}") or {}
            waits.append(max(0.0, state.get("next_at", now) - now))
        return max(0.05, min(waits))

    def start(self) -> None:
        if self._thread:
            return
        self._thread = threading.Thread(target=self._run, name="jigsaw-teams-outbox",
                                        daemon=True)
        self._thread.start()

    def kick(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.flush()
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
