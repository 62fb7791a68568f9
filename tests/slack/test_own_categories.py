"""A school's own categories of concern in Slack: the DSL's *Correct
category* form offers them by name, the record keeps the name, and the
weekly digest counts under it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config import Settings
from bot.digest import weekly
from bot.record import render_text
from bot.slack.wire import Action, BlockId
from tests import scenarios as sc
from tests.harness.slack import Harness
from tests.harness.slack_driver import Driver
from tests.slack.test_dsl_record_actions import DSL, STAFF, _submit, record_post

OWN = ("Attendance", "Young carer")


@pytest.fixture
def settings() -> Settings:
    return Settings(school_name="Hillside Primary", dsl_channel="CDSL",
                    dsl_user_ids=("UDSL1",), own_categories=OWN)


def test_the_correct_form_offers_the_schools_own_and_the_record_keeps_its_name(
        slack: Harness) -> None:
    staff = Driver(slack, STAFF)
    staff.start()
    concern = staff.run(sc.STAFF_CONCERN)
    assert concern is not None
    Driver(slack, DSL).click(record_post(staff), action_id=Action.REVIEW_CORRECT)
    view = slack.fake.last("views.open").response["view"]
    [field] = [b for b in view["blocks"] if b["block_id"] == BlockId.CATEGORY]
    offered = [(o["value"], o["text"]["text"]) for o in field["element"]["options"]]
    assert offered[-3:] == [("own:attendance", "Attendance"), ("own:young_carer", "Young carer"),
                            ("other", "Other")]
    _submit(slack, DSL, {
        BlockId.CATEGORY: {Action.INPUT: {"type": "static_select", "selected_option": {
            "value": "own:young_carer", "text": {"type": "plain_text", "text": "Young carer"}}}},
        BlockId.SUMMARY: {Action.INPUT: {"type": "plain_text_input",
                                         "value": concern["summary_line"]}}})
    stored = slack.jigsaw.store.get_record(concern["id"])
    assert stored is not None
    assert (stored["category"], stored["category_label"]) == ("own:young_carer", "Young carer")
    assert "Young carer" in render_text(stored, slack.jigsaw.prompts)
    # The digest of the week it was made counts it under the school's name for it.
    this_week = weekly([stored], [], now=slack.jigsaw.clock() + timedelta(days=1),
                       day=slack.jigsaw.schedule.day)
    assert this_week["categories"]["own:young_carer"] == 1
    assert this_week["category_names"] == {"own:young_carer": "Young carer"}


def test_a_category_the_school_does_not_have_is_refused(slack: Harness) -> None:
    staff = Driver(slack, STAFF)
    staff.start()
    concern = staff.run(sc.STAFF_CONCERN)
    assert concern is not None
    with pytest.raises(ValueError):
        slack.jigsaw.reviews.review(concern["id"], "correct", by=DSL, allowed=True,
                                    field="category", value="own:pastoral")
    stored = slack.jigsaw.store.get_record(concern["id"])
    assert stored is not None and stored["category"] == "neglect"
