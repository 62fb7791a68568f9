"""A school's own categories of concern in Teams: the DSL's *Correct
category* form on the record card offers them by name, and the record keeps
the name."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.record import render_text
from tests.harness.faketeams import card_actions
from tests.harness.teams import Harness
from tests.harness.teams_driver import CHANNEL, DSL, button
from tests.teams.test_dsl_record_actions import _form_save, _record

OWN = ("Attendance", "Young carer")


@pytest.fixture
def settings() -> Settings:
    return Settings(school_name="Hillside Primary", dsl_user_ids=(DSL,), own_categories=OWN)


def test_the_correct_form_offers_the_schools_own_and_the_record_keeps_its_name(
        teams: Harness) -> None:
    record = _record(teams)
    [post] = teams.channel()
    form = teams.send(teams.client.execute_activity(
        DSL, button(teams.view(DSL, post), "Correct category"), conversation=CHANNEL,
        name="Dana DSL")).body["value"]
    [field] = [n for n in form["body"] if n.get("id") == "category"]
    offered = [(c["value"], c["title"]) for c in field["choices"]]
    assert offered[-3:] == [("own:attendance", "Attendance"), ("own:young_carer", "Young carer"),
                            ("other", "Other")]
    assert any(a.get("verb") == "review.correct.save" for a in card_actions(form))
    _form_save(teams, DSL, "Correct category", "review.correct.save",
               {"category": "own:attendance", "line": record["summary_line"]})
    stored = teams.jigsaw.record(record["id"])
    assert stored is not None
    assert (stored["category"], stored["category_label"]) == ("own:attendance", "Attendance")
    assert "Attendance" in render_text(stored, teams.jigsaw.prompts)
    # One the school does not have: the form again, nothing changed.
    again = _form_save(teams, DSL, "Correct category", "review.correct.save",
                       {"category": "own:pastoral", "line": record["summary_line"]})
    assert "category" in str(again)
    assert teams.jigsaw.record(record["id"])["category"] == "own:attendance"
