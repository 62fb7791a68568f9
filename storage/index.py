"""In-memory index of record summaries.

Lists (App Home, review queue, outbox, retention) are answered from here
without opening the blocks; the store keeps it in step with the ledger,
which names every record any process writes.
"""

from __future__ import annotations

import heapq
import json
import re
import sys
from bisect import bisect_left, insort
from collections.abc import Iterable, Mapping
from functools import partial
from itertools import compress
from operator import eq, itemgetter
from typing import Any

from .base import SUMMARY_FIELDS, Doc, RecordQuery

RECORD_ID = re.compile(r"ISD-(\d{4})-(\d{4,})")
# Distinct values up to which a column is bucketed one value at a time.
_FEW = 8
# The year and the sequence of an id RECORD_ID matches.
_YEAR, _SEQ = itemgetter(slice(4, 8)), itemgetter(slice(9, None))

# (created_at, year, sequence): newest-first order that also sorts
# ISD-2026-10000 after ISD-2026-9999.
SortKey = tuple[str, int, int]


def parse_record_id(record_id: str) -> tuple[int, int] | None:
    """(year, sequence) of a record id, or None if it is not one."""
    match = RECORD_ID.fullmatch(record_id) if isinstance(record_id, str) else None
    return None if match is None else (int(match[1]), int(match[2]))


def format_record_id(year: int, seq: int) -> str:
    """``ISD-<year>-<nnnn>``: at least four digits, more after 9999."""
    return f"ISD-{year}-{seq:04d}"


# A summary is held as a tuple in SUMMARY_FIELDS order, with nested values
# (``delivery``) as their JSON text, in bytes. Tuples of atomic values are not tracked by the
# garbage collector, so 50,000 summaries do not lengthen its full passes
# (which otherwise pause every thread for tens of milliseconds).
Frozen = tuple[Any, ...]
_ID_AT = SUMMARY_FIELDS.index("id")
_FIELD_AT = {name: at for at, name in enumerate(SUMMARY_FIELDS)}


# Fields with few distinct values share one string object across records.
_INTERNED = {
    SUMMARY_FIELDS.index(name) for name in ("recorded_by", "decision", "status", "review_status")
}


def _freeze_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return frozen_json(value)
    return value


def frozen_json(value: Any) -> bytes:
    """A value as the index holds a nested one: its JSON text (ASCII, so
    any string survives), in bytes."""
    return json.dumps(value, separators=(",", ":")).encode("ascii")


def _thaw_value(value: Any) -> Any:
    # JSON has no bytes, so bytes always mean a nested value's JSON text.
    return json.loads(value) if isinstance(value, bytes) else value


def freeze(record: Mapping[str, Any], record_id: str) -> Frozen:
    """The :data:`SUMMARY_FIELDS` of a record, as stored in the index."""
    values = [_freeze_value(record.get(name)) for name in SUMMARY_FIELDS]
    for at in _INTERNED:
        if isinstance(values[at], str):
            values[at] = sys.intern(values[at])
    values[_ID_AT] = record_id
    return tuple(values)


def row(frozen: Frozen) -> list[Any]:
    """The summary's values in :data:`SUMMARY_FIELDS` order, as JSON."""
    return [_thaw_value(value) for value in frozen]


def thaw(frozen: Frozen) -> Doc:
    """A summary dict (missing fields are None) the caller owns."""
    return {name: _thaw_value(value) for name, value in zip(SUMMARY_FIELDS, frozen, strict=True)}


def delivery_state(record: Mapping[str, Any]) -> Any:
    """The record's ``delivery.state``, None without one (or if not text)."""
    delivery = record.get("delivery")
    state = delivery.get("state") if isinstance(delivery, dict) else None
    return state if isinstance(state, str) else None


def _field(frozen: Frozen, name: str) -> Any:
    return frozen[_FIELD_AT[name]]


class RecordIndex:
    """Summaries of every record with the lookups the store needs.

    Not thread-safe on its own: the store guards it with a lock.
    """

    def __init__(self) -> None:
        self.summaries: dict[str, Frozen] = {}
        self.by_session: dict[str, str] = {}
        self._highs: dict[int, int] = {}
        self._keys: dict[str, SortKey] = {}
        self._order: list[tuple[SortKey, str]] = []  # ascending
        self._by_recorder: dict[Any, set[str]] = {}
        self._by_review: dict[Any, set[str]] = {}
        self._by_delivery: dict[Any, set[str]] = {}

    # -- maintenance ------------------------------------------------------
    def set(self, record_id: str, record: Mapping[str, Any]) -> None:
        """Index (or re-index) one record as stored."""
        summary = freeze(record, record_id)
        if self.summaries.get(record_id) == summary:
            return
        self.remove(record_id)
        self._add(record_id, summary, delivery_state(record))

    def add_many(self, rows: Iterable[list[Any]], skip: int = 0, *, sort: bool = True) -> None:
        """Index records not yet indexed, from rows holding their summary
        values in :data:`SUMMARY_FIELDS` order after ``skip`` leading
        values: what :meth:`set` does, in one pass with the order sorted
        once, or not at all without ``sort`` (then call :meth:`sort`). Kept tight: it runs
        once for every record at start-up."""
        summaries, keys, order = self.summaries, self._keys, self._order
        highs, by_session = self._highs, self.by_session
        by_recorder, by_review, by_delivery = self._by_recorder, self._by_review, \
            self._by_delivery
        at_created, at_session = _FIELD_AT["created_at"], _FIELD_AT["session_id"]
        at_recorder, at_review = _FIELD_AT["recorded_by"], _FIELD_AT["review_status"]
        at_delivery, at_id = _FIELD_AT["delivery"], _ID_AT
        at_decision, at_status = _FIELD_AT["decision"], _FIELD_AT["status"]
        intern, match = sys.intern, RECORD_ID.fullmatch
        atomic = (str, type(None), int, float, bool)
        for values in rows:
            frozen = values[skip:] if skip else list(values)
            record_id = frozen[at_id]
            if record_id in summaries:
                self.remove(record_id)
            delivery = frozen[at_delivery]
            for at, value in enumerate(frozen):
                if type(value) not in atomic:
                    frozen[at] = frozen_json(value)
            recorder, review = frozen[at_recorder], frozen[at_review]
            if type(recorder) is str:
                frozen[at_recorder] = recorder = intern(recorder)
            if type(review) is str:
                frozen[at_review] = review = intern(review)
            if type(frozen[at_decision]) is str:
                frozen[at_decision] = intern(frozen[at_decision])
            if type(frozen[at_status]) is str:
                frozen[at_status] = intern(frozen[at_status])
            summary = tuple(frozen)
            parsed = match(record_id)
            year, seq = (int(parsed[1]), int(parsed[2])) if parsed else (0, 0)
            if seq > highs.get(year, 0):
                highs[year] = seq
            created = summary[at_created]
            key: SortKey = (created if type(created) is str else "", year, seq)
            summaries[record_id] = summary
            keys[record_id] = key
            order.append((key, record_id))
            session_id = summary[at_session]
            if type(session_id) is str:
                by_session[session_id] = record_id
            _bucket(by_recorder, recorder).add(record_id)
            _bucket(by_review, review).add(record_id)
            state = delivery.get("state") if type(delivery) is dict else None
            _bucket(by_delivery, state if type(state) is str else None).add(record_id)
        if sort:
            order.sort()

    def add_columns(self, columns: list[list[Any]], states: list[Any]) -> None:
        """Index records not yet indexed from their summaries by column
        (:data:`SUMMARY_FIELDS` order, each value as :func:`freeze` holds
        it) and their delivery states: :meth:`add_many` with the work per
        record done by the interpreter's own loops (start-up from
        ``records/index.json``). Call :meth:`sort` after."""
        ids = columns[_ID_AT]
        if not ids:
            return
        summaries = self.summaries
        if not summaries.keys().isdisjoint(ids):
            for record_id in ids:
                self.remove(record_id)
        intern = sys.intern
        for at in _INTERNED:
            column = columns[at]
            columns[at] = list(map(intern, column)) if _all_str(column) else [
                intern(v) if type(v) is str else v for v in column]
        summaries.update(zip(ids, zip(*columns, strict=True), strict=True))
        if all(map(RECORD_ID.fullmatch, ids)):
            years = list(map(int, map(_YEAR, ids)))
            seqs = list(map(int, map(_SEQ, ids)))
        else:
            parsed = [parse_record_id(rid) or (0, 0) for rid in ids]
            years, seqs = [p[0] for p in parsed], [p[1] for p in parsed]
        highs = self._highs
        for year in set(years):
            high = max(seq for y, seq in zip(years, seqs, strict=True) if y == year)
            if high > highs.get(year, 0):
                highs[year] = high
        created = columns[_FIELD_AT["created_at"]]
        if not _all_str(created):
            created = [c if type(c) is str else "" for c in created]
        keys = list(zip(created, years, seqs, strict=True))
        self._keys.update(zip(ids, keys, strict=True))
        self._order.extend(zip(keys, ids, strict=True))
        sessions = columns[_FIELD_AT["session_id"]]
        if _all_str(sessions):
            self.by_session.update(zip(sessions, ids, strict=True))
        else:
            self.by_session.update((session_id, record_id) for session_id, record_id
                                   in zip(sessions, ids, strict=True)
                                   if type(session_id) is str)
        for buckets, values in ((self._by_recorder, columns[_FIELD_AT["recorded_by"]]),
                                (self._by_review, columns[_FIELD_AT["review_status"]]),
                                (self._by_delivery, states)):
            distinct = set(values)
            if len(distinct) <= _FEW:  # one pass of the column each
                for value in distinct:
                    _bucket(buckets, value).update(compress(ids, map(partial(eq, value), values)))
                continue
            for value, record_id in zip(values, ids, strict=True):
                found = buckets.get(value)
                if found is None:
                    buckets[value] = {record_id}
                else:
                    found.add(record_id)

    def sort(self) -> None:
        """Put the order right after :meth:`add_many` calls with ``sort=False``."""
        self._order.sort()

    def frozen_items(self) -> Iterable[tuple[str, Frozen]]:
        return self.summaries.items()

    def delivery_states(self) -> dict[str, Any]:
        """Record id -> its delivery state, as indexed."""
        return {rid: state for state, ids in self._by_delivery.items() for rid in ids}

    def high(self, year: int) -> int:
        """The highest sequence number of a record indexed for ``year``."""
        return self._highs.get(year, 0)

    def years(self) -> list[int]:
        return sorted(self._highs)

    def _add(self, record_id: str, summary: Frozen, state: Any) -> None:
        year, seq = parse_record_id(record_id) or (0, 0)
        self._highs[year] = max(self._highs.get(year, 0), seq)
        created = _field(summary, "created_at")
        key: SortKey = (created if isinstance(created, str) else "", year, seq)
        self.summaries[record_id] = summary
        self._keys[record_id] = key
        insort(self._order, (key, record_id))
        session_id = _field(summary, "session_id")
        if isinstance(session_id, str):
            self.by_session[session_id] = record_id
        _bucket(self._by_recorder, _field(summary, "recorded_by")).add(record_id)
        _bucket(self._by_review, _field(summary, "review_status")).add(record_id)
        _bucket(self._by_delivery, state).add(record_id)

    def remove(self, record_id: str) -> None:
        summary = self.summaries.pop(record_id, None)
        if summary is None:
            return
        entry = (self._keys.pop(record_id), record_id)
        position = bisect_left(self._order, entry)
        if position < len(self._order) and self._order[position] == entry:
            del self._order[position]
        session_id = _field(summary, "session_id")
        if isinstance(session_id, str) and self.by_session.get(session_id) == record_id:
            del self.by_session[session_id]
        _unbucket(self._by_recorder, _field(summary, "recorded_by"), record_id)
        _unbucket(self._by_review, _field(summary, "review_status"), record_id)
        _unbucket(self._by_delivery, delivery_state(
            {"delivery": _thaw_value(_field(summary, "delivery"))}), record_id)

    # -- queries ----------------------------------------------------------
    def __len__(self) -> int:
        return len(self.summaries)

    def ids_oldest_first(self) -> list[str]:
        return [record_id for _, record_id in self._order]

    def query(self, q: RecordQuery) -> list[Doc]:
        """Matching summaries, newest first, as copies."""
        recorded_by, review_status, limit = q.recorded_by, q.review_status, q.limit
        delivery_state_not_in = q.delivery_state_not_in
        if limit is not None and limit <= 0:
            return []
        filters: list[set[str]] = []
        if recorded_by is not None:
            filters.append(self._by_recorder.get(recorded_by, set()))
        if review_status is not None:
            filters.append(self._by_review.get(review_status, set()))
        if delivery_state_not_in:
            excluded = set(delivery_state_not_in)
            filters.append(set().union(*(ids for state, ids in self._by_delivery.items()
                                         if state not in excluded)))
        if not filters:
            newest = reversed(self._order)
            picked = [rid for _, rid in (newest if limit is None else _take(newest, limit))]
            return self._copies(picked)
        smallest = min(filters, key=len)
        others = [f for f in filters if f is not smallest]
        total = len(self._order)
        # Sorting the smallest candidate set costs about its size; walking
        # the global order costs about limit * total / size. Pick the cheaper.
        if limit is None or len(smallest) ** 2 <= limit * total:
            matches = [rid for rid in smallest if all(rid in f for f in others)]
            keys = self._keys
            if limit is None:
                picked = sorted(matches, key=lambda rid: (keys[rid], rid), reverse=True)
            else:
                picked = heapq.nlargest(limit, matches, key=lambda rid: (keys[rid], rid))
            return self._copies(picked)
        picked = []
        for _, rid in reversed(self._order):
            if all(rid in f for f in filters):
                picked.append(rid)
                if len(picked) >= limit:
                    break
        return self._copies(picked)

    def _copies(self, record_ids: list[str]) -> list[Doc]:
        return [thaw(self.summaries[rid]) for rid in record_ids]


def _bucket(buckets: dict[Any, set[str]], key: Any) -> set[str]:
    found = buckets.get(key)
    if found is None:
        found = buckets[key] = set()
    return found


def _unbucket(buckets: dict[Any, set[str]], key: Any, record_id: str) -> None:
    found = buckets.get(key)
    if found is not None:
        found.discard(record_id)
        if not found:
            del buckets[key]


def _all_str(values: list[Any]) -> bool:
    return set(map(type, values)) <= {str}


def _take(items: Iterable[tuple[SortKey, str]], limit: int) -> list[tuple[SortKey, str]]:
    taken = []
    for item in items:
        taken.append(item)
        if len(taken) >= limit:
            break
    return taken
