"""Admin commands: verify the audit trail, apply retention, make a data key.

Each returns a process exit code and prints for a person; none prints a
child's details.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TextIO

from bot import record as records
from bot.config import Environment, Settings
from bot.flow.engine import iso
from bot.service import DecisionService
from storage import RecordSummary, Store, TinyDBStore, generate_audit_key, generate_key


def parse_anchor(text: str) -> tuple[int, str] | None:
    """``N:MAC`` (as the DSL channel shows it) as (line number, MAC)."""
    number, _, mac = text.strip().partition(":")
    if not (number.isdigit() and len(mac) == 64 and all(c in "0123456789abcdef" for c in mac)):
        return None
    return int(number), mac


def verify(store: Store, out: TextIO, *, anchor: tuple[int, str] | None = None,
           anchor_note: str = "", posted: list[str] | None = None) -> int:
    """Check every record's audit trail (its hash chain and its keyed seal),
    every record against the ledger, the ledger's own chain, that no record
    vanished without a recorded purge, and (given one) the ledger against an
    anchor kept outside the store. Exit 1 if anything is wrong."""
    from bot.schedule import lost_escalations

    report = store.verify_integrity(records.verify, anchor)
    report.problems.extend(_posted_but_gone(store, posted or []))
    try:
        lost = lost_escalations(store)
    except Exception:  # a damaged schedule file is reported by the store's own checks
        lost = []
    report.problems.extend(
        f"schedule: the escalation of urgent alert {event} was deleted while still waiting "
        "(the app raises it again when it starts; restore meta.json or find who changed it)"
        for event in lost)
    if anchor_note and not anchor_note.startswith(("note:", "anchor:")):
        report.problems.append(anchor_note)
        anchor_note = ""
    for line in report.problems:
        out.write(line + "\n")
    for line in [*report.notes, *([anchor_note] if anchor_note else [])]:
        out.write(line + "\n")
    n, mac = report.head
    out.write(f"ledger head: {n}:{mac}\n")
    out.write(f"{report.checked} records checked, {len(report.problems)} problem(s)\n")
    return 1 if report.problems else 0


def _posted_but_gone(store: Store, posted: list[str]) -> list[str]:
    """Records the app posted in the DSL channel that the store neither
    holds nor purged: the store was put back to a copy from before them
    (a restore of the backup taken at the last anchor passes the anchor)."""
    from storage.ledger import expand

    purged = {rid for entry in store.purges() for rid in expand(entry.get("ids"))}
    gone = [rid for rid in dict.fromkeys(posted)
            if rid not in purged and store.get_record(rid) is None]
    return [f"{rid}: posted in the DSL channel but not in the store, and no purge recorded "
            "(restored from an older copy?)" for rid in sorted(gone)]


def verify_schools(db: Any, only: list[str], out: TextIO, *,
                   evidence: Callable[[str], tuple[Any, str] | None] | None = None,
                   offline: bool = False) -> int:
    """Verify each school's records and ledger apart (PostgreSQL): a problem
    in one school is reported under its name and never hides another's.
    ``evidence`` reads a school's DSL channel (its anchor and the records
    posted, and a line saying so; None if it has none to read): a school
    whose channel cannot be read fails, as a data directory's verify does."""
    from storage import StoreError

    schools = only or [s["id"] for s in db.schools()]
    if not schools:
        out.write("no schools in the database\n")
        return 0
    failed = 0
    for school in schools:
        out.write(f"school {school}:\n")
        try:
            store = db.store(school, create=False)
        except StoreError as exc:
            out.write(f"{exc}\n")
            failed += 1
            continue
        found = evidence(school) if evidence is not None else None
        if found is None:
            note = ("note: --offline: the ledger was not checked against the DSL channel"
                    if offline else "")
            failed += verify(store, out, anchor_note=note)
            continue
        channel, note = found
        if channel is None:  # unreachable: not a pass
            verify(store, out, anchor_note=note)
            failed += 1
            continue
        failed += verify(store, out, anchor=channel.anchor, anchor_note=note,
                         posted=channel.posted)
    out.write(f"{len(schools)} school(s) checked, {failed} with problems\n")
    return 1 if failed else 0


def list_schools(db: Any, out: TextIO) -> int:
    """``jigsaw school list``: each school's id, name, nation, DSL channel and
    Slack workspace."""
    schools = db.schools()
    for school in schools:
        tables = school["settings"] or {}
        nation = (tables.get("school") or {}).get("nation", "-")
        channel = (tables.get("slack") or {}).get("dsl_channel", "-")
        team, org = db.workspace_of(school["id"])
        out.write(f"{school['id']}\t{school['name'] or '-'}\t{nation}\t{channel}\t"
                  f"{team or '-'}\t{org or '-'}\n")
    out.write(f"{len(schools)} school(s)\n")
    return 0


def set_school(db: Any, school: str, out: TextIO, err: TextIO, *, name: str = "",
               settings: dict[str, Any] | None = None, team: str | None = None,
               enterprise: str | None = None) -> int:
    """``jigsaw school set``: create a school, or change its name, settings
    (checked before anything is stored) or Slack workspace."""
    if team or enterprise:
        holder = (db.school_for(team_id=team, enterprise_id=None) if team else
                  db.school_for(team_id=None, enterprise_id=enterprise, enterprise_install=True))
        if holder not in (None, school):
            print(f"jigsaw: that workspace is already school {holder!r}'s", file=err)
            return 2
    try:
        db.add_school(school, name=name, settings=settings)
    except ValueError as exc:
        print(f"jigsaw: {exc}", file=err)
        return 2
    if team or enterprise:
        db.link_workspace(school, team_id=team, enterprise_id=enterprise)
    done = [f"name {name!r}" if name else "",
            "settings stored" if settings is not None else "",
            f"workspace {team or '-'} / {enterprise or '-'}" if team or enterprise else ""]
    out.write(f"school {school}: {', '.join(d for d in done if d) or 'ready'}\n")
    return 0


def expired(store: Store, settings: Settings, now: datetime) -> list[RecordSummary]:
    """Records older than the school's retention period."""
    cutoff = iso(now - timedelta(days=365 * settings.retention_years))
    return [r for r in store.list_records() if (r.get("created_at") or "") < cutoff]


# The clock is trusted for a purge only this far past the newest thing the
# store knows of (the app writes the ledger at least daily while it runs).
CLOCK_AHEAD_LIMIT = timedelta(days=400)
CLOCK_BEHIND_LIMIT = timedelta(days=1)


def _when(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def latest_known(store: Store) -> datetime | None:
    """The newest moment the data itself records: a record's creation or
    last change, or the ledger's last line. Independent of this machine's
    clock, which may be wrong."""
    stamps = [_when(r.get("updated_at") or "") for r in store.list_records(limit=1)]
    stamps += [_when(r.get("created_at") or "") for r in store.list_records(limit=1)]
    stamps.append(_when(store.ledger_head()[2]))
    known = [s for s in stamps if s is not None]
    return max(known) if known else None


def clock_problem(now: datetime, known: datetime | None) -> str:
    """What is wrong with this machine's clock against the newest moment the
    data records (see :func:`latest_known`), or "" when they agree."""
    if known is None:
        return ""
    if now < known - CLOCK_BEHIND_LIMIT:
        return f"this machine's clock ({iso(now)}) is behind the newest data ({iso(known)})"
    if now > known + CLOCK_AHEAD_LIMIT:
        return (f"this machine's clock ({iso(now)}) is far ahead of the newest data "
                f"({iso(known)})")
    return ""


def retention(store: Store, settings: Settings, now: datetime, out: TextIO, *,
              purge: bool, by: str, before: str | None = None, err: TextIO | None = None
              ) -> int:
    """List records past retention; with ``purge`` and an explicit cut-off
    date, delete the records created before it, recording the purge (who,
    when, which ids) in the ledger so verify can tell a purge from a loss.

    A purge is refused when the cut-off would take records younger than the
    retention period by the data's own dates, or when this machine's clock
    disagrees with the data (a clock years fast once purged everything).
    """
    err = err or out
    cutoff: datetime | None = None
    if before is not None:
        try:
            cutoff = datetime.strptime(before, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            err.write(f"jigsaw: --before must be a date as YYYY-MM-DD, not {before!r}\n")
            return 2
    due = (expired(store, settings, now) if cutoff is None else
           [r for r in store.list_records() if (r.get("created_at") or "") < iso(cutoff)])
    for r in due:
        out.write(f"{r['id']}  created {r['created_at']}\n")
    if not purge:
        scope = (f"past {settings.retention_years} years" if cutoff is None
                 else f"created before {before}")
        out.write(f"{len(due)} record(s) {scope}. "
                  "Dry run: nothing deleted (add --purge --before YYYY-MM-DD to delete).\n")
        return 0
    if cutoff is None:
        err.write("jigsaw: a purge needs an explicit cut-off: --before YYYY-MM-DD\n")
        return 2
    keep = timedelta(days=365 * settings.retention_years)
    known = latest_known(store)
    problem = clock_problem(now, known)
    if problem:
        err.write(f"jigsaw: refusing to purge: {problem}; fix the clock first\n")
        return 2
    latest_cutoff = min(now, known or now) - keep
    if cutoff > latest_cutoff:
        err.write(f"jigsaw: refusing to purge: a cut-off of {before} would delete records "
                  f"younger than {settings.retention_years} years by the records' own dates "
                  f"(the latest allowed cut-off is {latest_cutoff.date().isoformat()})\n")
        return 2
    ids = [r["id"] for r in due]
    removed = store.delete_records(ids, note={
        "by": by, "before": before, "retention_years": settings.retention_years})
    out.write(f"Purged {removed} record(s).\n")
    return 0


def operator_name() -> str:
    """The account's full name as the system knows it (else its login), for
    records to name whoever ran the command."""
    try:
        entry = pwd.getpwuid(os.getuid())
    except KeyError:
        return "?"
    return entry.pw_gecos.split(",")[0].strip() or entry.pw_name


def operator(environment: Environment) -> str:
    """Who is running an admin command, as the audit trail names them.

    From the process's real uid, not ``$USER`` (which anyone can set); when
    run through sudo, the invoking account that sudo recorded is added.
    """
    uid = os.getuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = "?"
    who = f"admin:uid={uid}({name})"
    sudo_user, sudo_uid = environment.sudo_user, environment.sudo_uid
    if sudo_user or sudo_uid:
        who += f" sudo_user={sudo_user or '?'}(uid={sudo_uid or '?'})"
    return who


def export(store: Store, record_ids: list[str], now: datetime, out: TextIO, err: TextIO, *,
           by: str, reason: str, out_path: str) -> int:
    """Write full records as JSON to a new owner-only file (all records when
    no id is given).

    Only someone who can read the data directory can run this; each export is
    still added to the record's audit trail with its reason, as viewing it in
    Slack is. The copy never goes to the terminal (scroll-back, logs, shared
    screens). Exit 1, writing nothing, if a named record does not exist, the
    reason is blank or the file already exists.
    """
    reason = " ".join(reason.split())
    if not reason:
        err.write("jigsaw: give a reason for the export (--reason)\n")
        return 1
    ids = record_ids or [r["id"] for r in store.iter_records()]
    missing = [rid for rid in ids if store.get_record(rid) is None]
    if missing:
        err.write(f"jigsaw: no such record: {', '.join(missing)}\n")
        return 1
    fd = _new_private_file(out_path, err)
    if fd is None:
        return 1
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        copies = store.update_records(  # one audited write for the lot
            ids, lambda r: records.exported(r, by=by, at=now, reason=reason)) if ids else []
        json.dump(copies, file, ensure_ascii=False, indent=2)
        file.write("\n")
        file.flush()
        os.fsync(fd)
    out.write(f"Exported {len(copies)} record(s) to {out_path} (readable by you only).\n")
    return 0


def _new_private_file(out_path: str, err: TextIO) -> int | None:
    """A new file only the operator can read; None (having said why) if it
    cannot be made. An export never overwrites a file or follows a link."""
    try:
        fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        err.write(f"jigsaw: cannot create {out_path}: {exc.strerror} "
                  "(an export never overwrites a file)\n")
        return None
    os.fchmod(fd, 0o600)
    return fd


def followthrough(command: str, args: argparse.Namespace, app: DecisionService, out: TextIO,
                  err: TextIO, *, by: str) -> int:
    """``chronology REF [--pdf]``, ``export --pdf ID``, ``export --csv FROM TO``.

    Whoever can read the data directory may; each view and export is still
    added to the audit trail of every record in it, an export with its
    reason. Copies go to a new private file, never the terminal."""
    if command == "chronology" and not args.pdf:
        found = app.access.chronology(args.ref, by=by, allowed=True)
        out.write(app.access.chronology_text(args.ref, found) + "\n")
        return 0 if found else 1
    reason = " ".join((args.reason or "").split())
    if not reason or not args.out:
        err.write("jigsaw: an export needs --reason and --out\n")
        return 2
    single = args.pdf or getattr(args, "copy", None)
    if command == "export" and single and app.record(single) is None:
        err.write(f"jigsaw: no such record: {single}\n")
        return 1
    span: tuple[date, date] | None = None
    if command == "export" and args.csv:
        try:
            start, end = (date.fromisoformat(d) for d in args.csv)
        except ValueError:
            err.write("jigsaw: --csv takes two dates, YYYY-MM-DD YYYY-MM-DD\n")
            return 2
        if end < start:
            err.write("jigsaw: the second date is before the first\n")
            return 2
        span = (start, end)
    fd = _new_private_file(args.out, err)  # first: no audit entry for a copy never made
    if fd is None:
        return 1
    with os.fdopen(fd, "wb") as file:
        if command == "chronology":
            _, content = app.access.export_chronology_pdf(args.ref, by=by, allowed=True,
                                                   reason=reason)
        elif getattr(args, "copy", None):
            content = app.access.copy_for_cp(args.copy, by=by, allowed=True,
                                      reason=reason).encode("utf-8")
        elif span is None:
            _, content = app.access.export_record_pdf(args.pdf, by=by, allowed=True, reason=reason)
        else:
            _, text = app.access.export_csv(*span, by=by, allowed=True, reason=reason)
            content = text.encode("utf-8")
        file.write(content)
        file.flush()
        os.fsync(fd)
    out.write(f"Exported to {args.out} (readable by you only).\n")
    return 0


def keygen(out: TextIO, *, audit: bool = False) -> int:
    out.write((generate_audit_key() if audit else generate_key()) + "\n")
    return 0


def migrate_db(url: str, out: TextIO, err: TextIO) -> int:
    """``jigsaw migrate-db``: apply the schema migrations not yet applied."""
    from storage.migrate import LATEST, migrate
    from storage.postgres import is_postgres_url, where

    if not is_postgres_url(url):
        print("jigsaw: set JIGSAW_DATABASE_URL (or --url) to a postgresql:// URL",
              file=err)
        return 2
    import psycopg

    try:
        applied = migrate(url)
    except psycopg.Error as exc:
        print(f"jigsaw: migrating {where(url)} failed: {str(exc).strip().splitlines()[0]}",
              file=err)
        return 1
    for migration in applied:
        print(f"applied {migration.version:04d} {migration.name}", file=out)
    print(f"{where(url)}: schema at version {LATEST}"
          + ("" if applied else " (nothing to do)"), file=out)
    return 0


def move_store(source: TinyDBStore, db: Any, school: str, out: TextIO, err: TextIO, *,
               name: str = "", settings: dict[str, Any] | None = None) -> int:
    """``jigsaw move-store``: copy the data directory into the database as
    ``school`` and verify both sides (see storage.move). Exit 1 if the copy
    does not verify or differs; 2 if it was refused (nothing copied)."""
    from storage.move import MoveRefused, Side, move

    def say(where: str, side: Side) -> None:
        waiting = sum(n for state, n in side.delivery.items()
                      if state not in records.SETTLED_STATES)
        out.write(f"{where}: {side.records} record(s), {waiting} awaiting delivery, "
                  f"{side.sessions} session(s) ({side.in_progress} in progress), "
                  f"{side.claims} claim(s), ledger head {side.ledger[0]}:{side.ledger[1]}; "
                  f"{len(side.report.problems)} problem(s)\n")

    try:
        moved = move(source, db, school, name=name, settings=settings,
                     check_record=records.verify)
    except MoveRefused as exc:
        print(f"jigsaw: {exc}", file=err)
        return 2
    say("data directory", moved.source)
    say(f"database {db.where}, school {school}" + (" (an earlier move refreshed)"
                                                   if moved.replaced else ""), moved.target)
    for line in [*moved.target.report.problems, *moved.differences]:
        out.write(line + "\n")
    if not moved.ok:
        out.write("the copy does not match: keep serving from the data directory, and run "
                  "move-store again once the cause is fixed\n")
        return 1
    out.write("both sides hold the same records, audit trails, ledger and sessions\n")
    return 0
