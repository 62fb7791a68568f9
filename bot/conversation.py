"""The conversation with a member of staff, whatever chat service carries it.

A front end (Slack, Teams) subclasses :class:`Conversation` with the few
things only it can do: say something in the person's own chat, show a
question with its choices, show an answered question in its place, offer to
resume. How a decision starts (also from a reported chat message), is
answered, navigated, resumed and handed to the DSL is written here once, on
the service (:class:`bot.service.DecisionService`). The rest of what a front
end provides and gets is listed in the README's *Layout*: the outbox
(:mod:`bot.outbox`), the schedule's sender (:mod:`bot.schedule`) and the
channel guard (:mod:`bot.guard`).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, ClassVar

from bot import record as records
from bot.flow import Flow, Question, Session, Source
from bot.flow.steps import BY_ID
from bot.outbox import Kind, Outbox
from bot.service import DecisionService

log = logging.getLogger("jigsaw.conversation")

# Words typed in the chat that are commands rather than answers.
COMMAND_WORDS = {
    "back": "back", "pause": "pause", "stop": "pause", "cancel": "cancel", "help": "help",
    "?": "help",
    "start": "start", "new": "start", "resume": "resume", "continue": "resume",
}


# A concern reported from a chat message: its text waits in the session's
# meta until the facts are asked for.
OFFERED = "offered_facts"
OFFERED_STEP = "facts"
OFFERED_LIMIT = 3000  # the facts step's own limit
USE_OFFERED = "use_offered"  # the answer of the "Use the message" button


class Conversation:
    """One front end's conversation: the flow, through the service."""

    source: ClassVar[Source]
    # What the chat service raises when a call fails (refused or unreachable).
    chat_errors: ClassVar[tuple[type[Exception], ...]] = ()
    delivery: Outbox

    def __init__(self, service: DecisionService) -> None:
        self.service = service
        self._seen: set[str] = set()  # requests claimed while the store refused writes
        self._seen_lock = threading.Lock()

    @property
    def flow(self) -> Flow:
        return self.service.flow

    # -- what a front end provides ------------------------------------------
    def t(self, name: str, **ctx: Any) -> str:
        raise NotImplementedError

    def say(self, user: str, text: str, *, private: bool = False) -> None:
        """A message in the person's own chat with the bot. ``private``: it
        carries someone's words or a child's details, so the notification a
        phone shows is generic."""
        raise NotImplementedError

    def chat_meta(self, user: str) -> dict[str, Any]:
        """What a new session keeps about where the person is reached."""
        raise NotImplementedError

    def offer_resume(self, user: str, session: Session) -> None:
        raise NotImplementedError

    def show_question(self, session: Session, question: Question,
                      notices: list[str] | None) -> dict[str, Any]:
        """Show a question; the session meta that finds it again."""
        raise NotImplementedError

    def show_answered(self, session: Session, question: Question, answer: str,
                      notices: list[str] | None) -> bool:
        """Show the asked question answered, in place of its buttons; False
        if that could not be done (the answer is stored all the same)."""
        raise NotImplementedError

    def decision_added(self, user: str, record: dict[str, Any]) -> None:
        """The DSL finished the sharing decision on a staff member's concern."""
        self.say(user, self.t("decision_added", id=record["id"]))

    # -- requests seen once ---------------------------------------------------
    def first_time(self, key: str) -> bool:
        """False for a request the chat service delivers again (same id): it
        changes nothing, even across a restart. Called after the answer to
        the service is sent, so the store write never delays it."""
        try:
            return self.service.deliveries.claim_once(key)
        except OSError:
            # The store refuses writes: remember it here rather than drop the
            # request (a redelivery after a restart may be handled twice).
            with self._seen_lock:
                first = key not in self._seen
                self._seen.add(key)
            return first

    def tell_quietly(self, user: str, text: str) -> None:
        """Tell someone something that matters less than what was already
        done; a chat that fails is logged, never raised."""
        try:
            self.say(user, text)
        except self.chat_errors as exc:
            log.warning("could not tell staff: %s", type(exc).__name__)

    def went_wrong(self, user: str) -> None:
        """Tell the person something failed and their answers are kept;
        never raises (it runs when something already has)."""
        if not user:
            return
        try:
            self.say(user, self.t("went_wrong"))
        except Exception as exc:
            log.warning("could not tell the person of a failure: %s", type(exc).__name__)

    def say_resumed(self, user: str, session: Session) -> None:
        """Picking a decision up again, named (child, route, when begun)."""
        what = self.shown_literally(self.service.describe(session))
        self.say(user, self.t("resumed", what=what), private=True)

    def shown_literally(self, text: str) -> str:
        """Text for a message, escaped where the chat service reads markup."""
        return text

    # -- starting -----------------------------------------------------------
    def on_dsl_team(self, user: str) -> bool:
        """Whether a new decision is the DSL team's to make (DOMAIN.md section
        10): configured DSL ids here; a chat service adds the members of the
        DSL channel. Anyone else passes what they take on to the DSL."""
        return self.service.reviews.is_dsl(user)

    def begin(self, user: str, *, fresh: bool = False) -> None:
        """Start a decision in the person's chat, or offer to resume one."""
        for record_id in self.service.untold(user):  # saved, but never said so
            self.report_submitted(user, record_id)
        current = None if fresh else self.service.latest_open(user)
        if current is not None:
            self.offer_resume(user, current)
            return
        session = self.service.start(user, self.source, meta=self.chat_meta(user),
                                     dsl=self.on_dsl_team(user), team_known=True)
        self.say(user, self.t("dm_intro"))
        self._tell_cover(user)
        self.post_question(session)

    def report(self, user: str, text: str) -> None:
        """Report a concern from a chat message: a new decision in the
        person's own chat, the message's text offered as the facts when they
        are asked for (they confirm it or type their own). Nothing is posted
        where the message was."""
        session = self.service.start(user, self.source,
                                     meta={**self.chat_meta(user), OFFERED: text[:OFFERED_LIMIT]},
                                     dsl=self.on_dsl_team(user), team_known=True)
        self.say(user, self.t("report_intro"))
        self.post_question(session)

    def offered(self, session: Session, question: Question) -> str:
        """The reported message's text, if this question asks for the facts."""
        return str(session.meta.get(OFFERED) or "") if question.step == OFFERED_STEP else ""

    def resume(self, user: str, session_id: str) -> None:
        session = self.service.get(session_id)
        if session is None or session.user != user or not session.is_open:
            done = self.service.record_for_session(session_id)
            if done is not None and done.get("recorded_by") == user:
                # Finished, but the app stopped before it could say so.
                self.report_submitted(user, done["id"])
                return
            self.say(user, self.t("no_session"))
            return
        for other in self.service.open_sessions(user):
            if other.id != session_id:
                self.service.pause(other.id)
        session = self.service.resume(session_id)
        if session.record_id:  # it was complete: finish_if_done made the record
            self._submitted(session)
            return
        self.post_question(session)

    def post_question(self, session: Session, notices: list[str] | None = None) -> None:
        question = self.flow.question(session)
        if question is None:
            return
        try:
            shown = self.show_question(session, question, notices)
        except self.chat_errors:
            # Remember it was never shown, so typed text isn't taken as its answer.
            self.service.update_meta(session.id, unshown=question.step)
            raise
        self.service.update_meta(session.id, question_step=question.step, unshown=None, **shown)

    def _close_question(self, session: Session, q: Question | None, answer: str,
                        notices: list[str] | None = None) -> bool:
        """Replace the asked question with its answer, so its buttons go;
        not for a question of another step (a click that beat the post)."""
        if q is None or session.meta.get("question_step", q.step) != q.step:
            return False
        return self.show_answered(session, q, answer, notices)

    # -- answering ------------------------------------------------------------
    def answer(self, user: str, session_id: str, step_id: str | None, raw: str,
               *, typed: bool = False) -> None:
        before = self.service.get(session_id)
        if before is None or before.user != user:
            # Not theirs: show nothing about it (the log says only that it happened).
            log.info("answer for a session not found or not the person's ignored",
                     extra={"session_id": session_id})
            return
        asked = self.flow.question(before)
        if raw == USE_OFFERED and not typed and asked is not None:
            raw = self.offered(before, asked) or raw  # the reported message's text
        outcome = self.service.answer(session_id, raw, step_id=step_id)
        result, session = outcome.result, outcome.session
        if not result.accepted:
            if result.code in ("stale", "finished") and not typed:
                return  # a double click or an old button: nothing changes
            if result.code == "not_a_choice" and typed:
                self.say(user, self.t("use_buttons"))
                return
            self.say(user, result.error)
            return
        # Immediate danger: the DSL alert goes before anything else, and the
        # person's 999 notice beside it, neither waiting for the other.
        told = (self._alert_and_tell(user, session.id, result.events, result.notices)
                if result.events else [])
        if not outcome.saved:
            result.notices.append(self.t("not_saved"))
            self.delivery.kick()  # its worker saves what is kept, as soon as it can
        closed = self._close_question(session, asked, self._answer_label(asked, session, raw),
                                      result.notices)
        # Notices (call 999, the alert is not through) must not depend on that update.
        unshown = [] if closed else [n for n in result.notices if n not in told]
        if result.done:
            if unshown:
                self.say(user, "\n\n".join(unshown))
            self._submitted(session)
        else:
            self.post_question(session, unshown)

    def _alert_and_tell(self, user: str, session_id: str, events: list[dict[str, Any]],
                        notices: list[str]) -> list[str]:
        """Post the DSL alerts (each on its own thread) while the person is
        told to call 999 (``notices``), then add whether the alert is through
        to ``notices``, shown with the answered question (the 999 notice
        again, beside their answer). The notices already told."""
        delivered: dict[str, bool] = {}

        def alert(event_id: str) -> None:
            try:
                delivered[event_id] = self.delivery.deliver_alert(session_id, event_id)
            except Exception:  # the 999 notice must still be shown; the outbox retries
                log.exception("urgent alert not sent", extra={"session_id": session_id})

        threads = [threading.Thread(target=alert, args=(e["id"],), name="jigsaw-alert",
                                    daemon=True) for e in events]
        for thread in threads:
            thread.start()
        told = list(notices)
        try:
            self.say(user, "\n\n".join(notices))
        except self.chat_errors as exc:  # shown with the question instead
            log.warning("999 notice not shown: %s", type(exc).__name__)
            told = []
        for thread in threads:
            thread.join()
        sent = all(delivered.get(e["id"], False) for e in events)
        notices.append(self.t("alert_sent" if sent else "alert_pending"))
        return told

    def _answer_label(self, q: Question | None, session: Session, raw: str) -> str:
        if q is None:
            return raw
        value = session.answers.get(BY_ID[q.step].key, raw)
        for choice, label in q.choices:
            if choice == value:
                return label
        return value or self.t("skip_label")

    def _submitted(self, session: Session) -> None:
        if session.record_id:
            self.report_submitted(session.user, session.record_id)
        elif self.flow.done(session):  # complete, but the store refused the record
            self.delivery.kick()
            self.say(session.user, self.t("record_not_saved"))

    def saved_late(self, session: Session) -> None:
        """A decision whose record the store refused has its record now."""
        if session.record_id and session.source == self.source:
            self.report_submitted(session.user, session.record_id)

    def report_submitted(self, user: str, record_id: str) -> None:
        record = self.service.record(record_id)
        if record and (record.get("decided_by") or {}).get("by") == user and (
                record["recorded_by"] != user):
            self.decision_added(user, record)
            self.service.told(user, record_id)
            return
        sent = self.delivery.deliver_record(record_id)
        routed = self.service.reviews.routed_notice(record) if record else ""
        if routed:
            self.say(user, self.t("submitted_routed", id=record_id, routed=routed))
        else:
            self.say(user, self.t("submitted_sent" if sent else "submitted_pending",
                                  id=record_id, next=records.what_next(record or {})))
            self._tell_cover(user)
        self.service.told(user, record_id)

    def _tell_cover(self, user: str) -> None:
        """While the DSL is away: who covers, by name."""
        notice = self.service.cover_notice()
        if notice:
            self.say(user, notice)

    def delivered_late(self, kind: str, item: dict[str, Any]) -> None:
        """A held record (or urgent alert) reached the DSL channel at last."""
        if kind == Kind.ALERT:
            user, text = item["user"], self.t("alert_delivered_late")
        else:
            user, text = item["recorded_by"], self.t("delivered_late", id=item["id"])
        self.tell_quietly(user, text)

    def navigate(self, user: str, session_id: str, step_id: str | None, command: str) -> None:
        session = self.service.get(session_id)
        if session is None or session.user != user or not session.is_open:
            return
        current = self.flow.question(session)
        if step_id is not None and current is not None and current.step != step_id:
            return  # an old message's button
        if command == "back":
            if not session.history:
                self.say(user, self.t("no_back"))
                return
            self._close_question(session, current, self.t("went_back"))
            self.post_question(self.service.back(session_id))
        elif command == "help":
            self.explain(user, current)
        elif command == "pause":
            self._close_question(session, current, self.t("paused_short"))
            self.service.pause(session_id)
            self.say(user, self.t("paused"))
        elif command == "cancel":
            self._close_question(session, current, self.t("cancelled_short"))
            cancelled = self.service.cancel(session_id)
            if cancelled.record_id:  # the DSL was alerted: a record stands
                self.delivery.deliver_record(cancelled.record_id)
                self.say(user, self.t("cancelled_kept", id=cancelled.record_id))
            else:
                self.say(user, self.t("cancelled"))

    def explain(self, user: str, question: Question | None) -> None:
        """Help on the question asked: what it means, with examples (from
        its step's template), then how to answer. Nothing changes: the
        person is still on the same question, with its draft kept."""
        usage = self.t("help")
        if question is None or not question.explain:
            self.say(user, usage)
            return
        self.say(user, self.flow.prompts.render("notices/help.j2", q=question, usage=usage))

    def help(self, user: str) -> None:
        """Help on the question the person is on, or how to use Jigsaw when
        they are on none. Nothing starts or changes."""
        session = self.service.latest_open(user)
        asked = (self.flow.question(session)
                 if session is not None and session.status == "in_progress" else None)
        self.explain(user, asked)

    def message(self, user: str, text: str) -> None:
        """A message typed in the person's chat: a command, an answer, or a
        way in."""
        word = COMMAND_WORDS.get(text.strip().casefold())
        if word == "help":
            self.help(user)
            return
        session = self.service.latest_open(user)
        if word == "start" or session is None:
            self.begin(user, fresh=word == "start")
            return
        if session.status != "in_progress" or word == "resume":
            self.say_resumed(user, session)
            self.resume(user, session.id)
            return
        if word in ("back", "pause", "cancel"):
            self.navigate(user, session.id, None, word)
            return
        step = self.flow.current(session)
        if step is None:
            self.resume(user, session.id)
            return
        if session.meta.get("unshown") == step.id:
            # The question was never shown (posting it failed): show it
            # rather than take this text as its answer unseen.
            self.say_resumed(user, session)
            self.post_question(session)
            return
        self.answer(user, session.id, step.id, text, typed=True)
