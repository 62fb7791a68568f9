"""Situations with their own rules, cued on real phrasings both ways: each
"yes" phrasing brings the situation, each "no" leaves it quiet, in the
nations where the rule applies (DOMAIN.md section 8: "cutting again" is
self-harm, not FGM)."""

from __future__ import annotations

from datetime import date

import pytest

from bot import nations
from bot.flow import situations
from bot.flow.steps import suggested_route

SITUATION_CORPUS: dict[str, dict[str, list[str]]] = {
    "nudes": {
        "yes": ["He has nudes of her on his phone",
                "She sent a topless selfie to her boyfriend",
                "Someone airdropped a naked picture in class",
                "He said he'll send them to everyone if she doesn't send more",
                "Sexting between two Year 10s"],
        "no": ["She shared photos of the school trip", "He posted pictures of the match",
               "Bunsen burner left with a naked flame in science",
               "We took photos of the class play"],
    },
    "forced_marriage": {
        "yes": ["She is being made to marry a man she has never met",
                "Her family plan a wedding abroad over the summer",
                "She said it would bring shame on the family if she refused",
                "Honour-based abuse suspected: her brother follows her to school"],
        "no": ["She got onto the honour roll", "It's an honour to have her in class",
               "Her aunt's wedding is next month in Leeds"],
    },
    "private_fostering": {
        "yes": ["He is living with a family friend while mum is in Poland",
                "She has been staying with her friend's mum since October",
                "We think he is privately fostered"],
        "no": ["He is staying with his grandparents this week", "She lives with mum and dad"],
    },
    "home_education": {
        "yes": ["Mum says she will home educate him from Monday",
                "Parents are deregistering her to educate her at home",
                "Elective home education letter received today"],
        "no": ["He did his homework at home", "Home learning pack sent"],
    },
    "exploitation": {
        "yes": ["He is carrying packages for older boys", "County lines suspected",
                "He has a burner phone and new trainers he can't explain",
                "He owes money to a gang"],
        "no": ["He carries his PE kit in a bag", "New trainers for his birthday"],
    },
    "self_harm": {
        "yes": ["She's cutting again", "He has been hurting himself", "She is self harming",
                "Cuts on her arms she tried to hide"],
        "no": ["She cut her finger in food tech", "He hurt himself in PE",
               "Cutting out shapes in art"],
    },
}
CASES = [(name, expected, text) for name, sets in SITUATION_CORPUS.items()
         for expected in ("yes", "no") for text in sets[expected]]


@pytest.mark.parametrize(("name", "expected", "text"), CASES,
                         ids=[f"{n}-{e}-{i}" for i, (n, e, _) in enumerate(CASES)])
def test_a_situation_is_cued_by_the_words_people_use(name: str, expected: str,
                                                     text: str) -> None:
    cued = situations.cued({"trigger": "own_concern", "facts": text},
                           nations.pack("england", date(2026, 12, 7)))
    assert (name in cued) is (expected == "yes"), (name, text, cued)


@pytest.mark.parametrize("text", SITUATION_CORPUS["self_harm"]["yes"])
def test_self_harm_words_never_offer_the_fgm_route(text: str) -> None:
    assert suggested_route({"trigger": "own_concern", "facts": text}) != "fgm"


@pytest.mark.parametrize(("nation", "cued"), [
    ("england", False), ("wales", True), ("scotland", True), ("northern_ireland", False)])
def test_physical_punishment_is_cued_only_where_it_is_unlawful(nation: str, cued: bool) -> None:
    found = situations.cued({"trigger": "own_concern",
                             "facts": "Dad smacked him for being late and it left a mark."},
                            nations.pack(nation, date(2026, 12, 7)))
    assert ("physical_punishment" in found) is cued


def test_physical_punishment_in_wales_is_cued_only_from_21_march_2022() -> None:
    facts = {"trigger": "own_concern", "facts": "Mum slapped her across the face."}
    assert "physical_punishment" not in situations.cued(
        facts, nations.pack("wales", date(2022, 3, 20)))
    assert "physical_punishment" in situations.cued(facts, nations.pack("wales",
                                                                        date(2022, 3, 21)))
