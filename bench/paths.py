"""Questions asked and words of bot text, per route, on both paths.

Walks each route with typical answers (``tests/scenarios.py``) through the
real engine and counts what a person is asked and reads: each question, its
help, its choices, reminders and notices (not the footer and commands every
screen repeats). ``python -m bench.paths`` prints the table the README shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from bot import record as records
from bot.config import Settings
from bot.flow import Flow, Session
from tests import scenarios as sc

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
# What a legal citation looks like: none are shown to staff on the short path.
CITATION = re.compile(r"KCSIE|GDPR|DPA 2018|Art\. ?\d|para(?:graph)? ?\d|\bs\.\d|Schedule \d"
                      r"|Act \d{4}|Annex [A-Z]", re.IGNORECASE)


@dataclass(frozen=True)
class Walk:
    route: str
    path: str
    questions: int
    words: int
    citations: tuple[str, ...]
    decision: str


# (route name, path, script, played by the DSL)
ROUTES: tuple[tuple[str, str, list[str], bool], ...] = (
    ("A worry about a child", "tell the DSL", sc.STAFF_CONCERN, False),
    ("Urgent, DSL unreachable: staff refer", "tell the DSL", sc.STAFF_SELF_REFERRAL, False),
    ("Agency request, verified", "sharing decision", sc.POLICE_PREJUDICE, False),
    ("Agency request, not verified", "sharing decision", sc.UNVERIFIED_POLICE, False),
    ("The DSL takes a concern on", "sharing decision", sc.TAKE_ON_SHARE, True),
    ("The DSL's own decision (early help)", "sharing decision", sc.EARLY_HELP_CONSENT, True),
    ("Significant harm, not shared", "sharing decision", sc.SIGNIFICANT_NOT_SHARED, True),
    ("Records request (solicitor)", "sharing decision", sc.NO_PURPOSE, False),
    ("Allegation about staff (low level)", "allegations", sc.ALLEGATION, False),
    ("Allegation about the DSL", "allegations", sc.ALLEGATION_DSL, False),
    ("FGM disclosed to a teacher", "duty", sc.FGM_DISCLOSED, False),
    ("Radicalisation (Prevent)", "sharing decision", sc.PREVENT, True),
    ("Child-on-child sexual assault", "sharing decision", sc.CHILD_ON_CHILD, True),
    ("Operation Encompass received", "information received", sc.OPERATION_ENCOMPASS, False),
    ("Child moving school", "CP file transfer", sc.CP_TRANSFER, False),
    ("Low-level worry, record only", "record only", sc.RECORD_ONLY, False),
    ("Immediate danger", "emergency", sc.IMMEDIATE_DANGER, False),
)


def _words(text: str) -> int:
    return len(text.split())


def walk(flow: Flow, script: list[str], session: Session | None = None,
         *, dsl: bool = False) -> tuple[Session, int, int, list[str]]:
    """Answer ``script``; count the questions and the words read."""
    session = session or flow.start("U1", dsl=dsl)
    asked, words, shown = 0, 0, []
    for answer in script:
        question = flow.question(session)
        assert question is not None, f"finished before {answer!r}"
        texts = [question.text, question.help, *(label for _, label in question.choices),
                 *(text for _, text in question.reminders)]
        result = flow.answer(session, answer)
        assert result.accepted, f"{question.step}: {answer!r}: {result.error}"
        texts += result.notices
        asked += 1
        words += sum(_words(t) for t in texts)
        shown += texts
    assert flow.done(session), flow.current(session)
    return session, asked, words, shown


def _take_on(flow: Flow) -> tuple[Session, int, int, list[str]]:
    """The DSL's part only: what the staff member said is not asked again."""
    staff, _, _, _ = walk(flow, sc.STAFF_CONCERN)
    concern = records.build(staff, flow.settings, flow.prompts, now=NOW)
    session = flow.take_on("UDSL1", "console", concern["concern_answers"], "ISD-2026-0001")
    return walk(flow, sc.TAKE_ON_SHARE, session)


def measure(settings: Settings | None = None) -> list[Walk]:
    flow = Flow(settings or Settings(), clock=lambda: NOW)
    rows = []
    for route, path, script, dsl in ROUTES:
        if script is sc.TAKE_ON_SHARE:
            session, asked, words, shown = _take_on(flow)
        else:
            session, asked, words, shown = walk(flow, script, dsl=dsl)
        rec = records.build(session, flow.settings, flow.prompts, now=NOW)
        cited = tuple(sorted({m.group(0) for t in shown for m in CITATION.finditer(t)}))
        rows.append(Walk(route, path, asked, words, cited, rec["decision"]))
    return rows


def table(rows: list[Walk]) -> str:
    lines = ["| route | path | questions | words of bot text |",
             "| --- | --- | --- | --- |"]
    lines += [f"| {r.route} | {r.path} | {r.questions} | {r.words} |" for r in rows]
    return "\n".join(lines)


def main() -> int:
    print(table(measure()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
