"""Copies for the child protection file: a printable PDF of one record or of
a chronology (fpdf2), and a CSV of records for the DSL's own reporting.

Pure functions from records to bytes or text; who may export, and the audit
entry each export makes, are the service layer's business.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Sequence
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
    ("outcome", "Outcome"),
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
    """A4 with, on every page, the school, the child's reference, the record
    id and "confidential: child protection"; "Page n of m" at the foot."""

    def __init__(self, school: str, title: str, page_label: str, *, child_ref: str = "",
                 record_id: str = "", confidential: str = "") -> None:
        super().__init__(format="A4")
        self.school = school
        self.page_label = page_label  # with {n} for this page; {nb} is the page count
        self.doc_title = title
        self.child_ref = child_ref
        self.record_id = record_id
        self.confidential = confidential
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
        self.set_margins(16, 14, 16)
        self.set_auto_page_break(auto=True, margin=18)
        self.alias_nb_pages()

    def text_of(self, value: str) -> str:
        if self.family_name == "helvetica":  # core font: Latin-1 only
            return value.encode("latin-1", "replace").decode("latin-1")
        return value

    def header(self) -> None:
        self.set_font(self.family_name, "B", 9)
        self.set_text_color(0)
        self.cell(self.epw / 2, 5, self.text_of(self.school))
        self.set_text_color(160, 0, 0)
        self.cell(self.epw / 2, 5, self.text_of(self.confidential.upper()), align="R",
                  new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(60)
        self.set_font(self.family_name, "", 8)
        self.cell(0, 4.5, self.text_of(" | ".join(p for p in (self.child_ref, self.record_id)
                                                  if p)), new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(150)
        self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
        self.set_text_color(0)
        self.ln(4)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(self.family_name, "", 8)
        self.set_text_color(90)
        self.cell(0, 8, self.text_of(self.page_label.replace("{n}", str(self.page_no()))),
                  align="C")
        self.set_text_color(0)

    def title_line(self, text: str) -> None:
        self.set_font(self.family_name, "B", 15)
        self.multi_cell(0, 8, self.text_of(text), align="L", new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def heading(self, text: str) -> None:
        if self.get_y() > self.h - 40:  # a heading never sits alone at a page's foot
            self.add_page()
        self.ln(3)
        self.set_font(self.family_name, "B", 11.5)
        self.set_text_color(20, 50, 110)
        self.multi_cell(0, 6.5, self.text_of(text), align="L", new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(0)
        self.set_font(self.family_name, "", 9.5)

    def body(self, text: str) -> None:
        self.set_font(self.family_name, "", 9.5)
        for line in text.splitlines() or [""]:
            self.multi_cell(0, 5, self.text_of(line) or " ", align="L", new_x="LMARGIN",
                            new_y="NEXT")

    def rows(self, rows: Sequence[tuple[str, ...]], *, boxed: bool = False,
             widths: tuple[int, ...] = (52, 128)) -> None:
        """Label and value in two columns (a table; wrapped, never justified)."""
        if not rows:
            return
        self.set_font(self.family_name, "", 9.5)
        if boxed:
            self.set_fill_color(240, 244, 250)
        with self.table(col_widths=widths, text_align="LEFT", first_row_as_headings=False,
                        borders_layout="ALL" if boxed else "HORIZONTAL_LINES",
                        line_height=5.2, padding=1.4, cell_fill_color=(240, 244, 250)
                        if boxed else None, cell_fill_mode="ALL" if boxed else "NONE",
                        width=self.epw) as table:
            for cells in rows:
                row = table.row()
                for n, cell in enumerate(cells):
                    if n == 0 and len(cells) == 2:
                        self.set_font(self.family_name, "B", 9.5)
                        row.cell(self.text_of(cell))
                        self.set_font(self.family_name, "", 9.5)
                    else:
                        row.cell(self.text_of(cell))

    def output_bytes(self) -> bytes:
        return bytes(self.output())


# Audit actions worth folding: reading a record many times is one line.
_FOLDED = ("viewed", "chronology_viewed")


def audit_lines(record: dict[str, Any], prompts: Prompts) -> list[tuple[str, str, str]]:
    """The audit trail in words, oldest first, as (when, who, what): repeated
    views by one person folded into one line ("viewed 4 times, last ...")."""
    words = prompts.for_record(record)
    see = records.reading(record, prompts)
    entries = [e for e in record.get("audit") or [] if isinstance(e, dict)]
    views: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for entry in entries:
        if entry.get("action") in _FOLDED:
            views.setdefault((str(entry.get("action")), str(entry.get("by"))), []).append(entry)
    lines = []
    for entry in entries:
        action = str(entry.get("action") or "")
        detail = entry.get("detail") or {}
        if action in _FOLDED:
            seen = views[(action, str(entry.get("by")))]
            if entry is not seen[0]:
                continue
            what = (words.wording(f"audit_{action}") if len(seen) == 1 else
                    words.wording(f"audit_{action}_times").format(
                        n=len(seen), last=see["when"](seen[-1].get("at"))))
        else:
            what = words.wording(f"audit_{action}", action.replace("_", " "))
            extra = _audit_detail(detail, words, see)
            if extra:
                what = f"{what}: {extra}"
        lines.append((see["when"](entry.get("at")), see["who"](entry.get("by")), what))
    return lines


def _audit_detail(detail: dict[str, Any], words: Prompts, see: dict[str, Any]) -> str:
    parts = []
    if detail.get("outcome"):
        parts.append(words.wording(f"outcome_{detail['outcome']}", str(detail["outcome"]))
                     + (f" (ref {detail['ref']})" if detail.get("ref") else ""))
    if detail.get("field") in records.CORRECTABLE:
        field = str(detail["field"])

        def shown(value: Any) -> str:
            if field == "category":
                return words.wording(f"category_{value}", str(value)) if value else \
                    words.wording("category_none")
            return f"\u201c{value}\u201d"

        parts.append(words.block("record/labels.j2", "audit_correction",
                                 field=words.wording(f"headline_{field}"),
                                 was=shown(detail.get("from")), now=shown(detail.get("to"))))
    if detail.get("decision"):
        parts.append(words.wording(f"decision_{detail['decision']}", str(detail["decision"])))
    if detail.get("format"):
        parts.append(str(detail["format"]).upper() + (
            " " + words.wording("audit_of_chronology") if detail.get("of") else ""))
    if detail.get("reason"):
        parts.append(words.wording("audit_reason").format(reason=detail["reason"]))
    if detail.get("note"):
        parts.append(str(detail["note"]))
    if detail.get("due"):
        parts.append(words.wording("audit_due").format(due=see["day"](detail["due"])))
    if detail.get("attempted"):
        parts.append(words.wording(f"audit_tried_{detail['attempted']}",
                                   str(detail["attempted"]).replace("_", " ")))
    if detail.get("article6"):
        parts.append(f"Art. {detail['article6']}; Art. {detail.get('article9', '')}")
    if detail.get("cancelled"):
        parts.append(words.wording("audit_cancelled"))
    return "; ".join(parts)


def _words(prompts: Prompts, block: str, **ctx: Any) -> str:
    return prompts.block(_WORDING, block, **ctx)


def _document(prompts: Prompts, school: str, title: str, *, child_ref: str = "",
              record_id: str = "") -> _Document:
    return _Document(school, title, _words(prompts, "pdf_page", n="{n}", total="{nb}"),
                     child_ref=child_ref, record_id=record_id,
                     confidential=_words(prompts, "pdf_confidential"))


def _record_pages(pdf: _Document, record: dict[str, Any], prompts: Prompts) -> None:
    pdf.record_id = str(record.get("id") or "")
    pdf.child_ref = _words(prompts, "pdf_child", ref=record.get("child_ref") or "")
    pdf.title_line(_words(prompts, "pdf_record_heading", id=record.get("id")))
    for n, (title, rows) in enumerate(records.sections(record, prompts)):
        if n == 0:  # the summary box
            pdf.rows(rows, boxed=True)
            continue
        pdf.heading(title)
        pdf.rows(rows)
    pdf.heading(_words(prompts, "pdf_audit_heading", id=record.get("id")))
    pdf.rows(audit_lines(record, prompts), widths=(46, 50, 84))
    problems = records.verify(record)
    pdf.ln(1)
    pdf.body(_words(prompts, "pdf_chain_problems", problems=problems) if problems
             else _words(prompts, "pdf_chain_ok"))
    pdf.heading(_words(prompts, "pdf_signoff_heading"))
    pdf.ln(2)
    pdf.body(_words(prompts, "pdf_signoff"))


def _export_note(pdf: _Document, prompts: Prompts, made_at: datetime, made_by: str,
                 record: dict[str, Any] | None) -> None:
    see = records.reading(record or {}, prompts)
    pdf.ln(3)
    pdf.set_text_color(90)
    pdf.body(_words(prompts, "pdf_exported", at=see["when"](made_at), by=see["who"](made_by)))
    pdf.set_text_color(0)


def record_pdf(record: dict[str, Any], prompts: Prompts, school: str, *,
               made_at: datetime, made_by: str) -> bytes:
    """One record laid out as a document for the child protection file."""
    pdf = _document(prompts, school, _words(prompts, "pdf_record_title", id=record.get("id")),
                    child_ref=_words(prompts, "pdf_child", ref=record.get("child_ref") or ""),
                    record_id=str(record.get("id") or ""))
    pdf.add_page()
    _record_pages(pdf, record, prompts)
    _export_note(pdf, prompts, made_at, made_by, record)
    return pdf.output_bytes()


def chronology_pdf(child_ref: str, found: list[dict[str, Any]], prompts: Prompts,
                   school: str, *, made_at: datetime, made_by: str) -> bytes:
    """The chronology: one dated line per event, in time order, each with its
    source (each record is exported whole on its own)."""
    pdf = _document(prompts, school,
                    _words(prompts, "pdf_chronology_title", child_ref=child_ref),
                    child_ref=_words(prompts, "pdf_child", ref=child_ref))
    pdf.add_page()
    lines = chronology.entries(found, prompts)
    pdf.title_line(_words(prompts, "pdf_chronology_heading", child_ref=child_ref,
                          n=len(found)))
    pdf.rows([(line["when"], line["source"], line["summary"]) for line in lines],
             widths=(38, 40, 102))
    _export_note(pdf, prompts, made_at, made_by, found[0] if found else None)
    return pdf.output_bytes()


def copy_for_cp(record: dict[str, Any], prompts: Prompts) -> str:
    """The record as plain text to paste into a CP system's "add incident"
    form (CPOMS, MyConcern: neither has a public API): the fields such a form
    asks for first, one "Label: value" a line, then every section of the
    record, so nothing is typed twice."""
    see = records.reading(record, prompts)
    happened = record.get("happened") or {}
    top = [
        (_words(prompts, "cp_incident_at"), happened.get("when") or see["when"](
            record.get("created_at"))),
        (_words(prompts, "cp_student"), record.get("child_ref") or ""),
        (_words(prompts, "cp_category"), records.category_text(record, prompts)),
        (_words(prompts, "cp_reported_by"), see["who"](record.get("recorded_by"))),
        (_words(prompts, "cp_linked"), records.other_children_text(record)),
        (_words(prompts, "cp_reference"), str(record.get("id") or "")),
    ]
    lines = [f"{label}: {value}" for label, value in top if value]
    for title, rows in records.sections(record, prompts)[1:]:
        lines += ["", title.upper()]
        lines += [f"{label}: {value}" for label, value in rows]
    return "\n".join(lines) + "\n"


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
        "outcome": "; ".join(records.outcomes_text(r, prompts)) or (
            words.wording(f"outcome_{referral['outcome']}", referral["outcome"])
            if referral["outcome"] else ""),
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
