"""Chronology and exports from the terminal: ``jigsaw chronology REF``,
``jigsaw export --pdf ID``, ``jigsaw export --csv FROM TO``. PDFs are read
back (text extracted) and must hold the record's fields, the school's name,
the audit trail and page numbers; every view and export is audited."""

from __future__ import annotations

import csv
import io
import json
import re
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from bot.__main__ import main
from bot.config import Settings
from bot.prompts import default_prompts
from bot.record import verify
from bot.service import AccessDenied, DecisionService
from storage import TinyDBStore
from tests import scenarios as sc
from tests.harness.live import decide_in_process

SCHOOL = "Hillside Primary"
CHILD = "AB-1234"  # the child in POLICE_PREJUDICE, and in REFERRAL below
OTHER = "EF"  # the child in EARLY_HELP_CONSENT
# A referral to children's social care: the flow adds a follow-up for the DSL.
REFERRAL = [CHILD if a == "JK" else a for a in sc.REFUSED_SIGNIFICANT]
UNICODE_FACTS = "Zoë said «stop» – Ģirts saw it in Łódź"


def _with_child(script: list[str], child: str, facts: str | None = None) -> list[str]:
    out = list(script)
    out[out.index(CHILD if CHILD in out else OTHER)] = child
    if facts:
        out[out.index(next(a for a in out if a.startswith(("Bruise", "Child often",
                                                             "Child disclosed"))))] = facts
    return out


@pytest.fixture
def school(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Three records: two about AB-1234 (a month apart, the later one in
    other scripts), one about another child."""
    data = tmp_path / "data"
    store = TinyDBStore(data)
    settings = Settings(school_name=SCHOOL)
    made: dict[str, dict[str, Any]] = {}
    for label, when, script in (
        ("first", datetime(2026, 10, 5, 10, tzinfo=UTC), REFERRAL),
        ("other", datetime(2026, 10, 20, 11, tzinfo=UTC), sc.EARLY_HELP_CONSENT),
        ("second", datetime(2026, 11, 9, 14, tzinfo=UTC),
         _with_child(REFERRAL, CHILD, UNICODE_FACTS)),
    ):
        app = DecisionService(settings, store, clock=lambda when=when: when)
        made[label] = decide_in_process(app, script)
    later = DecisionService(settings, store, clock=lambda: datetime(2026, 11, 10, tzinfo=UTC))
    later.reviews.review(made["first"]["id"], "acknowledge", by="UDSL1", allowed=True)
    store.close()
    (tmp_path / "jigsaw.toml").write_text(f'[school]\nname = "{SCHOOL}"\n', encoding="utf-8")
    monkeypatch.setenv("JIGSAW_DATA_DIR", str(data))
    monkeypatch.chdir(tmp_path)
    return {"data": data, "settings": settings, "ids": {k: v["id"] for k, v in made.items()}}


def stored(school: dict[str, Any], record_id: str) -> dict[str, Any]:
    store = TinyDBStore(school["data"])
    try:
        found = store.get_record(record_id)
    finally:
        store.close()
    assert found is not None
    return found


def pdf_text(path: Path) -> tuple[str, int]:
    reader = PdfReader(str(path))
    return "\n".join(page.extract_text() for page in reader.pages), len(reader.pages)


def flat(text: str) -> str:
    """Extracted text, with line breaks from wrapping taken out."""
    return " ".join(text.split())


def test_chronology_lists_one_childs_records_in_time_order(
        school: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    ids = school["ids"]
    assert main(["chronology", "ab-1234"]) == 0  # case and spacing are forgiven
    out = capsys.readouterr().out
    assert out.startswith("Chronology for ab-1234: 2 records")
    assert out.index(ids["first"]) < out.index(ids["second"]) < out.index(
        "Acknowledged (UDSL1 (name not recorded))")
    assert ids["other"] not in out
    assert "Decision: Share" in out
    assert ("Action due: Chase children's social care for a decision on the referral "
            "(DSL team; open)") in out
    assert not re.search(r"\d{4}-\d{2}-\d{2}", out)  # dates as people write them

    for label in ("first", "second"):
        record = stored(school, ids[label])
        assert record["audit"][-1]["action"] == "chronology_viewed"
        assert record["audit"][-1]["by"].startswith("admin:")
        assert verify(record) == []
    assert "chronology_viewed" not in [e["action"] for e in stored(school, ids["other"])
                                       ["audit"]]


def test_each_child_a_record_names_has_it_in_their_chronology(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.flow.test_judgement import SIBLINGS_TWO_RECIPIENTS
    data = tmp_path / "data"
    store = TinyDBStore(data)
    app = DecisionService(Settings(school_name=SCHOOL), store,
                          clock=lambda: datetime(2026, 11, 9, 14, tzinfo=UTC))
    made = decide_in_process(app, SIBLINGS_TWO_RECIPIENTS, user="UDSL1")
    decide_in_process(app, sc.EARLY_HELP_CONSENT)
    store.close()
    (tmp_path / "jigsaw.toml").write_text(f'[school]\nname = "{SCHOOL}"\n', encoding="utf-8")
    monkeypatch.setenv("JIGSAW_DATA_DIR", str(data))
    monkeypatch.chdir(tmp_path)
    for ref in ("GH", "jk", "LM"):
        assert main(["chronology", ref]) == 0, ref
        out = capsys.readouterr().out
        assert ": 1 record" in out and made["id"] in out, (ref, out)


def test_other_children_are_found_through_the_index_the_service_keeps(
        tmp_path: Path) -> None:
    """Each reference a record names is kept against its id as the record is
    made; a store made before that index builds it once, from the records."""
    from bot.access import CHILD_INDEX
    from tests.flow.test_judgement import SIBLINGS_TWO_RECIPIENTS
    store = TinyDBStore(tmp_path / "data")
    app = DecisionService(Settings(school_name=SCHOOL), store,
                          clock=lambda: datetime(2026, 11, 9, 14, tzinfo=UTC))
    try:
        first = decide_in_process(app, SIBLINGS_TWO_RECIPIENTS, user="UDSL1")
        assert store.get_meta(CHILD_INDEX) is None  # not built until first needed
        assert [r["id"] for r in app.access.chronology("lm", by="UDSL1", allowed=True)] == [
            first["id"]]
        second = decide_in_process(app, SIBLINGS_TWO_RECIPIENTS, user="UDSL1")
        index = store.get_meta(CHILD_INDEX)
        assert index == {"gh": [first["id"], second["id"]], "jk": [first["id"], second["id"]],
                         "lm": [first["id"], second["id"]]}
        assert [r["id"] for r in app.access.chronology("JK", by="UDSL1", allowed=True)] == [
            first["id"], second["id"]]
        store.delete_records([first["id"]], note={"by": "admin", "why": "retention"})
        assert [r["id"] for r in app.access.chronology("JK", by="UDSL1", allowed=True)] == [
            second["id"]]
    finally:
        store.close()


def test_chronology_of_an_unknown_child_says_so(
        school: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chronology", "ZZ-0000"]) == 1
    assert "No records found" in capsys.readouterr().out


def test_record_pdf_holds_the_record_its_audit_trail_and_page_numbers(
        school: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record_id = school["ids"]["second"]
    path = tmp_path / "record.pdf"
    assert main(["export", "--pdf", record_id, "--reason", "CP file transfer",
                 "--out", str(path)]) == 0
    assert "readable by you only" in capsys.readouterr().out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"%PDF-")

    text, pages = pdf_text(path)
    words = flat(text)
    record = stored(school, record_id)
    assert SCHOOL in words and f"Decision record {record_id}" in words
    for value in (record["child_ref"], record["rationale"], record["what_to_share"],
                  UNICODE_FACTS):
        assert flat(value) in words, value
    assert "Audit trail" in words and "Confidential: child protection".upper() in words
    assert "Mon 9 Nov 2026, 14:00" in words and "Recorded" in words
    assert 'Exported: PDF; reason "CP file transfer"' in words  # in its own copy
    assert "Audit chain verified" in words and "Designated safeguarding lead" in words
    assert not re.search(r"\d{4}-\d{2}-\d{2}T", text)
    assert f"Page 1 of {pages}" in words and f"Page {pages} of {pages}" in words

    assert record["audit"][-1]["action"] == "exported"
    assert record["audit"][-1]["detail"] == {"format": "pdf", "reason": "CP file transfer"}
    assert record["audit"][-1]["by"].startswith("admin:")

    # Never over an existing file, and never without a reason.
    assert main(["export", "--pdf", record_id, "--reason", "again", "--out", str(path)]) == 1
    assert main(["export", "--pdf", record_id, "--reason", " ", "--out",
                 str(tmp_path / "new.pdf")]) == 2
    assert not (tmp_path / "new.pdf").exists()
    assert stored(school, record_id)["audit"][-1] == record["audit"][-1]
    assert verify(record) == []


def test_chronology_pdf_has_every_record_about_the_child(
        school: dict[str, Any], tmp_path: Path) -> None:
    ids = school["ids"]
    out = tmp_path / "out.pdf"
    assert main(["chronology", CHILD, "--pdf", "--reason", "strategy meeting",
                 "--out", str(out)]) == 0
    text, pages = pdf_text(out)
    words = flat(text)
    assert f"Chronology for {CHILD} (2 records)" in words and pages == 1
    assert ids["first"] in words and ids["second"] in words and ids["other"] not in words
    assert words.index(ids["first"]) < words.index(ids["second"])
    assert SCHOOL in words and "Page 1 of 1" in words
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text)


def test_an_unknown_record_is_an_error(school: dict[str, Any],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--pdf", "ISD-2026-9999", "--reason", "r", "--out", "x.pdf"]) == 1
    assert "no such record" in capsys.readouterr().err
    assert not Path("x.pdf").exists()


def test_csv_of_records_in_a_date_range(school: dict[str, Any], tmp_path: Path) -> None:
    ids = school["ids"]

    def export_csv(first: str, last: str, name: str) -> int:
        return main(["export", "--csv", first, last, "--reason", "termly report",
                     "--out", str(tmp_path / name)])

    assert export_csv("2026-10-06", "2026-11-09", "a.csv") == 0
    text = (tmp_path / "a.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["Reference"] for r in rows] == [ids["other"], ids["second"]]  # both ends included
    assert rows[0]["Child"] == OTHER and rows[0]["Decision"] == "Share"
    assert rows[0]["Parents or carers"] == "Told, and they agreed"
    assert rows[0]["Status"] == "Awaiting DSL review"
    assert rows[1]["Actions open"] == "1"
    # In words: no codes, no ISO times, people by name or marked.
    for row in rows:
        assert not re.search(r"\d{4}-\d{2}-\d{2}T", ",".join(row.values()))
        assert row["School"] and row["Urgent"] and row["Referral made"] in ("Yes", "No")
    assert "_" not in text
    assert stored(school, ids["other"])["audit"][-1]["detail"] == {
        "format": "csv", "reason": "termly report"}
    assert "exported" not in [e["action"] for e in stored(school, ids["first"])["audit"]]

    assert export_csv("2026-11-09", "2026-10-06", "b.csv") == 2
    assert export_csv("yesterday", "today", "c.csv") == 2


def test_the_json_export_still_works(school: dict[str, Any], tmp_path: Path) -> None:
    record_id = school["ids"]["first"]
    out = tmp_path / "copy.json"
    assert main(["export", "--record", record_id, "--reason", "subject access request",
                 "--out", str(out)]) == 0
    [copy] = json.loads(out.read_text(encoding="utf-8"))
    assert copy["id"] == record_id


def test_a_spreadsheet_formula_is_never_exported_as_one(school: dict[str, Any]) -> None:
    from bot.exports import records_csv

    record = stored(school, school["ids"]["first"])
    record["child_ref"] = "=HYPERLINK(\"http://x\")"
    [row] = list(csv.DictReader(io.StringIO(records_csv([record], default_prompts()))))
    assert row["Child"] == "'=HYPERLINK(\"http://x\")"


def test_someone_not_in_the_dsl_team_is_refused_and_it_is_audited(
        school: dict[str, Any]) -> None:
    store = TinyDBStore(school["data"])
    app = DecisionService(school["settings"], store)
    try:
        with pytest.raises(AccessDenied):
            app.access.chronology(CHILD, by="U999", allowed=False)
        with pytest.raises(AccessDenied):
            app.access.export_record_pdf(school["ids"]["first"], by="U999", allowed=False)
        first = store.get_record(school["ids"]["first"])
        assert first is not None
        assert [(e["action"], e["detail"]) for e in first["audit"][-2:]] == [
            ("access_refused", {"attempted": "chronology"}),
            ("access_refused", {"attempted": "export_pdf"})]
        log = store.get_meta("access_log")
        assert [(e["by"], e["action"], e["allowed"]) for e in log] == [
            ("U999", "chronology", False), ("U999", "export_pdf", False)]
    finally:
        store.close()


def test_a_copy_for_the_cp_system_is_plain_text_in_words(school: dict[str, Any],
                                                          tmp_path: Path) -> None:
    record_id = school["ids"]["second"]
    out = tmp_path / "copy.txt"
    assert main(["export", "--copy", record_id, "--reason", "into CPOMS",
                 "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    record = stored(school, record_id)
    assert text.startswith("Date and time of incident: Mon 9 Nov 2026, 14:00\n")
    assert f"Student: {record['child_ref']}" in text and f"Jigsaw reference: {record_id}" in text
    assert "WHAT HAPPENED" in text and flat(record["rationale"]) in flat(text)
    assert not re.search(r"\d{4}-\d{2}-\d{2}T", text)
    assert record["audit"][-1]["detail"] == {"format": "copy for CP system",
                                             "reason": "into CPOMS"}
