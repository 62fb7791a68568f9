"""Every cue against the corpus of real phrasings, both ways: each "yes"
phrasing fires the cue, each "no" phrasing leaves it quiet."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.flow import barriers
from bot.flow.steps import (
    Answers,
    domestic_abuse,
    location_request,
    older_pupil_cue,
    suggested_route,
)
from tests.flow.cue_corpus import CORPUS


def _route(name: str) -> Callable[[str], bool]:
    return lambda text: suggested_route({"trigger": "own_concern", "facts": text}) == name


def _reminder(name: str) -> Callable[[str], bool]:
    return lambda text: name in barriers.reminders_for({"trigger": "dsl_recording",
                                                         "opinion": text})


CUES: dict[str, Callable[[str], bool]] = {
    # The person's own view, the same words in the facts or the rationale.
    "optimism": lambda text: all(barriers.optimism_cue(a) for a in (
        {"opinion": text}, {"facts": text}, {"rationale": text})),
    "secrecy": lambda text: barriers.secrecy_cue({"child_words": text}),
    "minimising": lambda text: barriers.minimising_cue({"trigger": "dsl_recording",
                                                         "opinion": text}),
    "trust": _reminder("trust"),
    "consequences": _reminder("consequences"),
    "fgm": _route("fgm"),
    "prevent": _route("prevent"),
    "child_on_child": _route("child_on_child"),
    "transfer": _route("transfer"),
    "domestic_abuse": lambda text: domestic_abuse({"facts": text}),
    "location": lambda text: location_request(
        {"trigger": "request", "what_requested": text}),
    "older_pupil": lambda text: older_pupil_cue({"facts": text}),
}

CASES = [(cue, expected, text) for cue, sets in CORPUS.items()
         for expected, texts in (("yes", sets["yes"]), ("no", sets["no"])) for text in texts]


def test_every_cue_has_a_corpus_both_ways() -> None:
    assert set(CUES) == set(CORPUS)
    assert all(sets["yes"] and sets["no"] for sets in CORPUS.values())


@pytest.mark.parametrize(("cue", "expected", "text"), CASES,
                         ids=[f"{c}-{e}-{i}" for i, (c, e, _) in enumerate(CASES)])
def test_cue_reads_the_phrasing_as_people_mean_it(cue: str, expected: str, text: str) -> None:
    assert CUES[cue](text) is (expected == "yes"), (cue, text)


def test_knowing_the_family_is_asked_on_the_short_path_and_cues_optimism() -> None:
    answers: Answers = {"trigger": "own_concern", "knows_family": "yes"}
    assert barriers.optimism_cue(answers)
