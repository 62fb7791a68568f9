"""Delivery claims kept in the store: one process at a time posts an item.

A per-process lock cannot stop two processes (or an app and a stale copy of
it) from posting the same record when Slack refuses early attempts. So the
item itself says who is posting it: ``pending`` becomes ``sending`` with an
``owner`` and a lease, under the store's write lock, which holds across
processes. Only the owner posts. If it dies, the lease runs out and another
process takes over, first looking in the channel for a post that got
through.

Plain functions over a :class:`storage.Store`: nothing here knows Slack.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.flow.engine import iso
from storage import Store

# Longer than one attempt can take (a post, a thread, a history look-up,
# each with the client's timeout), so a live owner never loses its claim.
LEASE = timedelta(seconds=120)


@dataclass
class Claim:
    """This process may post the item. ``maybe_posted``: an earlier attempt
    may have reached Slack, so look in the channel before posting."""

    maybe_posted: bool


def new_owner() -> str:
    """An id for one delivering process (host, pid and a random part, so a
    restarted process with a reused pid is still someone else)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def holder_gone(holder: str) -> bool:
    """True if ``holder`` was a process on this machine that is no longer
    running: its claim need not wait for the lease (a restart after a crash
    delivers at once). A process elsewhere is trusted until its lease ends."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():  # this process (or an earlier one with its pid): wait
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _take(state: dict[str, Any], owner: str, now: datetime, lease: timedelta
          ) -> tuple[dict[str, Any], Claim] | None:
    """The claimed version of a delivery state, or None if someone else holds it."""
    holder = state.get("owner")
    # A lease ending more than a whole lease from now was given by a clock
    # since set back: it has run out (the post is looked for before a retry).
    until = str(state.get("lease_until", ""))
    if (state.get("state") == "sending" and holder and holder != owner
            and iso(now) < until <= iso(now + lease)
            and not holder_gone(str(holder))):
        return None
    claim = Claim(maybe_posted=state.get("state") == "sending")
    return {**state, "state": "sending", "owner": owner,
            "lease_until": iso(now + lease)}, claim


def _let_go(state: dict[str, Any], owner: str, now: datetime, maybe_posted: bool
            ) -> dict[str, Any]:
    if state.get("state") != "sending" or state.get("owner") != owner:
        return state
    if maybe_posted:  # the post may be in the channel: whoever is next looks first
        return {**state, "lease_until": iso(now)}
    return {k: v for k, v in state.items() if k not in ("owner", "lease_until")} | {
        "state": "pending"}


def claim_record(store: Store, record_id: str, owner: str, now: datetime,
                 lease: timedelta = LEASE) -> Claim | None:
    """Claim a record's post; None if it is posted or another live process
    holds it."""
    box: list[Claim] = []

    def mutate(doc: dict[str, Any]) -> dict[str, Any]:
        state = dict(doc.get("delivery") or {})
        if state.get("state") == "posted":
            return doc
        taken = _take(state, owner, now, lease)
        if taken is not None:
            doc["delivery"], claim = taken
            box.append(claim)
        return doc

    # Skipped, not waited for, while another instance is claiming it (on
    # PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED).
    store.try_update_record(record_id, mutate)
    return box[0] if box else None


def release_record(store: Store, record_id: str, owner: str, now: datetime, *,
                   maybe_posted: bool) -> None:
    """Give up a claim after a failed attempt: back to ``pending`` when Slack
    certainly did not post, else left ``sending`` with the lease ended."""
    def mutate(doc: dict[str, Any]) -> dict[str, Any]:
        doc["delivery"] = _let_go(dict(doc.get("delivery") or {}), owner, now, maybe_posted)
        return doc

    store.update_record(record_id, mutate)


def _on_event(store: Store, session_id: str, event_id: str,
              change: Callable[[dict[str, Any]], None]) -> None:
    def mutate(doc: dict[str, Any]) -> dict[str, Any]:
        for event in doc.get("events", []):
            if event.get("id") == event_id:
                change(event)
        return doc

    store.update_session(session_id, mutate)


def claim_alert(store: Store, session_id: str, event_id: str, owner: str, now: datetime,
                lease: timedelta = LEASE) -> Claim | None:
    """Claim an urgent alert's post (kept on the session's event)."""
    box: list[Claim] = []

    def change(event: dict[str, Any]) -> None:
        if event.get("delivered"):
            return
        state = dict(event.get("claim") or {})
        state["state"] = "sending" if event.get("sending") else "pending"
        taken = _take(state, owner, now, lease)
        if taken is not None:
            new, claim = taken
            event["sending"] = True
            event["claim"] = {"owner": new["owner"], "lease_until": new["lease_until"]}
            box.append(claim)

    _on_event(store, session_id, event_id, change)
    return box[0] if box else None


def release_alert(store: Store, session_id: str, event_id: str, owner: str, now: datetime,
                  *, maybe_posted: bool) -> None:
    """Give up an alert's claim (see :func:`release_record`)."""
    def change(event: dict[str, Any]) -> None:
        claim = event.get("claim") or {}
        if event.get("delivered") or claim.get("owner") != owner:
            return
        if maybe_posted:
            event["claim"] = {**claim, "lease_until": iso(now)}
        else:
            event["sending"] = False
            event.pop("claim", None)

    _on_event(store, session_id, event_id, change)
