"""People by name and times in school time, in every record a person reads."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

from bot import record as records
from bot.config import Settings
from bot.console import Console, split_name
from bot.localtime import local_date, local_time
from bot.record import verify
from bot.service import DecisionService
from storage import TinyDBStore
from tests import scenarios as sc

WINTER = datetime(2026, 12, 7, 10, 49, tzinfo=UTC)
SUMMER = datetime(2026, 7, 6, 9, 5, tzinfo=UTC)
SCHOOL = Settings(school_name="Hillside Primary", dsl_channel="CDSL", dsl_user_ids=("UDSL1",))
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def test_times_are_written_as_people_write_them_in_the_school_zone() -> None:
    assert local_time("2026-12-07T10:49:00Z") == "Mon 7 Dec 2026, 10:49"
    assert local_time(SUMMER) == "Mon 6 Jul 2026, 10:05"  # British Summer Time
    assert local_time("2026-12-07T10:49:00Z", "Asia/Kolkata") == "Mon 7 Dec 2026, 16:19"
    assert local_date("2026-12-08") == "Tue 8 Dec 2026"
    assert local_time("2026-12-01 16:00") == "Tue 1 Dec 2026, 16:00"  # typed: already local
    assert local_time("tomorrow") == "tomorrow"


def test_a_typed_name_and_role_split() -> None:
    assert split_name("Ms J. Smith (TA, Year 4)") == ("Ms J. Smith", "TA, Year 4")
    assert split_name("Ms A. Khan, DSL") == ("Ms A. Khan", "DSL")
    assert split_name("Sam") == ("Sam", "")


def test_records_name_who_acted_and_keep_the_name(tmp_path: Path) -> None:
    store = TinyDBStore(tmp_path / "data")
    clock = [WINTER]
    jigsaw = DecisionService(SCHOOL, store, clock=lambda: clock[0])
    jigsaw.know_person("console:jsmith", "Ms J. Smith", "TA, Year 4")
    jigsaw.know_person("UDSL1", "Ms A. Khan", "DSL")
    out = io.StringIO()
    Console(jigsaw, stdin=io.StringIO("\n".join(sc.STAFF_SELF_REFERRAL) + "\n"), stdout=out,
            user="console:jsmith").run()
    [summary] = store.list_records()
    jigsaw.reviews.review(summary["id"], "acknowledge", by="UDSL1", allowed=True)
    jigsaw.know_person("UDSL1", "Mrs A. Khan-Jones", "DSL")  # renamed later
    jigsaw.reviews.review(summary["id"], "viewed", by="UDSL1", allowed=True)
    record = store.get_record(summary["id"])
    assert record["people"] == {"console:jsmith": {"name": "Ms J. Smith", "role": "TA, Year 4"},
                                "UDSL1": {"name": "Ms A. Khan", "role": "DSL"}}
    assert verify(record) == []
    text = records.render_text(record, jigsaw.prompts)
    assert "Recorded by:                Ms J. Smith (TA, Year 4)" in text
    assert "Reviewed:                   Ms A. Khan (DSL), Mon 7 Dec 2026, 10:49" in text
    assert "Can't wait:                 Yes" in text  # the can't-wait answer
    assert "I can't reach either of them" in text and "ref 55120" in text
    assert not ISO.search(text) and "console:" not in text and "UDSL1" not in text


def test_an_old_record_shows_the_id_marked(tmp_path: Path) -> None:
    store = TinyDBStore(tmp_path / "data")
    jigsaw = DecisionService(SCHOOL, store, clock=lambda: WINTER)
    out = io.StringIO()
    Console(jigsaw, stdin=io.StringIO("\n".join(sc.STAFF_CONCERN) + "\n"), stdout=out,
            user="console:nobody-here").run()
    record = store.get_record(store.list_records()[0]["id"])
    # A scripted run with no name known takes the account's own name.
    assert record["people"]["console:nobody-here"]["name"] == "nobody-here"
    del record["people"]
    assert "console:nobody-here (name not recorded)" in records.render_text(record,
                                                                              jigsaw.prompts)


def test_outcomes_and_corrections_read_in_words_everywhere(tmp_path: Path) -> None:
    """An outcome and a correction made through the service, and an older
    record's outcome kept as a bare code: the full record, PDF and CSV say
    them in words, by name, in school time; no code, id or ISO time."""
    from bot import chronology, exports
    from tests.core.test_chronology_exports import pdf_text

    store = TinyDBStore(tmp_path / "data")
    jigsaw = DecisionService(SCHOOL, store, clock=lambda: WINTER)
    Console(jigsaw, stdin=io.StringIO("\n".join(sc.STAFF_CONCERN) + "\n"),
            stdout=io.StringIO(), user="console:jsmith").run()
    [summary] = store.list_records()
    jigsaw.know_person("UDSL1", "Ms A. Khan", "DSL")
    jigsaw.reviews.review(summary["id"], "correct", by="UDSL1", allowed=True, field="category",
                  value="emotional_abuse")
    jigsaw.reviews.review(summary["id"], "outcome", by="UDSL1", allowed=True, outcome="nfa",
                  ref="MASH-9", note="Closed at the front door")
    record = store.get_record(summary["id"])
    assert record is not None and verify(record) == []
    text = records.render_text(record, jigsaw.prompts)
    assert "Category:                   Emotional abuse" in text
    assert ("Corrected:                  Category was Neglect, now Emotional abuse "
            "(Ms A. Khan (DSL), Mon 7 Dec 2026, 10:49)") in text
    assert ("Outcome:                    No further action (ref MASH-9): Closed at the front "
            "door (Ms A. Khan (DSL), Mon 7 Dec 2026, 10:49)") in text
    out = tmp_path / "record.pdf"
    out.write_bytes(exports.record_pdf(record, jigsaw.prompts, "Hillside Primary",
                                       made_at=WINTER, made_by="UDSL1"))
    pdf, _ = pdf_text(out)
    csv = exports.records_csv([record], jigsaw.prompts, "Hillside Primary")
    for shown in (text, pdf, csv):
        assert "No further action" in shown and "Emotional abuse" in shown
        assert not ISO.search(shown) and "UDSL1" not in shown
        for code in ("emotional_abuse", "nfa", "outcome_added", "summary_line"):
            assert code not in shown, (code, shown)
    assert "Corrected: Category was Neglect, now Emotional abuse" in pdf.replace("\n", " ")
    # The child's chronology says what the outcome was, in words.
    lines = [line["summary"] for line in chronology.entries([record], jigsaw.prompts)]
    assert any("Outcome recorded: No further action (ref MASH-9): Closed at the front door"
               in line and "Ms A. Khan" in line for line in lines), lines
    # An older record: the outcome as a bare code, no outcomes list, no names.
    del record["people"]
    record["referral"] = {"outcome": "early_help", "by": "UDSL1", "at": "2026-12-07T10:49:00Z"}
    text = records.render_text(record, jigsaw.prompts)
    assert "Early help (UDSL1 (name not recorded), Mon 7 Dec 2026, 10:49)" in text
    row = exports.csv_row(record, jigsaw.prompts)
    assert row["outcome"] == "Early help"
