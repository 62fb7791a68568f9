"""Screens and words, per route, as a person reads them in the terminal.

Plays each route with typical answers (``tests/scenarios.py``) through the
real terminal (:class:`bot.console.Console` on a real store) and counts what
a person sees before the record: every screen (each answer read), and every
word the terminal shows, the welcome and help included, each line counted
once (the footer and commands every screen repeats count once).
``python -m bench.paths`` prints the table the README shows;
``tests/flow/test_paths.py`` checks the README holds it and the limits.
"""

from __future__ import annotations

import io
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.config import Settings
from bot.console import Console
from bot.flow import Flow, Session
from bot.service import DecisionService
from storage import TinyDBStore
from tests import scenarios as sc

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
# What a legal citation looks like: none are shown to staff on the short path.
CITATION = re.compile(r"KCSIE|GDPR|DPA 2018|Art\. ?\d|para(?:graph)? ?\d|\bs\.\d|Schedule \d"
                      r"|Act \d{4}|Annex [A-Z]", re.IGNORECASE)
# Where the record itself begins in the terminal: what comes before is read.
RECORD_START = re.compile(r"^Decision record ", re.MULTILINE)
# A staff member's worry reaches the DSL within these (issue 21).
STAFF_SCREENS, STAFF_WORDS = 10, 450


@dataclass(frozen=True)
class Walk:
    route: str
    path: str
    staff: bool  # walked by a member of staff (not the DSL)
    screens: int
    words: int
    citations: tuple[str, ...]
    decision: str
    transcript: str = ""

    @property
    def questions(self) -> int:
        return self.screens


# (route name, path, script, walked by a member of staff)
ROUTES: tuple[tuple[str, str, list[str], bool], ...] = (
    ("A worry about a child", "tell the DSL", sc.STAFF_CONCERN, True),
    ("A worry: the child asked for secrecy", "tell the DSL", sc.STAFF_SECRET, True),
    ("A worry: significant harm", "tell the DSL", sc.STAFF_SIGNIFICANT, True),
    ("A worry that can't wait, the DSL told", "tell the DSL", sc.STAFF_URGENT_TOLD, True),
    ("Urgent, DSL unreachable: staff refer", "tell the DSL", sc.STAFF_SELF_REFERRAL, True),
    ("Urgent, DSL unreachable, not referred yet", "tell the DSL", sc.STAFF_CANNOT_REACH,
     True),
    ("Danger now, then the rest", "tell the DSL", sc.STAFF_DANGER_CONTINUE, True),
    ("Radicalisation taken by staff", "pass to the DSL", sc.STAFF_PREVENT, True),
    ("Child-on-child abuse taken by staff", "pass to the DSL", sc.STAFF_CHILD_ON_CHILD, True),
    ("FGM suspected, taken by staff", "pass to the DSL", sc.STAFF_FGM_SUSPECTED, True),
    ("FGM disclosed to a support assistant", "pass to the DSL", sc.STAFF_FGM_TOLD_TA, True),
    ("FGM disclosed to a teacher (own duty)", "duty", sc.STAFF_FGM_TEACHER, True),
    ("Low-level worry, record only (staff)", "record only", sc.STAFF_RECORD_ONLY, True),
    ("Agency request taken by staff", "pass to the DSL", sc.STAFF_POLICE_REQUEST, True),
    ("Agency request taken by staff, not verified", "pass to the DSL",
     sc.STAFF_UNVERIFIED_REQUEST, True),
    ("Agency request, urgent, DSL unreachable", "pass to the DSL",
     sc.STAFF_REQUEST_CANNOT_WAIT, True),
    ("Agency request, verified (the DSL)", "sharing decision", sc.POLICE_PREJUDICE, False),
    ("Agency request, not verified (the DSL)", "sharing decision", sc.UNVERIFIED_POLICE, False),
    ("Records request taken by staff", "pass to the DSL", sc.STAFF_RECORDS_REQUEST, True),
    ("Records request (the DSL)", "sharing decision", sc.NO_PURPOSE, False),
    ("Allegation about staff (low level)", "allegations", sc.ALLEGATION, True),
    ("Allegation about the DSL", "allegations", sc.ALLEGATION_DSL, True),
    ("FGM disclosed to a teacher", "duty", sc.FGM_DISCLOSED, False),
    ("Operation Encompass taken by staff", "pass to the DSL", sc.STAFF_ENCOMPASS, True),
    ("Operation Encompass (the DSL)", "information received", sc.OPERATION_ENCOMPASS, False),
    ("Child moving school", "CP file transfer", sc.CP_TRANSFER, True),
    ("Low-level worry, record only", "record only", sc.RECORD_ONLY, False),
    ("Immediate danger", "emergency", sc.IMMEDIATE_DANGER, True),
    ("The DSL takes a concern on", "sharing decision", sc.TAKE_ON_SHARE, False),
    ("The DSL's own decision (early help)", "sharing decision", sc.EARLY_HELP_CONSENT, False),
    ("Significant harm, not shared", "sharing decision", sc.SIGNIFICANT_NOT_SHARED, False),
    ("Radicalisation (Prevent)", "sharing decision", sc.PREVENT, False),
    ("Child-on-child sexual assault", "sharing decision", sc.CHILD_ON_CHILD, False),
)


def read(transcript: str) -> tuple[int, int]:
    """Screens and words a person reads in a terminal transcript, up to the
    record: each answer read is a screen; each line shown counts once."""
    before = RECORD_START.split(transcript, maxsplit=1)[0]
    screens, words, seen = 0, 0, set()
    for line in before.splitlines():
        if line.startswith("> "):  # the prompt and the answer typed
            screens += 1
            continue
        text = " ".join(line.split())
        if text and text not in seen:
            seen.add(text)
            words += len(text.split())
    return screens, words


def terminal(script: list[str], *, take_on: bool = False, clock: datetime = NOW,
             settings: Settings | None = None) -> tuple[str, dict[str, object] | None]:
    """Play ``script`` in the real terminal on a fresh store: the transcript
    and the record it made. ``take_on``: a member of staff's worry is told
    first (not counted), then the DSL takes it on with ``script``."""
    with tempfile.TemporaryDirectory() as data:
        store = TinyDBStore(Path(data) / "data")
        try:
            app = DecisionService(settings or Settings(), store, clock=lambda: clock)
            record_id = None
            if take_on:
                _play(app, sc.STAFF_CONCERN, "console:ta")
                record_id = store.list_records()[0]["id"]
            out = _play(app, script, "console:dsl" if take_on else "console:staff",
                        take_on=record_id)
            made = [app.record(r["id"]) for r in store.list_records()]
            return out, made[-1] if made else None
        finally:
            store.close()


def _play(app: DecisionService, script: list[str], user: str, *,
          take_on: str | None = None) -> str:
    out = io.StringIO()
    Console(app, stdin=io.StringIO("\n".join(script) + "\n"), stdout=out, user=user).run(
        take_on=take_on)
    return out.getvalue()


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


def measure(settings: Settings | None = None) -> list[Walk]:
    rows = []
    for route, path, script, staff in ROUTES:
        transcript, rec = terminal(script, take_on=script is sc.TAKE_ON_SHARE,
                                   settings=settings)
        if rec is None or "Paused and saved" in transcript:
            raise AssertionError(f"{route}: the script did not reach a record")
        screens, words = read(transcript)
        before = RECORD_START.split(transcript, maxsplit=1)[0]
        cited = tuple(sorted({m.group(0) for m in CITATION.finditer(before)}))
        rows.append(Walk(route, path, staff, screens, words, cited,
                         str((rec or {}).get("decision", "")), transcript))
    return rows


def table(rows: list[Walk]) -> str:
    lines = ["| route | path | who | screens | words read |",
             "| --- | --- | --- | --- | --- |"]
    lines += [f"| {r.route} | {r.path} | {'staff' if r.staff else 'the DSL'} | {r.screens} "
              f"| {r.words} |" for r in rows]
    return "\n".join(lines)


def main() -> int:
    print(table(measure()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
