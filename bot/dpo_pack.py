"""``jigsaw pack --out DIR``: the documents a school's data protection officer
signs before Jigsaw is switched on, drafted from this installation's facts
(:mod:`bot.installation`): a DPIA, an Art. 30 record of processing entry, an
appropriate policy document, a security measures statement and a staff
privacy notice, each as Markdown and PDF, and a data-flow diagram (PNG).

The wording is in ``prompts/pack/``; every statement there is chosen by a
fact, so a pack for another installation says other things.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.exports import _Document
from bot.installation import Finding, Installation
from bot.prompts import Prompts, default_prompts

FINDINGS = "pack/findings.j2"
DIAGRAM = "data-flow.png"
# Output file stem -> template.
DOCUMENTS = {
    "dpia": "pack/dpia.md.j2",
    "article30-record": "pack/article30.md.j2",
    "appropriate-policy-document": "pack/policy.md.j2",
    "security-measures": "pack/security.md.j2",
    "staff-privacy-notice": "pack/notice.md.j2",
}


def say(prompts: Prompts, kind: str, finding: Finding) -> str:
    """A finding's wording: ``ok``, ``risk`` or ``fix`` (prompts/pack/findings.j2)."""
    return prompts.block(FINDINGS, f"{kind}_{finding.key}", **finding.params)


def render(name: str, installation: Installation, settings: Settings) -> str:
    """One document, as Markdown."""
    prompts = default_prompts(installation.nation)
    return prompts.render(DOCUMENTS[name], i=installation, settings=settings,
                          say=lambda kind, f: say(prompts, kind, f)) + "\n"


def title(name: str, installation: Installation) -> str:
    prompts = default_prompts(installation.nation)
    return prompts.block(DOCUMENTS[name], "title", i=installation)


@dataclass(frozen=True)
class Written:
    paths: tuple[Path, ...]
    risks: int


def write(out: Path, installation: Installation, settings: Settings) -> Written:
    """Every document and the diagram into ``out`` (made if missing; files
    of the same names are replaced, so a pack is regenerated in place)."""
    out.mkdir(parents=True, exist_ok=True)
    written = [diagram(installation, out / DIAGRAM)]
    for name in DOCUMENTS:
        text = render(name, installation, settings)
        md = out / f"{name}.md"
        md.write_text(text, encoding="utf-8")
        pdf = out / f"{name}.pdf"
        pdf.write_bytes(to_pdf(text, installation.school_name, title(name, installation),
                               images=out))
        written += [md, pdf]
    return Written(tuple(written), len(installation.risks))


# -- Markdown (the little the templates use) to PDF ---------------------------------
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)]+)\)")
_EMPHASIS = re.compile(r"\*(\([^*]*\))\*")


def _plain(text: str) -> str:
    """Inline Markdown as plain text: code spans and the *(unconfirmed)* marks."""
    return _EMPHASIS.sub(r"\1", text).replace("`", "")


def _cells(line: str) -> list[str]:
    return [_plain(c.strip()) for c in line.strip().strip("|").split("|")]


def to_pdf(markdown: str, school: str, doc_title: str, *, images: Path) -> bytes:
    """A4 pages with the school and the title at the top and page numbers at
    the foot (the record export's page layout)."""
    prompts = default_prompts()
    pdf = _Document(school, doc_title,
                    prompts.block("record/reports.j2", "pdf_page", n="{n}", total="{nb}"))
    pdf.add_page()
    lines = markdown.splitlines()
    n = 0
    while n < len(lines):
        line = lines[n].rstrip()
        if line.startswith("|"):
            rows = []
            while n < len(lines) and lines[n].startswith("|"):
                if not re.fullmatch(r"\|[\s|:-]+\|?", lines[n].strip()):
                    rows.append(_cells(lines[n]))
                n += 1
            _table(pdf, rows)
            continue
        n += 1
        image = _IMAGE.fullmatch(line.strip())
        if image:
            path = images / image[2]
            if path.is_file():
                pdf.image(str(path), w=pdf.epw)
            continue
        if line.startswith("# "):
            pdf.set_font(pdf.family_name, "B", 14)
            pdf.multi_cell(0, 7, pdf.text_of(_plain(line[2:])), align="L", new_x="LMARGIN",
                           new_y="NEXT")
            pdf.ln(2)
        elif line.startswith("## "):
            if pdf.get_y() > pdf.h - pdf.b_margin - 30:  # keep a heading with its text
                pdf.add_page()
            pdf.heading(_plain(line[3:]))
        elif line.strip() == "---":
            pdf.ln(2)
            pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
            pdf.ln(2)
        elif line.lstrip().startswith("- "):
            indent = 4 + (len(line) - len(line.lstrip())) * 2
            mark = "\u2022 " if pdf.family_name != "helvetica" else "- "
            pdf.set_font(pdf.family_name, "", 9)
            pdf.set_x(pdf.l_margin + indent)
            pdf.multi_cell(pdf.epw - indent, 4.6, pdf.text_of(mark + _plain(line.lstrip()[2:])),
                           align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(0.8)
        elif line.strip():
            pdf.set_font(pdf.family_name, "", 9)
            pdf.multi_cell(0, 4.6, pdf.text_of(_plain(line)), align="L", new_x="LMARGIN",
                           new_y="NEXT")
            pdf.ln(1.5)
    return pdf.output_bytes()


def _table(pdf: Any, rows: list[list[str]]) -> None:
    if not rows:
        return
    width = max(len(r) for r in rows)
    # Columns as wide as their text, none narrower than a tenth.
    lengths = [sum(len(r[c]) for r in rows if c < len(r)) + 1 for c in range(width)]
    widths = tuple(max(n / sum(lengths), 0.1) for n in lengths)
    pdf.set_font(pdf.family_name, "", 8)
    pdf.ln(1)
    with pdf.table(line_height=4.2, text_align="LEFT", first_row_as_headings=True,
                   padding=1, col_widths=widths) as table:
        for cells in rows:
            row = table.row()
            for cell in cells + [""] * (width - len(cells)):
                row.cell(pdf.text_of(cell))
    pdf.ln(2)
    pdf.set_font(pdf.family_name, "", 9)


# -- the data-flow diagram ------------------------------------------------------
def diagram(f: Installation, path: Path) -> Path:
    """Staff -> chat service -> Jigsaw -> its store, the DSL channel and
    exports, each box labelled with this installation's facts."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    prompts = default_prompts(f.nation)

    def label(block: str) -> str:
        return prompts.block("pack/diagram.j2", block, i=f)

    fig, ax = plt.subplots(figsize=(11, 6.2), dpi=110)
    ax.set_xlim(0, 11)
    ax.set_ylim(0, 6.2)
    ax.axis("off")
    weak = "#f8d7d3"
    good = "#dceedd"
    plain = "#e8eef7"

    def box(x: float, y: float, w: float, h: float, text: str, colour: str) -> None:
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.04,rounding_size=0.12",
                                    fc=colour, ec="#333333", lw=1.1))
        # About 12 characters of 8-point text to an inch of box.
        lines = [textwrap.fill(line, max(int(w * 12), 8)) for line in text.splitlines()]
        ax.text(x + w / 2, y + h / 2, "\n".join(lines), ha="center", va="center",
                fontsize=8)

    def arrow(x1: float, y1: float, x2: float, y2: float, text: str = "") -> None:
        ax.annotate("", xy=(x2, y2), xytext=(x1, y1),
                    arrowprops={"arrowstyle": "-|>", "color": "#333333", "lw": 1.2})
        if text:
            ax.text((x1 + x2) / 2, (y1 + y2) / 2 + 0.12, text, ha="center", fontsize=7,
                    color="#333333")

    ax.text(0.1, 5.95, label("title"), fontsize=11, weight="bold")
    box(0.2, 2.6, 1.7, 1.1, label("staff"), plain)
    box(2.7, 2.6, 2.3, 1.1, label("chat"), plain)
    box(5.6, 2.6, 2.0, 1.1, label("jigsaw"), good if f.hosting else weak)
    store_ok = f.encrypted and f.sealed
    box(8.2, 2.3, 2.6, 1.7, label("store"), good if store_ok else weak)
    arrow(1.9, 3.15, 2.7, 3.15, label("arrow_staff"))
    arrow(5.0, 3.15, 5.6, 3.15, label("arrow_chat"))
    arrow(7.6, 3.15, 8.2, 3.15, label("arrow_store"))
    if f.front_end != "terminal":
        box(5.3, 4.5, 2.6, 1.1, label("channel"), good if f.dsl_channel else weak)
        arrow(6.6, 3.7, 6.6, 4.5, label("arrow_channel"))
    box(5.3, 0.5, 2.6, 1.1, label("exports"), plain)
    arrow(6.6, 2.6, 6.6, 1.6, label("arrow_exports"))
    box(8.5, 0.5, 2.3, 1.1, label("backups"), good if f.backup_location else weak)
    arrow(9.5, 2.3, 9.5, 1.6, "")
    ax.text(0.2, 0.2, label("legend"), fontsize=7, color="#555555")
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path
