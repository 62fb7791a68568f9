"""Two paths, one engine, one record (DOMAIN.md section 10), measured."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.paths import CITATION, measure, walk
from bot import record as records
from bot.config import Settings
from bot.flow import Flow
from tests import scenarios as sc

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def by_route() -> dict[str, object]:
    return {row.route: row for row in measure()}


def test_tell_the_dsl_is_short_and_cites_no_law() -> None:
    row = by_route()["A worry about a child"]
    # Twelve: the child's wishes and "do you know the family?" are asked on
    # the short path too (DOMAIN.md section 8).
    assert row.questions <= 12 and row.words <= 450, row
    assert row.citations == () and row.decision == "tell_dsl"


def test_an_agency_request_is_at_most_19_questions() -> None:
    row = by_route()["Agency request, verified"]
    # Nineteen: a parent who may be the source of harm brings "who must not
    # be told?" (DOMAIN.md section 8, parents are not one party).
    assert row.questions <= 19 and row.words <= 900, row
    assert row.decision == "share"


def test_the_short_path_never_shows_a_citation_even_when_urgent() -> None:
    row = by_route()["Urgent, DSL unreachable: staff refer"]
    assert row.citations == ()
    assert CITATION.search("UK GDPR Art. 6(1)(e)")  # the check itself catches one


def test_every_route_walks_to_a_record() -> None:
    assert all(row.decision for row in measure())


def test_staff_concern_record_waits_for_the_dsl() -> None:
    flow = Flow(Settings(), clock=lambda: NOW)
    session, _, _, _ = walk(flow, sc.STAFF_CONCERN)
    rec = records.build(session, flow.settings, flow.prompts, now=NOW)
    assert (rec["kind"], rec["path"], rec["decision"]) == ("concern", "tell_dsl", "tell_dsl")
    assert rec["awaiting_dsl_decision"] is True
    assert rec["lawful_basis"]["suggested"] is None
    assert rec["recipient"] == {"kind": "dsl_only", "detail": ""}
    assert [f["action"] for f in rec["follow_up"]] == ["dsl_decide"]
    assert rec["follow_up"][0]["due"] == "2026-11-26"  # next working day: nothing urgent
    fields = [key for key, _, _ in records.summary(rec, flow.prompts)]
    assert "next_step" in fields


def test_staff_who_cannot_reach_the_dsl_refer_themselves() -> None:
    flow = Flow(Settings(), clock=lambda: NOW)
    session = flow.start("U1")
    for answer in sc.STAFF_SELF_REFERRAL:
        result = flow.answer(session, answer)
        assert result.accepted, (answer, result.error)
        if answer == "cannot_reach":
            assert any(flow.settings.front_door_phone in n for n in result.notices)
    rec = records.build(session, flow.settings, flow.prompts, now=NOW)
    assert rec["decision"] == "share"
    assert rec["recipient"] == {"kind": "social_care",
                                "detail": "MASH duty social worker J. Bloggs, 14:40, ref 55120"}
    assert rec["urgent"]["dsl_reached"] == "cannot_reach"
    assert [f["action"] for f in rec["follow_up"]] == ["follow_up_staff_referral"]
    assert "secrecy" in rec["barriers"]["shown"]  # "please don't tell": never promise


def test_the_dsl_taking_a_concern_on_is_not_asked_again() -> None:
    flow = Flow(Settings(), clock=lambda: NOW)
    staff, _, _, _ = walk(flow, sc.STAFF_CONCERN)
    concern = records.build(staff, flow.settings, flow.prompts, now=NOW)
    session = flow.take_on("UDSL1", "slack", concern["concern_answers"], "ISD-2026-0001")
    assert session.answers["facts"] == staff.answers["facts"]
    # What the staff member said is not asked again; the DSL's own judgement
    # is, and her first screen shows her what she is judging.
    asked = flow.question(session)
    assert asked is not None and asked.step == "knows_family"
    assert staff.answers["facts"] in asked.preface
    steps = []
    while (q := flow.question(session)) is not None and q.step != "recipient":
        steps.append(q.step)
        flow.answer(session, q.choices[0][0] if q.choices else "skip")
    assert steps == ["knows_family", "optimism", "level", "children_more"]


def test_the_dsl_on_the_full_path_is_never_put_on_the_short_one() -> None:
    flow = Flow(Settings(), clock=lambda: NOW)
    session = flow.start("UDSL1", dsl=True)
    for answer in ("no", "own_concern", "AB", "Some facts about the child here."):
        assert flow.answer(session, answer).accepted
    steps = []
    while (q := flow.question(session)) is not None and len(steps) < 4:
        steps.append(q.step)
        flow.answer(session, q.choices[0][0] if q.choices else "skip")
    assert "urgent" not in steps and "child_wishes" in steps
