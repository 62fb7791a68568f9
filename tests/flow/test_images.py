"""Images as staff describe them offer the online-abuse route and its rule."""

from __future__ import annotations

import pytest

from bot.flow.situations import BY_NAME
from bot.flow.steps import suggested_route
from tests.flow.test_situations import Walk, words


@pytest.mark.parametrize("said", [
    "A boy has shared photos of her with his friends",
    "They sent the pics round the whole year group",
    "He says he will send them to everyone if she doesn't send more",
    "She sent him pictures on Snapchat and now he's asking for more",
    "Someone screenshotted her snaps and the photos are everywhere",
])
def test_images_passed_on_cue_the_images_rule(said: str) -> None:
    assert BY_NAME["nudes"].cue.search(said)
    assert suggested_route({"trigger": "own_concern", "facts": said}) == "child_on_child"


@pytest.mark.parametrize("said", [
    "We shared photos of the trip with parents",
    "School photos are being taken on Friday",
    "She was upset at lunch and went home early",
])
def test_ordinary_photos_say_nothing(said: str) -> None:
    assert not BY_NAME["nudes"].cue.search(said)


def test_the_staff_notice_says_coercion_goes_to_the_police_or_ceop_and_stays_short() -> None:
    w = Walk("england", "He says he will send them to everyone if she doesn't send more pics.")
    [notice] = [n for n in w.notices if "nude" in n]
    assert "CEOP" in notice and "don't view" in notice and "today" in notice
    assert words(notice) <= 45
    assert "child_on_child" in w.offered["route_check"]
