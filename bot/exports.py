"""Copies for the child protection file: a printable PDF of one record or of
a chronology (fpdf2), and a CSV of records for the DSL's own reporting.

Pure functions from records to bytes or text; who may export, and the audit
entry each export makes, are the service layer's business.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from fpdf import FPDF

from bot import chronology, followups
from bot import record as records
from bot.prompts import Prompts

_FONT_DIR = "fonts/ttf"
_WORDING = "record/reports.j2"
# The CSV's columns: (key, header a governor can read).
CSV_COLUMNS = (
    ("id", "Reference"), ("created_at", "Recorded (school time)"), ("school", "School"),
    ("kind", "Type"), ("category", "Category of concern"), ("child_ref", "Child"),
    ("urgent", "Urgent"), ("level_of_concern", "Level of concern"),
    ("decision", "Decision"), ("recipient", "Shared with"), ("consent", "Parents or carers"),
    ("referral", "Referral made"), ("referral_ref", "Referral reference"),
    ("recorded_by", "Recorded by"), ("decided_by", "Decided by"), ("status", "Status"),
    ("reviewed_by", "Reviewed by"), ("follow_ups_open", "Actions open"),
    ("follow_ups_done", "Actions done"), ("nation", "Nation"),
    ("pack_version", "Guidance pack"), ("destination", "Goes to"), ("duties", "Duties"),
)
CSV_FIELDS = tuple(key for key, _ in CSV_COLUMNS)
# A cell starting with one of these is a formula to a spreadsheet.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _unicode_font() -> tuple[Path, Path] | None:
    """DejaVu Sans, shipped with matplotlib: a font with the characters
    people type (accents, other scripts), where the PDF core fonts have only
    Latin-1."""
    try:
        import matplotlib

        base = Path(matplotlib.get_data_path()) / _FONT_DIR
    except ImportError:
        return None
    regular, bold = base / "DejaVuSans.ttf", base / "DejaVuSans-Bold.ttf"
    return (regular, bold) if regular.is_file() and bold.is_file() else None


class _Document(FPDF):
    """A4, the school's name and the document's title on every page, and
    "Page n of m" at the foot."""

    def __init__(self, school: str, title: str, page_label: str) -> None:
        super().__init__(format="A4")
        self.school = school
        self.page_label = page_label  # with {n} for this page; {nb} is the page count
        self.doc_title = title
        font = _unicode_font()
        if font:
            self.add_font("body", "", str(font[0]))
            self.add_font("body", "B", str(font[1]))
            self.family_name = "body"
        else:
            self.family_name = "helvetica"
        self.set_title(title)
        self.set_author(school)
        self.set_creator("Jigsaw")
        self.set_auto_page_break(auto=True, margin=18)
        self.alias_nb_pages()

    def text_of(self, value: str) -> str:
        if self.family_name == "helvetica":  # core font: Latin-1 only
            return value.encode("latin-1", "replace").decode("latin-1")
        return value

    def header(self) -> None:
        self.set_font(self.family_name, "B", 10)
        self.cell(0, 6, self.text_of(self.school), new_x="LMARGIN", new_y="NEXT")
        self.set_font(self.family_name, "", 9)
        self.cell(0, 5, self.text_of(self.doc_title), new_x="LMARGIN", new_y="NEXT")
        self.ln(3)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(self.family_name, "", 8)
        self.cell(0, 8, self.text_of(self.page_label.replace("{n}", str(self.page_no()))),
                  align="C")

    def heading(self, text: str) -> None:
        self.ln(2)
        self.set_font(self.family_name, "B", 11)
        self.multi_cell(0, 6, self.text_of(text), new_x="LMARGIN", new_y="NEXT")
        self.set_font(self.family_name, "", 9)

    def body(self, text: str) -> None:
        self.set_font(self.family_name, "", 9)
        for line in text.splitlines() or [""]:
            self.multi_cell(0, 4.6, self.text_of(line) or " ", new_x="LMARGIN", new_y="NEXT")

    def output_bytes(self) -> bytes:
        return bytes(self.output())


def _audit_lines(record: dict[str, Any]) -> str:
    lines = []
    for entry in record.get("audit") or []:
        detail = ", ".join(f"{k}: {v}" for k, v in (entry.get("detail") or {}).items())
        lines.append(f"{entry.get('seq')}. {entry.get('at')}  {entry.get('by')}  "
                     f"{entry.get('action')}{'  (' + detail + ')' if detail else ''}")
    return "\n".join(lines)


def _words(prompts: Prompts, block: str, **ctx: Any) -> str:
    return prompts.block(_WORDING, block, **ctx)


def _document(prompts: Prompts, school: str, title: str) -> _Document:
    return _Document(school, title, _words(prompts, "pdf_page", n="{n}", total="{nb}"))


def _record_pages(pdf: _Document, record: dict[str, Any], prompts: Prompts) -> None:
    pdf.heading(_words(prompts, "pdf_record_heading", id=record.get("id")))
    pdf.body(records.render_text(record, prompts))
    pdf.heading(_words(prompts, "pdf_audit_heading", id=record.get("id")))
    pdf.body(_audit_lines(record))
    problems = records.verify(record)
    pdf.body(_words(prompts, "pdf_chain_problems", problems=problems) if problems
             else _words(prompts, "pdf_chain_ok"))


def _export_note(pdf: _Document, prompts: Prompts, made_at: datetime, made_by: str) -> None:
    pdf.heading(_words(prompts, "pdf_export_heading"))
    pdf.body(_words(prompts, "pdf_exported", at=made_at.isoformat(timespec="seconds"),
                    by=made_by))


def record_pdf(record: dict[str, Any], prompts: Prompts, school: str, *,
               made_at: datetime, made_by: str) -> bytes:
    """One record, whole, with its audit trail."""
    pdf = _document(prompts, school, _words(prompts, "pdf_record_title", id=record.get("id")))
    pdf.add_page()
    _record_pages(pdf, record, prompts)
    _export_note(pdf, prompts, made_at, made_by)
    return pdf.output_bytes()


def chronology_pdf(child_ref: str, found: list[dict[str, Any]], prompts: Prompts,
                   school: str, *, made_at: datetime, made_by: str) -> bytes:
    """The chronology, then every record in it with its audit trail."""
    pdf = _document(prompts, school,
                    _words(prompts, "pdf_chronology_title", child_ref=child_ref))
    pdf.add_page()
    pdf.body(chronology.as_text(child_ref, chronology.entries(found, prompts), prompts))
    for record in found:
        pdf.add_page()
        _record_pages(pdf, record, prompts)
    _export_note(pdf, prompts, made_at, made_by)
    return pdf.output_bytes()


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # Spreadsheets in some locales take a full-width ＝ for =: check the NFKC form.
    return "'" + text if unicodedata.normalize("NFKC", text).startswith(_FORMULA_START) \
        else text


def records_csv(found: Iterable[dict[str, Any]], prompts: Prompts, school: str = "") -> str:
    """One row per record, oldest first, in words under a header a governor
    can read, so the DSL can count and filter in a spreadsheet. People by
    name and times in school time, as everywhere a person reads."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header for _, header in CSV_COLUMNS])
    for r in sorted(found, key=lambda r: str(r.get("created_at") or "")):
        row = csv_row(r, prompts, school)
        writer.writerow([_cell(row[name]) for name in CSV_FIELDS])
    return out.getvalue()


def csv_row(r: dict[str, Any], prompts: Prompts, school: str = "") -> dict[str, Any]:
    """One record's CSV cells, by column key."""
    words = prompts.for_record(r)
    see = records.reading(r, prompts)
    items = followups.items(r)
    summary = {key: value for key, _, value in records.summary(r, prompts)}
    referral = records.referral_of(r)
    decided = r.get("decided_by") or {}
    return {
        "id": r.get("id"), "created_at": see["when"](r.get("created_at")),
        "school": r.get("school") or school,
        "kind": summary.get("kind", ""), "category": records.category_text(r, prompts),
        "child_ref": r.get("child_ref"), "urgent": records.urgency_text(r, prompts) or
        words.wording("urgent_no"),
        "level_of_concern": words.label("level", r.get("level_of_concern") or ""),
        "decision": summary.get("decision", ""), "recipient": summary.get("recipient", ""),
        "consent": summary.get("family", ""),
        "referral": words.wording("yes" if referral["made"] else "no"),
        "referral_ref": referral["ref"],
        "recorded_by": see["who"](r.get("recorded_by")),
        "decided_by": see["who"](decided.get("by")) if decided else "",
        "status": records.status_text(r, prompts),
        "reviewed_by": see["who"]((r.get("review") or {}).get("by")),
        "follow_ups_open": sum(1 for f in items if not f.done),
        "follow_ups_done": sum(1 for f in items if f.done),
        "nation": (r.get("pack") or {}).get("title") or r.get("nation"),
        "pack_version": (r.get("pack") or {}).get("version"),
        "destination": summary.get("destination", ""),
        "duties": "; ".join(words.wording(d) for d in r.get("duties") or ()),
    }
