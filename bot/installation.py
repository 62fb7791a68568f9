"""Facts about this installation: what a school's DPO signs (``jigsaw pack``)
and what ``jigsaw doctor`` checks, computed from the settings, the
environment and the code, never written by hand.

:func:`facts` reads the settings (``bot.config.Settings``), the process
environment (``bot.config.Environment``), the nation pack and the UK-wide
data protection facts in ``bot/dataprotection.toml``, and returns one
:class:`Installation`: which front end and store are in use, what is
encrypted and sealed, where the data is, who processes it, how long it is
kept, and the settings that weaken the position (:class:`Finding`, with the
fix). It reads files only to look at the audit key file's place and
permissions; it opens no store and calls no chat service (the doctor does
that, in ``bot.doctor``).
"""

from __future__ import annotations

import socket
import stat
import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.config import Contact, Environment, Settings
from bot.flow.basis import Basis, suggest
from storage.base import StoreError
from storage.crypto import Cipher
from storage.seal import MIN_KEY_CHARS, key_file_inside

FACTS_FILE = Path(__file__).with_name("dataprotection.toml")
FRONT_ENDS = ("slack", "teams", "terminal")
# DPA 2018 s.164A (Data (Use and Access) Act 2025 s.103) applies from this day.
COMPLAINTS_DUTY_FROM = date(2026, 6, 19)
# The youngest and oldest pupils a school record is usually about: a
# reception child and a sixth former. Jigsaw holds no dates of birth, so a
# retention period counted from the record's date is compared with the
# guidance's (counted from birth) at both ends of that range.
YOUNGEST_PUPIL = 4
OLDEST_PUPIL = 18
RESTORE_TEST_MAX_DAYS = 365
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "")


@dataclass(frozen=True)
class Citation:
    id: str
    title: str
    section: str
    url: str
    confirmed: bool
    note: str = ""


@dataclass(frozen=True)
class Finding:
    """One thing to say about the installation: ``key`` names its wording in
    ``prompts/pack/findings.j2`` (``ok_<key>``, ``risk_<key>``, ``fix_<key>``).
    ``ok`` findings hold; the others are risks, most serious first."""

    key: str
    ok: bool
    severity: str = "low"  # high | medium | low, for a risk
    params: dict[str, Any] = field(default_factory=dict)
    # Checked by the doctor only (it needs the store or the chat service).
    live: bool = False


SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True)
class Processor:
    name: str
    what: str
    where: str
    source: str
    confirmed: bool


@dataclass(frozen=True)
class Retention:
    years: int  # from the record's date (records.retention_years)
    set_by_school: bool
    guidance_years_from_birth: int  # 0: no figure for this nation
    guidance: Citation | None
    confirmed: bool
    note: str
    # The guidance's period counted from the record's date, for the
    # youngest and the oldest pupil (both 0 when there is no figure).
    guidance_for_youngest: int
    guidance_for_oldest: int


@dataclass(frozen=True)
class Installation:
    """Everything the pack says and the doctor checks, as data."""

    today: date
    school_name: str
    nation: str
    nation_title: str
    school_type: str
    local_authority: str
    dsl: Contact
    deputy: Contact
    headteacher: Contact
    dpo: Contact
    dsl_user_count: int
    deputy_user_count: int  # ids an unacknowledged urgent alert is sent to
    escalation_minutes: int
    child_ref_pattern: str
    lead_team: str  # the nation's word for the DSL team
    front_end: str  # slack | teams | terminal
    slack_mode: str  # socket | http | many-schools | "" (not Slack)
    slack_api_host: str
    dsl_channel: str
    teams_team: str
    teams_unauthenticated: bool
    backend: str  # tinydb | postgresql
    data_dir: str  # absolute
    machine: str
    db_host: str
    db_name: str
    db_tls: str  # the URL's sslmode, or ""
    # What the database keeps outside the encrypted bodies, so it can list
    # and find them (storage.postgres's own column lists).
    db_plain_columns: tuple[str, ...]
    school_id: str
    hosting: str
    encrypted: bool  # a valid data key is set
    data_key_set: bool
    audit_key: str  # env | file | none
    audit_key_file: str
    audit_key_inside_data: bool
    audit_key_file_open_to_others: bool
    audit_key_readable: bool
    audit_key_short: bool
    retention: Retention
    backup_location: str
    backup_restore_tested: str
    complaints: str
    complaints_duty_in_force: bool
    ico_registration: str
    basis: Basis
    processors: tuple[Processor, ...]
    chat: dict[str, Any]
    bot_service: dict[str, Any]
    findings: tuple[Finding, ...]
    law: dict[str, Citation]
    law_cited: dict[str, tuple[str, ...]]
    guidance: tuple[Citation, ...]  # the nation pack's, on every record

    @property
    def sealed(self) -> bool:
        """The audit trail and ledger are sealed with a secret key Jigsaw can use."""
        return self.audit_key != "none" and not (
            self.audit_key_inside_data or self.audit_key_short
            or (self.audit_key == "file" and not self.audit_key_readable))

    @property
    def risks(self) -> list[Finding]:
        return sorted((f for f in self.findings if not f.ok),
                      key=lambda f: SEVERITY_ORDER.get(f.severity, 3))

    def cited(self, document: str) -> list[Citation]:
        """The law a document cites (``[cite]`` in dataprotection.toml)."""
        return [self.law[key] for key in self.law_cited.get(document, ())]


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    return tomllib.loads(FACTS_FILE.read_text(encoding="utf-8"))


def _law() -> dict[str, Citation]:
    return {key: Citation(key, str(v["title"]), str(v.get("section", "")),
                          str(v.get("url", "")), bool(v["confirmed"]), str(v.get("note", "")))
            for key, v in _data()["law"].items()}


def front_end_of(environment: Environment) -> str:
    """The front end this environment runs, as ``jigsaw`` with no command
    picks it (Slack tokens first, then a Teams app registration)."""
    if environment.slack_bot_token or environment.slack_client_id:
        return "slack"
    if environment.teams.client_id or environment.teams.allow_unauthenticated:
        return "teams"
    return "terminal"


def _slack_mode(environment: Environment) -> str:
    if environment.database_url and environment.slack_client_id:
        return "many-schools"
    return "socket" if environment.slack_app_token else "http"


def _retention(settings: Settings, set_by_school: bool, law: dict[str, Citation]
               ) -> Retention:
    entry = _data()["retention"].get(settings.pack.lineage[-1], {})
    years_from_birth = int(entry.get("years_from_birth", 0))
    guidance = law.get(str(entry.get("law", "")))
    return Retention(
        years=settings.retention_years, set_by_school=set_by_school,
        guidance_years_from_birth=years_from_birth, guidance=guidance,
        confirmed=bool(entry.get("confirmed", False)), note=str(entry.get("note", "")),
        guidance_for_youngest=max(years_from_birth - YOUNGEST_PUPIL, 0),
        guidance_for_oldest=max(years_from_birth - OLDEST_PUPIL, 0))


def _audit_key_file(settings: Settings, environment: Environment) -> tuple[bool, bool, bool,
                                                                          bool]:
    """(inside the data directory, open to group or others, readable, too short)."""
    name = environment.audit_key_file
    if environment.audit_key or not name:
        return False, False, bool(environment.audit_key), (
            0 < len(environment.audit_key) < MIN_KEY_CHARS)
    path = Path(name).expanduser()
    inside = key_file_inside(settings.data_dir, name)
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return inside, False, False, False
    return inside, bool(mode & (stat.S_IRWXG | stat.S_IRWXO)), True, len(text) < MIN_KEY_CHARS


def _valid_key(key: str) -> bool:
    try:
        Cipher(key)
    except StoreError:
        return False
    return True


def _processors(front: str, backend: str, hosting: str, db_host: str,
                chat: dict[str, Any], bot_service: dict[str, Any]) -> tuple[Processor, ...]:
    found: list[Processor] = []
    if front in ("slack", "teams"):
        found.append(Processor(str(chat["name"]), "chat", str(chat["where"]),
                               str(chat["where_source"]), bool(chat["where_confirmed"])))
    if front == "teams":
        found.append(Processor(str(bot_service["name"]), "relay", str(bot_service["where"]),
                               str(bot_service["source"]), bool(bot_service["confirmed"])))
    found.append(Processor(hosting, "database" if backend == "postgresql" else "host",
                           db_host, "", True))
    return tuple(found)


def facts(settings: Settings, environment: Environment, *, today: date,
          front_end: str = "", settings_tables: dict[str, Any] | None = None,
          machine: str = "") -> Installation:
    """The facts of this installation. ``front_end`` overrides what the
    environment says (before installing, nothing is set yet);
    ``settings_tables`` are the settings file's own tables, to tell a value
    the school set from a default."""
    tables = settings_tables or {}
    front = front_end or front_end_of(environment)
    if front not in FRONT_ENDS:
        raise ValueError(f"front end must be one of {', '.join(FRONT_ENDS)}")
    law = _law()
    data = _data()
    url = urlsplit(environment.database_url) if environment.database_url else None
    backend = "postgresql" if url else "tinydb"
    data_dir = str(Path(settings.data_dir).expanduser().absolute())
    machine = machine or socket.gethostname()
    db_host = (f"{url.hostname or 'localhost'}:{url.port or 5432}" if url else "")
    db_tls = (parse_qs(url.query).get("sslmode", [""])[0] if url else "")
    plain: tuple[str, ...] = ()
    if url:
        from storage.postgres import RECORD_COLUMNS, SESSION_COLUMNS

        plain = (*(f"records.{c}" for c in ("id", *RECORD_COLUMNS) if c != "body"),
                 *(f"sessions.{c}" for c in SESSION_COLUMNS if c not in ("body", "school")))
    hosting = settings.hosting
    inside, open_to_others, readable, short = _audit_key_file(settings, environment)
    audit = "env" if environment.audit_key else "file" if environment.audit_key_file else "none"
    retention = _retention(settings, "retention_years" in (tables.get("records") or {}), law)
    chat = dict(data["chat"].get(front, {}))
    bot_service = dict(data["chat"]["bot_service"])
    channel = (environment.teams.dsl_channel if front == "teams" else settings.dsl_channel)
    facts_so_far: dict[str, Any] = dict(
        today=today, school_name=settings.school_name, nation=settings.nation,
        nation_title=settings.pack.title, school_type=settings.school_type,
        local_authority=("" if settings.local_authority == Settings.local_authority
                         else settings.local_authority), dsl=settings.dsl, deputy=settings.deputy,
        headteacher=settings.headteacher, dpo=settings.dpo,
        dsl_user_count=len(settings.dsl_user_ids),
        deputy_user_count=len(settings.deputy_user_ids),
        escalation_minutes=settings.escalation_minutes,
        child_ref_pattern=settings.child_ref_pattern, lead_team=settings.pack.term("lead_team"),
        front_end=front, slack_mode=_slack_mode(environment) if front == "slack" else "",
        slack_api_host=urlsplit(environment.slack_api_url).hostname or "",
        dsl_channel=channel, teams_team=environment.teams.dsl_team,
        teams_unauthenticated=environment.teams.allow_unauthenticated,
        backend=backend, data_dir=data_dir, machine=machine,
        db_host=db_host, db_name=(url.path.lstrip("/") if url else ""), db_tls=db_tls,
        db_plain_columns=plain,
        school_id=environment.school or "default", hosting=hosting,
        encrypted=bool(environment.data_key) and _valid_key(environment.data_key),
        data_key_set=bool(environment.data_key),
        audit_key=audit, audit_key_file=environment.audit_key_file,
        audit_key_inside_data=inside, audit_key_file_open_to_others=open_to_others,
        audit_key_readable=readable, audit_key_short=short, retention=retention,
        backup_location=settings.backup_location,
        backup_restore_tested=settings.backup_restore_tested,
        complaints=settings.complaints, complaints_duty_in_force=today >= COMPLAINTS_DUTY_FROM,
        ico_registration=settings.ico_registration,
        basis=suggest({}, settings.school_type, decision="share"),
        processors=_processors(front, backend, hosting, db_host or f"{machine}:{data_dir}",
                               chat, bot_service),
        chat=chat, bot_service=bot_service, law=law,
        law_cited={k: tuple(v) for k, v in data["cite"].items()},
        guidance=tuple(Citation(str(g["id"]), str(g["title"]),
                                ", ".join(str(g[k]) for k in ("year", "section") if g.get(k)),
                                str(g.get("url", "")), bool(g["confirmed"]))
                       for g in settings.pack.cited()),
    )
    findings = tuple(check(facts_so_far))
    return Installation(**facts_so_far, findings=findings)


def check(f: dict[str, Any]) -> list[Finding]:
    """What holds and what weakens the position, from the facts alone (the
    doctor adds what only the store or the chat service can say)."""
    out: list[Finding] = []

    def say(key: str, ok: bool, severity: str = "low", **params: Any) -> None:
        out.append(Finding(key, ok, severity, params))

    if not f["data_key_set"]:
        say("data_key", False, "high")
    elif not f["encrypted"]:
        say("data_key_invalid", False, "high")
    else:
        say("data_key", True)
    if f["audit_key"] == "none":
        say("audit_key", False, "high")
    elif f["audit_key_inside_data"]:
        say("audit_key_inside", False, "high", path=f["audit_key_file"], data_dir=f["data_dir"])
    elif f["audit_key"] == "file" and not f["audit_key_readable"]:
        say("audit_key_unreadable", False, "high", path=f["audit_key_file"])
    elif f["audit_key_short"]:
        say("audit_key_short", False, "high")
    elif f["audit_key_file_open_to_others"]:
        say("audit_key_open", False, "medium", path=f["audit_key_file"])
    else:
        say("audit_key", True, where=f["audit_key"], path=f["audit_key_file"])
    if f["front_end"] == "terminal":
        pass  # records stay on this machine: no channel
    elif not f["dsl_channel"]:
        say("dsl_channel", False, "high", front=f["front_end"])
    else:
        say("dsl_channel", True, front=f["front_end"], channel=f["dsl_channel"])
    if f["front_end"] != "terminal":
        say("deputies", bool(f["deputy_user_count"]), "medium", front=f["front_end"],
            count=f["deputy_user_count"], minutes=f["escalation_minutes"])
    if f["front_end"] == "teams" and f["teams_unauthenticated"]:
        say("teams_unauthenticated", False, "high")
    if f["front_end"] == "teams" and not f["teams_team"]:
        say("teams_team", False, "high")
    r: Retention = f["retention"]
    if not r.set_by_school:
        say("retention_set", False, "low", years=r.years)
    else:
        say("retention_set", True, years=r.years)
    if not r.guidance_years_from_birth:
        say("retention_unsourced", False, "low", nation=f["nation_title"], note=r.note)
    elif r.years > r.guidance_for_youngest:
        say("retention_longer", False, "medium", years=r.years, r=r)
    elif r.years < r.guidance_for_oldest:
        say("retention_shorter", False, "high", years=r.years, r=r)
    else:
        say("retention_by_age", False, "low", years=r.years, r=r)
    if not f["backup_location"]:
        say("backups", False, "medium", backend=f["backend"])
    else:
        say("backups", True, location=f["backup_location"])
        tested = f["backup_restore_tested"]
        age = (f["today"] - date.fromisoformat(tested)).days if tested else None
        if age is None or age > RESTORE_TEST_MAX_DAYS:
            say("restore_tested", False, "medium", tested=tested)
        else:
            say("restore_tested", True, tested=tested)
    if not f["complaints"]:
        say("complaints", False, "medium" if f["complaints_duty_in_force"] else "low",
            in_force=f["complaints_duty_in_force"])
    else:
        say("complaints", True, route=f["complaints"])
    if not f["dpo"].name and not f["dpo"].email:
        say("dpo", False, "medium")
    else:
        say("dpo", True)
    if not f["hosting"]:
        say("hosting", False, "medium")
    if f["backend"] == "postgresql":
        host = f["db_host"].rsplit(":", 1)[0].strip("[]")
        if host not in LOCAL_HOSTS and f["db_tls"] not in ("require", "verify-ca",
                                                            "verify-full"):
            say("db_tls", False, "medium", host=f["db_host"], sslmode=f["db_tls"])
        else:
            say("db_tls", True, host=f["db_host"], sslmode=f["db_tls"])
    return out
