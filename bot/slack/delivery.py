"""Getting records and urgent alerts into the DSL channel, exactly once.

The store is written first; Slack is told afterwards. Anything not yet in the
channel is, by definition, the outbox: records whose ``delivery.state`` is not
``posted`` and sessions holding an undelivered urgent alert. A background
worker retries them with backoff (honouring ``Retry-After``), including after
a restart.

Exactly once: before each post the record (or alert) is claimed in the store,
``sending`` with this process as owner and a lease (:mod:`bot.claims`), so
no other process posts it meanwhile, whatever it sees. If a process dies
after Slack accepted the post but before we stored its ``ts``, or Slack's
answer leaves it unclear, the next owner (after the lease) first looks in the
channel's history for a message carrying the id in its metadata, instead of
posting again.

Once a day the ledger's head is anchored in the channel too (:mod:`anchor`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot import claims
from bot import record as records
from bot.flow.engine import iso
from bot.service import Jigsaw
from bot.slack.anchor import Anchor
from bot.slack.blocks import Blocks

log = logging.getLogger("jigsaw.delivery")

RECORD_EVENT = "jigsaw_record"
ALERT_EVENT = "jigsaw_alert"
BACKOFF_BASE = 2.0
BACKOFF_MAX = 300.0
UNSAVED_RETRY = 2.0  # seconds between tries to save what the store refused


class ChannelUnsafe(RuntimeError):
    """The configured DSL channel is missing, public, or lacks the bot."""


@dataclass
class Attempt:
    ok: bool
    retry_after: float | None = None
    error: str = ""


class ChannelGuard:
    """Checks, once, that the DSL channel is private and the bot is in it.

    Records are never posted anywhere else: if the check fails they wait in
    the outbox and the log says why.
    """

    def __init__(self, client: WebClient, channel: str) -> None:
        self.client = client
        self.channel = channel
        self._checked = False
        self._lock = threading.Lock()

    def check(self, *, force: bool = False) -> None:
        with self._lock:
            if self._checked and not force:
                return
            if not self.channel:
                raise ChannelUnsafe("JIGSAW_DSL_CHANNEL is not set")
            try:
                info = self.client.conversations_info(channel=self.channel)["channel"]
            except SlackApiError as exc:
                raise ChannelUnsafe(
                    f"cannot see DSL channel {self.channel}: {exc.response.get('error')}"
                ) from exc
            except (SlackClientError, OSError, ValueError) as exc:
                raise ChannelUnsafe(
                    f"cannot check DSL channel {self.channel} now: {type(exc).__name__}"
                ) from exc
            if not info.get("is_private") or info.get("is_im") or info.get("is_mpim"):
                raise ChannelUnsafe(f"DSL channel {self.channel} is not a private channel")
            if not info.get("is_member", True):
                raise ChannelUnsafe(f"the bot is not a member of DSL channel {self.channel}")
            self._checked = True

    def reset(self) -> None:
        with self._lock:
            self._checked = False


class Delivery:
    """Posts to the DSL channel; retries whatever could not be posted."""

    def __init__(self, app: Jigsaw, client: WebClient, blocks: Blocks,
                 *, on_delivered: Callable[[str, dict[str, Any]], None] | None = None,
                 on_saved: Callable[[Any], None] | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.client = client
        self.blocks = blocks
        self.channel = app.settings.dsl_channel
        self.guard = ChannelGuard(client, self.channel)
        self.on_delivered = on_delivered
        self.on_saved = on_saved
        self.monotonic = monotonic
        self.owner = claims.new_owner()
        self.anchor = Anchor(app, client, blocks, self.channel)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- mentions ---------------------------------------------------------
    def dsl_mention(self) -> str:
        ids = self.app.settings.dsl_user_ids
        return " ".join(f"<@{u}>" for u in ids) if ids else "<!channel>"

    # -- one delivery -----------------------------------------------------
    def _lock_for(self, key: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())

    def deliver_record(self, record_id: str) -> bool:
        """Post one record if it is not already in the channel."""
        key = f"record:{record_id}"
        with self._lock_for(key):
            if not self._due(key):
                return False
            record = self.app.record(record_id)
            if record is None:
                return True
            state = record.get("delivery", {}).get("state")
            if state in records.SETTLED_STATES:
                return True
            retried = bool(self.app.store.get_meta(f"outbox:{key}"))
            attempt = self._attempt_record(record, state == "sending")
            delivered = self._settle(key, attempt)
            if delivered and retried and self.on_delivered:
                self.on_delivered("record", record)
            return delivered

    def _attempt_record(self, record: dict[str, Any], maybe_posted: bool) -> Attempt:
        """One try at posting, holding the record's claim in the store.
        (``maybe_posted`` is decided by the claim, which sees what every
        process wrote.)"""
        record_id = record["id"]
        routing = record.get("routing") or {}
        if routing.get("to", "dsl") != "dsl":
            return self._attempt_direct(record, routing["user_id"])
        store = self.app.store
        claim = None
        try:
            self.guard.check()
            claim = claims.claim_record(store, record_id, self.owner, self.app.clock())
            if claim is None:  # posted already, or another process holds it
                return Attempt(False, error="claimed by another process")
            if claim.maybe_posted:
                found = self._find_posted(RECORD_EVENT, "record_id", record_id)
                if found:
                    self._mark_posted(record_id, found)
                    return Attempt(True)
            self._post(record, self.channel, review=True)
            log.info("record delivered", extra={"record_id": record_id})
            return Attempt(True)
        except ChannelUnsafe as exc:
            log.error("record held: %s", exc, extra={"record_id": record_id})
            self.guard.reset()
            return Attempt(False, error=str(exc))
        except (SlackClientError, OSError, TimeoutError) as exc:
            return self._record_failed(record_id, claim, exc)

    def _post(self, record: dict[str, Any], channel: str, *, review: bool) -> None:
        """Post a record (claimed ``sending`` first), its overflow in the thread."""
        record_id = record["id"]
        main, replies = self.blocks.record_message(record, review=review)
        response = self.client.chat_postMessage(
            channel=channel,
            text=self.blocks.t("record_fallback", r=record),
            blocks=main,
            metadata={"event_type": RECORD_EVENT, "event_payload": {"record_id": record_id}},
            unfurl_links=False,
            unfurl_media=False,
        )
        ts = response["ts"]
        self._mark_posted(record_id, ts, channel)
        for reply in replies:
            self.client.chat_postMessage(channel=channel, thread_ts=ts,
                                         text=self.blocks.t("record_more", r=record),
                                         blocks=reply)

    def _attempt_direct(self, record: dict[str, Any], user_id: str) -> Attempt:
        """An allegation about an adult goes to the person KCSIE Part four
        names, by DM, never to the DSL channel (it may be about the DSL)."""
        record_id = record["id"]
        claim = None
        try:
            channel = self.client.conversations_open(users=user_id)["channel"]["id"]
            claim = claims.claim_record(self.app.store, record_id, self.owner, self.app.clock())
            if claim is None:  # posted already, or another process holds it
                return Attempt(False, error="claimed by another process")
            self._post(record, channel, review=False)
            return Attempt(True)
        except (SlackClientError, OSError, TimeoutError) as exc:
            return self._record_failed(record_id, claim, exc)

    def _record_failed(self, record_id: str, claim: claims.Claim | None,
                       exc: Exception) -> Attempt:
        """A post that Slack refused or never answered: free the claim and
        say when to try again."""
        self._let_go(record_id, claim)
        if isinstance(exc, SlackApiError):
            return self._failed(exc, record_id=record_id)
        log.warning("record delivery failed: %s", type(exc).__name__,
                    extra={"record_id": record_id})
        return Attempt(False, error=type(exc).__name__)

    def _let_go(self, record_id: str, claim: claims.Claim | None) -> None:
        """After a failed post: free the claim for whoever tries next. Slack
        may have posted despite the error, so the next try looks first."""
        if claim is not None:
            try:
                claims.release_record(self.app.store, record_id, self.owner, self.app.clock(),
                                      maybe_posted=True)
            except OSError:  # the lease runs out by itself; the next owner looks first
                log.warning("could not release a record claim", extra={"record_id": record_id})

    def _failed(self, exc: SlackApiError, **ids: str) -> Attempt:
        response = exc.response
        error = response.get("error") if response is not None else "error"
        retry_after = None
        if response is not None and response.status_code == 429:
            try:
                retry_after = float(response.headers.get("Retry-After", "1"))
            except (TypeError, ValueError):
                retry_after = 1.0
        if error in ("not_in_channel", "channel_not_found", "is_archived"):
            self.guard.reset()
        log.warning("delivery failed: %s", error, extra=ids)
        return Attempt(False, retry_after=retry_after, error=str(error))

    def _find_posted(self, event_type: str, field: str, value: str) -> str | None:
        """The ts of an earlier post carrying this id, if Slack has one."""
        cursor = None
        for _ in range(5):  # recent history is enough: a retry is minutes late
            response = self.client.conversations_history(
                channel=self.channel, limit=200, include_all_metadata=True, cursor=cursor)
            for message in response.get("messages", []):
                meta = message.get("metadata") or {}
                if (meta.get("event_type") == event_type
                        and (meta.get("event_payload") or {}).get(field) == value):
                    return message["ts"]
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        return None

    def _set_delivery(self, record_id: str, delivery: dict[str, Any]) -> None:
        def mutate(doc: dict[str, Any]) -> dict[str, Any]:
            doc["delivery"] = {**doc.get("delivery", {}), **delivery}
            return doc

        self.app.store.update_record(record_id, mutate)

    def _mark_posted(self, record_id: str, ts: str, channel: str | None = None) -> None:
        self._set_delivery(record_id, {"state": "posted", "channel": channel or self.channel,
                                       "ts": ts, "posted_at": iso(self.app.clock())})

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
            # The store's copy of the session is behind memory (it refused a
            # write): a claim there would act on an old copy, so the alert goes
            # from memory. At least once: it must never wait for the disk.
            from_memory = self.app.unsaved_session(session_id)
            try:
                self.guard.check()
                if not from_memory:
                    try:
                        claim = claims.claim_alert(self.app.store, session_id, event_id,
                                                   self.owner, self.app.clock())
                    except OSError as exc:
                        log.error("urgent alert sent without a claim: the store refused it "
                                  "(%s)", exc.strerror or type(exc).__name__,
                                  extra={"session_id": session_id})
                        from_memory = True
                if not from_memory and claim is None:  # delivered, or another process has it
                    return False
                if claim is not None and claim.maybe_posted:
                    found = self._find_posted(ALERT_EVENT, "event_id", event_id)
                    if found:
                        self.app.mark_event_delivered(session_id, event_id, ts=found)
                        return self._alert_delivered(key, event, retried)
                response = self.client.chat_postMessage(
                    channel=self.channel,
                    text=self.blocks.t("alert_fallback"),
                    blocks=self.blocks.urgent_alert(event["user"], event["answer"],
                                                    self.dsl_mention(), event_id),
                    metadata={"event_type": ALERT_EVENT, "event_payload": {"event_id": event_id}},
                )
                self.app.mark_event_delivered(session_id, event_id, ts=response["ts"])
                log.info("urgent alert delivered", extra={"session_id": session_id})
                return self._alert_delivered(key, event, retried)
            except ChannelUnsafe as exc:
                log.error("urgent alert held: %s", exc, extra={"session_id": session_id})
                self.guard.reset()
                return self._settle(key, Attempt(False, error=str(exc)))
            except SlackApiError as exc:
                self._let_go_alert(session_id, event_id, claim)
                return self._settle(key, self._failed(exc, session_id=session_id))
            except (SlackClientError, OSError, TimeoutError) as exc:
                self._let_go_alert(session_id, event_id, claim)
                log.warning("urgent alert failed: %s", type(exc).__name__,
                            extra={"session_id": session_id})
                return self._settle(key, Attempt(False, error=type(exc).__name__))

    def _let_go_alert(self, session_id: str, event_id: str, claim: claims.Claim | None) -> None:
        if claim is not None:
            try:
                claims.release_alert(self.app.store, session_id, event_id, self.owner,
                                     self.app.clock(), maybe_posted=True)
            except OSError:  # the lease runs out by itself
                log.warning("could not release an alert claim", extra={"session_id": session_id})

    def _alert_delivered(self, key: str, event: dict[str, Any], retried: bool) -> bool:
        """Settle a delivered alert; whoever was told it was held hears it is through."""
        self._settle(key, Attempt(True))
        if retried and self.on_delivered:
            self.on_delivered("alert", event)
        return True

    # -- backoff ----------------------------------------------------------
    def _due(self, key: str) -> bool:
        state = self.app.store.get_meta(f"outbox:{key}")
        return not state or state.get("next_at", 0) <= time.time()

    def _settle(self, key: str, attempt: Attempt) -> bool:
        """Keep the retry schedule; best effort, as the store may refuse writes."""
        try:
            return self._keep_schedule(key, attempt)
        except OSError as exc:
            log.warning("could not keep the outbox schedule: %s", type(exc).__name__)
            self._wake.set()
            return attempt.ok

    def _keep_schedule(self, key: str, attempt: Attempt) -> bool:
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

    # -- the outbox worker ----------------------------------------------------
    def pending(self) -> list[tuple[str, str, str]]:
        """Everything not yet in the channel: (kind, key, id)."""
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
            if force:  # due now, but still known as a retry (staff get told)
                meta_key = f"outbox:{kind}:{item}"
                state = self.app.store.get_meta(meta_key)
                if state:
                    self.app.store.set_meta(meta_key, {**state, "next_at": 0})
            ok = (self.deliver_alert(owner, item) if kind == "alert"
                  else self.deliver_record(item))
            left += 0 if ok else 1
        return left

    def save_kept(self) -> None:
        """Save what the store refused earlier; records made now are posted,
        and their staff told, by ``on_saved``."""
        if not len(self.app.unsaved):
            return
        for session in self.app.retry_unsaved():
            if self.on_saved:
                self.on_saved(session)

    def next_wait(self) -> float:
        """Seconds until the earliest retry is due (capped)."""
        waits = [BACKOFF_MAX if not len(self.app.unsaved) else UNSAVED_RETRY]
        now = time.time()
        for kind, _, item in self.pending():
            state = self.app.store.get_meta(f"outbox:{kind}:{item}") or {}
            waits.append(max(0.0, state.get("next_at", now) - now))
        return max(0.05, min(waits))

    def anchor_if_due(self, *, force: bool = False) -> str | None:
        """Post the ledger head to the channel once a day (see
        :mod:`bot.slack.anchor`); the message ts when one was posted."""
        if not (force or self.anchor.due()):
            return None
        try:
            self.guard.check()
            return self.anchor.post(force=force)
        except ChannelUnsafe as exc:
            log.error("ledger anchor held: %s", exc)
            self.guard.reset()
        except SlackApiError as exc:
            log.warning("ledger anchor failed: %s", exc.response.get("error"))
        except (SlackClientError, OSError, TimeoutError) as exc:
            log.warning("ledger anchor failed: %s", type(exc).__name__)
        return None

    def start(self) -> None:
        """Run the outbox in a background thread until :meth:`stop`."""
        if self._thread:
            return
        self._thread = threading.Thread(target=self._run, name="jigsaw-outbox", daemon=True)
        self._thread.start()

    def kick(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.save_kept()
                self.flush()
                self.anchor_if_due()
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
