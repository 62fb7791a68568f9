"""One behaviour, every front end: the same scripted conversations through
the in-memory stub, Slack and Teams end in the same record, the same posts
in the DSL channel, and the member of staff told the same; the terminal
(no DSL channel) in the same record. The DSL's CSV export is the same file,
given to the DSL privately, from every front; her corrections are kept alike."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.outbox import Kind
from bot.record import verify
from bot.service import DecisionService
from storage import TinyDBStore
from tests import scenarios as sc
from tests.behaviour.conftest import DSL, Front, Stub
from tests.harness.stub import StubFront

# What a record says that no front end may change (who made it, and where,
# differ by service; ids and times by run).
SAME = ("kind", "decision", "route", "child_ref", "facts", "review_status",
        "level_of_concern", "urgent", "immediate_danger", "knows_family", "optimism",
        "awaiting_dsl_decision", "what_to_share")


def run(front: Front, answers: list[str]) -> dict[str, Any]:
    front.say("hello")
    for value in answers:
        front.answer(value)
    [summary] = front.jigsaw.store.list_records()
    record = front.jigsaw.record(summary["id"])
    assert record is not None
    return record


def essence(record: dict[str, Any]) -> dict[str, Any]:
    """The record's front-independent fields, times inside them left out."""
    def timeless(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: timeless(v) for k, v in value.items() if not k.endswith("_at")}
        return value

    return {key: timeless(record.get(key)) for key in SAME}


def reference(tmp_path: Path, settings: Settings, answers: list[str]) -> dict[str, Any]:
    """The same answers through the stub, on a store of its own."""
    store = TinyDBStore(tmp_path / "reference")
    try:
        jigsaw = DecisionService(settings, store, clock=lambda: datetime.now(UTC))
        return essence(run(Stub(StubFront(jigsaw), jigsaw), answers))
    finally:
        store.close()


def test_a_staff_concern_reaches_the_dsl_once(front: Front, tmp_path: Path,
                                              settings: Settings) -> None:
    record = run(front, sc.STAFF_CONCERN)
    assert essence(record) == reference(tmp_path, settings, sc.STAFF_CONCERN)
    assert front.channel() == [(Kind.RECORD, record["id"])]
    assert record["delivery"]["state"] == "posted"
    assert record["id"] in front.shown()  # the member of staff is told it went
    assert record["recorded_by"] == front.staff


def test_immediate_danger_alerts_the_dsl_before_the_record(front: Front, tmp_path: Path,
                                                           settings: Settings) -> None:
    record = run(front, sc.IMMEDIATE_DANGER)
    assert essence(record) == reference(tmp_path, settings, sc.IMMEDIATE_DANGER)
    kinds = [kind for kind, _ in front.channel()]
    assert kinds == [Kind.ALERT, Kind.RECORD]
    assert "999" in front.shown()


def test_pause_then_resume_ends_in_the_same_record(front: Front, tmp_path: Path,
                                                   settings: Settings) -> None:
    front.say("hello")
    for value in sc.STAFF_CONCERN[:3]:
        front.answer(value)
    front.say("pause")
    front.say("resume")
    for value in sc.STAFF_CONCERN[3:]:
        front.answer(value)
    [summary] = front.jigsaw.store.list_records()
    record = front.jigsaw.record(summary["id"])
    assert record is not None
    assert essence(record) == reference(tmp_path, settings, sc.STAFF_CONCERN)
    assert front.channel() == [(Kind.RECORD, record["id"])]


def test_the_terminal_ends_in_the_same_record(jigsaw: DecisionService, tmp_path: Path,
                                              settings: Settings) -> None:
    """The terminal has no DSL channel; its record is the same all the same."""
    import io

    from bot.console import Console

    for answers in (sc.STAFF_CONCERN, sc.IMMEDIATE_DANGER):
        before = {r["id"] for r in jigsaw.store.list_records()}
        out = io.StringIO()
        Console(jigsaw, stdin=io.StringIO("\n".join(answers) + "\n"), stdout=out,
                user="console:staff").run()
        [made] = {r["id"] for r in jigsaw.store.list_records()} - before
        record = jigsaw.record(made)
        assert record is not None and record["id"] in out.getvalue()
        # ...except that an urgent alert raised here reached no one, and says so.
        alerted = answers is sc.IMMEDIATE_DANGER
        assert record["immediate_danger"]["reached_no_one"] is alerted
        assert record["immediate_danger"]["alerted_at"] is None  # never "alert raised"
        record["immediate_danger"]["reached_no_one"] = False
        assert essence(record) == reference(tmp_path / record["id"], settings, answers)


def test_the_dsl_gets_the_same_csv_file_privately_from_every_front(
        front: Front, tmp_path: Path, settings: Settings) -> None:
    record = run(front, sc.STAFF_CONCERN)
    day = record["created_at"][:10]
    name, where, content = front.dsl_csv(day)
    assert (name, where) == (f"records-{day}-to-{day}.csv", "private")
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8"))))
    assert [r["Reference"] for r in rows] == [record["id"]]
    # The same columns and the same record as the shared export gives.
    store = TinyDBStore(tmp_path / "reference")
    try:
        jigsaw = DecisionService(settings, store, clock=lambda: datetime.now(UTC))
        reference = Stub(StubFront(jigsaw), jigsaw)
        made = run(reference, sc.STAFF_CONCERN)
        _, _, expected = reference.dsl_csv(made["created_at"][:10])
    finally:
        store.close()
    [row] = rows
    [same] = csv.DictReader(io.StringIO(expected.decode("utf-8")))
    assert list(row) == list(same)
    differ = {k for k in row if row[k] != same[k]}
    # Ids, times and who made it (each service names people its own way).
    assert differ <= {"Reference", "Recorded (school time)", "Recorded by"}, differ
    exported = [a for a in front.jigsaw.record(record["id"])["audit"] if a["action"] == "exported"]
    assert [a["detail"]["format"] for a in exported] == ["csv"]


def test_the_dsl_corrects_the_category_and_summary_the_same_from_every_front(
        front: Front) -> None:
    """What was read from the answers is kept beside the DSL's correction,
    each with who and when, whichever front she corrects it from."""
    record = run(front, sc.STAFF_CONCERN)
    front.dsl_correct(record["id"], "emotional_abuse", "Hungry, late, and mum struggling")
    stored = front.jigsaw.record(record["id"])
    assert stored is not None
    assert (stored["category"], stored["category_derived"]) == ("emotional_abuse", False)
    assert stored["summary_line"] == "Hungry, late, and mum struggling"
    assert stored["derived"] == {"category": "neglect", "summary_line": record["summary_line"]}
    assert [(c["field"], c["from"], c["to"], c["by"]) for c in stored["corrections"]] == [
        ("category", "neglect", "emotional_abuse", DSL[front.name]),
        ("summary_line", record["summary_line"], "Hungry, late, and mum struggling",
         DSL[front.name])]
    assert all(c["at"] for c in stored["corrections"])
    assert [e["action"] for e in stored["audit"]][-2:] == ["corrected", "corrected"]
    assert verify(stored) == []
