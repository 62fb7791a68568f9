"""A clock for the app that the test moves on (the schedule's tests)."""

from __future__ import annotations

from datetime import datetime, timedelta


class Clock:
    """The app's clock, moved on by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def to(self, when: datetime) -> None:
        self.now = when

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
