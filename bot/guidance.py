"""What each nation pack says is in force: every edition of the guidance its
records cite, and every rule that starts on a date or waits for its
commencement (DOMAIN.md section 11). ``jigsaw guidance`` prints it for a DSL
to check in a minute; the README's table of editions is made from the same
data (``python -m bot.guidance --readme`` rewrites it; a test checks it).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from bot import nations

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN = "<!-- guidance table: made by python -m bot.guidance --readme -->"
END = "<!-- end of guidance table -->"
UNCONFIRMED = "*(unconfirmed)*"


def _mark(row: dict[str, Any]) -> str:
    return "" if row["confirmed"] else f" {UNCONFIRMED}"


def _when(row: dict[str, Any]) -> str:
    if row["pending"]:
        return "waiting for commencement"
    return f"from {row['from'].isoformat()}" if row["from"] else "undated (until replaced)"


def report(out: TextIO, day: date, names: Sequence[str] = (),
           commenced: dict[str, date] | None = None) -> None:
    """Per nation: the guidance a record made on ``day`` cites, the duties in
    force, each dated rule's start, and what no source confirmed."""
    for name in names or nations.available():
        pack = nations.pack(name, day, commenced if name in names else None)
        out.write(f"{pack.title} (pack {pack.version}), on {day.isoformat()}\n")
        out.write("  Guidance in force:\n")
        for g in pack.guidance.values():
            since = f", from {g['from']}" if g.get("from") else ""
            section = f", {g['section']}" if g.get("section") else ""
            mark = "" if g.get("confirmed") else f" {UNCONFIRMED}"
            edition = " ".join(str(p) for p in (g["title"], g.get("year", "")) if p)
            out.write(f"    {edition}{section}{since}{mark}\n")
        out.write("  Duties in force: " + (", ".join(
            k for k, v in pack.duties.items() if v is True) or "none") + "\n")
        rows = [r for r in pack.rules() if r["kind"] != "guidance" or len(
            pack.timeline.guidance[r["key"]]) > 1 or r["pending"] or r["from"]]
        if rows:
            out.write("  Rules by date:\n")
            for r in rows:
                state = "in force" if r["in_force"] else "not in force"
                out.write(f"    {r['kind']}.{r['key']}: {r['what']}: {_when(r)} "
                          f"({state}){_mark(r)}\n")
        unconfirmed = pack.unconfirmed()
        out.write(f"  Unconfirmed ({len(unconfirmed)}): {', '.join(unconfirmed) or 'none'}\n\n")


def readme_table() -> str:
    """Every dated edition and rule of every pack, as a Markdown table."""
    lines = [BEGIN, "", "| Nation | Guidance or rule | Edition | Applies | Confirmed |",
             "| --- | --- | --- | --- | --- |"]
    for name in nations.available():
        pack = nations.pack(name)
        for r in pack.rules():
            if r["kind"] == "guidance" and len(pack.timeline.guidance[r["key"]]) < 2 and not (
                    r["pending"] or r["from"]):
                continue
            what = r["what"] if r["kind"] == "guidance" else f"{r['kind']}.{r['key']}"
            edition = r["section"] if r["kind"] == "guidance" else r["what"]
            lines.append(f"| {pack.title} | {what} | {edition} | {_when(r)} | "
                         f"{'yes' if r['confirmed'] else UNCONFIRMED} |")
    return "\n".join([*lines, "", END])


def readme_with_table(text: str) -> str:
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[:start] + readme_table() + text[end:]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.guidance")
    parser.add_argument("--readme", action="store_true", help="rewrite the README's table")
    args = parser.parse_args(argv)
    if args.readme:
        README.write_text(readme_with_table(README.read_text(encoding="utf-8")),
                          encoding="utf-8")
        return 0
    report(sys.stdout, nations.today())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
