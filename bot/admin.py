"""Admin commands: verify the audit trail, apply retention, make a data key.

Each returns a process exit code and prints for a person; none prints a
child's details.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import TextIO

from bot import record as records
from bot.config import Settings
from bot.flow.engine import iso
from storage import Store, generate_key

PURGE_LOG = "purge_log"
_ID = re.compile(r"^ISD-(\d{4})-(\d+)$")


def verify(store: Store, out: TextIO) -> int:
    """Check every record's hash chain, and that no record vanished without a
    recorded purge. Exit 1 if anything is wrong."""
    problems: list[str] = []
    seen: dict[str, set[int]] = {}
    count = 0
    for record in store.iter_records():
        count += 1
        problems.extend(records.verify(record))
        match = _ID.match(str(record.get("id")))
        if match:
            seen.setdefault(match[1], set()).add(int(match[2]))
    purged = _purged(store)
    issued = {str(year): high for year, high in store.issued().items()}
    for year in sorted(seen.keys() | issued.keys()):
        numbers = seen.get(year, set())
        for n in range(1, max(max(numbers, default=0), issued.get(year, 0)) + 1):
            if n not in numbers and n not in purged.get(year, set()):
                problems.append(f"ISD-{year}-{n:04d}: missing, and no purge recorded")
    for line in problems:
        out.write(line + "\n")
    out.write(f"{count} records checked, {len(problems)} problem(s)\n")
    return 1 if problems else 0


def _ranges(ids: list[str]) -> list[list[str | int]]:
    """Purged ids as ``[year, first, last]`` runs: retention removes old
    records in long runs, so the log stays small in the hot store."""
    runs: list[list[str | int]] = []
    for year, number in sorted((m[1], int(m[2])) for m in map(_ID.match, ids) if m):
        if runs and runs[-1][0] == year and runs[-1][2] == number - 1:
            runs[-1][2] = number
        else:
            runs.append([year, number, number])
    return runs


def _purged(store: Store) -> dict[str, set[int]]:
    purged: dict[str, set[int]] = {}
    for entry in store.get_meta(PURGE_LOG, []) or []:
        for year, first, last in entry["ranges"]:
            purged.setdefault(str(year), set()).update(range(int(first), int(last) + 1))
    return purged


def expired(store: Store, settings: Settings, now: datetime) -> list[dict]:
    """Records older than the school's retention period."""
    cutoff = iso(now - timedelta(days=365 * settings.retention_years))
    return [r for r in store.list_records() if (r.get("created_at") or "") < cutoff]


def retention(store: Store, settings: Settings, now: datetime, out: TextIO, *,
              purge: bool, by: str) -> int:
    """List records past retention; with ``purge``, delete them and record
    the purge (who, when, which ids) so verify can tell a purge from a loss."""
    due = expired(store, settings, now)
    for r in due:
        out.write(f"{r['id']}  created {r['created_at']}\n")
    if not purge:
        out.write(f"{len(due)} record(s) past {settings.retention_years} years. "
                  "Dry run: nothing deleted (add --purge to delete).\n")
        return 0
    ids = [r["id"] for r in due]
    if ids:
        log = list(store.get_meta(PURGE_LOG, []) or [])
        log.append({"at": iso(now), "by": by, "ranges": _ranges(ids), "count": len(ids),
                    "retention_years": settings.retention_years})
        store.set_meta(PURGE_LOG, log)  # recorded before deleting: never a silent loss
        store.delete_records(ids)
    out.write(f"Purged {len(ids)} record(s).\n")
    return 0


def export(store: Store, record_ids: list[str], now: datetime, out: TextIO, err: TextIO, *,
           by: str) -> int:
    """Print full records as JSON (all of them when no id is given).

    Only someone who can read the data directory can run this; each export is
    still added to the record's audit trail, as viewing it in Slack is. Exit 1
    (printing nothing) if a named record does not exist.
    """
    ids = record_ids or [r["id"] for r in store.iter_records()]
    missing = [rid for rid in ids if store.get_record(rid) is None]
    if missing:
        err.write(f"jigsaw: no such record: {', '.join(missing)}\n")
        return 1
    copies = [store.update_record(rid, lambda r: records.exported(r, by=by, at=now))
              for rid in ids]
    json.dump(copies, out, ensure_ascii=False, indent=2)
    out.write("\n")
    return 0


def keygen(out: TextIO) -> int:
    out.write(generate_key() + "\n")
    return 0
