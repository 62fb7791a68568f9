"""``python -m bot`` / ``jigsaw``: run the bot, the terminal runner, or an
admin command.

With no Slack credentials it runs the conversation in the terminal, so the
first command in the README works on any machine.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import ConfigError, Environment, Settings, load_settings

if TYPE_CHECKING:
    from storage import Store
    from storage.postgres import Database


def _parser(environment: Environment) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jigsaw", description="Safeguarding information-sharing decisions for schools.")
    parser.add_argument("--config", help="settings file (default ./jigsaw.toml)")
    sub = parser.add_subparsers(dest="command")
    console = sub.add_parser("console", help="the conversation in this terminal")
    console.add_argument("--new", action="store_true", help="start afresh, pausing any open one")
    decide = sub.add_parser("decide", help="as the DSL, take a staff member's concern on into "
                            "the sharing decision")
    decide.add_argument("record", help="the record's id, e.g. ISD-2026-0042 (any record not yet "
                        "decided: a concern or request waiting, or a low-level worry)")
    close = sub.add_parser("close", help="as the DSL, close a record")
    close.add_argument("record", help="the record's id, e.g. ISD-2026-0042")
    basis = sub.add_parser("confirm-basis", help="as the DSL, confirm the lawful basis "
                           "suggested on a record")
    basis.add_argument("record", help="the record's id, e.g. ISD-2026-0042")
    outcome = sub.add_parser("outcome", help="as the DSL, record what happened after "
                             "(a referral accepted, no further action, early help...)")
    outcome.add_argument("record", help="the record's id, e.g. ISD-2026-0042")
    from bot.record import OUTCOMES

    outcome.add_argument("outcome", choices=OUTCOMES)
    outcome.add_argument("--ref", default="", help="the referral's reference, if any")
    outcome.add_argument("--note", default="", help="a short note")
    correct = sub.add_parser("correct", help="as the DSL, correct the category or the "
                             "one-line summary read from the answers (both are kept)")
    correct.add_argument("record", help="the record's id, e.g. ISD-2026-0042")
    from bot.record import CATEGORIES

    correct.add_argument("--category", metavar="CATEGORY", help=(
        f"one of {', '.join(CATEGORIES)}, or one of the school's own ([records] categories) "
        "by its name"))
    correct.add_argument("--summary", default="", help="the one-line summary, in your words")
    sub.add_parser("inbox", help="what waits for the DSL, urgent first")
    cover = sub.add_parser("cover", help="as the DSL, mark yourself away (staff are told who "
                           "covers; alerts and concerns go to the deputies too) or back")
    cover.add_argument("state", choices=("on", "off", "status"))
    cover.add_argument("--name", default="", help="who covers, by name (default: the "
                       "[cover] setting, else the deputy DSL)")
    sub.add_parser("socket", help="run in Slack Socket Mode (SLACK_BOT_TOKEN, SLACK_APP_TOKEN)")
    http = sub.add_parser("http", help="serve Slack HTTP events at /slack/events")
    http.add_argument("--port", type=int, default=environment.port)
    http.add_argument("--host", default=environment.host)
    teams = sub.add_parser("teams", help="serve Microsoft Teams at /api/messages (CLIENT_ID, "
                           "CLIENT_SECRET, TENANT_ID); 'package' builds the app package")
    teams.add_argument("action", nargs="?", choices=("serve", "package"), default="serve")
    teams.add_argument("--port", type=int, default=environment.teams.port)
    teams.add_argument("--host", default=environment.host)
    teams.add_argument("--out", default="jigsaw-teams.zip", metavar="FILE",
                       help="package: the zip to write")
    teams.add_argument("--domain", action="append", default=[], metavar="HOST",
                       help="package: the host the bot is served from (repeatable; "
                       "default JIGSAW_TEAMS_DOMAIN)")
    verify = sub.add_parser("verify", help="check every record's audit trail and the ledger; "
                                           "exit 1 on any problem")
    verify.add_argument("--school", action="append", default=[], metavar="ID",
                        help="on PostgreSQL: check this school (repeatable; default: "
                             "JIGSAW_SCHOOL if set, else every school, each apart)")
    verify.add_argument("--anchor", metavar="N:MAC",
                        help="the ledger head last anchored outside the store (as posted in "
                             "the DSL channel); the ledger must still reach it unchanged")
    verify.add_argument("--offline", action="store_true",
                        help="check without Slack or Teams: do not fail because the anchor "
                             "in the DSL channel cannot be read")
    retention = sub.add_parser("retention", help="list (or purge) records past retention")
    retention.add_argument("--purge", action="store_true", help="delete them (default: dry run)")
    retention.add_argument("--before", metavar="YYYY-MM-DD",
                           help="cut-off: records created before this date (required to purge)")
    keygen = sub.add_parser("keygen", help="print a new key for JIGSAW_DATA_KEY")
    keygen.add_argument("--audit", action="store_true",
                        help="a key for JIGSAW_AUDIT_KEY instead (keep it outside the data "
                             "directory)")
    export = sub.add_parser("export", help="write records as JSON to a private file (audited)")
    export.add_argument("--record", action="append", default=[], metavar="ID",
                        help="a record id (repeatable; default: every record)")
    export.add_argument("--reason", required=True,
                        help="why the copy is taken (e.g. subject access request 2026-14); "
                             "kept in each record's audit trail")
    export.add_argument("--out", required=True, metavar="FILE",
                        help="new file to write (created 0600; never overwritten)")
    export.add_argument("--pdf", metavar="ID", help="one record as a printable PDF instead")
    export.add_argument("--copy", metavar="ID", help="one record as plain text to paste into "
                        "the school's CP system (CPOMS, MyConcern) instead")
    export.add_argument("--csv", nargs=2, metavar=("FROM", "TO"),
                        help="the records made between two dates (YYYY-MM-DD, both "
                             "included) as CSV instead")
    backup = sub.add_parser("backup", help="copy the store (data directory or database) to "
                            "one private file; the app may be running")
    backup.add_argument("--out", required=True, metavar="FILE",
                        help="new file to write (created 0600; never overwritten)")
    restore = sub.add_parser("restore", help="restore a backup into an empty data directory "
                             "or an empty, migrated database; then run `jigsaw verify`")
    restore.add_argument("file", metavar="FILE", help="a file made by `jigsaw backup`")
    rotate = sub.add_parser("rotate-key", help="replace the data key and/or the audit key "
                            "(JIGSAW_NEW_DATA_KEY, JIGSAW_NEW_AUDIT_KEY or "
                            "JIGSAW_NEW_AUDIT_KEY_FILE); stop the app first")
    rotate.add_argument("--data", action="store_true",
                        help="re-encrypt with JIGSAW_NEW_DATA_KEY (empty: no encryption)")
    rotate.add_argument("--audit", action="store_true",
                        help="re-seal with the new audit key, after verifying under the old one")
    rotate.add_argument("--audit-key-lost", action="store_true",
                        help="the old audit key is lost: re-seal with the new one without "
                             "verifying first (records are read with the data key alone)")
    migrate = sub.add_parser("migrate-db", help="bring the PostgreSQL database "
                             "(JIGSAW_DATABASE_URL) up to this version's schema")
    migrate.add_argument("--url", help="database URL (default JIGSAW_DATABASE_URL)")
    school = sub.add_parser("school", help="on PostgreSQL: list the schools, or set one's "
                            "name, settings and Slack workspace")
    school.add_argument("action", choices=("list", "set"))
    school.add_argument("id", nargs="?", help="set: the school's id (created if new)")
    school.add_argument("--name", help="set: the school's name")
    school.add_argument("--settings", metavar="FILE",
                        help="set: a settings file (as jigsaw.toml) whose tables become the "
                             "school's settings, checked first")
    school.add_argument("--team", metavar="ID",
                        help="set: the school's Slack workspace (T...), before it installs")
    school.add_argument("--enterprise", metavar="ID",
                        help="set: its Enterprise Grid organisation (E...); alone, the school "
                             "is the organisation's org-wide install")
    move = sub.add_parser("move-store", help="copy this school's data directory into "
                          "PostgreSQL, verifying both sides (safe to re-run)")
    move.add_argument("--to", required=True, metavar="URL",
                      help="the PostgreSQL database (postgresql://...), already migrated")
    move.add_argument("--school", metavar="ID",
                      help="the school's id there (default JIGSAW_SCHOOL, else 'default')")
    chronology = sub.add_parser("chronology", help="every record and follow-up about one "
                                "child, in time order (each view is audited)")
    chronology.add_argument("ref", help="the child's reference, as recorded")
    chronology.add_argument("--pdf", action="store_true",
                            help="write it as a PDF (needs --reason and --out)")
    chronology.add_argument("--reason", help="why the PDF is taken; kept in each record's "
                                             "audit trail")
    chronology.add_argument("--out", metavar="FILE", help="new file for the PDF")
    pack = sub.add_parser("pack", help="before you install: draft the data protection "
                          "officer's documents (DPIA, Art. 30 entry, appropriate policy "
                          "document, security measures, staff privacy notice, data-flow "
                          "diagram) from these settings")
    pack.add_argument("--out", required=True, metavar="DIR",
                      help="directory to write them to (made if missing)")
    doctor = sub.add_parser("doctor", help="check this installation (keys, DSL channel, "
                            "retention, clock, backups) and print what to fix")
    guidance = sub.add_parser("guidance", help="per nation: the guidance editions and duties "
                              "in force, each rule's start date, and what is unconfirmed")
    guidance.add_argument("--nation", action="append", default=[], metavar="NAME",
                          help="only this nation (repeatable; default: every pack)")
    guidance.add_argument("--on", metavar="YYYY-MM-DD",
                          help="as on this day (default: today at the school)")
    for installation in (pack, doctor):
        installation.add_argument("--front", choices=("slack", "teams", "terminal"),
                             help="the front end to describe (default: the one these "
                                  "environment variables run)")
    return parser


def _installation(args: argparse.Namespace, settings: Settings,
                  environment: Environment) -> int:
    """``jigsaw pack`` and ``jigsaw doctor``: no store is opened by the pack."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from bot.config import settings_tables
    from bot.installation import facts

    today = datetime.now(ZoneInfo(settings.timezone)).date()
    found = facts(settings, environment, today=today, front_end=args.front or "",
                  settings_tables=settings_tables(args.config, environment))
    if args.command == "doctor":
        from bot import doctor

        return doctor.run(found, settings, environment, sys.stdout)
    from bot import dpo_pack

    try:
        written = dpo_pack.write(Path(args.out), found, settings)
    except OSError as exc:
        print(f"jigsaw: cannot write the pack to {args.out}: {exc.strerror}", file=sys.stderr)
        return 2
    for path in written.paths:
        print(f"wrote {path}")
    print(f"{written.risks} risk(s) in the pack's risk table; `jigsaw doctor` says how to fix "
          "each. Give the documents to the data protection officer to check and sign.")
    return 0


def _guidance(args: argparse.Namespace, settings: Settings) -> int:
    """``jigsaw guidance``: what the packs say is in force, for a DSL to check."""
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from bot import guidance, nations

    unknown = [n for n in args.nation if n not in nations.available()]
    if unknown:
        print(f"jigsaw: no nation pack {unknown[0]!r}; choose one of "
              f"{', '.join(nations.available())}", file=sys.stderr)
        return 2
    try:
        day = (date.fromisoformat(args.on) if args.on
               else datetime.now(ZoneInfo(settings.timezone)).date())
    except ValueError:
        print(f"jigsaw: --on must be a date like 2026-09-01, not {args.on!r}", file=sys.stderr)
        return 2
    names = args.nation or [settings.nation, *(n for n in nations.available()
                                               if n != settings.nation)]
    commenced = settings.commencements
    for name in names:
        guidance.report(sys.stdout, day, [name], commenced if name == settings.nation else None)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        environment = Environment.read()
    except ConfigError as exc:
        print(f"jigsaw: {exc}", file=sys.stderr)
        return 2
    args = _parser(environment).parse_args(argv)
    if args.command == "keygen":
        from bot.admin import keygen

        return keygen(sys.stdout, audit=args.audit)
    try:
        settings = load_settings(args.config, environment)
    except ConfigError as exc:
        print(f"jigsaw: {exc}", file=sys.stderr)
        return 2
    command = args.command
    if command == "guidance":
        return _guidance(args, settings)
    if command in ("pack", "doctor"):
        return _installation(args, settings, environment)
    if command == "teams" and args.action == "package":
        return _teams_package(args, settings, environment)
    if command == "migrate-db":
        from bot.admin import migrate_db

        return migrate_db(args.url or environment.database_url, sys.stdout, sys.stderr)
    if command == "move-store":
        return _move_store(args, settings, environment)
    if command == "rotate-key":
        return _rotate_key(args, settings, environment)
    if command in ("backup", "restore"):
        return _backup(args, settings, environment)
    if command == "school":
        return _school(args, settings, environment)
    if command is None:
        has_socket = environment.slack_bot_token and environment.slack_app_token
        has_teams = environment.teams.configured and not environment.teams.connector_url
        command = "socket" if has_socket else "teams" if has_teams else "console"
        if command == "teams":
            args = _parser(environment).parse_args(["teams"])
    from storage import StoreError, open_store

    if command == "http" and environment.database_url and environment.slack_client_id:
        return _serve_schools(settings, environment, args)
    if command == "verify" and environment.database_url and not args.anchor and (
            args.school or not environment.school):
        return _verify_schools(settings, environment, args.school, offline=args.offline)
    try:
        # verify opens whatever is there, to report every problem itself.
        store = open_store(settings.data_dir, key=environment.data_key,
                           audit_key=environment.audit_key,
                           audit_key_file=environment.audit_key_file,
                           strict=command != "verify",
                           database_url=environment.database_url,
                           school=_school_of(args, environment))
    except StoreError as exc:
        print(f"jigsaw: {exc}", file=sys.stderr)
        return 2
    from storage.locking import DataDirLock

    # On PostgreSQL several instances share the database: the database
    # serialises their writes, so no directory lock is taken.
    serving = (DataDirLock(settings.data_dir)
               if command in SERVING and not environment.database_url else None)
    try:
        if serving is not None:
            serving.acquire()
        if command in SERVING:
            store.check_counts()
        return _run(command, args, settings, environment, store)
    except StoreError as exc:
        print(f"jigsaw: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
        if serving is not None:
            serving.release()


def _teams_package(args: argparse.Namespace, settings: Settings,
                   environment: Environment) -> int:
    """Build the Teams app package; no store is opened."""
    from bot.teams.package import PackageError, build

    domains = args.domain or ([environment.teams.domain] if environment.teams.domain else [])
    # The developer shown in Teams: the school, once its name is set.
    school = "" if settings.school_name == Settings().school_name else settings.school_name
    try:
        package = build(args.out, client_id=environment.teams.client_id, domains=domains,
                        school_name=school)
    except (PackageError, OSError) as exc:
        print(f"jigsaw: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {package.path} (bot {package.manifest['bots'][0]['botId']}, "
          f"{', '.join(package.manifest['validDomains'])}): upload it in Teams (Apps, Manage "
          "your apps, Upload an app) or in the Teams admin centre")
    return 0

def _database(settings: Settings, environment: Environment, *, max_size: int = 8
              ) -> Database:
    """Every school's store: one pool on ``JIGSAW_DATABASE_URL``, opened with
    the keys from the environment."""
    from storage import load_audit_key
    from storage.postgres import Database

    return Database(environment.database_url, key=environment.data_key or None,
                    audit_key=load_audit_key(settings.data_dir, environment.audit_key,
                                             environment.audit_key_file),
                    max_size=max_size)


def _serve_schools(settings: Settings, environment: Environment,
                   args: argparse.Namespace) -> int:
    """Every school in the database, each installed through Slack's OAuth flow."""
    from bot.slack import serve_schools
    from storage import StoreError

    try:
        db = _database(settings, environment, max_size=16)
    except StoreError as exc:
        print(f"jigsaw: {exc}", file=sys.stderr)
        return 2
    try:
        return serve_schools(db, settings, args, environment)
    finally:
        db.close()


def _school_of(args: argparse.Namespace, environment: Environment) -> str:
    """The school a command works on: ``verify --school X`` names one."""
    named = getattr(args, "school", None)
    return named[0] if isinstance(named, list) and len(named) == 1 else environment.school


def _verify_schools(settings: Settings, environment: Environment, only: list[str], *,
                    offline: bool = False) -> int:
    """``jigsaw verify`` on PostgreSQL: each school's chain checked apart,
    each against the anchors in its own DSL channel, read with its own bot
    token (as a data directory's verify reads its channel)."""
    from bot import admin
    from storage import StoreError

    try:
        db = _database(settings, environment)
    except StoreError as exc:
        print(f"jigsaw: {exc}", file=sys.stderr)
        return 2
    try:
        evidence = None if offline else _school_channels(db, settings, environment)
        return admin.verify_schools(db, only, sys.stdout, evidence=evidence, offline=offline)
    finally:
        db.close()


def _school_channels(db: Any, settings: Settings, environment: Environment
                     ) -> Callable[[str], tuple[Any, str] | None]:
    """For each school: what its DSL channel holds (see
    :func:`bot.slack.anchor.fetch_for_verify`), or None if it has no Slack
    to read (no DSL channel, or no bot token)."""
    from dataclasses import replace

    from bot.slack.anchor import fetch_for_verify
    from bot.slack.tenants import school_settings

    installations = None
    if environment.slack_client_id:
        import sqlalchemy

        from bot.slack.tenants import sqlalchemy_url
        from bot.slack.tokens import SealedInstallationStore

        installations = SealedInstallationStore(
            cipher=getattr(db, "cipher", None), client_id=environment.slack_client_id,
            engine=sqlalchemy.create_engine(sqlalchemy_url(db.url), pool_size=1))

    def token_of(school: str) -> str:
        if installations is not None:
            team, enterprise = db.workspace_of(school)
            bot = (installations.find_bot(enterprise_id=enterprise, team_id=team,
                                          is_enterprise_install=False) if team else None)
            if bot is None and enterprise:
                bot = installations.find_bot(enterprise_id=enterprise, team_id=None,
                                             is_enterprise_install=True)
            if bot is not None and bot.bot_token:
                return str(bot.bot_token)
        return environment.slack_bot_token if school == "default" else ""

    def read(school: str) -> tuple[Any, str] | None:
        token = token_of(school)
        try:
            channel = school_settings(db.school_settings(school), settings,
                                      school=school).dsl_channel
        except Exception:  # settings refused: verify reports the school's store anyway
            channel = ""
        if not token or not channel:
            return None
        return fetch_for_verify(channel, replace(environment, slack_bot_token=token))

    return read


def _school(args: argparse.Namespace, settings: Settings, environment: Environment) -> int:
    """``jigsaw school``: the schools (tenants) kept in the database."""
    from bot import admin
    from bot.config import settings_tables
    from storage import StoreError

    if not environment.database_url:
        print("jigsaw: schools are kept in PostgreSQL: set JIGSAW_DATABASE_URL",
              file=sys.stderr)
        return 2
    if args.action == "set" and not args.id:
        print("jigsaw: school set needs the school's id", file=sys.stderr)
        return 2
    try:
        # Only the file's own tables: this process's environment is not the school's.
        tables = (settings_tables(args.settings, Environment()) if args.settings else None)
        db = _database(settings, environment, max_size=1)
    except (ConfigError, StoreError) as exc:
        print(f"jigsaw: {exc}", file=sys.stderr)
        return 2
    try:
        if args.action == "list":
            return admin.list_schools(db, sys.stdout)
        return admin.set_school(db, args.id, sys.stdout, sys.stderr, name=args.name or "",
                                settings=tables, team=args.team, enterprise=args.enterprise)
    finally:
        db.close()


def _backup(args: argparse.Namespace, settings: Settings, environment: Environment) -> int:
    """``jigsaw backup`` and ``jigsaw restore`` (see storage.backup)."""
    from pathlib import Path

    from storage import StoreError, load_audit_key
    from storage.backup import (
        backup_database,
        backup_directory,
        restore_database,
        restore_directory,
    )

    url = environment.database_url
    try:
        if args.command == "backup":
            made = (backup_database(url, args.out) if url
                    else backup_directory(settings.data_dir, args.out))
            print(f"backed up {made.backend} ({made.files} part(s), "
                  f"{len(made.heads)} school(s)) to {args.out} at {made.taken_at}: keep it "
                  "with the same care as the store (it is as encrypted as the store is)")
            return 0
        key = environment.data_key or None
        audit_key = load_audit_key(settings.data_dir, environment.audit_key,
                                   environment.audit_key_file)
        made = (restore_database(Path(args.file), url, key=key, audit_key=audit_key) if url
                else restore_directory(Path(args.file), settings.data_dir, key=key,
                                       audit_key=audit_key))
    except StoreError as exc:
        print(f"jigsaw: {exc}", file=sys.stderr)
        return 1
    heads = ", ".join(f"{school} at ledger entry {head[0]}" for school, head in made.heads.items())
    print(f"restored the backup taken at {made.taken_at} ({heads}). Records written after "
          "it are not in it: run `jigsaw verify` now (it checks the ledger against the DSL "
          "channel's newest anchor and lists what was lost) before starting the app")
    return 0


def _rotate_key(args: argparse.Namespace, settings: Settings,
                environment: Environment) -> int:
    """``jigsaw rotate-key``: new keys for the data directory or the database
    (see storage.rotate). Exit 1 if refused (nothing changed), 2 on errors."""
    import os

    from storage import StoreError, load_audit_key
    from storage.rotate import RotateRefused, rotate_database, rotate_directory

    if not (args.data or args.audit or args.audit_key_lost):
        print("jigsaw: say what to rotate: --data, --audit (or --audit-key-lost)",
              file=sys.stderr)
        return 2
    try:
        old_audit = (None if args.audit_key_lost else
                     load_audit_key(settings.data_dir, environment.audit_key,
                                    environment.audit_key_file))
        new_audit = old_audit
        if args.audit or args.audit_key_lost:
            new_audit = load_audit_key(settings.data_dir,
                                       os.environ.get("JIGSAW_NEW_AUDIT_KEY", ""),
                                       os.environ.get("JIGSAW_NEW_AUDIT_KEY_FILE", ""))
            if new_audit is None:
                print("jigsaw: set JIGSAW_NEW_AUDIT_KEY (or JIGSAW_NEW_AUDIT_KEY_FILE) to the "
                      "new audit key (`jigsaw keygen --audit` makes one)", file=sys.stderr)
                return 2
        old_key = environment.data_key or None
        new_key = ((os.environ.get("JIGSAW_NEW_DATA_KEY", "").strip() or None) if args.data
                   else old_key)
        if environment.database_url:
            done = rotate_database(environment.database_url, key=old_key, new_key=new_key,
                                   audit_key=old_audit, new_audit_key=new_audit,
                                   audit_key_lost=args.audit_key_lost)
            kept = ""
        else:
            done, where = rotate_directory(settings.data_dir, key=old_key, new_key=new_key,
                                           audit_key=old_audit, new_audit_key=new_audit,
                                           audit_key_lost=args.audit_key_lost)
            kept = (f"; the previous copy (old keys) is in {where}: delete it once the app "
                    "runs with the new keys")
    except RotateRefused as exc:
        print(f"jigsaw: not rotated: {exc}", file=sys.stderr)
        return 1
    except StoreError as exc:
        print(f"jigsaw: {exc}", file=sys.stderr)
        return 2
    for note in done.notes:
        print(f"note: {note}")
    changed = " and ".join(k for k, on in (("data key", args.data),
                                          ("audit key", args.audit or args.audit_key_lost))
                           if on)
    print(f"rotated the {changed}: {done.schools} school(s), {done.records} record(s), "
          f"{done.sessions} session(s), {done.tokens} Slack token(s){kept}. Now give the app "
          "the new key(s) as JIGSAW_DATA_KEY / JIGSAW_AUDIT_KEY before starting it.")
    return 0


def _move_store(args: argparse.Namespace, settings: Settings,
                environment: Environment) -> int:
    """``jigsaw move-store``: the data directory, locked against the app,
    copied into the database (see storage.move)."""
    from bot import admin
    from bot.config import settings_tables
    from storage import StoreError, TinyDBStore, load_audit_key
    from storage.locking import DataDirLock
    from storage.postgres import DEFAULT_SCHOOL, Database, is_postgres_url

    if not is_postgres_url(args.to):
        print("jigsaw: --to must be a postgresql:// URL", file=sys.stderr)
        return 2
    if not (settings.data_dir and (Path(settings.data_dir) / "ledger.jsonl").exists()):
        print(f"jigsaw: no Jigsaw data directory at {settings.data_dir} (set "
              "JIGSAW_DATA_DIR)", file=sys.stderr)
        return 2
    lock = DataDirLock(settings.data_dir)
    try:
        lock.acquire()  # no app may write while it is copied
        sealing = load_audit_key(settings.data_dir, environment.audit_key,
                                 environment.audit_key_file)
        source = TinyDBStore(settings.data_dir, key=environment.data_key or None,
                             audit_key=sealing)
    except StoreError as exc:
        print(f"jigsaw: {exc}", file=sys.stderr)
        lock.release()
        return 2
    try:
        db = Database(args.to, key=environment.data_key or None, audit_key=sealing)
    except StoreError as exc:
        print(f"jigsaw: {exc}", file=sys.stderr)
        source.close()
        lock.release()
        return 2
    try:
        return admin.move_store(source, db, args.school or environment.school or DEFAULT_SCHOOL,
                                sys.stdout, sys.stderr, name=settings.school_name,
                                settings=settings_tables(args.config, environment))
    finally:
        db.close()
        source.close()
        lock.release()


# Commands that answer people: one process per data directory.
SERVING = ("console", "decide", "http", "socket", "teams")


def _run(command: str, args: argparse.Namespace, settings: Settings,
         environment: Environment, store: Store) -> int:
    from bot import admin
    from bot.flow.engine import utcnow
    from bot.service import DecisionService

    if command == "verify":
        anchor = admin.parse_anchor(args.anchor) if args.anchor else None
        if args.anchor and anchor is None:
            print("jigsaw: --anchor must be N:MAC, as posted in the DSL channel",
                  file=sys.stderr)
            return 2
        note = f"anchor: ledger entry {anchor[0]}, as given" if anchor else ""
        posted: list[str] = []
        if (anchor is None and not args.offline and environment.slack_bot_token
                and settings.dsl_channel):
            from bot.slack.anchor import fetch_for_verify

            evidence, note = fetch_for_verify(settings.dsl_channel, environment)
            if evidence is None:  # unreachable: not a pass
                admin.verify(store, sys.stdout, anchor_note=note)
                return 1
            anchor, posted = evidence.anchor, evidence.posted
        elif (anchor is None and not args.offline and environment.teams.configured
              and environment.teams.dsl_channel):
            from bot.teams.anchor import fetch_for_verify as from_teams

            found, note = from_teams(environment.teams)
            if found is None:  # unreachable: not a pass
                admin.verify(store, sys.stdout, anchor_note=note)
                return 1
            anchor, posted = found.anchor, found.posted
        elif args.offline:
            note = "note: --offline: the ledger was not checked against the DSL channel"
        return admin.verify(store, sys.stdout, anchor=anchor, anchor_note=note, posted=posted)
    if command == "retention":
        return admin.retention(store, settings, utcnow(), sys.stdout, purge=args.purge,
                               by=admin.operator(environment), before=args.before, err=sys.stderr)
    if command == "chronology" or (command == "export" and (args.pdf or args.csv or args.copy)):
        service = DecisionService(settings, store)
        by = admin.operator(environment)
        service.know_person(by, admin.operator_name(), "administrator")
        return admin.followthrough(command, args, service, sys.stdout, sys.stderr, by=by)
    if command == "export":
        return admin.export(store, args.record, utcnow(), sys.stdout, sys.stderr,
                            by=admin.operator(environment), reason=args.reason, out_path=args.out)
    app = DecisionService(settings, store)
    if command == "inbox":
        from bot.console import Console

        return Console(app).inbox()
    if command == "cover":
        from bot.console import Console

        return Console(app).cover(args.state, args.name)
    if command == "outcome":
        from bot.console import Console

        return Console(app).settle(args.record, "outcome", outcome=args.outcome,
                                   ref=args.ref.strip()[:100], note=args.note.strip()[:2000])
    if command == "correct":
        from bot.console import Console

        category = (args.category or "").strip()
        if category:
            from bot import derive

            choices = derive.category_choices(app.settings.own_categories)
            code = category if category in choices else derive.own_code(category)
            if code not in choices:
                print(f"{category!r} is not a category. Choose one of: "
                      f"{', '.join((*derive.CATEGORIES, *app.settings.own_categories))}.",
                      file=sys.stderr)
                return 2
            category = code
        fixes = [("category", category), ("summary_line", args.summary)]
        fixes = [(field, value) for field, value in fixes if value.strip()]
        if not fixes:
            print("Say what to correct: --category CATEGORY and/or --summary TEXT.",
                  file=sys.stderr)
            return 2
        console = Console(app)
        for field, value in fixes:
            done = console.settle(args.record, "correct", field=field, value=value)
            if done:
                return done
        return 0
    if command in ("close", "confirm-basis"):
        from bot.console import Console

        return Console(app).settle(args.record, command.replace("-", "_"))
    if command in ("console", "decide"):
        from bot.console import Console

        try:
            return Console(app).run(new=getattr(args, "new", False),
                                    take_on=getattr(args, "record", None))
        except BrokenPipeError:  # output piped into e.g. `head`: what was answered is kept
            sys.stderr.close()
            return 0
    if command == "teams":
        from bot.teams import run as run_teams

        return run_teams(app, args, environment)
    from bot.slack import run

    return run(command, app, args, environment)


if __name__ == "__main__":
    sys.exit(main())
