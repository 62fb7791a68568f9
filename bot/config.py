"""School settings: one TOML file, safe defaults, environment for secrets.

The settings a school changes (its name, nation, DSL contacts, local front
door numbers, retention) live in ``jigsaw.toml`` (see ``jigsaw.example.toml``).
Secrets (Slack tokens, the data key) only ever come from the environment, so
the file can be shared and reviewed without leaking anything.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import nations

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
    dsl_channel: str = ""
    dsl_user_ids: tuple[str, ...] = ()
    deputy_user_ids: tuple[str, ...] = ()
    data_dir: str = "data"
    # School hours and the follow-through schedule (local times in ``timezone``).
    timezone: str = "Europe/London"
    day_start: str = "08:30"
    day_end: str = "15:30"
    working_days: tuple[str, ...] = WEEKDAYS[:5]
    escalation_minutes: int = 15
    digest_day: str = "monday"
    digest_time: str = "08:00"
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
        return nations.pack(self.nation)

    def contact_for(self, role: str) -> Contact:
        """The named person for a routing role (dsl, headteacher, chair, lado)."""
        contact: Contact = getattr(self, role)
        return contact



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
    for role in ("deputy", "headteacher", "chair", "lado"):
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
    values.update(_schedule(raw.get("schedule", {})))
    if "dsl_channel" in slack:
        values["dsl_channel"] = str(slack["dsl_channel"])
    if "dsl_user_ids" in slack:
        values["dsl_user_ids"] = tuple(str(u) for u in slack["dsl_user_ids"])
    if "deputy_user_ids" in slack:
        values["deputy_user_ids"] = tuple(str(u) for u in slack["deputy_user_ids"])
    return replace(base, **values)


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


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Settings from ``path`` (or ``$JIGSAW_CONFIG``, or ``./jigsaw.toml`` if
    present), then the environment: ``JIGSAW_DSL_CHANNEL``, ``JIGSAW_DATA_DIR``.

    A missing default file is fine (safe defaults); a named file that is
    missing or malformed is an error, so a typo never silently drops settings.
    """
    named = path or os.environ.get("JIGSAW_CONFIG")
    file = Path(named) if named else Path("jigsaw.toml")
    settings = Settings()
    if file.exists():
        try:
            settings = from_mapping(tomllib.loads(file.read_text(encoding="utf-8")))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: {exc}") from exc
    elif named:
        raise ConfigError(f"settings file not found: {file}")
    env: dict[str, Any] = {}
    if os.environ.get("JIGSAW_DSL_CHANNEL"):
        env["dsl_channel"] = os.environ["JIGSAW_DSL_CHANNEL"]
    if os.environ.get("JIGSAW_DSL_USERS"):
        env["dsl_user_ids"] = tuple(
            u.strip() for u in os.environ["JIGSAW_DSL_USERS"].split(",") if u.strip()
        )
    if os.environ.get("JIGSAW_DEPUTY_USERS"):
        env["deputy_user_ids"] = tuple(
            u.strip() for u in os.environ["JIGSAW_DEPUTY_USERS"].split(",") if u.strip()
        )
    if os.environ.get("JIGSAW_DATA_DIR"):
        env["data_dir"] = os.environ["JIGSAW_DATA_DIR"]
    return replace(settings, **env)
