"""The storage interface every Jigsaw front end talks to.

The app never touches TinyDB directly: it speaks to a :class:`Store`. The
embedded TinyDB store is the default; a trust or local authority that outgrows
one machine can add another backend behind the same methods.

Everything crosses this boundary as plain JSON-able dicts, so storage knows
nothing about the decision flow or about Slack.

Two kinds of data, kept apart on purpose:

* **hot** data changes on every click: in-progress sessions, idempotency keys,
  outbox delivery state. It is small and rewritten often.
* the **archive** of submitted decision records grows for years. A click must
  never rewrite it, and one record's write must cost the same with 50 or
  50,000 records stored.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict, Unpack, runtime_checkable

Doc = dict[str, Any]
Mutator = Callable[[Doc], Doc | None]


class Delivery(TypedDict, total=False):
    """A record's ``delivery``: where it is in the outbox (``state``) and,
    once posted, where to (``channel``, ``ts``)."""

    state: str
    channel: str
    ts: str
    posted_at: str
    owner: str
    lease_until: str


class RecordFilters(TypedDict, total=False):
    """Plain field tests on records, all of which must hold: ``recorded_by``
    and ``review_status`` equal; ``delivery_state_not_in``: the record's
    ``delivery.state`` (None without one) is not one of those given;
    ``limit``: at most this many, newest first."""

    recorded_by: str | None
    review_status: str | None
    delivery_state_not_in: Collection[str]
    limit: int | None


@dataclass(frozen=True)
class RecordQuery:
    """:class:`RecordFilters` with their defaults, for a store to read."""

    recorded_by: str | None = None
    review_status: str | None = None
    delivery_state_not_in: Collection[str] = ()
    limit: int | None = None


class RecordSummary(TypedDict):
    """What :meth:`Store.list_records` gives for each record (a field the
    record lacks is None)."""

    id: str
    session_id: str | None
    created_at: str
    updated_at: str | None
    recorded_by: str | None
    child_ref: str | None
    decision: str | None
    status: str | None
    review_status: str | None
    delivery: Delivery | None


class SessionEvent(TypedDict, total=False):
    """An event a session holds for the outbox (an urgent alert): waiting
    while ``delivered`` is False."""

    id: str
    kind: str
    delivered: bool


class StoreError(RuntimeError):
    """The store cannot be used as it is (e.g. wrong encryption key, bad file)."""


class NotFound(KeyError):
    """No document with that id."""


@runtime_checkable
class Store(Protocol):
    """What the app needs from storage. All methods are thread-safe and every
    write is atomic: after a crash a file holds the old or the new content."""

    # -- sessions (hot) ---------------------------------------------------
    def get_session(self, session_id: str) -> Doc | None:
        """The session with this id, or None."""

    def save_session(self, session: Doc) -> None:
        """Insert or replace the session whose id is ``session["id"]``."""

    def update_session(self, session_id: str, mutate: Mutator) -> Doc:
        """Read-modify-write one session under the lock.

        ``mutate`` gets a copy and returns the new document (or mutates it in
        place and returns None). Raises :class:`NotFound` if absent."""

    def sessions_for_user(self, user_id: str, *, statuses: tuple[str, ...] = ()) -> list[Doc]:
        """The user's sessions, newest first, optionally filtered by status."""

    def delete_sessions(self, session_ids: list[str]) -> int:
        """Remove many sessions in one write; returns how many were there."""

    def all_sessions(self) -> list[Doc]:
        """Every session (for housekeeping)."""

    def delete_session(self, session_id: str) -> None:
        """Remove a session (no error if absent)."""

    # -- records (archive) ------------------------------------------------
    def create_record(self, record: Doc) -> Doc:
        """Store a new decision record and return it with its id.

        Assigns a unique ``id`` of the form ``ISD-<year>-<nnnn>`` (year from
        ``record["created_at"]``, counter per year, at least four digits).
        Idempotent on ``record["session_id"]``: if a record for that session
        already exists it is returned unchanged and nothing is written."""

    def get_record(self, record_id: str) -> Doc | None:
        """The full record, or None."""

    def get_records(self, record_ids: list[str], fields: tuple[str, ...] = ()
                    ) -> list[Doc]:
        """The records with these ids, in the order given, leaving out any
        that do not exist: one read per block (or one query), where
        get_record in a loop reads a block once per record. Given
        ``fields``, each holds only those of them it has (a copy of a few
        fields costs far less than one of the whole record)."""

    def record_for_session(self, session_id: str) -> Doc | None:
        """The record created from this session, or None."""

    def update_record(self, record_id: str, mutate: Mutator) -> Doc:
        """Read-modify-write one record under the lock (see update_session)."""

    def try_update_record(self, record_id: str, mutate: Mutator) -> Doc | None:
        """As update_record, but None at once, changing nothing, when another
        writer holds the record (a delivery claim racing another instance's)."""

    def update_records(self, record_ids: list[str], mutate: Mutator) -> list[Doc]:
        """``mutate`` applied to each record (see update_record) in one
        write: one ledger line, however many records. NotFound, changing
        nothing, if one is absent. Returns the records in the order given."""

    def list_records(self, **filters: Unpack[RecordFilters]) -> list[RecordSummary]:
        """Record summaries (see :data:`SUMMARY_FIELDS`), newest first,
        filtered as :class:`RecordFilters` says. Served from an index, so it
        stays fast with years of records."""

    def iter_records(self) -> Iterator[Doc]:
        """Every full record, oldest first (for verify, export, retention)."""

    def delete_records(self, record_ids: list[str], *,
                       note: dict[str, Any] | None = None) -> int:
        """Remove records (retention purge); returns how many were removed.

        The purge is logged in the ledger first, with ``note`` (who, why)."""

    def count_records(self) -> int:
        """How many records are stored."""

    def issued(self) -> dict[int, int]:
        """The highest record number given out so far in each year.

        Ids are never reused, so a number at or below this that is neither
        stored nor recorded as purged belongs to a record that went missing."""

    # -- integrity ----------------------------------------------------------
    def verify_integrity(self, check_record: Callable[[Doc], list[str]] | None = None,
                         anchor: tuple[int, str] | None = None) -> Any:
        """A report (``problems``, ``notes``, ``checked``, ``head``) of every
        record against its keyed chain and the ledger, and of the ledger."""

    def check_counts(self) -> None:
        """StoreError if a block holds other records than the ledger says."""

    def ledger_head(self) -> tuple[int, str, str]:
        """(number, MAC, time) of the ledger's last line."""

    def note_anchor(self, head: int, where: str, when: str = "") -> None:
        """Record that the ledger head ``head`` was anchored at ``where``
        (at ``when``, the app's time)."""

    def purges(self) -> list[dict[str, Any]]:
        """Every purge line of the ledger, oldest first (ids as runs)."""

    def last_anchor(self) -> tuple[str, str]:
        """(when the ledger head was last anchored, or "", when the ledger
        began), as the sealed ledger says."""

    def note_escalations(self, *, raised: Iterable[str] = (),
                         done: Iterable[str] = ()) -> None:
        """Tell the ledger that the escalations of these urgent alerts
        (event ids) were put in the schedule, or finished with (sent,
        acknowledged, no longer needed)."""

    def pending_escalations(self) -> set[str]:
        """Event ids whose escalation the ledger says is still in the
        schedule: one missing from it was deleted, not finished."""

    # -- idempotency and delivery state -----------------------------------
    def claim(self, key: str) -> bool:
        """True the first time ``key`` is claimed, False ever after.

        Used to drop redelivered Slack events and double clicks."""

    def get_meta(self, key: str, default: Any = None) -> Any:
        """A small hot-store value (outbox attempts, settings checks)."""

    def set_meta(self, key: str, value: Any) -> None:
        """Set a small hot-store value."""

    def update_meta(self, key: str, mutate: Callable[[Any], Any]) -> Any:
        """Read-modify-write one hot-store value under the lock: ``mutate``
        gets a copy of the value (None if unset) and returns the new one,
        which is stored and returned. Keep it pure (see update_session)."""

    def close(self) -> None:
        """Finish pending work and release files."""


# Fields the index keeps for each record: enough to render lists (App Home,
# retention, outbox) without opening the archive.
SUMMARY_FIELDS: tuple[str, ...] = tuple(RecordSummary.__annotations__)
