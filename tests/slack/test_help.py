"""Help on the question asked, in the Slack DM: typed ``help`` or ``?``, or
the question's Help button. The explanation (the step's own, in the nation
pack's words) reaches Slack, and the person is still on the same question
with nothing they entered lost."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.slack.wire import Action
from tests import scenarios as sc
from tests.harness.slack import Harness
from tests.harness.slack_driver import Driver, all_text, question_step

# Up to the level-of-concern question on a member of staff's worry.
TO_LEVEL = sc.STAFF_CONCERN[:sc.STAFF_CONCERN.index("child_in_need")]


def at_level(slack: Harness) -> Driver:
    driver = Driver(slack)
    driver.start()
    driver.run(TO_LEVEL)
    assert question_step(driver.current()) == "level"
    return driver


@pytest.mark.parametrize("typed", ["help", "?", " Help "])
def test_help_typed_explains_significant_harm_against_a_child_in_need(
        slack: Harness, typed: str) -> None:
    driver = at_level(slack)
    asked, before = driver.current(), driver.session()

    driver.type(typed)

    said = driver.last_dm_text()
    assert "serious harm" in said and "without delay" in said  # significant harm
    assert "young carer" in said and "agreement" in said  # a child in need, by example
    assert "back" in said and "999" in said  # then how to answer, and the danger line
    # Still on the same question: nothing asked again, nothing changed.
    assert driver.current() == asked
    assert driver.session() == before
    driver.answer("child_in_need")
    assert driver.session()["answers"]["level"] == "child_in_need"


def test_the_help_button_explains_and_the_question_stays_open(slack: Harness) -> None:
    driver = at_level(slack)
    asked, before = driver.current(), driver.session()

    driver.click(asked, action_id=Action.NAV_HELP)

    assert "young carer" in driver.last_dm_text()
    assert driver.current() == asked and driver.session() == before
    driver.click(asked, value="significant")  # its buttons still answer it
    assert driver.session()["answers"]["level"] == "significant"


def test_help_keeps_a_typed_draft(slack: Harness) -> None:
    """The facts typed, then Back: the draft waits on the facts question,
    and asking for help there loses none of it."""
    driver = Driver(slack)
    driver.start()
    facts = sc.STAFF_CONCERN[3]
    driver.run(sc.STAFF_CONCERN[:4])
    driver.click(driver.current(), action_id=Action.NAV_BACK)
    assert question_step(driver.current()) == "facts"
    asked = driver.current()

    driver.type("help")

    said = driver.last_dm_text()
    assert "who, what, when" in said and "child protection file" in said
    assert driver.current() == asked
    assert driver.session()["drafts"]["facts"] == facts
    assert facts[:40] in all_text(asked)


def test_an_old_questions_help_button_says_nothing(slack: Harness) -> None:
    driver = Driver(slack)
    driver.start()
    old = driver.current()
    driver.answer("no")
    posts = len(driver.dm_posts())

    driver.click(old, action_id=Action.NAV_HELP)

    assert len(driver.dm_posts()) == posts
    assert question_step(driver.current()) == "trigger"


@pytest.fixture
def settings(request: pytest.FixtureRequest) -> Settings:
    return Settings(school_name="Hillside Primary", dsl_channel="CDSL",
                    dsl_user_ids=("UDSL1",), nation=getattr(request, "param", "england"))


@pytest.mark.parametrize("settings", ["wales"], indirect=True)
def test_help_speaks_the_nations_words(slack: Harness) -> None:
    driver = at_level(slack)
    driver.type("help")
    said = driver.last_dm_text()
    pack = slack.jigsaw.settings.pack
    assert "a child at risk" in said.casefold()
    assert pack.term("level_child_in_need").casefold() in said.casefold()
    assert "significant harm" not in said.casefold()


@pytest.mark.parametrize("typed", ["help", "?", " HELP "])
def test_infoshare_help_helps_and_starts_nothing(slack: Harness, typed: str) -> None:
    driver = Driver(slack)

    ack = driver.start(text=typed)

    assert "help" in ack.body and "start" not in ack.body.replace("Nothing has started", "")
    said = driver.last_dm_text()
    assert "back" in said and "pause" in said and "999" in said
    assert driver.questions() == []
    assert slack.jigsaw.store.sessions_for_user(driver.user) == []


def test_infoshare_help_mid_question_explains_that_question(slack: Harness) -> None:
    driver = at_level(slack)
    asked, before = driver.current(), driver.session()

    driver.start(text="help")

    assert "young carer" in driver.last_dm_text()
    assert driver.current() == asked and driver.session() == before
