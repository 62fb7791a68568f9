"""A school's own categories of concern (``[records] categories``): offered
beside the standard ones where the DSL chooses one, kept on the record with
the name the school gave it, and refused in the settings when they clash."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot import record as records
from bot.config import ConfigError, Settings, from_mapping
from bot.derive import category_choices, own_code
from bot.flow.engine import Flow
from tests.flow.test_judgement import UNCATEGORISED, play, staff_concern, take_on

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
OWN = ("Attendance", "Young carer")


def test_the_settings_take_a_short_list_of_new_names() -> None:
    s = from_mapping({"records": {"categories": ["Attendance", "  Young   carer "]}})
    assert s.own_categories == OWN
    assert own_code("Young carer") == "own:young_carer"
    assert category_choices(s.own_categories)[-3:] == (
        "own:attendance", "own:young_carer", "other")


@pytest.mark.parametrize("bad", [
    "Attendance", ["Neglect"], ["Attendance", "attendance"], [""], ["x" * 41],
    [f"Category {n}" for n in range(11)], [3]])
def test_the_settings_refuse_what_is_not_a_new_category(bad: object) -> None:
    with pytest.raises(ConfigError, match="records.categories"):
        from_mapping({"records": {"categories": bad}})


def test_the_dsl_taking_on_a_concern_is_offered_the_schools_own_and_the_record_keeps_its_name(
        ) -> None:
    flow = Flow(Settings(school_name="Hillside High", own_categories=OWN), clock=lambda: NOW)
    concern = staff_concern(flow, UNCATEGORISED)
    session = take_on(flow, concern)
    play(flow, session, ["no", "same"])
    question = flow.question(session)
    assert question is not None and question.step == "category"
    offered = dict(question.choices)
    assert offered["own:young_carer"] == "Young carer" and offered["own:attendance"] == "Attendance"
    assert list(offered)[-1] == "other" and "neglect" in offered
    play(flow, session, ["own:young_carer", "significant"])
    built = records.build(session, flow.settings, flow.prompts, now=NOW)
    rec = records.decided(dict(concern), built, by="UDSL", at=NOW, answers=session.answers)
    assert (rec["category"], rec["category_label"]) == ("own:young_carer", "Young carer")
    assert "Young carer" in records.render_text(rec, flow.prompts)


def test_a_school_without_its_own_is_offered_the_standard_list() -> None:
    flow = Flow(Settings(school_name="Hillside High"), clock=lambda: NOW)
    session = take_on(flow, staff_concern(flow, UNCATEGORISED))
    play(flow, session, ["no", "same"])
    question = flow.question(session)
    assert question is not None
    assert [v for v, _ in question.choices] == list(records.CATEGORIES)
