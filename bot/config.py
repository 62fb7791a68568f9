"""Every setting Jigsaw reads, read here and passed in.

The settings a school changes (its name, nation, DSL contacts, local front
door numbers, retention) live in ``jigsaw.toml`` (see ``jigsaw.example.toml``):
:class:`Settings`. Secrets (Slack tokens, the data and audit keys) and
deployment settings (ports, data directory, log level) only ever come from
the environment, so the file can be shared and reviewed without leaking
anything: :class:`Environment`, read once by :meth:`Environment.read`. No
other module reads ``os.environ``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import derive, nations

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SCHOOL_TYPES = ("maintained", "academy", "independent")


class ConfigError(ValueError):
    """The settings file is unreadable or holds a value we cannot use."""


@dataclass(frozen=True)
class Contact:
    # Empty: the nation pack's word for the role ("the DSL", "the DSP"...).
    name: str = ""
    phone: str = ""
    email: str = ""
    # Chat user id (Slack or Teams): records routed to this person go to them
    # directly. Empty: the record is held and the person told whom to see.
    user_id: str = ""


# Who may receive a concern about an adult (KCSIE Part four).
LOW_LEVEL_RECIPIENTS = ("dsl", "headteacher")

# Settings whose default is the nation pack's word (``terms.<key>``): a
# contact's name, or a plain value. Left empty (or as a pack filled it in),
# they follow the nation; set in the settings file, they are the school's.
PACK_CONTACTS = {"dsl": "lead_contact", "deputy": "deputy", "headteacher": "head",
                 "chair": "chair", "lado": "allegations_officer"}
PACK_VALUES = {"front_door_phone": "front_door", "out_of_hours_phone": "out_of_hours"}


@dataclass(frozen=True)
class Settings:
    school_name: str = "our school"
    nation: str = nations.DEFAULT_NATION
    school_type: str = "maintained"
    dsl: Contact = field(default_factory=Contact)
    deputy: Contact = field(default_factory=Contact)
    headteacher: Contact = field(default_factory=Contact)
    chair: Contact = field(default_factory=Contact)
    # The allegations officer: the LADO in England, its equivalent elsewhere.
    lado: Contact = field(default_factory=Contact)
    dsl_is_head: bool = False
    head_is_sole_proprietor: bool = False
    low_level_concerns_to: str = "dsl"
    local_authority: str = "the local authority"
    front_door_phone: str = ""
    out_of_hours_phone: str = ""
    retention_years: int = 25
    # The school's own child reference, as a regular expression (e.g.
    # ``CP-\\d{4}``); initials are always taken. Anything else, and anything
    # that looks like a name, is asked about and taken only when confirmed.
    child_ref_pattern: str = ""
    # The school's own categories of concern (``[records] categories``),
    # offered beside the standard ones wherever a category is chosen.
    own_categories: tuple[str, ...] = ()
    dsl_channel: str = ""
    dsl_user_ids: tuple[str, ...] = ()
    deputy_user_ids: tuple[str, ...] = ()
    # DSL cover (the ``[cover]`` table; the DSL team can also switch it from
    # the App Home, the Teams home or ``jigsaw cover``): while the DSL is
    # away, staff are told who covers, by name (else the deputy's), and
    # alerts and concerns go to the deputies at once.
    dsl_away: bool = False
    covering: str = ""
    # The terminal: the login names of the DSL team's accounts (``[console]
    # dsl_accounts``). Anyone else on the terminal is staff, unless they say
    # "I am the DSL" (kept on the record).
    console_dsl_accounts: tuple[str, ...] = ()
    data_dir: str = "data"
    # School hours and the follow-through schedule (local times in ``timezone``).
    timezone: str = "Europe/London"
    day_start: str = "08:30"
    day_end: str = "15:30"
    working_days: tuple[str, ...] = WEEKDAYS[:5]
    escalation_minutes: int = 15
    digest_day: str = "monday"
    digest_time: str = "08:00"
    # Access: how long a DSL channel member list may be used when the chat
    # service cannot be asked (then nobody but configured DSLs passes), and
    # how many refused attempts per person per record an hour are audited
    # (the rest are counted), so forged clicks cannot grow the store.
    membership_max_stale_minutes: int = 5
    audited_refusals_per_hour: int = 10
    # Data protection (the ``[data_protection]`` and ``[backups]`` tables,
    # and ``[contacts.dpo]``): what ``jigsaw pack`` and ``jigsaw doctor``
    # report. Empty: not set, which the pack shows as a gap to fill.
    dpo: Contact = field(default_factory=Contact)
    # How someone makes a data protection complaint to the school (DPA 2018
    # s.164A, inserted by the Data (Use and Access) Act 2025 s.103).
    complaints: str = ""
    # Who runs the machine (or database) Jigsaw and its store are on, and where.
    hosting: str = ""
    ico_registration: str = ""
    # Where backups of the store go, how often, and how they are protected;
    # and the date a restore from them was last tested (YYYY-MM-DD).
    backup_location: str = ""
    backup_restore_tested: str = ""
    # Rules of the pack waiting for commencement that the school knows have
    # started, each (rule, ISO date): ``[guidance] commenced`` in the settings.
    commenced: tuple[tuple[str, str], ...] = ()
    # What the pack filled in, so a copy for another nation refills it
    # (and never overwrites what the school set).
    pack_filled: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.nation not in nations.available():
            raise ConfigError(unknown_nation(self.nation))
        terms = nations.pack(self.nation).terms
        before = dict(self.pack_filled)
        filled: list[tuple[str, str]] = []
        for attr, key in (*PACK_CONTACTS.items(), *PACK_VALUES.items()):
            current = getattr(self, attr)
            text = current.name if isinstance(current, Contact) else current
            if text and text != before.get(attr):
                continue  # the school's own
            word = str(terms[key])
            new = replace(current, name=word) if isinstance(current, Contact) else word
            object.__setattr__(self, attr, new)
            filled.append((attr, word))
        object.__setattr__(self, "pack_filled", tuple(filled))

    @property
    def pack(self) -> nations.NationPack:
        """The school's nation pack: its words, routes, duties and citations."""
        return nations.pack(self.nation, commenced=self.commencements)

    @property
    def commencements(self) -> dict[str, date]:
        return {key: date.fromisoformat(day) for key, day in self.commenced}

    def contact_for(self, role: str) -> Contact:
        """The named person for a routing role (dsl, headteacher, chair, lado)."""
        contact: Contact = getattr(self, role)
        return contact



def _cover(raw: dict[str, Any]) -> dict[str, Any]:
    unknown = set(raw) - {"dsl_away", "covering"}
    if unknown:
        raise ConfigError(f"unknown cover setting(s): {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    if "dsl_away" in raw:
        if not isinstance(raw["dsl_away"], bool):
            raise ConfigError("cover.dsl_away must be true or false")
        values["dsl_away"] = raw["dsl_away"]
    if "covering" in raw:
        values["covering"] = str(raw["covering"]).strip()
    return values


def unknown_nation(name: str) -> str:
    return (f"school.nation {name!r} has no nation pack; choose one of "
            f"{', '.join(nations.available())}")


def _contact(raw: Any, default: Contact) -> Contact:
    if not isinstance(raw, dict):
        raise ConfigError("a contact must be a table with name, phone and email")
    known = {f.name for f in fields(Contact)}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"unknown contact setting(s): {', '.join(sorted(unknown))}")
    return replace(default, **{k: str(v) for k, v in raw.items()})


def from_mapping(raw: dict[str, Any], base: Settings | None = None) -> Settings:
    """Build settings from a parsed TOML document, checking every value."""
    base = base or Settings()
    school = raw.get("school", {})
    contacts = raw.get("contacts", {})
    local = raw.get("local_authority", {})
    records = raw.get("records", {})
    slack = raw.get("slack", {})
    values: dict[str, Any] = {}
    if "name" in school:
        values["school_name"] = str(school["name"])
    if "nation" in school:
        nation = str(school["nation"]).lower().replace(" ", "_")
        if nation not in nations.available():
            raise ConfigError(unknown_nation(nation))
        values["nation"] = nation
    if "type" in school:
        kind = str(school["type"]).lower()
        if kind not in SCHOOL_TYPES:
            raise ConfigError(f"school.type must be one of {', '.join(SCHOOL_TYPES)}")
        values["school_type"] = kind
    if "dsl" in contacts:
        values["dsl"] = _contact(contacts["dsl"], base.dsl)
    for role in ("deputy", "headteacher", "chair", "lado", "dpo"):
        if role in contacts:
            values[role] = _contact(contacts[role], getattr(base, role))
    allegations = raw.get("allegations", {})
    for key in ("dsl_is_head", "head_is_sole_proprietor"):
        if key in allegations:
            if not isinstance(allegations[key], bool):
                raise ConfigError(f"allegations.{key} must be true or false")
            values[key] = allegations[key]
    if "low_level_concerns_to" in allegations:
        to = str(allegations["low_level_concerns_to"]).lower()
        if to not in LOW_LEVEL_RECIPIENTS:
            raise ConfigError("allegations.low_level_concerns_to must be one of "
                              f"{', '.join(LOW_LEVEL_RECIPIENTS)}")
        values["low_level_concerns_to"] = to
    for key, attr in (
        ("name", "local_authority"),
        ("front_door_phone", "front_door_phone"),
        ("out_of_hours_phone", "out_of_hours_phone"),
    ):
        if key in local:
            values[attr] = str(local[key])
    if "retention_years" in records:
        years = records["retention_years"]
        if not isinstance(years, int) or years < 1:
            raise ConfigError("records.retention_years must be a whole number of years, 1 or more")
        values["retention_years"] = years
    if "child_ref_pattern" in records:
        pattern = str(records["child_ref_pattern"])
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"records.child_ref_pattern is not a regular expression: {exc}"
                              ) from None
        except RecursionError:
            raise ConfigError("records.child_ref_pattern is nested too deeply") from None
        risky = risky_pattern(pattern)
        if risky:
            raise ConfigError(f"records.child_ref_pattern could take minutes to check one "
                              f"reference ({risky}): write it without that") from None
        values["child_ref_pattern"] = pattern
    if "categories" in records:
        values["own_categories"] = _own_categories(records["categories"])
    if "commenced" in raw.get("guidance", {}):
        values["commenced"] = _commenced(raw["guidance"]["commenced"],
                                         values.get("nation", base.nation))
    values.update(_cover(raw.get("cover", {})))
    values.update(_schedule(raw.get("schedule", {})))
    values.update(_access(raw.get("access", {})))
    values.update(_data_protection(raw.get("data_protection", {}), raw.get("backups", {})))
    if "dsl_channel" in slack:
        values["dsl_channel"] = str(slack["dsl_channel"])
    if "dsl_user_ids" in slack:
        values["dsl_user_ids"] = tuple(str(u) for u in slack["dsl_user_ids"])
    if "deputy_user_ids" in slack:
        values["deputy_user_ids"] = tuple(str(u) for u in slack["deputy_user_ids"])
    console = raw.get("console", {})
    if "dsl_accounts" in console:
        accounts = console["dsl_accounts"]
        if not isinstance(accounts, list):
            raise ConfigError("console.dsl_accounts must be a list of login names")
        values["console_dsl_accounts"] = tuple(str(u).strip() for u in accounts if str(u).strip())
    return replace(base, **values)


def _own_categories(raw: Any) -> tuple[str, ...]:
    """``[records] categories = ["Attendance", "Young carer"]``: names, each
    new, short and unlike the standard categories."""
    if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
        raise ConfigError('records.categories must be a list of names, e.g. ["Attendance"]')
    labels = tuple(" ".join(c.split()) for c in raw)
    if len(labels) > derive.OWN_MAX:
        raise ConfigError(f"records.categories: at most {derive.OWN_MAX} of the school's own")
    seen: set[str] = set()
    for label in labels:
        code = derive.own_code(label)
        if code == derive.OWN_PREFIX or len(label) > derive.OWN_LABEL_MAX:
            raise ConfigError(f"records.categories: {label!r} must be a name of 1 to "
                              f"{derive.OWN_LABEL_MAX} characters")
        if code in seen or code.removeprefix(derive.OWN_PREFIX) in derive.CATEGORIES:
            raise ConfigError(f"records.categories: {label!r} is already a category")
        seen.add(code)
    return labels


def _commenced(raw: Any, nation: str) -> tuple[tuple[str, str], ...]:
    """``[guidance] commenced = {rule = 2027-04-01}``: pending rules started."""
    pending = nations.pending_rules(nations.pack(nation))
    if not isinstance(raw, dict):
        raise ConfigError("guidance.commenced must be a table of rule = date")
    found = []
    for key, day in raw.items():
        if key not in pending:
            raise ConfigError(f"guidance.commenced: {key!r} is not waiting for commencement "
                              f"in this nation; one of: {', '.join(pending) or 'none'}")
        if not isinstance(day, date) or isinstance(day, datetime):
            raise ConfigError(f"guidance.commenced.{key} must be a date, e.g. 2027-04-01")
        found.append((str(key), day.isoformat()))
    return tuple(sorted(found))


def _clock_time(key: str, value: Any) -> str:
    """A local time of day as ``HH:MM``."""
    text = str(value).strip()
    try:
        parsed = time.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"schedule.{key} must be a time of day such as 08:30") from None
    return parsed.strftime("%H:%M")


def _weekday(key: str, value: Any) -> str:
    day = str(value).strip().lower()
    if day[:3] not in {d[:3] for d in WEEKDAYS}:
        raise ConfigError(f"schedule.{key} must name a day of the week")
    return next(d for d in WEEKDAYS if d[:3] == day[:3])


def _schedule(raw: Any) -> dict[str, Any]:
    """School hours, reminders and the weekly digest (the ``[schedule]`` table)."""
    if not isinstance(raw, dict):
        raise ConfigError("schedule must be a table")
    known = {"timezone", "day_start", "day_end", "working_days", "escalation_minutes",
             "digest_day", "digest_time"}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"unknown schedule setting(s): {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    if "timezone" in raw:
        try:
            ZoneInfo(str(raw["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError("schedule.timezone must be a time zone such as "
                              "Europe/London") from None
        values["timezone"] = str(raw["timezone"])
    for key in ("day_start", "day_end", "digest_time"):
        if key in raw:
            values[key] = _clock_time(key, raw[key])
    if values.get("day_start", "00:00") >= values.get("day_end", "24:00"):
        raise ConfigError("schedule.day_start must come before schedule.day_end")
    if "working_days" in raw:
        days = raw["working_days"]
        if not isinstance(days, list) or not days:
            raise ConfigError("schedule.working_days must list days, e.g. "
                              '["monday", "tuesday"]')
        chosen = {_weekday("working_days", d) for d in days}
        values["working_days"] = tuple(d for d in WEEKDAYS if d in chosen)
    if "digest_day" in raw:
        values["digest_day"] = _weekday("digest_day", raw["digest_day"])
    if "escalation_minutes" in raw:
        minutes = raw["escalation_minutes"]
        if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes < 1:
            raise ConfigError("schedule.escalation_minutes must be a whole number, 1 or more")
        values["escalation_minutes"] = minutes
    return values


def _access(raw: Any) -> dict[str, Any]:
    """The ``[access]`` table."""
    if not isinstance(raw, dict):
        raise ConfigError("access must be a table")
    known = {"membership_max_stale_minutes", "audited_refusals_per_hour"}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"unknown access setting(s): {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for key in known & set(raw):
        number = raw[key]
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise ConfigError(f"access.{key} must be a whole number, 1 or more")
        values[key] = number
    return values


def _data_protection(raw: Any, backups: Any) -> dict[str, Any]:
    """The ``[data_protection]`` and ``[backups]`` tables: plain text, and
    the date a restore was last tested."""
    values: dict[str, Any] = {}
    for table, name, known in ((raw, "data_protection", {
            "complaints": "complaints", "hosting": "hosting",
            "ico_registration": "ico_registration"}),
            (backups, "backups", {"location": "backup_location",
                                  "restore_tested": "backup_restore_tested"})):
        if not isinstance(table, dict):
            raise ConfigError(f"{name} must be a table")
        unknown = set(table) - set(known)
        if unknown:
            raise ConfigError(f"unknown {name} setting(s): {', '.join(sorted(unknown))}")
        for key, attr in known.items():
            if key in table:
                values[attr] = str(table[key]).strip()
    tested = values.get("backup_restore_tested")
    if tested:
        try:
            values["backup_restore_tested"] = date.fromisoformat(tested).isoformat()
        except ValueError:
            raise ConfigError("backups.restore_tested must be a date as YYYY-MM-DD") from None
    return values


DEFAULT_PORT = 3000
DEFAULT_HOST = "0.0.0.0"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_SLACK_TIMEOUT = 10.0


def _users(text: str) -> tuple[str, ...]:
    return tuple(u.strip() for u in text.split(",") if u.strip())


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {text!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be more than 0")
    return value



# -- Microsoft Teams ----------------------------------------------------------------
TEAMS_PORT = 3978


@dataclass(frozen=True)
class TeamsSettings:
    """How the Teams front end reaches Microsoft: the Entra app registration
    (the Teams SDK's own variable names) and the DSL team's channel."""

    client_id: str = ""  # CLIENT_ID
    client_secret: str = field(default="", repr=False)  # CLIENT_SECRET
    tenant_id: str = ""  # TENANT_ID
    # The DSL team's channel, as Teams names it (``19:…@thread.tacv2``), and
    # the team it belongs to (its group id, for reading the channel's posts).
    dsl_channel: str = ""  # JIGSAW_TEAMS_CHANNEL
    dsl_team: str = ""  # JIGSAW_TEAMS_TEAM
    # Where proactive posts go when no activity has told us yet.
    service_url: str = ""  # SERVICE_URL
    # The public host of the messaging endpoint, for the app package.
    domain: str = ""  # JIGSAW_TEAMS_DOMAIN
    # Tests only: one local server standing in for the Bot Connector, the
    # token service, the token signing keys and Microsoft Graph.
    connector_url: str = ""  # JIGSAW_TEAMS_CONNECTOR_URL
    # Local development only: accept requests without a token. Refused while
    # a client secret is set.
    allow_unauthenticated: bool = False  # DANGEROUSLY_ALLOW_UNAUTHENTICATED_REQUESTS
    port: int = TEAMS_PORT  # PORT, if set

    @property
    def configured(self) -> bool:
        return bool(self.client_id and (self.client_secret or self.connector_url)
                    or self.allow_unauthenticated)


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be true or false")


def _teams(env: Mapping[str, str], port: int | None) -> TeamsSettings:
    teams = TeamsSettings(
        client_id=env.get("CLIENT_ID", "").strip(),
        client_secret=env.get("CLIENT_SECRET", "").strip(),
        tenant_id=env.get("TENANT_ID", "").strip(),
        dsl_channel=env.get("JIGSAW_TEAMS_CHANNEL", "").strip(),
        dsl_team=env.get("JIGSAW_TEAMS_TEAM", "").strip(),
        service_url=env.get("SERVICE_URL", "").strip(),
        domain=env.get("JIGSAW_TEAMS_DOMAIN", "").strip(),
        connector_url=env.get("JIGSAW_TEAMS_CONNECTOR_URL", "").strip().rstrip("/"),
        allow_unauthenticated=_flag(env, "DANGEROUSLY_ALLOW_UNAUTHENTICATED_REQUESTS"),
        port=port or TEAMS_PORT,
    )
    if teams.allow_unauthenticated and teams.client_secret:
        raise ConfigError("DANGEROUSLY_ALLOW_UNAUTHENTICATED_REQUESTS cannot be on while "
                          "CLIENT_SECRET is set: unset one of them")
    return teams


# Environment fields that are plain text, and the variable each is read from.
_TEXT_VARIABLES = {
    "config_file": "JIGSAW_CONFIG", "data_dir": "JIGSAW_DATA_DIR",
    "data_key": "JIGSAW_DATA_KEY", "audit_key": "JIGSAW_AUDIT_KEY",
    "audit_key_file": "JIGSAW_AUDIT_KEY_FILE", "dsl_channel": "JIGSAW_DSL_CHANNEL",
    "slack_bot_token": "SLACK_BOT_TOKEN", "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "slack_app_token": "SLACK_APP_TOKEN", "school": "JIGSAW_SCHOOL",
    "slack_client_id": "JIGSAW_SLACK_CLIENT_ID",
    "slack_client_secret": "JIGSAW_SLACK_CLIENT_SECRET",
    "slack_redirect_uri": "SLACK_REDIRECT_URI", "sudo_user": "SUDO_USER",
    "sudo_uid": "SUDO_UID",
}


@dataclass(frozen=True)
class Environment:
    """What the process environment says; every variable is in the README.

    Secrets are kept out of ``repr`` so a stray log line can't print them.
    """

    config_file: str = ""  # JIGSAW_CONFIG
    data_dir: str = ""  # JIGSAW_DATA_DIR (overrides the settings file)
    data_key: str = field(default="", repr=False)  # JIGSAW_DATA_KEY
    audit_key: str = field(default="", repr=False)  # JIGSAW_AUDIT_KEY
    audit_key_file: str = ""  # JIGSAW_AUDIT_KEY_FILE
    dsl_channel: str = ""  # JIGSAW_DSL_CHANNEL
    dsl_users: tuple[str, ...] = ()  # JIGSAW_DSL_USERS
    deputy_users: tuple[str, ...] = ()  # JIGSAW_DEPUTY_USERS
    log_level: str = "INFO"  # JIGSAW_LOG_LEVEL
    slack_bot_token: str = field(default="", repr=False)  # SLACK_BOT_TOKEN
    slack_signing_secret: str = field(default="", repr=False)  # SLACK_SIGNING_SECRET
    slack_app_token: str = field(default="", repr=False)  # SLACK_APP_TOKEN
    slack_api_url: str = DEFAULT_SLACK_API_URL  # SLACK_API_URL
    slack_timeout: float = DEFAULT_SLACK_TIMEOUT  # JIGSAW_SLACK_TIMEOUT (seconds)
    health_port: int | None = None  # JIGSAW_HEALTH_PORT (Socket Mode's /health)
    port: int = DEFAULT_PORT  # PORT (HTTP mode)
    host: str = DEFAULT_HOST  # HOST (HTTP mode)
    # PostgreSQL instead of the data directory; the URL may hold a password.
    database_url: str = field(default="", repr=False)  # JIGSAW_DATABASE_URL
    school: str = ""  # JIGSAW_SCHOOL (the school this process serves in the database)
    # Slack installed per school through OAuth; not Slack's own variable
    # names, which would make Bolt keep installations in local files.
    slack_client_id: str = ""  # JIGSAW_SLACK_CLIENT_ID
    slack_client_secret: str = field(default="", repr=False)  # JIGSAW_SLACK_CLIENT_SECRET
    slack_redirect_uri: str = ""  # SLACK_REDIRECT_URI (OAuth, when not derived)
    # Installs from workspaces no administrator registered make new schools.
    open_installs: bool = False  # JIGSAW_OPEN_INSTALLS
    # Set by sudo: who really ran an admin command.
    sudo_user: str = ""  # SUDO_USER
    sudo_uid: str = ""  # SUDO_UID
    teams: TeamsSettings = field(default_factory=TeamsSettings)  # CLIENT_ID and the rest

    @classmethod
    def read(cls, environ: Mapping[str, str] | None = None) -> Environment:
        """The environment of this process (or ``environ``), checked."""
        env = os.environ if environ is None else environ

        def text(name: str, default: str = "") -> str:
            return env.get(name, "").strip() or default

        database_url = text("JIGSAW_DATABASE_URL")
        if database_url and not database_url.startswith(("postgresql://", "postgres://")):
            raise ConfigError("JIGSAW_DATABASE_URL must be a postgresql:// URL")
        ports: dict[str, int | None] = {}
        for name in ("PORT", "JIGSAW_HEALTH_PORT"):
            value = text(name)
            if value and not (value.isdigit() and 0 < int(value) < 65536):
                raise ConfigError(f"{name} must be a port number, not {value!r}")
            ports[name] = int(value) if value else None
        return cls(
            **{name: text(variable) for name, variable in _TEXT_VARIABLES.items()},
            dsl_users=_users(text("JIGSAW_DSL_USERS")),
            deputy_users=_users(text("JIGSAW_DEPUTY_USERS")),
            log_level=text("JIGSAW_LOG_LEVEL", "INFO").upper(),
            slack_api_url=text("SLACK_API_URL", DEFAULT_SLACK_API_URL),
            slack_timeout=_number(env, "JIGSAW_SLACK_TIMEOUT", DEFAULT_SLACK_TIMEOUT),
            health_port=ports["JIGSAW_HEALTH_PORT"],
            port=ports["PORT"] or DEFAULT_PORT,
            host=text("HOST", DEFAULT_HOST),
            database_url=database_url,
            open_installs=_flag(env, "JIGSAW_OPEN_INSTALLS"),
            teams=_teams(env, ports["PORT"]),
        )


def load_settings(path: str | os.PathLike[str] | None = None,
                  environment: Environment | None = None) -> Settings:
    """Settings from ``path`` (or ``JIGSAW_CONFIG``, or ``./jigsaw.toml`` if
    present), then the environment's overrides (DSL channel and users, data
    directory).

    A missing default file is fine (safe defaults); a named file that is
    missing or malformed is an error, so a typo never silently drops settings.
    """
    environment = environment or Environment.read()
    settings = from_mapping(_read_file(path, environment))
    overrides: dict[str, Any] = {}
    if environment.dsl_channel:
        overrides["dsl_channel"] = environment.dsl_channel
    if environment.dsl_users:
        overrides["dsl_user_ids"] = environment.dsl_users
    if environment.deputy_users:
        overrides["deputy_user_ids"] = environment.deputy_users
    if environment.data_dir:
        overrides["data_dir"] = environment.data_dir
    return replace(settings, **overrides)


def risky_pattern(pattern: str) -> str | None:
    """Why a school's reference pattern could take minutes to check a short
    reference (a repeat inside a repeat, alternatives inside a repeat, or
    many repeats in a row), or None if it is safe. Python's ``re`` cannot
    be stopped part way, so such a pattern is refused when read."""
    from re import _constants as sre  # type: ignore[attr-defined]  # no stubs; 3.11+
    from re import _parser as parser  # type: ignore[attr-defined]

    repeats = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)
    count = 0

    def walk(items: Any, inside: bool) -> str | None:
        nonlocal count
        for op, arg in items:
            if op in repeats:
                low, high, body = arg
                if high > 1:
                    if inside:
                        return "it repeats a part that is itself repeated, like (a+)+"
                    count += 1
                    found = walk(body, True)
                else:
                    found = walk(body, inside)
            elif op == sre.BRANCH:
                if inside:
                    return "it repeats a choice of alternatives, like (a|ab)+"
                found = next((f for b in arg[1] if (f := walk(b, inside))), None)
            elif op in (sre.SUBPATTERN, sre.ATOMIC_GROUP):
                found = walk(arg[-1], inside)
            elif op in (sre.ASSERT, sre.ASSERT_NOT):
                found = walk(arg[1], inside)
            elif op == sre.GROUPREF_EXISTS:
                found = walk(arg[1], inside) or (walk(arg[2], inside) if arg[2] else None)
            else:
                found = None
            if found:
                return found
        return None

    why = walk(parser.parse(pattern), False)
    if why is None and count > 4:
        why = f"it has {count} repeated parts (at most 4)"
    return why


def _read_file(path: str | os.PathLike[str] | None, environment: Environment
               ) -> dict[str, Any]:
    """The settings file's tables (see :func:`load_settings`)."""
    named = path or environment.config_file or None
    file = Path(named) if named else Path("jigsaw.toml")
    if file.exists():
        if not file.is_file():
            raise ConfigError(f"settings file {file} is not a file")
        try:
            return tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{file} is not UTF-8 text (byte {exc.start}): save it as "
                              "UTF-8") from None
        except RecursionError:
            raise ConfigError(f"{file}: arrays or tables nested too deeply") from None
        except OSError as exc:
            raise ConfigError(f"cannot read settings file {file}: "
                              f"{exc.strerror or type(exc).__name__}") from None
    if named:
        raise ConfigError(f"settings file not found: {file}")
    return {}


def settings_tables(path: str | os.PathLike[str] | None = None,
                    environment: Environment | None = None) -> dict[str, Any]:
    """A school's settings in the shape kept in the database (PostgreSQL):
    the settings file's tables, with the environment's DSL channel and users
    in ``[slack]``. Checked as :func:`load_settings` checks them."""
    environment = environment or Environment.read()
    tables = _read_file(path, environment)
    slack = dict(tables.get("slack") or {})
    if environment.dsl_channel:
        slack["dsl_channel"] = environment.dsl_channel
    if environment.dsl_users:
        slack["dsl_user_ids"] = list(environment.dsl_users)
    if environment.deputy_users:
        slack["deputy_user_ids"] = list(environment.deputy_users)
    if slack:
        tables["slack"] = slack
    from_mapping(tables)
    return tables
