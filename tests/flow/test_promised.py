"""'I already promised not to tell' gets an answer wherever it is typed."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from bot.config import Settings
from bot.console import Console
from bot.flow import Flow
from bot.service import DecisionService
from tests import scenarios as sc

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("typed", [
    "I already promised not to tell",
    "I've promised her I wouldn't tell anyone",
    "i told him i wouldn't tell",
    "But I promised to keep it a secret",
    "She made me promise",
])
@pytest.mark.parametrize("at", ["facts", "child_wishes", "level"])
def test_the_promise_is_answered_and_the_question_continues(typed: str, at: str) -> None:
    flow = Flow(Settings(), clock=lambda: NOW)
    session = flow.start("U1")
    for answer in sc.STAFF_CONCERN:
        if flow.current(session).id == at:
            break
        assert flow.answer(session, answer).accepted
    result = flow.answer(session, typed)
    assert not result.accepted and result.code == "promised"
    assert "Go back to the child" in result.error and "the DSL" in result.error
    assert flow.current(session).id == at  # the same question, asked again
    assert "secrecy" in session.barriers["shown"]


def test_a_promise_inside_an_answer_keeps_the_answer_and_says_what_to_do() -> None:
    flow = Flow(Settings(), clock=lambda: NOW)
    session = flow.start("U1")
    for answer in sc.STAFF_CONCERN[:3]:
        assert flow.answer(session, answer).accepted
    words = ("She said her uncle hurts her when she stays over at weekends, and I promised "
             "her I wouldn't tell anyone because she was so upset")
    result = flow.answer(session, words)
    assert result.accepted and session.answers["facts"] == words
    assert any("Go back to the child" in n for n in result.notices)


def test_an_ordinary_answer_says_nothing_of_promises() -> None:
    flow = Flow(Settings(), clock=lambda: NOW)
    session = flow.start("U1")
    results = [flow.answer(session, a) for a in sc.STAFF_CONCERN]
    assert not any("Go back to the child" in n for r in results for n in r.notices)


def test_in_the_terminal_the_promise_is_answered_and_the_worry_still_sent(
        jigsaw: DecisionService) -> None:
    script = list(sc.STAFF_CONCERN)
    script.insert(5, "I already promised her I wouldn't tell")
    out = io.StringIO()
    Console(jigsaw, stdin=io.StringIO("\n".join(script) + "\n"), stdout=out,
            user="console:ta").run()
    text = " ".join(out.getvalue().split())
    assert "Go back to the child today" in text
    [summary] = jigsaw.store.list_records()
    assert "secrecy" in jigsaw.store.get_record(summary["id"])["barriers"]["shown"]
