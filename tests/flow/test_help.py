"""Help on every question: each step says what it means, with examples
(its ``explain`` block), in every nation's words, and not how to use the
bot; the level of concern tells significant harm from a child in need."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.flow import STEPS, Flow
from bot.prompts import default_prompts

NATIONS = ("england", "wales", "scotland", "northern_ireland")
USAGE = ("type back", '"back"', "*back*", "pause")


def flow_for(nation: str) -> Flow:
    return Flow(Settings(school_name="Hillside Primary", nation=nation))


@pytest.mark.parametrize("nation", NATIONS)
def test_every_question_explains_itself_in_every_nation(nation: str) -> None:
    flow = flow_for(nation)
    ctx = flow.context(flow.start("U1"))
    for step in STEPS:
        name = f"steps/{step.id}.j2"
        assert flow.prompts.has_block(name, "explain"), step.id
        text = flow.prompts.block(name, "explain", **ctx)
        question = flow.prompts.block(name, "question", **ctx)
        assert len(text.split()) >= 12, (step.id, text)  # more than a hint
        assert text != question and "{{" not in text, step.id
        assert not any(word in text.casefold() for word in USAGE), (step.id, text)
        # Short, even when asked for (the level of concern explains four levels).
        assert len(text.split()) <= (160 if step.id == "level" else 100), (step.id, text)


def test_significant_harm_is_told_from_a_child_in_need_with_examples() -> None:
    flow = flow_for("england")
    text = flow.prompts.block("steps/level.j2", "explain", **flow.context(flow.start("U1")))
    significant, in_need = text.split("\n")[:2]
    assert significant.startswith("Significant harm") and "serious harm" in significant
    assert "without delay" in significant and "for example" in significant
    assert in_need.startswith("Child in need") and "young carer" in in_need
    assert "not at risk of serious harm" in in_need


@pytest.mark.parametrize(("nation", "words"), [
    ("wales", ("A child at risk", "care and support", "Care and support needs")),
    ("scotland", ("child protection concern", "wellbeing concern", "GIRFEC")),
    ("northern_ireland", ("Significant harm", "Child in need, or family support")),
])
def test_the_level_of_concern_is_explained_in_the_nations_terms(
        nation: str, words: tuple[str, ...]) -> None:
    flow = flow_for(nation)
    text = flow.prompts.block("steps/level.j2", "explain", **flow.context(flow.start("U1")))
    for word in words:
        assert word.casefold() in text.casefold(), (nation, word)
    if nation == "wales":
        assert "significant harm" not in text.casefold()


def test_help_is_the_step_explanation_then_how_to_answer() -> None:
    flow = flow_for("england")
    session = flow.start("U1")
    question = flow.question(session)
    assert question is not None and question.step == "danger"
    shown = default_prompts().render("notices/help.j2", q=question, usage="USAGE")
    assert shown.startswith("Immediate danger means") and shown.endswith("USAGE")
