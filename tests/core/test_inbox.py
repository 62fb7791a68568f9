"""What waits for the DSL, from the service every front end lists."""

from __future__ import annotations

from bot.service import DecisionService
from tests import scenarios as sc


def _submit(app: DecisionService, user: str, script: list[str], *, dsl: bool = False
            ) -> dict[str, object]:
    session = app.start(user, dsl=dsl)
    outcome = None
    for answer in script:
        outcome = app.answer(session.id, answer)
        assert outcome.result.accepted, (answer, outcome.result.error)
    assert outcome is not None and outcome.record is not None
    return outcome.record


def test_the_inbox_lists_what_waits_urgent_first_each_with_its_id(
        jigsaw: DecisionService) -> None:
    calm = _submit(jigsaw, "U1", sc.STAFF_CONCERN)
    pressing = _submit(jigsaw, "U2", sc.STAFF_SELF_REFERRAL)
    items = jigsaw.inbox()
    assert [i.id for i in items] == [pressing["id"], calm["id"]]
    assert items[0].urgent and not items[1].urgent
    assert items[1].awaiting_decision
    assert "EF" in items[1].line and "\n" not in items[1].line
    assert items[1].line.endswith("Child often arrives late and hungry; mum says she is "
                                  "struggling since losing her job.")


def test_a_closed_record_leaves_the_inbox(jigsaw: DecisionService) -> None:
    decided = _submit(jigsaw, "UDSL1", sc.EARLY_HELP_CONSENT, dsl=True)
    assert [i.id for i in jigsaw.inbox()] == [decided["id"]]
    assert not jigsaw.inbox()[0].awaiting_decision
    jigsaw.reviews.review(decided["id"], "close", by="UDSL1", allowed=True)
    assert jigsaw.inbox() == []


def test_a_line_names_the_other_children_a_record_is_about(jigsaw: DecisionService) -> None:
    from tests.flow.test_judgement import SIBLINGS_TWO_RECIPIENTS
    decided = _submit(jigsaw, "UDSL1", SIBLINGS_TWO_RECIPIENTS, dsl=True)
    [item] = jigsaw.inbox()
    assert item.id == decided["id"]
    assert "child GH (also JK, LM)" in item.line
