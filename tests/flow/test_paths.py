"""Two paths, one engine, one record (DOMAIN.md section 10), measured as a
person reads them in the terminal."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bench.paths import (
    CITATION,
    RECORD_START,
    STAFF_SCREENS,
    STAFF_WORDS,
    Walk,
    measure,
    read,
    table,
    terminal,
    walk,
)
from bot import record as records
from bot.config import Settings
from bot.flow import Flow
from tests import scenarios as sc
from tests.conftest import ROOT

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
# Routes staff take that pass to the DSL to decide (no decision of their own).
PASSED_TO_THE_DSL = ("Radicalisation taken by staff", "Child-on-child abuse taken by staff",
                     "FGM suspected, taken by staff", "FGM disclosed to a support assistant",
                     "Agency request taken by staff", "Records request taken by staff",
                     "Operation Encompass taken by staff")
# Steps that are the DSL's: never asked of a member of staff passing it on.
THE_DSLS_STEPS = ("decision", "rationale", "lawful_basis", "consent_reason", "data_kind",
                  "recipient", "purpose", "followup", "followup_due", "what_to_share",
                  "barrier_check", "how", "when")


def by_route() -> dict[str, Walk]:
    return {row.route: row for row in measure()}


def test_every_staff_route_reaches_the_dsl_in_ten_screens_and_450_words() -> None:
    rows = measure()
    staff = [row for row in rows if row.staff]
    assert len(staff) >= 20  # every route a member of staff can take is in the table
    over = [(row.route, row.screens, row.words) for row in staff
            if row.screens > STAFF_SCREENS or row.words > STAFF_WORDS]
    assert over == []
    worry = by_route()["A worry about a child"]
    assert worry.citations == () and worry.decision == "tell_dsl"


def test_the_counter_is_honest_on_every_staff_route() -> None:
    """n goes up one a screen; m is never below n, ends at the screens the
    person actually saw and, once they have said what it is about (before
    that the commonest path is assumed), never moves by more than two."""
    for row in measure():
        if not row.staff:
            continue
        seen = [(int(n), int(m)) for n, m in
                re.findall(r"\[(\d+) of about (\d+)\]",
                           RECORD_START.split(row.transcript, maxsplit=1)[0])]
        asked = [n for n, _ in seen]
        assert sorted(set(asked)) == list(range(1, row.screens + 1)), row.route
        assert all(m >= n for n, m in seen), (row.route, seen)
        said = re.search(r"\[(\d+) of about \d+\] What is this about\?", row.transcript)
        after = int(said.group(1)) if said else 1  # danger now: the short record
        totals = [m for n, m in seen if n > after]
        assert max(totals) - min(totals) <= 2 and totals[-1] == row.screens, (row.route, seen)


def test_staff_pass_prevent_child_on_child_and_fgm_to_the_dsl_undecided() -> None:
    flow = Flow(Settings(), clock=lambda: NOW)
    for script in (sc.STAFF_PREVENT, sc.STAFF_CHILD_ON_CHILD, sc.STAFF_FGM_SUSPECTED,
                   sc.STAFF_FGM_TOLD_TA):
        session, _, _, _ = walk(flow, script)
        assert not set(session.history) & set(THE_DSLS_STEPS), session.history
        rec = records.build(session, flow.settings, flow.prompts, now=NOW)
        assert (rec["kind"], rec["decision"]) == ("concern", "tell_dsl"), script
        assert rec["awaiting_dsl_decision"] is True
        assert rec["lawful_basis"]["suggested"] is None
        assert {f["owner"] for f in rec["follow_up"]} == {"dsl"}
    for name in PASSED_TO_THE_DSL:
        assert by_route()[name].decision == "tell_dsl", name


def test_a_teacher_told_of_fgm_keeps_the_personal_duty_and_no_follow_up_of_their_own() -> None:
    flow = Flow(Settings(), clock=lambda: NOW)
    session, _, _, notices = walk(flow, sc.STAFF_FGM_TEACHER)
    assert any("personal legal duty" in n for n in notices)  # s.5B: telling the DSL is not enough
    assert "followup" not in session.history and "rationale" not in session.history
    rec = records.build(session, flow.settings, flow.prompts, now=NOW)
    assert rec["decision"] == "share" and rec["recipient"]["kind"] == "police"
    assert rec["child_words"] == '"They did it to me to become a woman"'


def test_the_danger_gate_comes_first_on_every_staff_route() -> None:
    for row in measure():
        if row.staff:
            first = RECORD_START.split(row.transcript, maxsplit=1)[0]
            assert "[1 of about" in first and "immediate danger" in first.split("> ")[0], row.route
            assert "Call 999" in first, row.route


def test_the_childs_words_are_typed_in_quotes_within_what_happened() -> None:
    flow = Flow(Settings(), clock=lambda: NOW)
    session, _, _, _ = walk(flow, sc.STAFF_SECRET)
    assert "child_words" not in session.history
    assert session.answers["child_words"] == '"Please don\'t tell my mum I told you"'
    assert "secrecy" in session.barriers["shown"]  # the reminder still comes
    flow.back(session)  # back past every answer: the words read from the facts go too
    while session.history and session.history[-1] != "facts":
        flow.back(session)
    flow.back(session)
    assert "child_words" not in session.answers


def test_words_are_counted_as_read_each_line_once() -> None:
    transcript = ("Welcome to it.\n\n[1 of about 2] First?\nDanger now? Call 999.\n> no\n"
                  "[2 of about 2] Second?\nDanger now? Call 999.\n> yes\n"
                  "Submitted.\nDecision record ISD-1\nnot counted at all\n")
    # Welcome (3) + two questions (5 + 5) + the footer once (4) + Submitted (1).
    assert read(transcript) == (2, 18)


def test_help_typed_is_counted_too() -> None:
    plain, _ = terminal(sc.STAFF_CONCERN)
    helped, _ = terminal(["help", *sc.STAFF_CONCERN])
    assert read(helped)[1] > read(plain)[1]


def test_the_readme_shows_the_measured_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert table(measure()) in readme, "run python -m bench.paths and paste the table"


def test_an_agency_request_is_at_most_19_screens() -> None:
    row = by_route()["Agency request, verified (the DSL)"]
    assert row.screens <= 25 and row.words <= 1300, row.words


def test_staff_pass_a_request_on_in_a_few_questions() -> None:
    for name in ("Agency request taken by staff", "Records request taken by staff",
                 "Operation Encompass taken by staff"):
        row = by_route()[name]
        assert row.questions <= STAFF_SCREENS and row.decision == "tell_dsl", row


def test_the_short_path_never_shows_a_citation_even_when_urgent() -> None:
    row = by_route()["Urgent, DSL unreachable: staff refer"]
    assert row.citations == ()
    assert CITATION.search("UK GDPR Art. 6(1)(e)")  # the check itself catches one


def test_every_route_walks_to_a_record() -> None:
    assert all(row.decision for row in measure())


def test_the_counter_never_jumps_on_a_worry() -> None:
    transcript, _ = terminal(sc.STAFF_CONCERN)
    seen = [(int(n), int(m)) for n, m in re.findall(r"\[(\d+) of about (\d+)\]", transcript)]
    assert [n for n, _ in seen] == list(range(1, len(seen) + 1))
    assert {m for _, m in seen} == {len(seen)}  # honest from the first screen


def test_the_counter_grows_honestly_on_a_longer_path() -> None:
    transcript, _ = terminal(sc.STAFF_SELF_REFERRAL)
    seen = [(int(n), int(m)) for n, m in re.findall(r"\[(\d+) of about (\d+)\]", transcript)]
    assert [n for n, _ in seen] == list(range(1, len(seen) + 1))
    assert all(m >= n for n, m in seen)
    totals = [m for _, m in seen]
    assert totals == sorted(totals) and totals[-1] - totals[0] <= 5, totals


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
        if answer == "referred":  # the choice said it: can't reach either, so referred
            assert result.accepted
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


def test_one_screen_answers_the_optimism_question_and_knowing_the_family() -> None:
    flow = Flow(Settings(), clock=lambda: NOW)
    session, _, _, _ = walk(flow, sc.STAFF_CONCERN)
    assert "family" in session.history and "knows_family" not in session.history
    assert (session.answers["knows_family"], session.answers["optimism"]) == ("no", "same")
    rec = records.build(session, flow.settings, flow.prompts, now=NOW)
    assert "confirm" not in session.history  # the last answer sends it
    assert rec["decision"] == "tell_dsl"


def test_more_worried_still_asks_whether_they_know_the_family_and_back_undoes_both() -> None:
    flow = Flow(Settings(), clock=lambda: NOW)
    session = flow.start("U1")
    at = sc.STAFF_CONCERN.index("same_unknown")
    for answer in sc.STAFF_CONCERN[:at]:
        assert flow.answer(session, answer).accepted
    assert flow.answer(session, "more_worried").accepted
    assert flow.current(session).id == "knows_family"
    assert session.barriers["view_changed"] is True
    flow.back(session)
    assert flow.answer(session, "same_known").accepted
    assert session.answers["knows_family"] == "yes" and flow.current(session).id == "level"
    flow.back(session)
    assert "knows_family" not in session.answers and "optimism" not in session.answers


def test_a_stranger_online_is_not_asked_about_a_family_they_did_not_know() -> None:
    flow = Flow(Settings(), clock=lambda: NOW)
    session = flow.start("U1")
    for answer in ("no", "own_concern", "AB",
                   "She has been messaging a man she met online who asks to meet her.",
                   "not_discussed", "skip"):
        assert flow.answer(session, answer).accepted, answer
    assert flow.current(session).id == "level"



def test_nor_is_the_dsl_recording_a_stranger_online() -> None:
    flow = Flow(Settings(), clock=lambda: NOW)
    session = flow.start("U1", dsl=True)
    for answer in ("no", "own_concern", "AB",
                   "She has been messaging a man she met online who asks to meet her.",
                   "skip", "not_discussed", "skip"):
        assert flow.answer(session, answer).accepted, answer
    assert flow.current(session).id == "level"
    assert not {"family", "knows_family", "optimism"} & set(session.history)


def test_staff_who_cannot_reach_the_dsl_are_told_to_refer_now() -> None:
    flow = Flow(Settings(), clock=lambda: NOW)
    session = flow.start("U1")
    for answer in sc.STAFF_CANNOT_REACH:
        result = flow.answer(session, answer)
        assert result.accepted, (answer, result.error)
        if answer == "cannot_reach":  # anyone can refer: the number, before anything else
            assert any(flow.settings.front_door_phone in n for n in result.notices)
            assert flow.current(session).id == "urgent_detail"
    rec = records.build(session, flow.settings, flow.prompts, now=NOW)
    assert rec["decision"] == "tell_dsl"
    assert rec["urgent"] == {"urgent": "yes",
                             "urgent_detail": "No one to collect her at 3:15 today",
                             "dsl_reached": "cannot_reach", "self_referral": "not_yet",
                             "self_referral_ref": ""}


def test_one_screen_says_it_cant_wait_and_who_has_it_and_back_undoes_both() -> None:
    flow = Flow(Settings(), clock=lambda: NOW)
    session = flow.start("U1")
    for answer in sc.STAFF_SELF_REFERRAL[:-2]:
        assert flow.answer(session, answer).accepted
    assert flow.current(session).id == "urgent"
    assert flow.answer(session, "referred").accepted
    assert (session.answers["urgent"], session.answers["dsl_reached"],
            session.answers["self_referral"]) == ("yes", "cannot_reach", "referred")
    flow.back(session)
    assert not {"urgent", "dsl_reached", "self_referral"} & set(session.answers)
