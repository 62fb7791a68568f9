"""The same conversation in a terminal, with no Slack at all.

Numbered choices, free-text answers, ``back``, ``pause`` and ``cancel``. It
reads one answer per line, so a scripted session can be piped on stdin. The
record is printed at the end and kept in the store.
"""

from __future__ import annotations

import getpass
import pwd
import sys
import textwrap
from typing import TextIO

from bot import record as records
from bot.derive import SUMMARY_MAX
from bot.flow import Question, Source
from bot.flow.validate import InvalidAnswer, clean_text
from bot.service import AccessDenied, AlreadyDecided, DecisionService, NotFound, clean_id

COMMANDS = {"back", "pause", "cancel", "help", "?", "quit", "exit"}
WIDTH = 78


class Console:
    def __init__(self, service: DecisionService, *, stdin: TextIO = sys.stdin,
                 stdout: TextIO = sys.stdout, user: str | None = None) -> None:
        self.service = service
        self.stdin = stdin
        self.stdout = stdout
        self.user = user or f"console:{getpass.getuser()}"

    def say(self, text: str = "") -> None:
        for para in text.splitlines() or [""]:
            self.stdout.write(textwrap.fill(para, WIDTH) + "\n" if para else "\n")
        self.stdout.flush()

    def read(self) -> str | None:
        self.stdout.write("> ")
        self.stdout.flush()
        line = self.stdin.readline()
        if not line:
            return None
        line = line.rstrip("\n")
        if not self.stdin.isatty():  # echo scripted answers so the transcript reads well
            self.stdout.write(line + "\n")
        return line

    def run(self, *, new: bool = False, take_on: str | None = None) -> int:
        """The conversation; Ctrl-C pauses it (saved) and says so."""
        self._session_id: str | None = None
        try:
            return self._run(new=new, take_on=take_on)
        except KeyboardInterrupt:
            session = self.service.get(self._session_id) if self._session_id else None
            what, record_id = "", ""
            if session is not None and session.is_open:
                self.service.pause(session.id)
                what = self.service.describe(session)
            elif session is not None:
                record_id = session.record_id or ""
            self.say("\n" + self.service.prompts.render("console/interrupted.j2", what=what,
                                                        id=record_id))
            return 130

    def _run(self, *, new: bool, take_on: str | None) -> int:
        prompts = self.service.prompts
        self.say(prompts.render("console/welcome.j2", s=self.service.settings))
        if notice := self.service.cover_notice(terminal=True):
            self.say(notice)
        self.name_once()
        session = None if new or take_on else self.service.latest_open(self.user)
        if take_on:
            try:
                session = self.service.take_on(take_on, self.user, source=Source.CONSOLE)
            except NotFound:
                self.say(prompts.render("console/not_found.j2", id=clean_id(take_on)))
                return 2
            except AlreadyDecided as exc:
                self.say(prompts.render("console/cannot_take_on.j2", id=exc.record_id,
                                        closed=exc.closed))
                return 2
            self.say(prompts.render("console/taking_on.j2", id=clean_id(take_on)))
        elif session:
            session = self.service.resume(session.id)
            self.say(prompts.render("console/resumed.j2", what=self.service.describe(session)))
        else:
            session = self.service.start(self.user, source=Source.CONSOLE, dsl=self.is_dsl())
        self._session_id = session.id
        while True:
            question = self.service.flow.question(session)
            if question is None:
                break
            self.show(question)
            line = self.read()
            if line is None:
                self.service.pause(session.id)
                self.say(prompts.render("console/paused.j2"))
                return 0
            command = line.strip().casefold()
            if command in COMMANDS:
                if command == "back":
                    if not question.can_go_back:
                        self.say(prompts.render("console/no_back.j2"))
                    session = self.service.back(session.id)
                    continue
                if command in ("help", "?"):
                    # What this question means, then how to answer; the
                    # question is asked again, its draft kept.
                    usage = prompts.render("console/help.j2", s=self.service.settings)
                    self.say("\n" + (self.service.flow.prompts.render(
                        "notices/help.j2", q=question, usage=usage)
                        if question.explain else usage))
                    continue
                if command == "cancel":
                    session = self.service.cancel(session.id)
                    if session.record_id:
                        self.say(prompts.render("console/cancelled_kept.j2",
                                                id=session.record_id, s=self.service.settings))
                    else:
                        self.say(prompts.render("console/cancelled.j2"))
                    return 0
                self.service.pause(session.id)
                self.say(prompts.render("console/paused.j2"))
                return 0
            outcome = self.service.answer(session.id, line, step_id=question.step)
            session = outcome.session
            if not outcome.result.accepted:
                self.say("! " + outcome.result.error)
                continue
            for notice in outcome.result.notices:
                self.say("\n" + notice + "\n")
            for event in outcome.result.events:
                # No Slack here: the person must tell the DSL themselves.
                self.service.deliveries.mark_event_delivered(session.id, event["id"],
                                                             channel="console")
                self.say(prompts.render("console/alert_local.j2", s=self.service.settings))
        record = self.service.record(session.record_id) if session.record_id else None
        if record:
            routed = self.service.reviews.routed_notice(record)
            if (record.get("decided_by") or {}).get("by") == self.user:
                self.say(prompts.render("console/decision_added.j2", id=record["id"]))
            else:
                self.say(prompts.render("console/submitted.j2", id=record["id"],
                                        to_dsl=not routed, s=self.service.settings,
                                        next=records.what_next(record)))
            if routed:
                self.say(routed)
            self.service.told(self.user, record["id"])
            # The record keeps its own layout: printed as is, not re-wrapped.
            self.stdout.write(records.render_text(record, prompts) + "\n")
            self.stdout.flush()
        return 0

    def is_dsl(self) -> bool:
        """One of the DSL team's accounts (``[console] dsl_accounts``)."""
        login = self.user.removeprefix("console:")
        return (login in self.service.settings.console_dsl_accounts
                or self.service.reviews.is_dsl(self.user))

    def inbox(self) -> int:
        """What waits for the DSL, urgent first, each with its id."""
        items = self.service.inbox()
        self.stdout.write(self.service.prompts.render("inbox/console.j2", items=items) + "\n")
        self.stdout.flush()
        return 0

    def cover(self, state: str, name: str = "") -> int:
        """``jigsaw cover on|off|status``: mark the DSL away (who covers, by
        name) or back, as the DSL team."""
        prompts = self.service.prompts
        if state in ("on", "off"):
            try:
                self.service.set_cover(state == "on", by=self.user, allowed=self._dsl(), name=name)
            except AccessDenied:
                self.say(prompts.render("console/refused.j2", s=self.service.settings))
                return 1
        self.say(prompts.render("console/cover.j2", cover=self.service.cover()))
        return 0

    def _dsl(self) -> bool:
        """The DSL team, in the terminal: the accounts the settings name
        (``console:<login>``), or anyone where they name none."""
        named = [u for u in self.service.settings.dsl_user_ids if u.startswith("console:")]
        return not named or self.service.reviews.is_dsl(self.user)

    def settle(self, record_id: str, action: str, **params: str) -> int:
        """Close a record, or confirm the lawful basis suggested on it, as
        the DSL. Where the settings name the DSL team's terminal accounts,
        anyone else is refused (and the attempt recorded)."""
        prompts = self.service.prompts
        allowed = self._dsl()
        rid = clean_id(record_id)
        try:
            if action == "correct" and params.get("field") == "summary_line":
                params["value"] = clean_text(params["value"], max_len=SUMMARY_MAX, min_len=1)
            done = self.service.reviews.review(rid, action, by=self.user, allowed=allowed, **params)
        except InvalidAnswer as exc:
            self.say(self.service.flow.error(exc.code, **exc.params))
            return 2
        except NotFound:
            self.say(prompts.render("console/not_found.j2", id=rid))
            return 2
        except AccessDenied:
            self.say(prompts.render("console/refused.j2", s=self.service.settings))
            return 1
        template = {"close": "console/closed.j2", "confirm_basis": "console/basis_confirmed.j2",
                    "outcome": "console/outcome_recorded.j2", "correct": "console/corrected.j2"}
        self.say(prompts.render(template[action], id=rid, already=done is None,
                                field=params.get("field", "")))
        return 0

    def name_once(self) -> None:
        """Records name people: ask this account's name and role once, and
        remember it. A scripted run (no terminal) takes the account's full
        name from the system instead of reading an answer meant for a question."""
        if self.service.person(self.user):
            return
        if not self.stdin.isatty():
            self.service.know_person(self.user, _account_name(self.user))
            return
        self.say(self.service.prompts.render("console/ask_name.j2"))
        line = self.read()
        name, role = split_name(line or "")
        self.service.know_person(self.user, name or _account_name(self.user), role)

    def show(self, q: Question) -> None:
        if q.preface:
            self.say("\n" + q.preface)
        self.say("\n" + self.service.prompts.render("notices/progress.j2", q=q) + " " + q.text)
        if q.help:
            self.say(q.help)
        for _, reminder in q.reminders:
            self.say(" * " + reminder)
        for number, (_, label) in enumerate(q.choices, start=1):
            self.say(f"  {number}. {label}")
        if q.earlier:
            self.say(self.service.prompts.render("console/earlier.j2", earlier=q.earlier))
        if q.kind == "text":
            if q.optional:
                self.say(self.service.prompts.render("console/optional.j2"))
            if q.draft:
                self.say(self.service.prompts.render("console/draft.j2", draft=q.draft))
        self.say(self.service.prompts.render("notices/footer.j2", s=self.service.settings)
                 + "  " + self.service.prompts.render("console/commands.j2"))


def split_name(text: str) -> tuple[str, str]:
    """ "Ms J. Smith (TA, Year 4)" or "Ms J. Smith, TA Year 4" as (name, role)."""
    text = " ".join(text.split())
    if "(" in text and text.endswith(")"):
        name, _, role = text[:-1].partition("(")
        return name.strip(), role.strip()
    name, _, role = text.partition(",")
    return name.strip(), role.strip()


def _account_name(user: str) -> str:
    """The system's full name for the account behind ``console:<login>``,
    else the login itself."""
    login = user.removeprefix("console:")
    try:
        full = pwd.getpwnam(login).pw_gecos.split(",")[0].strip()
    except KeyError:
        full = ""
    return full or login
