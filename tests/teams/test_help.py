"""Help on the question asked, in the Teams personal chat: typed ``help``
or ``?``, or the card's Help action. The step's own explanation reaches the
connector, and the person is still on the same question."""

from __future__ import annotations

import pytest

from bot.flow import Session
from tests.harness.faketeams import card_actions
from tests.harness.teams import Harness
from tests.harness.teams_driver import STAFF, button
from tests.scenarios import STAFF_CONCERN

TO_LEVEL = STAFF_CONCERN[:STAFF_CONCERN.index("child_in_need")]


def at_level(teams: Harness) -> None:
    teams.decide(STAFF, TO_LEVEL)
    asked = teams.jigsaw.flow.question(_session(teams))
    assert asked is not None and asked.step == "level"


def _session(teams: Harness) -> Session:
    session = teams.jigsaw.latest_open(STAFF)
    assert session is not None
    return session


@pytest.mark.parametrize("typed", ["help", "?"])
def test_help_typed_explains_the_question(teams: Harness, typed: str) -> None:
    at_level(teams)
    asked, before = teams.question(STAFF), _session(teams).to_dict()

    teams.say(STAFF, typed)

    said = teams.chat(STAFF)[-1].text
    assert "serious harm" in said and "young carer" in said
    assert '"back"' in said and "**" not in said  # shown literally: no Markdown in it
    assert teams.question(STAFF).id == asked.id
    assert _session(teams).to_dict() == before
    teams.answer(STAFF, "child_in_need")
    assert _session(teams).answers["level"] == "child_in_need"


def test_the_help_action_explains_and_the_card_still_answers(teams: Harness) -> None:
    at_level(teams)
    asked, before = teams.question(STAFF), _session(teams).to_dict()
    assert "Help" in {a["title"] for a in card_actions(asked.card)}

    teams.send(teams.client.execute_activity(STAFF, button(asked, "Help")))

    said = teams.chat(STAFF)[-1].text
    assert "serious harm" in said and "without delay" in said
    assert not asked.updates  # the question card is as it was, its buttons there
    assert teams.question(STAFF).id == asked.id
    assert _session(teams).to_dict() == before
    teams.answer(STAFF, "significant")
    assert _session(teams).answers["level"] == "significant"
