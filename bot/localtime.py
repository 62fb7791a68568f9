"""Times as people write them, in the school's time zone.

The store keeps UTC (ISO 8601); everything a person reads shows the school's
local time, "Mon 7 Dec 2026, 10:49". ISO UTC stays only in machine formats
(the JSON export) and the audit seal.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Europe/London"


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def parse(value: object) -> datetime | date | None:
    """A stored time (ISO text, with or without a zone) or date; None if it is
    not one."""
    if isinstance(value, datetime | date):
        return value
    text = str(value or "").strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment


def _day(d: date) -> str:
    return f"{d:%a} {d.day} {d:%b %Y}"


def local_time(value: object, zone: str | None = None) -> str:
    """"Mon 7 Dec 2026, 10:49" in the school's zone; a bare date is written
    as a date; text that is not a time is returned as it is."""
    moment = parse(value)
    if moment is None:
        return str(value or "")
    if not isinstance(moment, datetime):
        return _day(moment)
    if moment.tzinfo is None:  # typed by a person (a deadline): already school time
        return f"{_day(moment.date())}, {moment:%H:%M}"
    here = moment.astimezone(_zone(zone))
    return f"{_day(here.date())}, {here:%H:%M}"


def local_date(value: object, zone: str | None = None) -> str:
    """"Mon 7 Dec 2026": the school's calendar date of a stored time or date."""
    moment = parse(value)
    if moment is None:
        return str(value or "")
    if isinstance(moment, datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(_zone(zone))
        return _day(moment.date())
    return _day(moment)


def sort_key(value: object) -> str:
    """A stored time as sortable UTC text (a date, such as a due date, sorts
    at the end of its day)."""
    moment = parse(value)
    if moment is None:
        return str(value or "")
    if not isinstance(moment, datetime):
        return moment.isoformat() + "T23:59:59"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%S.%f")
