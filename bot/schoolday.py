"""School time: working days and hours in the school's time zone.

Everything the schedule decides ("by the end of the school day", "on the
morning a follow-up is due") is local school time; the store keeps UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import WEEKDAYS, Settings


class SchoolDay:
    """The school's hours, from its settings."""

    def __init__(self, settings: Settings) -> None:
        self.zone = ZoneInfo(settings.timezone)
        self.start = time.fromisoformat(settings.day_start)
        self.end = time.fromisoformat(settings.day_end)
        self.working = {WEEKDAYS.index(d) for d in settings.working_days}
        self.digest_weekday = WEEKDAYS.index(settings.digest_day)
        self.digest_time = time.fromisoformat(settings.digest_time)
        self.escalation = timedelta(minutes=settings.escalation_minutes)

    def today(self, now: datetime) -> date:
        """The school's calendar date at ``now``."""
        return now.astimezone(self.zone).date()

    def at(self, day: date, when: time) -> datetime:
        """Local ``when`` on ``day``, in UTC."""
        return datetime.combine(day, when, tzinfo=self.zone).astimezone(UTC)

    def is_working(self, day: date) -> bool:
        return day.weekday() in self.working

    def next_working(self, day: date) -> date:
        """The first working day after ``day``."""
        day += timedelta(days=1)
        for _ in range(7):
            if self.is_working(day):
                return day
            day += timedelta(days=1)
        return day  # no working days configured: every day counts

    def working_on_or_after(self, day: date) -> date:
        return day if self.is_working(day) else self.next_working(day)

    def next_start(self, now: datetime) -> datetime:
        """The next start of a working day strictly after ``now``."""
        day = self.today(now)
        if self.is_working(day) and self.at(day, self.start) > now:
            return self.at(day, self.start)
        return self.at(self.next_working(day), self.start)

    def next_end(self, now: datetime) -> datetime:
        """The next end of a working day strictly after ``now``."""
        day = self.today(now)
        if self.is_working(day) and self.at(day, self.end) > now:
            return self.at(day, self.end)
        return self.at(self.next_working(day), self.end)

    def next_digest(self, now: datetime) -> datetime:
        """The next weekly digest time strictly after ``now``."""
        day = self.today(now)
        ahead = (self.digest_weekday - day.weekday()) % 7
        when = self.at(day + timedelta(days=ahead), self.digest_time)
        return when if when > now else self.at(day + timedelta(days=ahead + 7),
                                               self.digest_time)
