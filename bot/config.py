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
from pathlib import Path
from typing import Any

NATIONS = ("england", "wales", "scotland", "northern_ireland")
SCHOOL_TYPES = ("maintained", "academy", "independent")


class ConfigError(ValueError):
    """The settings file is unreadable or holds a value we cannot use."""


@dataclass(frozen=True)
class Contact:
    name: str = "the DSL"
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class Settings:
    school_name: str = "our school"
    nation: str = "england"
    school_type: str = "maintained"
    dsl: Contact = field(default_factory=Contact)
    deputy: Contact = field(default_factory=lambda: Contact(name="the deputy DSL"))
    local_authority: str = "the local authority"
    front_door_phone: str = "your local children's social care front door"
    out_of_hours_phone: str = "the out-of-hours emergency duty team"
    retention_years: int = 25
    dsl_channel: str = ""
    dsl_user_ids: tuple[str, ...] = ()
    data_dir: str = "data"

    @property
    def in_england(self) -> bool:
        """KCSIE and Working Together apply to England only."""
        return self.nation == "england"


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
        if nation not in NATIONS:
            raise ConfigError(f"school.nation must be one of {', '.join(NATIONS)}")
        values["nation"] = nation
    if "type" in school:
        kind = str(school["type"]).lower()
        if kind not in SCHOOL_TYPES:
            raise ConfigError(f"school.type must be one of {', '.join(SCHOOL_TYPES)}")
        values["school_type"] = kind
    if "dsl" in contacts:
        values["dsl"] = _contact(contacts["dsl"], base.dsl)
    if "deputy" in contacts:
        values["deputy"] = _contact(contacts["deputy"], base.deputy)
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
    if "dsl_channel" in slack:
        values["dsl_channel"] = str(slack["dsl_channel"])
    if "dsl_user_ids" in slack:
        values["dsl_user_ids"] = tuple(str(u) for u in slack["dsl_user_ids"])
    return replace(base, **values)


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
    if os.environ.get("JIGSAW_DATA_DIR"):
        env["data_dir"] = os.environ["JIGSAW_DATA_DIR"]
    return replace(settings, **env)
