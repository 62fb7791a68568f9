"""The decision flow engine: pure Python, no Slack.

A :class:`Session` holds the answers so far. :class:`Flow` tells a front end
what to ask next (:meth:`Flow.question`), takes an answer
(:meth:`Flow.answer`), and goes back one step (:meth:`Flow.back`). The
terminal runner and the Slack app drive this same engine.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from bot import derive, nations
from bot.config import Settings
from bot.flow import barriers, basis, situations, validate
from bot.flow.allegations import routing
from bot.flow.steps import (
    BY_ID,
    DEFER_LATER_KEY,
    DSL_ROLE,
    FLOW_VERSION,
    NATION_KEY,
    NOT_SURE,
    ROLE_KEY,
    STAFF_LEVEL_KEY,
    STAFF_ROLE,
    STEPS,
    TAKE_ON_KEY,
    TAKEN_KEY,
    Step,
    claims_dsl,
    hands_over,
    is_dsl,
    location_request,
    no_share_expected,
    reminders_at_challenge,
    route,
    shares,
    suggested_route,
    tell_dsl_path,
    unverified,
    words_in_facts,
)
from bot.prompts import Prompts, default_prompts

Clock = Callable[[], datetime]

IN_PROGRESS, PAUSED, SUBMITTED, CANCELLED = "in_progress", "paused", "submitted", "cancelled"
OPEN_STATUSES = (IN_PROGRESS, PAUSED)


# Questions about how the person raising a concern sees it: a DSL taking the
# concern on is not asked them again.
_ABOUT_THE_STAFF_MEMBER = frozenset({"route_check"})
# The judgement a DSL taking a concern on makes for herself: the staff
# member's answers to these stay on the concern, never become hers
# (DOMAIN.md section 8, "The DSL judges for herself").
THE_DSLS_OWN = frozenset({"knows_family", "optimism", "level"})


def _answered_keys(history: list[str], answers: dict[str, str]) -> set[str]:
    """Keys the answers so far fill, those one answer gave at once included."""
    keys: set[str] = set()
    for step_id in history:
        step = BY_ID[step_id]
        keys.add(step.key)
        keys.update(k for k in step.derived_keys if k in answers)
    return keys


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stamp(moment: datetime) -> str:
    """A session's timestamp, to the microsecond: sessions touched in the
    same second must still sort in the order they were touched."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Source(StrEnum):
    """The front end a session came from: a record names its author in that
    service's ids, so only that service can mention or message them."""

    SLACK = "slack"
    TEAMS = "teams"
    CONSOLE = "console"


@dataclass
class Session:
    """One person's decision in progress. Stored as a plain dict."""

    id: str
    user: str
    source: str
    created_at: str
    updated_at: str
    status: str = IN_PROGRESS
    flow_version: str = FLOW_VERSION
    answers: dict[str, str] = field(default_factory=dict)
    # What the engine knows that the person did not answer (nation, role,
    # a deferral past today): read with the answers, never shown as one.
    facts: dict[str, str] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    barriers: dict[str, Any] = field(default_factory=lambda: {"shown": [], "view_changed": None})
    not_sure: list[str] = field(default_factory=list)
    drafts: dict[str, str] = field(default_factory=dict)
    record_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Session:
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in doc.items() if k in known})

    @property
    def known(self) -> dict[str, str]:
        """The answers with the engine's own facts, as the steps read them."""
        return {**self.answers, **self.facts}

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass
class Question:
    """What a front end needs to ask the current step."""

    step: str
    kind: str
    text: str
    help: str
    choices: list[tuple[str, str]]
    optional: bool
    max_len: int
    position: int
    total: int
    can_go_back: bool
    reminders: list[tuple[str, str]] = field(default_factory=list)
    draft: str = ""
    # What the DSL is judging, typed by someone else: shown as typed, above
    # the question (only on the first question of a concern taken on).
    preface: str = ""
    # The answer given before the person went back to this question (a
    # choice's label; a text answer comes back as the draft).
    earlier: str = ""
    # What the question means, with examples: said when the person asks for help.
    explain: str = ""


@dataclass
class Result:
    """What happened to an answer."""

    accepted: bool
    error: str = ""
    code: str = ""
    notices: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False


class Flow:
    """Walks :data:`STEPS` for one school's settings."""

    def __init__(
        self, settings: Settings, prompts: Prompts | None = None, clock: Clock = utcnow
    ) -> None:
        self.settings = settings
        self._prompts = prompts or default_prompts(settings.nation)
        self.clock = clock

    @property
    def prompts(self) -> Prompts:
        """The wording in the school's pack as it stands on the school's day
        (a screen on 31 August 2026 speaks the 2025 editions)."""
        today = self.pack_today()
        if (self._prompts.pack.name, self._prompts.pack.version) == (today.name, today.version):
            return self._prompts.on(today)
        return self._prompts

    # -- lifecycle --------------------------------------------------------
    def start(self, user: str, source: str = Source.SLACK, *, dsl: bool = False,
              team_known: bool = False) -> Session:
        """A new session. ``dsl``: the person is on the DSL team (the front end
        knows), so the flow never tells them to seek their own advice.
        ``team_known``: the front end knows who is on the team (a chat
        service), so anyone else is staff and never offered "I am the DSL";
        where it cannot tell (the terminal), the person may say so."""
        now = stamp(self.clock())
        facts = {NATION_KEY: self.settings.nation}
        # Duties that start later count from the school's day the session began.
        facts.update(situations.session_facts(self.pack_today()))
        if self.settings.own_categories:
            facts[derive.OWN_KEY] = "\n".join(self.settings.own_categories)
        if dsl:
            facts[ROLE_KEY] = DSL_ROLE
        elif team_known:
            facts[ROLE_KEY] = STAFF_ROLE
        return Session(id=uuid.uuid4().hex, user=user, source=source, created_at=now,
                       updated_at=now, facts=facts)

    def take_on(self, user: str, source: str, answers: dict[str, str], record_id: str
                ) -> Session:
        """The DSL's own session, taking a staff member's concern on into the
        sharing decision: it starts from what the staff member said, and
        asks only what the decision still needs."""
        session = self.start(user, source, dsl=True)
        session.facts[TAKE_ON_KEY] = record_id
        if answers.get("level"):
            session.facts[STAFF_LEVEL_KEY] = answers["level"]
        for step in STEPS:
            if not step.applies(session.known) or step.key in session.answers:
                continue
            if step.key in THE_DSLS_OWN:
                break
            if step.key not in answers:
                if step.id in _ABOUT_THE_STAFF_MEMBER:
                    continue  # theirs to answer, and they have told the DSL already
                break
            session.answers[step.key] = answers[step.key]
            session.history.append(step.id)
        session.facts[TAKEN_KEY] = str(len(session.history))
        # The situations the staff member's words point to bear on the DSL's
        # decision too (its notice, in the DSL's words, and its citations).
        cued = situations.cued(session.known, self.prompts.pack)
        if cued:
            session.facts[situations.SITUATIONS_KEY] = ",".join(cued)
        # Answers the full decision does not ask stay with the record, not here.
        return session

    def taking_on_first(self, session: Session) -> bool:
        """The DSL's first question on a concern she took on: she sees what
        the member of staff told her before she judges it."""
        taken = session.facts.get(TAKEN_KEY)
        return bool(session.facts.get(TAKE_ON_KEY)) and taken == str(len(session.history))

    def upgrade(self, session: Session) -> bool:
        """Carry a session begun under an older question set onto this one.

        Answers are kept up to the first one the new set would not ask in the
        same way (a step that no longer exists, or a choice it no longer
        offers); from there the person answers again. Nothing typed is lost:
        dropped answers are kept as drafts of the same step where it exists.
        """
        if session.flow_version == FLOW_VERSION:
            return False
        old_history, old_answers = list(session.history), dict(session.answers)
        session.flow_version = FLOW_VERSION  # first: walking the new steps reads it
        session.history = []
        session.answers = {}
        session.facts.setdefault(NATION_KEY, self.settings.nation)
        for step_id in old_history:
            step = BY_ID.get(step_id)
            value = old_answers.get(step.key) if step else None
            if step is None or value is None or self.current(session) is not step:
                break
            if step.kind != "text" and value not in step.options(session.known):
                break
            session.answers[step.key] = value
            session.history.append(step_id)
        for step_id in old_history[len(session.history):]:
            step = BY_ID.get(step_id)
            value = old_answers.get(step.key, "") if step else ""
            if step is not None and step.kind == "text" and value:
                session.drafts.setdefault(step_id, value)
        session.not_sure = [s for s in session.not_sure if s in session.history]
        return True

    def current(self, session: Session) -> Step | None:
        """The step to ask now, or None when the flow is complete."""
        return self._next_after(session, len(session.history))

    def done(self, session: Session) -> bool:
        return self.current(session) is None

    def _next_after(self, session: Session, index: int) -> Step | None:
        if session.flow_version != FLOW_VERSION:
            self.upgrade(session)
            index = len(session.history)
        start = STEPS.index(BY_ID[session.history[index - 1]]) + 1 if index else 0
        answered_keys = _answered_keys(session.history, session.answers)
        known = session.known
        for step in STEPS[start:]:
            if step.key in answered_keys:
                continue
            if step.applies(known):
                return step
        return None

    def remaining(self, session: Session) -> int:
        """Steps still to come on the path the person is on (an estimate:
        later answers can open or close branches). Before they have said
        what it is about, the path is the commonest one: no danger, and
        (for staff) their own worry to the DSL; the DSL's own decision
        for the DSL."""
        answered = _answered_keys(session.history, session.answers)
        current = self.current(session)
        if current is None:
            return 0
        known = dict(session.known)
        known.setdefault("danger", "no")
        known.setdefault("emergency_next", "submit")  # danger now: the short record first
        known.setdefault("trigger", "dsl_recording" if is_dsl(known) else "own_concern")
        if known["trigger"] == "dsl_recording":
            known.setdefault("concern_type", "general")
        count = 0
        for step in STEPS[STEPS.index(current):]:
            if step.key not in answered and step.applies(known):
                count += 1
                # One answer can fill others (optimism, and knowing the family).
                answered |= {step.key, *step.derived_keys}
        return count

    def progress(self, session: Session) -> tuple[int, int]:
        """Question n of about m on this path: n goes up one a screen."""
        done = len(session.history)
        here = done + (1 if self.current(session) else 0)
        return here, max(here, done + self.remaining(session))

    # -- asking -----------------------------------------------------------
    def context(self, session: Session) -> dict[str, Any]:
        """What every template may use."""
        a = session.known
        suggested = basis.suggest(a, self.settings.school_type)
        return {
            "s": self.settings,
            "a": a,
            "route": route(a),
            "suggested_route": suggested_route(a),
            "is_dsl": is_dsl(a),
            "tell_dsl": tell_dsl_path(a),
            "words_in_facts": words_in_facts(a),
            "hands_over": hands_over(a),
            "front": session.source,
            "unverified": unverified(a),
            "suggested_basis": suggested.as_dict() if suggested else None,
            "suggested_decision": self.suggested_decision(session),
            "advice_needed": bool(session.not_sure),
            "routed": routing(a, self.settings),
            "taking_on": bool(a.get(TAKE_ON_KEY)),
            "location_request": location_request(a),
            "challenge_reminders": reminders_at_challenge(a) and any(
                b not in session.barriers["shown"] for b in barriers.reminders_for(a)),
            "staff_level": a.get(STAFF_LEVEL_KEY, ""),
        }

    def question(self, session: Session) -> Question | None:
        step = self.current(session)
        if step is None:
            return None
        ctx = self.context(session)
        template = f"steps/{step.id}.j2"
        text = self.prompts.block(template, "question", **ctx)
        # Typed text (the staff member's account): apart from the question,
        # so each front end shows it literally and never in a notification.
        preface = (self.prompts.render("notices/take_on.j2", **ctx)
                   if self.taking_on_first(session) else "")
        if preface and situations.shown(session.known):
            # Situations with their own rules: what the DSL decides on, once.
            preface = "\n\n".join([preface, *(
                self.prompts.render(f"notices/situations/{name}.j2", **ctx)
                for name in situations.shown(session.known))])
        own = derive.own_in(session.known)  # a school's own categories: their names
        choices = [
            (value, self.prompts.block(template, f"choice_{value}", own.get(value), **ctx))
            for value in step.options(session.known)
        ]
        reminders = [(b, self.reminder(b, ctx)) for b in self._reminders_at(step, session)]
        position, total = self.progress(session)
        kept = session.drafts.get(step.id, "")
        earlier = "" if step.kind == "text" else dict(choices).get(kept, "")
        help_text = self.prompts.block(template, "help", default="", **ctx)
        return Question(
            step=step.id,
            kind=step.kind,
            text=text,
            help=help_text,
            choices=choices,
            optional=step.optional,
            max_len=step.max_len,
            position=position,
            total=total,
            can_go_back=bool(session.history),
            reminders=reminders,
            draft=kept if step.kind == "text" else "",
            preface=preface,
            earlier=earlier,
            explain=self.prompts.block(template, "explain", default="", **ctx) or help_text,
        )

    def reminder(self, barrier: str, ctx: dict[str, Any] | None = None) -> str:
        return self.prompts.render(f"barriers/{barrier}.j2", **(ctx or {"s": self.settings}))

    def _reminders_at(self, step: Step, session: Session) -> list[str]:
        a = session.known
        if step.id == "barrier_check":
            return barriers.reminders_for(a)
        if step.id == "challenge" and reminders_at_challenge(a):
            # No barrier check after a decision to refer: the reminders that
            # fit are named here instead, each once.
            return [b for b in barriers.reminders_for(a) if b not in session.barriers["shown"]]
        if step.id == "what_to_share":
            return ["oversharing"]
        if step.key == "optimism" and barriers.optimism_cue(a):
            return ["optimism"]
        if step.id == "coc_kind":
            return ["minimising"]
        if step.id == "confirm" and barriers.rationale_optimism(a) and not shares(a) and (
                "optimism" not in session.barriers["shown"]):
            return ["optimism", "fears"]
        return []

    def match_choice(self, step: Step, session: Session, raw: str) -> str | None:
        """A choice given as its value, its 1-based number or its label."""
        options = step.options(session.known)
        text = raw.strip()
        if text in options:
            return text
        if text.isascii() and text.isdigit() and 1 <= int(text) <= len(options):
            return options[int(text) - 1]
        ctx = self.context(session)
        lowered = text.casefold()
        for value in options:
            label = self.prompts.block(f"steps/{step.id}.j2", f"choice_{value}", **ctx)
            if lowered in (label.casefold(), value.replace("_", " ")):
                return value
        return None

    # -- answering --------------------------------------------------------
    def answer(self, session: Session, raw: Any, *, step_id: str | None = None) -> Result:
        """Validate ``raw`` for the current step and move on.

        ``step_id`` names the step the person was answering; if the flow has
        moved on (a stale button, a double click) nothing changes.
        """
        step = self.current(session)
        if step is None:
            return Result(False, self.error("finished"), "finished")
        if step_id is not None and step_id != step.id:
            return Result(False, self.error("stale"), "stale")
        if isinstance(raw, str) and barriers.promised(raw):
            promise = self._promised(session)
            if barriers.promise_aside(raw) or step.kind != "text":
                # An aside, not an answer: what to do, then the same question.
                return Result(False, promise, "promised")
        else:
            promise = ""
        try:
            value = self._accept(step, session, raw)
        except validate.InvalidAnswer as exc:
            if step.kind == "text" and isinstance(raw, str) and raw.strip():
                # Never lose it: kept whole, up to more than a chat message can hold.
                session.drafts[step.id] = validate.storable(raw[:validate.DRAFT_LIMIT])
            return Result(False, self.error(exc.code, **exc.params), exc.code)
        result = self._apply(step, session, value)
        if promise and result.accepted:
            result.notices.insert(0, promise)
        return result

    def _claims_dsl(self, step: Step, session: Session, raw: str) -> bool:
        """Someone the chat service knows is not on the DSL team says they
        are (typed, or a button they were never shown)."""
        if step.id != "trigger" or "dsl_recording" in step.options(session.known):
            return False
        label = self.prompts.block("steps/trigger.j2", "choice_dsl_recording",
                                   **self.context(session))
        return raw.strip().casefold() in (label.casefold(), "dsl_recording") or claims_dsl(raw)

    def _promised(self, session: Session) -> str:
        """What to do having promised a child not to tell: go back to them,
        kindly, and say who you must tell and why (KCSIE Part one: never
        promise confidentiality). Kept on the record as the secrecy reminder."""
        if "secrecy" not in session.barriers["shown"]:
            session.barriers["shown"].append("secrecy")
        return self.prompts.render("notices/promised.j2", **self.context(session)).strip()

    def _accept(self, step: Step, session: Session, raw: Any) -> str:
        if step.kind in ("choice", "confirm"):
            value = self.match_choice(step, session, raw) if isinstance(raw, str) else None
            if value is None and isinstance(raw, str) and self._claims_dsl(step, session, raw):
                raise validate.InvalidAnswer("not_dsl_team")
            if value is None:
                raise validate.InvalidAnswer("not_a_choice")
            return value
        if not isinstance(raw, str):
            raise validate.InvalidAnswer("not_text")
        if step.optional and raw.strip().casefold() in validate.SKIP_WORDS:
            return ""
        text = validate.clean_text(raw, max_len=step.max_len, min_len=step.min_len)
        if step.check == "child_ref":
            # Typed again exactly as before, after being asked: the person confirms it.
            before = session.drafts.get(step.id, "")
            text = validate.child_reference(
                text, pattern=self.settings.child_ref_pattern,
                confirmed=bool(before) and before.strip() == raw.strip())
        elif step.check == "child_refs":
            before = session.drafts.get(step.id, "")
            text = validate.child_references(
                text, pattern=self.settings.child_ref_pattern,
                confirmed=bool(before) and before.strip() == raw.strip())
        elif step.check == "date":
            text = validate.due_date(text, today=self.school_today())
        return text

    def _apply(self, step: Step, session: Session, value: str) -> Result:
        now = self.clock()
        shown = self._reminders_at(step, session)
        result = Result(True)
        session.updated_at = stamp(now)
        if step.id == "challenge" and reminders_at_challenge(session.known):
            # Read with the barriers shown here: changing the decision is a changed view.
            session.barriers["view_changed"] = value == "change"
        if dict(step.rewind).get(value):
            # e.g. "change my decision": back to that question, answer not kept
            # (the reminders read with it stay on the record).
            self._note_shown(session, shown)
            self._rewind_to(session, dict(step.rewind)[value])
            session.barriers.setdefault("challenged", []).append(step.id)
            result.done = self.done(session)
            return result
        session.answers[step.key] = value
        session.answers.update(step.derived(value, session.known))
        session.history.append(step.id)
        session.drafts.pop(step.id, None)
        after = self._reminders_after(step, session, value)
        self._note_shown(session, shown + after)
        if step.id == "danger" and value in ("yes", NOT_SURE):
            result.notices.append(self.safety_message())
            if not any(e["kind"] == "urgent_alert" for e in session.events):
                event = {
                    "id": f"{session.id}:urgent",
                    "kind": "urgent_alert",
                    "at": iso(now),
                    "user": session.user,
                    "answer": value,
                    "delivered": False,
                }
                session.events.append(event)
                result.events.append(event)
        if value == NOT_SURE and step.id not in session.not_sure:
            if not session.not_sure:  # said once per decision, not once per answer
                result.notices.append(self.prompts.render(
                    "notices/seek_advice.j2", **self.context(session)))
            session.not_sure.append(step.id)
        if step.id == "defer_until":
            later = value[:10] > self.school_today().isoformat()
            session.facts[DEFER_LATER_KEY] = "yes" if later else "no"
        if step.id == "barrier_check":
            session.barriers["view_changed"] = value == "changed"
        if step.key == "optimism" and value == "more_worried":
            session.barriers["view_changed"] = True
        for barrier in after:
            result.notices.append(self.reminder(barrier, self.context(session)))
        notice = f"notices/after/{step.id}.j2"
        if self.prompts.exists(notice):
            text = self.prompts.render(notice, value=value, **self.context(session)).strip()
            if text:
                result.notices.append(text)
        if step.id in situations.CUE_STEPS:
            result.notices.extend(self._situations(session))
        result.done = self.done(session)
        return result

    def school_today(self) -> date:
        """The school's day now, in its time zone (a date typed as "today"
        at 00:30 in London is the London day, whatever the server's)."""
        return self.clock().astimezone(ZoneInfo(self.settings.timezone)).date()

    def pack_today(self) -> nations.NationPack:
        """The school's pack on the school's day: the editions and duties in force."""
        day = self.clock().astimezone(ZoneInfo(self.settings.timezone)).date()
        return nations.pack(self.settings.nation, day, self.settings.commencements)

    def _situations(self, session: Session) -> list[str]:
        """A short notice for each situation with its own rules that the
        words just typed point to, once a session (DOMAIN.md section 8)."""
        prompts = self.prompts
        notices = []
        for name in situations.new_cues(session.known, prompts.pack):
            session.facts[situations.SITUATIONS_KEY] = ",".join(
                [*situations.shown(session.known), name])
            notices.append(prompts.render(f"notices/situations/{name}.j2",
                                          **self.context(session)))
        return notices

    @staticmethod
    def _note_shown(session: Session, shown: list[str]) -> None:
        """The record notes each reminder shown, once."""
        for barrier in shown:
            if barrier not in session.barriers["shown"]:
                session.barriers["shown"].append(barrier)

    def _reminders_after(self, step: Step, session: Session, value: str) -> list[str]:
        """Reminders an answer calls for at once (a child asking for secrecy)."""
        if step.id == "child_wishes" and value == "secret" and (
                "secrecy" not in session.barriers["shown"]):
            return ["secrecy"]
        if step.id == "child_words" and barriers.secrecy_cue(session.known) and (
                "secrecy" not in session.barriers["shown"]):
            return ["secrecy"]
        return []

    def _rewind_to(self, session: Session, step_id: str) -> None:
        while session.history:
            popped = session.history[-1]
            self.back(session)
            if popped == step_id:
                return

    def back(self, session: Session) -> bool:
        """Undo the last answer so it can be changed. Alerts already sent stay
        sent (and recorded): going back never unsends a 999 alert."""
        if not session.history:
            return False
        step = BY_ID[session.history.pop()]
        previous = session.answers.pop(step.key, None)
        if previous:  # shown again with the question, to keep or change
            session.drafts[step.id] = previous
        for key in step.derived_keys - _answered_keys(session.history, session.answers):
            session.answers.pop(key, None)
        if step.id in session.not_sure:
            session.not_sure.remove(step.id)
        if step.id == "defer_until":
            session.facts.pop(DEFER_LATER_KEY, None)
        session.updated_at = stamp(self.clock())
        return True

    # -- wording ----------------------------------------------------------
    def error(self, code: str, **params: Any) -> str:
        return self.prompts.block("errors.j2", code, default=self.prompts.block(
            "errors.j2", "generic", s=self.settings), s=self.settings, **params)

    def safety_message(self) -> str:
        return self.prompts.render("notices/safety.j2", s=self.settings)

    def suggested_decision(self, session: Session) -> str:
        a = session.known
        if unverified(a):
            return "defer"
        if no_share_expected(a):
            return "do_not_share"
        if a.get("level") == "significant":
            return "share"
        if any(a.get(k) == NOT_SURE for k in ("level", "purpose", "tell_risk", "family_view")):
            return "defer"
        return "share"

