"""Dates and times as people type them, on the school's own day."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.config import Settings
from bot.flow import Flow
from bot.flow.validate import InvalidAnswer, due_date
from tests import scenarios as sc

WEDNESDAY = date(2026, 11, 25)


@pytest.mark.parametrize(("typed", "expected"), [
    ("2pm", "2026-11-25 14:00"),
    ("2 pm", "2026-11-25 14:00"),
    ("today 14:00", "2026-11-25 14:00"),
    ("Today at 4.30pm", "2026-11-25 16:30"),
    ("14.00", "2026-11-25 14:00"),
    ("noon", "2026-11-25 12:00"),
    ("Friday", "2026-11-27"),
    ("fri 9am", "2026-11-27 09:00"),
    ("by Friday 2pm", "2026-11-27 14:00"),
    ("2pm Friday", "2026-11-27 14:00"),
    ("Wednesday", "2026-11-25"),  # today is Wednesday
    ("next Wednesday", "2026-12-02"),
    ("tomorrow 9:15am", "2026-11-26 09:15"),
    ("1 Dec", "2026-12-01"),
    ("1st December 2026 10:00", "2026-12-01 10:00"),
    ("01/12/2026 16:00", "2026-12-01 16:00"),
    ("2026-12-01", "2026-12-01"),
    ("3/1", "2027-01-03"),  # a day and month already past this year: next year's
])
def test_dates_as_people_type_them(typed: str, expected: str) -> None:
    assert due_date(typed, today=WEDNESDAY) == expected


@pytest.mark.parametrize(("typed", "code"), [
    ("soon", "bad_date"), ("13pm", "bad_date"), ("25:00", "bad_date"), ("", "bad_date"),
    ("2020-01-01", "past_date"), ("1 Jan 2030", "far_date"),
])
def test_what_is_not_a_date_is_said_so(typed: str, code: str) -> None:
    with pytest.raises(InvalidAnswer) as caught:
        due_date(typed, today=WEDNESDAY)
    assert caught.value.code == code


def _at_defer_until(clock: datetime) -> tuple[Flow, object]:
    flow = Flow(Settings(), clock=lambda: clock)
    session = flow.start("U1")
    for answer in sc.NOT_SURE[: sc.NOT_SURE.index("tomorrow")]:
        assert flow.answer(session, answer).accepted, answer
    assert flow.current(session).id == "defer_until"
    return flow, session


def test_a_deferral_typed_as_people_say_it_is_recorded() -> None:
    flow, session = _at_defer_until(datetime(2026, 11, 25, 10, 0, tzinfo=UTC))
    result = flow.answer(session, "Friday 2pm")
    assert result.accepted, result.error
    assert session.answers["defer_until"] == "2026-11-27 14:00"


def test_today_is_the_schools_day_not_the_servers() -> None:
    # 23:30 UTC on 30 June is 00:30 on 1 July in London: "today" is 1 July.
    flow, session = _at_defer_until(datetime(2026, 6, 30, 23, 30, tzinfo=UTC))
    assert flow.answer(session, "today 09:00").accepted
    assert session.answers["defer_until"] == "2026-07-01 09:00"


def test_a_bad_date_says_how_to_type_one() -> None:
    flow, session = _at_defer_until(datetime(2026, 11, 25, 10, 0, tzinfo=UTC))
    result = flow.answer(session, "whenever")
    assert not result.accepted and "Friday" in result.error and "2pm" in result.error
