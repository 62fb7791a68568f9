"""Many people deciding at once: Bolt runs listeners on a thread pool, so
every answer, record and post races with the others. Nothing may be lost,
doubled or crossed between people."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot import record as records
from bot.flow import Flow
from bot.prompts import default_prompts
from storage import TinyDBStore
from tests import scenarios
from tests.harness.fakeslack import DSL_CHANNEL_ID, DSL_MEMBERS
from tests.harness.faults import (
    InProcessApp,
    WatchedSlack,
    assert_files_parse,
    assert_posted_once,
    assert_records_whole,
    sessions,
    settings,
)
from tests.harness.staff import Decision, Staff, plan, with_child

SESSIONS = 24
SCRIPTS = [scenarios.ALLEGATION, scenarios.IMMEDIATE_DANGER, scenarios.NO_PURPOSE,
           scenarios.EARLY_HELP_REFUSED, scenarios.EARLY_HELP_CONSENT,
           scenarios.POLICE_PREJUDICE]


# Fields a record takes from who, when and how it was delivered, not from answers.
NOT_FROM_ANSWERS = ("id", "session_id", "created_at", "updated_at", "recorded_by", "people",
                    "audit", "delivery", "immediate_danger", "follow_up")


def from_answers(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in NOT_FROM_ANSWERS}


def expected_record(script: list[str], child: str) -> dict[str, Any]:
    """What the engine alone makes of a script: the record that must be stored."""
    flow = Flow(settings())
    session = flow.start("UEXPECT")
    for answer in with_child(script, plan(script, settings()), child):
        assert flow.answer(session, answer).accepted
    return records.build(session, settings(), default_prompts(), now=datetime.now(UTC))


def run_all(staff: list[Staff], scripts: list[list[str]]) -> list[Decision]:
    """Every driver at once (released together by a barrier)."""
    results: dict[int, Decision] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(len(staff))

    def work(n: int) -> None:
        try:
            start.wait()
            results[n] = staff[n].decide(list(scripts[n]), child=f"CC-{n:03d}")
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,), name=f"staff-{n}")
               for n in range(len(staff))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return [results[n] for n in range(len(staff))]


def test_twenty_four_people_decide_at_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    scripts = [list(SCRIPTS[n % len(SCRIPTS)]) for n in range(SESSIONS)]
    with WatchedSlack() as fake:
        with InProcessApp(data, fake) as app:
            staff = [Staff(f"UC{n:03d}", fake, app, settings()) for n in range(SESSIONS)]
            # The DSL's scripts are played by the DSL team (its channel's members).
            fake.set_members(DSL_CHANNEL_ID, [*DSL_MEMBERS, *(
                s.user for s, script in zip(staff, scripts, strict=True)
                if scenarios.says_dsl(script))])
            decisions = run_all(staff, scripts)
            app.idle()
        # Stopped: what is on disk is all there is.
        store = TinyDBStore(data)
        try:
            assert_files_parse(data)
            stored = {r["id"]: r for r in assert_records_whole(store)}
            assert len(stored) == SESSIONS
            assert len({d.record_id for d in decisions}) == SESSIONS
            # Finished sessions leave the hot store; none may be left open.
            assert all(s["status"] == "submitted" for s in sessions(data))
            for n, decision in enumerate(decisions):
                record = stored[decision.record_id]
                assert record["session_id"] == decision.session_id
                assert record["recorded_by"] == f"UC{n:03d}"
                assert record["child_ref"] == decision.child
                # No lost update: every answer is there, exactly as given.
                assert from_answers(record) == from_answers(
                    expected_record(scripts[n], decision.child))
                told = [t for t in fake.dm_texts(f"UC{n:03d}") if t.startswith("Submitted")]
                assert len(told) == 1 and decision.record_id in told[0], told
            assert_posted_once(fake, store, data)
            alerts = sum(1 for s in scripts if s[0] == "yes")
            assert len(fake.dsl_posts("jigsaw_alert")) == alerts
        finally:
            store.close()
