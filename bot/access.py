"""Chronology, exports and the access log: what the DSL team sees of the
records, each view, export and refusal audited. The only door to the store
for these; it knows nothing about any chat service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from bot import chronology
from bot import record as records
from bot.config import Settings
from bot.flow.engine import stamp
from bot.prompts import Prompts
from bot.schoolday import SchoolDay
from storage import NotFound, Store

__all__ = ["ACCESS_LOG", "CHILD_INDEX", "AccessDenied", "RecordAccess", "within"]

Clock = Callable[[], datetime]
Mutate = Callable[[dict[str, Any]], dict[str, Any]]
ACCESS_LOG = "access_log"
ACCESS_LOG_KEEP = 2000
REFUSALS_COUNTED = "refusals:counted"  # meta: refusals beyond the audited few, per hour
REFUSAL_WINDOW = timedelta(hours=1)
# meta: every child reference a record names (the subject and the other
# children) -> the ids of those records, so a chronology or a DSL view finds
# a second child without reading every record. Absent in a store made before
# it: built once, from the records, the first time it is needed.
CHILD_INDEX = "children:index"


class AccessDenied(PermissionError):
    """The person may not do this; the attempt has been recorded."""


class RecordAccess:
    """Chronologies, exports and refusals, audited record by record, and the
    access log for what no one record's trail holds."""

    def __init__(self, settings: Settings, store: Store, prompts: Prompts, clock: Clock,
                 *, day: SchoolDay, named: Callable[[str, Mutate], Mutate]) -> None:
        self.settings = settings
        self.store = store
        self.prompts = prompts
        self.clock = clock
        self.day = day  # school dates, as the schedule keeps them
        # ``mutate`` with the actor's name kept in the record first (people).
        self.named = named

    # -- chronology and exports (DSL only; every view, export and refusal audited) ----
    def _audit_each(self, record_ids: list[str], *, by: str, action: str,
                    detail: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        now = self.clock()
        if action == "access_refused":
            for rid in record_ids:
                self.audit_refusal(rid, by=by, attempted=str((detail or {}).get("attempted")))
            return []

        def mutate(doc: dict[str, Any]) -> dict[str, Any]:
            records.append_audit(doc, by=by, action=action, at=now, detail=detail)
            return doc

        # One write for the lot: an export of thousands is audited at once.
        return (self.store.update_records(record_ids, self.named(by, mutate))
                if record_ids else [])

    def audit_refusal(self, record_id: str, *, by: str, attempted: str) -> None:
        """Record a refused attempt on a record. The first few per person per
        record each hour go in its audit trail; the rest are only counted,
        so forged clicks cannot grow the store without bound. A record that
        does not exist is refused all the same (no record-id oracle)."""
        now = self.clock()
        limit = self.settings.audited_refusals_per_hour
        over = [False]

        def mutate(doc: dict[str, Any]) -> dict[str, Any]:
            recent = [e for e in doc.get("audit") or ()
                      if e.get("action") == "access_refused" and e.get("by") == by
                      and within(e.get("at"), now, REFUSAL_WINDOW)]
            if len(recent) >= limit:
                over[0] = True
                return doc
            return records.refused(doc, by=by, at=now, attempted=attempted)

        try:
            self.store.update_record(record_id, self.named(by, mutate))
        except NotFound:
            return
        if over[0]:
            self._count_refusal(f"{by} {record_id}", now)

    def _count_refusal(self, key: str, now: datetime) -> None:
        hour = now.strftime("%Y-%m-%dT%H")
        earliest = (now - REFUSAL_WINDOW).strftime("%Y-%m-%dT%H")

        def mutate(counted: Any) -> dict[str, Any]:
            kept = {k: v for k, v in (counted or {}).items()
                    if isinstance(v, dict) and str(v.get("hour", "")) >= earliest}
            entry = kept.get(key) if isinstance(kept.get(key), dict) else None
            if entry is None or entry.get("hour") != hour:
                entry = {"hour": hour, "n": 0}
            kept[key] = {"hour": hour, "n": int(entry.get("n", 0)) + 1}
            return kept

        self.store.update_meta(REFUSALS_COUNTED, mutate)

    def refusals_counted(self) -> dict[str, int]:
        """Refused attempts beyond the audited few, this hour and last, by
        "user record"."""
        counted = self.store.get_meta(REFUSALS_COUNTED) or {}
        return {k: int(v.get("n", 0)) for k, v in counted.items() if isinstance(v, dict)}

    def _refuse(self, record_ids: list[str], *, by: str, attempted: str, ref: str) -> None:
        self._audit_each(record_ids, by=by, action="access_refused",
                         detail={"attempted": attempted})
        self.log_access(by, attempted, allowed=False, ref=ref)
        raise AccessDenied(attempted)

    def index_children(self, record: dict[str, Any]) -> None:
        """Keep :data:`CHILD_INDEX` in step with the references ``record``
        names now (a decision at take-on may name more children)."""
        rid = str(record.get("id") or "")
        refs = {key for key in map(chronology.ref_key, records.child_refs(record)) if key}

        def mutate(index: Any) -> Any:
            if not isinstance(index, dict):
                return index  # not built yet: the first reader builds it whole
            for key in list(index):
                if rid in index[key] and key not in refs:
                    index[key] = [i for i in index[key] if i != rid]
                    if not index[key]:
                        del index[key]
            for key in refs:
                if rid not in index.setdefault(key, []):
                    index[key].append(rid)
            return index

        if rid:
            self.store.update_meta(CHILD_INDEX, mutate)

    def _children_index(self) -> dict[str, list[str]]:
        index = self.store.get_meta(CHILD_INDEX)
        if isinstance(index, dict):
            return index

        def build(current: Any) -> Any:
            if isinstance(current, dict):
                return current
            made: dict[str, list[str]] = {}
            for record in self.store.iter_records():
                for key in {chronology.ref_key(ref) for ref in records.child_refs(record)}:
                    if key:
                        made.setdefault(key, []).append(str(record.get("id")))
            return made

        built = self.store.update_meta(CHILD_INDEX, build)
        return built if isinstance(built, dict) else {}

    def _child_records(self, child_ref: str) -> list[str]:
        """Records about the child: as the subject (from the store's summary
        index) or named as another child involved (from :data:`CHILD_INDEX`),
        oldest first; ids of records since deleted are left out."""
        ids = dict.fromkeys(chronology.matching_ids(self.store.list_records(), child_ref))
        for rid in self._children_index().get(chronology.ref_key(child_ref), []):
            if rid not in ids and self.store.get_record(rid) is not None:
                ids[rid] = None
        return list(ids)

    def chronology(self, child_ref: str, *, by: str, allowed: bool) -> list[dict[str, Any]]:
        """Every record about one child, oldest first; each view is audited."""
        ids = self._child_records(child_ref)
        if not allowed:
            self._refuse(ids, by=by, attempted="chronology", ref=child_ref)
        found = self._audit_each(ids, by=by, action="chronology_viewed")
        self.log_access(by, "chronology", allowed=True, ref=child_ref)
        return sorted(found, key=lambda r: r["created_at"])

    def chronology_text(self, child_ref: str, found: list[dict[str, Any]]) -> str:
        return chronology.as_text(child_ref, chronology.entries(found, self.prompts),
                                  self.prompts)

    def _exported(self, record_id: str, *, by: str, allowed: bool, attempted: str,
                  format_: str, reason: str) -> dict[str, Any]:
        """One record, audited as exported in ``format_``; raises NotFound,
        AccessDenied (refused either way when not allowed: no record-id oracle)."""
        if self.store.get_record(record_id) is None:
            if not allowed:
                self._refuse([], by=by, attempted=attempted, ref=record_id)
            raise NotFound(record_id)
        if not allowed:
            self._refuse([record_id], by=by, attempted=attempted, ref=record_id)
        [record] = self._audit_each([record_id], by=by, action="exported",
                                    detail=_why({"format": format_}, reason))
        return record

    def export_record_pdf(self, record_id: str, *, by: str, allowed: bool, reason: str = ""
                          ) -> tuple[str, bytes]:
        """(file name, PDF) of one record; raises NotFound, AccessDenied."""
        record = self._exported(record_id, by=by, allowed=allowed, attempted="export_pdf",
                                format_="pdf", reason=reason)
        from bot import exports  # PDF tooling loads slowly: only when exporting

        return f"{record_id}.pdf", exports.record_pdf(
            record, self.prompts, self.settings.school_name, made_at=self.clock(), made_by=by)

    def copy_for_cp(self, record_id: str, *, by: str, allowed: bool, reason: str = ""
                    ) -> str:
        """The record as plain text for the school's CP system (audited like
        an export); raises NotFound, AccessDenied."""
        record = self._exported(record_id, by=by, allowed=allowed, attempted="copy_for_cp",
                                format_="copy for CP system", reason=reason)
        from bot import exports

        return exports.copy_for_cp(record, self.prompts)

    def export_chronology_pdf(self, child_ref: str, *, by: str, allowed: bool,
                              reason: str = "") -> tuple[str, bytes]:
        from bot import exports

        ids = self._child_records(child_ref)
        if not allowed:
            self._refuse(ids, by=by, attempted="export_chronology", ref=child_ref)
        found = sorted(self._audit_each(ids, by=by, action="exported",
                                        detail=_why({"format": "pdf", "of": "chronology"},
                                                    reason)),
                       key=lambda r: r["created_at"])
        self.log_access(by, "export_chronology", allowed=True, ref=child_ref)
        now = self.clock()
        return f"chronology-{now.date().isoformat()}.pdf", exports.chronology_pdf(
            child_ref, found, self.prompts, self.settings.school_name, made_at=now,
            made_by=by)

    def export_csv(self, start: date, end: date, *, by: str, allowed: bool, reason: str = ""
                   ) -> tuple[str, str]:
        """(file name, CSV) of the records made from ``start`` to ``end``
        (school dates, both included)."""
        from bot import exports

        day = self.day
        ids = [s["id"] for s in self.store.list_records()
               if start <= day.today(datetime.fromisoformat(s["created_at"])) <= end]
        name = f"records-{start.isoformat()}-to-{end.isoformat()}.csv"
        if not allowed:
            self._refuse(ids, by=by, attempted="export_csv", ref=name)
        found = self._audit_each(ids, by=by, action="exported",
                                 detail=_why({"format": "csv"}, reason))
        self.log_access(by, "export_csv", allowed=True, ref=name)
        return name, exports.records_csv(found, self.prompts, self.settings.school_name)

    # -- access log ------------------------------------------------------------------
    def log_access(self, by: str, action: str, *, allowed: bool, ref: str = "") -> None:
        """What was seen or refused that is not one record's own audit trail
        (a chronology asked for, a CSV of many). Kept short: the newest
        entries, newest last."""
        entry = {"at": stamp(self.clock()), "by": by, "action": action,
                 "allowed": allowed, "ref": ref}

        def mutate(log_entries: Any) -> list[dict[str, Any]]:
            return [*(log_entries or []), entry][-ACCESS_LOG_KEEP:]

        self.store.update_meta(ACCESS_LOG, mutate)


def within(at: Any, now: datetime, window: timedelta) -> bool:
    """``at`` (an ISO time) is no further than ``window`` from ``now``."""
    try:
        when = datetime.fromisoformat(str(at).replace("Z", "+00:00"))
    except ValueError:
        return False
    if when.tzinfo is None and now.tzinfo is not None:
        when = when.replace(tzinfo=now.tzinfo)
    return now - window <= when <= now + window


def _why(detail: dict[str, Any], reason: str) -> dict[str, Any]:
    """An export's audit detail, with the reason given for it (if any)."""
    return {**detail, "reason": reason} if reason else detail
