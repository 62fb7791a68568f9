"""Outbox bookkeeping and the ledger's anchor: what the outbox still has
to deliver, where it was delivered, each item's retry schedule, requests
claimed once; and when the ledger head is next anchored in the DSL
channel. The only door to the store for these; it knows nothing about
any chat service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from bot import record as records
from bot.flow.engine import iso
from bot.unsaved import Unsaved
from storage import RecordSummary, SessionEvent, Store

__all__ = ["Deliveries", "LedgerAnchor", "has_pending_event"]

Clock = Callable[[], datetime]
ANCHOR_EVERY = timedelta(days=1)
LAST_ANCHOR = "anchor:last"  # meta: when the ledger head was last anchored
OUTBOX_META = "outbox:"  # meta key prefix of each outbox item's retry schedule


class Deliveries:
    """The outbox's bookkeeping in the store: alerts and records not yet
    delivered, where they went, each item's retry schedule."""

    def __init__(self, store: Store, clock: Clock, *, unsaved: Unsaved,
                 write_session: Callable[[str, Callable[[dict[str, Any]], Any]], Any]) -> None:
        self.store = store
        self.clock = clock
        self.unsaved = unsaved  # sessions kept in memory while the store refuses writes
        # A session changed under the store's lock (kept in memory if refused).
        self.write_session = write_session

    def sessions_with_pending_events(self) -> list[dict[str, Any]]:
        """Sessions holding an event (an urgent alert) not yet delivered,
        oldest first, so the longest-waiting alert is retried first."""
        found = [doc for doc in self.store.all_sessions() if has_pending_event(doc)]
        found.sort(key=lambda doc: str(doc.get("updated_at") or ""))
        return found

    def undelivered_records(self) -> list[RecordSummary]:
        """Records the outbox still has to post (newest first)."""
        return self.store.list_records(delivery_state_not_in=records.SETTLED_STATES)

    def mark_event_delivered(self, session_id: str, event_id: str, **info: Any) -> None:
        def mutate(doc: dict[str, Any]) -> dict[str, Any]:
            for event in doc.get("events", []):
                if event["id"] == event_id:
                    event["delivered"] = True
                    event.update(info)
            return doc

        self.write_session(session_id, mutate)

    def unsaved_session(self, session_id: str) -> bool:
        """Whether the store's copy of a session is behind the one in memory
        (a delivery claim in the store would then act on an old copy)."""
        return session_id in self.unsaved

    def outbox_state(self, key: str) -> dict[str, Any] | None:
        """An outbox item's retry schedule (attempts, next try, last error)."""
        state = self.store.get_meta(f"{OUTBOX_META}{key}")
        return state if isinstance(state, dict) else None

    def set_outbox_state(self, key: str, state: dict[str, Any] | None) -> None:
        self.store.set_meta(f"{OUTBOX_META}{key}", state)

    def record_posted(self, record_id: str, message_id: str, conversation: str) -> None:
        """A record is in the chat service: where, and the message's id (for
        updating it in place when it is reviewed)."""
        delivery = {"state": "posted", "channel": conversation, "ts": message_id,
                    "posted_at": iso(self.clock())}

        def mutate(doc: dict[str, Any]) -> dict[str, Any]:
            doc["delivery"] = {**doc.get("delivery", {}), **delivery}
            return doc

        self.store.update_record(record_id, mutate)

    def reach(self, source: str, user: str) -> dict[str, str] | None:
        """Where a chat service last said a person can be reached (a chat
        service that cannot open a chat itself keeps this)."""
        found = self.store.get_meta(f"{source}:chat:{user}")
        return found if isinstance(found, dict) else None

    def keep_reach(self, source: str, user: str, entry: dict[str, str]) -> None:
        self.store.set_meta(f"{source}:chat:{user}", entry)

    def claim_once(self, key: str) -> bool:
        """True the first time ``key`` is claimed, in any process, ever: a
        request the chat service delivers again is then recognised."""
        return self.store.claim(key)


class LedgerAnchor:
    """When the ledger head is due to be anchored outside the store, and
    what was anchored where."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def anchor_due(self) -> bool:
        """A day since the ledger head was last anchored in the DSL channel,
        as the sealed ledger says, so editing a settings file cannot put
        anchoring off. A new store's first day starts at the first check
        (kept in meta; a time there a day or more from the clock, either
        way, is due)."""
        anchored, _ = self.store.last_anchor()
        if anchored:
            try:
                since = datetime.fromisoformat(anchored.replace("Z", "+00:00"))
            except ValueError:
                return True
            return self.clock() - since >= ANCHOR_EVERY
        last = self.store.get_meta(LAST_ANCHOR)
        if not last:
            self.store.set_meta(LAST_ANCHOR, {"at": iso(self.clock())})
            return False
        try:
            first = datetime.fromisoformat(str(last.get("at", "")).replace("Z", "+00:00"))
        except ValueError:
            return True
        return abs(self.clock() - first) >= ANCHOR_EVERY

    def ledger_head(self) -> tuple[int, str]:
        """The ledger's line count and the MAC of its last line."""
        n, mac, _ = self.store.ledger_head()
        return n, mac

    def anchored(self, n: int, where: str) -> None:
        """The ledger head ``n`` is now anchored at ``where`` (a message id)."""
        self.store.note_anchor(n, where, iso(self.clock()))
        self.store.set_meta(LAST_ANCHOR, {"n": n, "ts": where, "at": iso(self.clock())})


def has_pending_event(session: dict[str, Any]) -> bool:
    """True if the session holds an event the outbox has not delivered."""
    events: list[SessionEvent] = [
        cast(SessionEvent, e) for e in session.get("events") or () if isinstance(e, dict)]
    return any(event.get("delivered") is False for event in events)
