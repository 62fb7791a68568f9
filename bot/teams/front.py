"""The Teams front end's behaviour, as plain methods the listeners call.

Listeners only unpack activities and call these; every use case goes through
:class:`bot.service.DecisionService`. People are identified by their Entra object id,
never by display name (names are only shown). The conversation happens only
in the person's personal (1:1) chat with the bot.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from microsoft_teams.cards import AdaptiveCard

from bot import record as records
from bot.conversation import Conversation
from bot.derive import SUMMARY_MAX
from bot.flow import Question, Session, Source
from bot.flow.validate import InvalidAnswer, clean_text
from bot.followups import UnknownFollowUp, find
from bot.membership import Membership, MembershipUnknown
from bot.schedule import Scheduler
from bot.service import AccessDenied, AlreadyDecided, DecisionService, NotFound, clean_id
from bot.teams.cards import Cards, Payload
from bot.teams.connector import Connector, ConnectorError, Member
from bot.teams.delivery import ALERT_META, TeamsDelivery
from bot.teams.reminders import TeamsReminders

# What the DSL is told when a review action clicked or typed is done.
DONE_WORDS = {"close": "closed", "confirm_basis": "basis_confirmed"}
log = logging.getLogger("jigsaw.teams")

@dataclass(frozen=True)
class Person:
    """Who an activity is from, and where to answer them."""

    user: str  # Entra object id
    name: str
    member: str  # the id Teams addresses them by in a conversation (``29:…``)
    chat: str  # the conversation the activity came from
    service_url: str
    personal: bool  # that conversation is their 1:1 chat with the bot


class TeamsFront(Conversation):
    source = Source.TEAMS
    chat_errors = (ConnectorError,)

    def __init__(self, service: DecisionService, connector: Connector, *, channel: str, team: str,
                 cards: Cards | None = None) -> None:
        super().__init__(service)
        self.connector = connector
        self.cards = cards or Cards(service.prompts, service.settings)
        self.delivery: TeamsDelivery = TeamsDelivery(
            service, connector, self.cards, channel=channel, team=team, names=self.name_of,
            chat_of=self.chat_of, on_delivered=self.delivered_late)
        self.membership = Membership(lambda: self._channel_members(channel),
                                     max_stale=service.settings.membership_max_stale_minutes * 60)
        # Who starts as the DSL team: a list of its own, so starting a decision
        # never changes what a review click is checked against.
        self.starting = Membership(lambda: self._channel_members(channel),
                                   max_stale=service.settings.membership_max_stale_minutes * 60)
        self.delivery.mentions = self.dsl_mentions
        self.delivery.viewers = self.record_viewers
        self.reminders = TeamsReminders(
            connector, self.cards, self.delivery.guard, chat_of=self._chat,
            name_of=self.name_of, mentions=self.dsl_mentions,
            local=lambda at: local_time(at, service.settings.timezone))
        self.scheduler = Scheduler(service, self.reminders)
        self.tenant_id = ""
        self.files = Offers()
        self._chats: dict[str, dict[str, str]] = {}
        self._chats_lock = threading.Lock()
        # Names and conversation ids (``29:…``) of the people seen: in an
        # activity, or in the DSL channel's member list.
        self._people: dict[str, Member] = {}
        self._known_names: dict[str, str] = {}

    def t(self, name: str, **ctx: Any) -> str:
        return self.cards.t(name, **ctx)

    def _channel_members(self, channel: str) -> set[str]:
        if not channel:
            raise MembershipUnknown("no DSL channel configured")
        roster = self.connector.roster(channel)
        with self._chats_lock:
            for user, member in roster.items():
                self._people.setdefault(user, member)
        return set(roster)

    # -- people and their chats ----------------------------------------------
    def remember(self, person: Person) -> None:
        """Keep the person's Teams name for the records they act on, and
        where to reach them proactively (a DSL's reply, a late delivery);
        each written only when it changes."""
        self.know(person)
        if person.name or person.member:
            with self._chats_lock:
                self._people[person.user] = Member(person.member, person.name)
        if not person.personal:
            return  # a click in the DSL channel says nothing about their own chat
        entry = {"chat": person.chat, "url": person.service_url, "name": person.name}
        with self._chats_lock:
            if self._chats.get(person.user) == entry:
                return
            self._chats[person.user] = entry
        if self.service.deliveries.reach(Source.TEAMS, person.user) != entry:
            self.service.deliveries.keep_reach(Source.TEAMS, person.user, entry)

    def know(self, person: Person) -> None:
        if not person.name:
            return
        with self._chats_lock:
            if self._known_names.get(person.user) == person.name:
                return
            self._known_names[person.user] = person.name
        self.service.know_person(person.user, person.name,
                                 "DSL" if self.service.reviews.is_dsl(person.user) else "")

    def _chat(self, user: str) -> dict[str, str] | None:
        with self._chats_lock:
            found = self._chats.get(user)
        if found is None:
            found = self.service.deliveries.reach(Source.TEAMS, user)
            if found:
                with self._chats_lock:
                    self._chats[user] = found
        return found or self._open_chat(user)

    def _open_chat(self, user: str) -> dict[str, str] | None:
        """A personal chat with someone who has not written to the bot yet
        (a DSL taking a concern on, a deputy told of an escalation), opened
        from their id in a conversation Jigsaw has seen them in."""
        with self._chats_lock:
            seen = self._people.get(user)
        if seen is None or not seen.id:
            return None
        try:
            chat = self.connector.open_chat(seen.id)
        except ConnectorError as exc:
            log.warning("could not open a personal chat: %s", exc)
            return None
        entry = {"chat": chat, "url": self.connector.service_url, "name": seen.name}
        with self._chats_lock:
            self._chats[user] = entry
        try:
            self.service.deliveries.keep_reach(Source.TEAMS, user, entry)
        except OSError:
            log.warning("could not keep a personal chat")
        return entry

    def chat_of(self, user: str) -> str | None:
        found = self._chat(user)
        return found["chat"] if found else None

    def name_of(self, user: str) -> str:
        """A person's display name: as Teams last showed it in an activity
        or the DSL channel's member list; never their Entra object id."""
        with self._chats_lock:
            seen = self._people.get(user)
        if seen and seen.name:
            return seen.name
        found = self._chat(user)
        return (found or {}).get("name") or self.t("someone")

    def first_activity(self, activity_id: str | None) -> bool:
        """False for an activity Teams delivers again (same id)."""
        return not activity_id or self.first_time(f"teams:activity:{activity_id}")

    def is_dsl(self, user: str) -> bool:
        """Configured DSL ids, or members of the DSL channel. Raises
        MembershipUnknown when Teams cannot say (callers refuse)."""
        return self.service.reviews.is_dsl(user) or user in self.membership.members()

    def on_dsl_team(self, user: str) -> bool:
        """The DSL channel's members too, by Entra id; when Teams cannot say,
        staff (the record then waits for the DSL)."""
        try:
            return self.service.reviews.is_dsl(user) or user in self.starting.members()
        except MembershipUnknown:
            return False

    def _post(self, user: str, card: AdaptiveCard) -> str:
        chat = self._chat(user)
        if chat is None:
            raise ConnectorError(None, error="no personal chat with this person yet")
        return self.connector.post(chat["chat"], card, summary=self.t("notification"),
                                   service_url=chat["url"])

    def say(self, user: str, text: str, *, private: bool = False) -> None:
        # Teams shows a post's ``summary`` in notifications: always generic.
        self._post(user, self.cards.plain(text))

    def say_quietly(self, user: str, card: AdaptiveCard) -> bool:
        try:
            self._post(user, card)
        except ConnectorError as exc:
            log.warning("could not tell %s: %s", "staff", exc)
            return False
        return True

    # -- the conversation's calls -------------------------------------------
    def chat_meta(self, user: str) -> dict[str, Any]:
        return {"chat": self.chat_of(user) or ""}

    def offer_resume(self, user: str, session: Session) -> None:
        self._post(user, self.cards.resume_offer(session.id, self.service.describe(session)))

    def show_question(self, session: Session, question: Question,
                      notices: list[str] | None) -> dict[str, Any]:
        activity_id = self._post(session.user, self.cards.question(
            session.id, question, notices, offered=self.offered(session, question)))
        return {"question_id": activity_id}

    def show_answered(self, session: Session, question: Question, answer: str,
                      notices: list[str] | None) -> bool:
        activity_id = session.meta.get("question_id")
        chat = self._chat(session.user)
        if not activity_id or chat is None:
            return False
        try:
            self.connector.update(chat["chat"], activity_id,
                                  self.cards.answered(question, answer, notices),
                                  summary=self.t("notification"), service_url=chat["url"])
        except ConnectorError as exc:  # cosmetic: the answer itself is stored
            log.warning("could not update question: %s", exc)
            return False
        return True

    # -- DSL review --------------------------------------------------------------
    def _allowed(self, user: str) -> tuple[bool, str]:
        """(may review, why not): fails closed when Teams cannot be asked."""
        try:
            return self.is_dsl(user), self.t("refused")
        except MembershipUnknown:
            return False, self.t("membership_unknown")

    def review(self, user: str, record_id: str, action: str, **params: Any
               ) -> tuple[dict[str, Any] | None, str]:
        """Apply a review action: (the record, or None; what to tell the
        person if it was not done). A refusal is audited on the record."""
        allowed, why = self._allowed(user)
        try:
            record = self.service.reviews.review(record_id, action, by=user, allowed=allowed,
                                                 **params)
        except NotFound:
            return None, self.t("not_found", id=clean_id(record_id))
        except AccessDenied:
            log.warning("review refused", extra={"record_id": record_id, "action": action})
            return None, why
        if record is None:
            return None, ""  # done already: a double click or a stale button
        if action != "viewed":
            self.refresh_record_message(record)
            self._tell_staff(record, action, user, **params)
        return record, ""

    def acknowledge(self, user: str, record_id: str) -> None:
        _, why = self.review(user, record_id, "acknowledge")
        if why:
            self.say_quietly(user, self.cards.plain(why))

    def form(self, user: str, record_id: str, kind: str) -> AdaptiveCard:
        """The follow-up or note form, the full record, or the summary again:
        a card for the person who clicked only."""
        if kind == "summary":
            # The record's summary is the DSL team's too: a forged click by
            # anyone else is refused (and recorded), like every review.
            record, refusal = self._record_for_dsl(user, record_id, kind)
            if record is None:
                return refusal
            return self.record_card(record)
        if kind == "view":
            record, why = self.review(user, record_id, "viewed")
            if record is None:
                return self.cards.plain(why or self.t("not_found"))
            return self.cards.full_record(record)
        record, refusal = self._record_for_dsl(user, record_id, kind)
        if record is None:
            return refusal
        return {"follow_up": self.cards.follow_up_form, "note": self.cards.note_form,
                "outcome": self.cards.outcome_form,
                "correct": self.cards.correct_form}[kind](record)

    def _record_for_dsl(self, user: str, record_id: str, kind: str
                        ) -> tuple[dict[str, Any] | None, AdaptiveCard]:
        """The record, if this person may act on it; else the card saying no.
        Checked before looking it up: "no such record" is refused alike."""
        allowed, why = self._allowed(user)
        if not allowed:
            self.review(user, record_id, kind)  # records the refusal
            return None, self.cards.plain(why)
        record = self.service.record(record_id)
        return record, self.cards.plain(self.t("not_found"))

    def save(self, user: str, record_id: str, kind: str, data: Payload) -> AdaptiveCard:
        """A follow-up, note, outcome or correction from its form: stored,
        the channel card refreshed for everyone, the staff member told of a
        follow-up or note."""
        note, due = data.note.strip(), data.due
        record, refusal = self._record_for_dsl(user, record_id, kind)
        if record is None:
            return refusal
        if kind == "outcome":
            if data.outcome not in records.OUTCOMES:
                return self.cards.outcome_form(record, self.service.flow.error("not_a_choice"))
            stored, why = self.review(user, record_id, "outcome", outcome=data.outcome,
                                      ref=data.oref.strip()[:100], note=note[:2000])
            return self._after_form(record, stored, why)
        if kind == "correct":
            try:
                line = clean_text(data.line, max_len=SUMMARY_MAX, min_len=1)
            except InvalidAnswer as exc:
                return self.cards.correct_form(record, self.service.flow.error(exc.code,
                                                                               **exc.params))
            if not records.category_offered(record, data.category, self.service.prompts,
                                            self.service.settings.own_categories):
                return self.cards.correct_form(record, self.service.flow.error("not_a_choice"))
            stored, why = None, ""
            for field, value in records.corrections_wanted(
                    record, category=data.category, summary_line=line).items():
                stored, why = self.review(user, record_id, "correct", field=field, value=value)
                if why:
                    break
            return self._after_form(record, stored, why)
        if kind == "follow_up":
            day = self.service.schedule.day
            if not note or not _valid_due(due, day.today(self.service.clock())):
                return self.cards.follow_up_form(record, self.t("followup_invalid"))
            params = {"note": note[:2000], "due": due}
        else:
            if not note:
                return self.cards.note_form(record, self.t("note_invalid"))
            params = {"note": note[:2000]}
        stored, why = self.review(user, record_id, kind, **params)
        return self._after_form(record, stored, why)

    def _after_form(self, record: dict[str, Any], stored: dict[str, Any] | None, why: str
                    ) -> AdaptiveCard:
        """What the DSL sees once a form is saved: the record card again
        (or why it was not done)."""
        if stored is None and why:
            return self.cards.plain(why)
        latest = stored or self.service.record(record["id"]) or record
        return self.record_card(latest)

    def _names(self, record: dict[str, Any]) -> dict[str, str]:
        by = record.get("recorded_by", "")
        return {by: self.name_of(by)}

    def record_viewers(self) -> list[str]:
        """The Teams ids (``29:…``) of the DSL team as far as Jigsaw knows
        them (the DSL channel's members, and configured DSL ids seen in an
        activity): each of them sees the record card with its buttons."""
        ids = list(self.service.settings.dsl_user_ids)
        with contextlib.suppress(MembershipUnknown):
            ids += sorted(self.membership.members() - set(ids))
        with self._chats_lock:
            seen = [self._people.get(user) for user in ids]
        return [member.id for member in seen if member and member.id]

    def record_card(self, record: dict[str, Any], *, review: bool = True) -> AdaptiveCard:
        """The record card: with the review buttons (the DSL team's view) or
        read-only (what the channel post shows anyone else); either way
        asking Teams for each DSL member's own view when it is shown."""
        shown = self.cards.record(record, review=review, names=self._names(record))
        return self.cards.viewed_by(shown, record["id"], self.record_viewers())

    def record_view(self, user: str, record_id: str) -> AdaptiveCard | None:
        """What a record card refreshes to for this person (Teams asks as
        it shows them the card): the DSL team's view, with the review
        buttons. Anyone else keeps the read-only card (None), and the
        attempt is audited; when Teams cannot say who is in the DSL
        channel, the read-only card stays too."""
        try:
            dsl = self.is_dsl(user)
        except MembershipUnknown:
            return None
        if not dsl:
            with contextlib.suppress(AccessDenied, NotFound):
                self.service.reviews.review(record_id, "viewed", by=user, allowed=False)
            return None
        record = self.service.record(record_id)
        return self.record_card(record) if record else None

    def refresh_record_message(self, record: dict[str, Any]) -> None:
        """The channel card, updated in place for everyone (read-only; the
        DSL team's view refreshes with it)."""
        delivery = record.get("delivery") or {}
        if delivery.get("state") != "posted":
            self.delivery.kick()
            return
        try:
            self.connector.update(delivery["channel"], delivery["ts"],
                                  self.record_card(record, review=False),
                                  summary=self.t("record_fallback", r=record))
        except ConnectorError as exc:
            log.warning("could not update record card: %s", exc,
                        extra={"record_id": record["id"]})

    def _tell_staff(self, record: dict[str, Any], action: str, by: str, **params: Any) -> None:
        template = {"acknowledge": "acknowledged_dm", "follow_up": "followup_dm",
                    "note": "note_dm"}.get(action)
        staff = str(record.get("recorded_by", ""))
        if not template or not staff or staff.startswith("console:"):
            return
        text = self.t(template, id=record["id"], by=self.name_of(by),
                      due=params.get("due", ""))
        card = (self.cards.with_literal(text, params["note"]) if params.get("note")
                else self.cards.plain(text))
        self.say_quietly(staff, card)

    # -- urgent alerts ---------------------------------------------------------------
    def dsl_mentions(self) -> list[tuple[str, str]]:
        """Who an urgent alert @mentions: the configured DSL ids and everyone
        in the DSL channel, by Entra object id and name."""
        ids = list(self.service.settings.dsl_user_ids)
        # When Teams cannot say, the alert goes all the same, mentioning whom it can.
        with contextlib.suppress(MembershipUnknown):
            ids += sorted(self.membership.members() - set(ids))
        return [(user, self.name_of(user)) for user in ids]

    def acknowledge_alert(self, user: str, event_id: str, shown: Payload | None = None
                          ) -> AdaptiveCard | None:
        """Acknowledge an urgent alert: its card, for everyone, then says who
        and when. The card (or a refusal) for the person who clicked, None if
        there is nothing to show them."""
        allowed, why = self._allowed(user)
        try:
            first = self.service.reviews.acknowledge_alert(event_id, by=user, allowed=allowed)
        except AccessDenied:
            log.warning("alert acknowledgement refused")
            return self.cards.plain(why)
        posted = self.delivery.posted_alert(event_id) or {}
        if first:
            at = local_time(self.service.clock(), self.service.settings.timezone)
            posted = {**posted, "by": user, "by_name": self.name_of(user), "at": at}
            try:
                self.service.store.set_meta(f"{ALERT_META}{event_id}", posted)
            except OSError:
                log.warning("could not keep who acknowledged an alert")
        if not posted.get("by"):
            return None  # acknowledged before this was kept: nothing more to say
        staff = posted.get("user") or (shown.u if shown else "")
        answer = posted.get("answer") or (shown.a if shown else "")
        updated = self.cards.urgent_alert(
            self.name_of(staff) if staff else self.t("someone"), answer, self.dsl_mentions(),
            event_id, acknowledged=(posted.get("by_name") or self.name_of(posted["by"]),
                                    posted.get("at", "")))
        ts = posted.get("ts") or self._alert_ts(event_id)
        if first and ts:
            try:
                self.connector.update(self.delivery.channel, ts, updated,
                                      summary=self.t("alert_notification"))
            except ConnectorError as exc:
                log.warning("could not update alert card: %s", exc)
        return updated

    # -- follow-ups and taking a concern on -------------------------------------------
    def complete_follow_up(self, user: str, data: Payload) -> AdaptiveCard:
        """A follow-up marked done from its reminder (by its owner or the DSL
        team): the reminder, for the clicker, then says by whom and when."""
        allowed, why = self._allowed(user)
        try:
            record = self.service.follow_ups.complete_follow_up(data.r, data.f, by=user,
                                                                is_dsl=allowed)
        except AccessDenied:
            log.warning("follow-up done refused", extra={"record_id": data.r})
            return self.cards.plain(why)
        except (NotFound, UnknownFollowUp):
            return self.cards.plain(self.t("not_found"))
        if record is not None:
            self.refresh_record_message(record)
        stored = record or self.service.record(data.r) or {}
        try:
            done = find(stored, data.f).done or {}
        except UnknownFollowUp:
            done = {}
        by = str(done.get("by") or user)
        at = (local_time(datetime.fromisoformat(done["at"]), self.service.settings.timezone)
              if done.get("at") else "")
        return self.cards.follow_up_done(data, self.name_of(by), at)

    def take_on(self, user: str, record_id: str) -> AdaptiveCard:
        """"Make the sharing decision": a DSL takes a staff member's concern
        on, in their own personal chat with the bot (opened if need be),
        starting from what the staff member said. What the clicker sees."""
        allowed, why = self._allowed(user)
        if not allowed:
            self.review(user, record_id, "take_on")  # records the refusal
            return self.cards.plain(why)
        if self._chat(user) is None:
            return self.cards.plain(self.t("open_chat_first"))
        try:
            session = self.service.take_on(record_id, user, source=Source.TEAMS,
                                           meta=self.chat_meta(user))
        except NotFound:
            return self.cards.plain(self.t("not_found", id=clean_id(record_id)))
        except AlreadyDecided as exc:
            return self.cards.plain(self.t("already_decided", id=exc.record_id,
                                           closed=exc.closed))
        self.say(user, self.t("taking_on", id=record_id))
        if session.record_id:
            self._submitted(session)
        else:
            self.post_question(session)
        record = self.service.record(record_id)
        return (self.record_card(record) if record
                else self.cards.plain(self.t("taking_on", id=record_id)))

    def settle(self, user: str, record_id: str, action: str) -> AdaptiveCard:
        """Confirm the lawful basis suggested on a record, or close it (the
        DSL team only): what the clicker sees, the record card refreshed."""
        record, why = self.review(user, record_id, action)
        if why:
            return self.cards.plain(why)
        done = self.t(DONE_WORDS[action], id=clean_id(record_id), already=record is None)
        latest = record or self.service.record(record_id)
        if latest is None:
            return self.cards.plain(done)
        self.say_quietly(user, self.cards.plain(done))
        return self.cards.record(latest, names=self._names(latest))

    # -- the personal home, the DSL's inbox and tools -------------------------------
    def home_card(self, user: str) -> AdaptiveCard:
        """What the home card shows this person: the DSL team also sees what
        waits for them (the inbox), and their tools."""
        zone = self.service.settings.timezone
        try:
            dsl = self.is_dsl(user)
        except MembershipUnknown:
            dsl = self.service.reviews.is_dsl(user)  # configured ids only, when Teams cannot say
        today = self.service.schedule.day.today(self.service.clock())
        return self.cards.home(
            open_sessions=[(s.id, local_time(datetime.fromisoformat(s.created_at), zone),
                            s.status) for s in self.service.open_sessions(user)],
            mine=[dict(r) for r in self.service.my_records(user)],
            inbox=self.service.inbox() if dsl else None,
            follow_ups=[(f, f.state(today))
                        for f in self.service.follow_ups.follow_ups_for(user, is_dsl=dsl)],
            local=lambda stamp: local_time(datetime.fromisoformat(stamp), zone),
            cover=self.service.cover_notice(), away=self.service.cover().away if dsl else None)

    def set_cover(self, user: str, state: str) -> AdaptiveCard:
        """The DSL marks herself away (or back) from the home card."""
        if state not in ("on", "off"):
            return self.cards.plain(self.t("unknown_action"))
        allowed, why = self._allowed(user)
        try:
            self.service.set_cover(state == "on", by=user, allowed=allowed)
        except AccessDenied:
            return self.cards.plain(why)
        return self.home_card(user)

    def show_home(self, user: str) -> None:
        self._post(user, self.home_card(user))

    def chronology(self, user: str, data: Payload) -> AdaptiveCard:
        """A child's chronology, on a card for the DSL who asked (audited)."""
        ref = data.ref.strip()
        if not ref:
            return self.cards.plain(self.t("tools_invalid"))
        allowed, why = self._allowed(user)
        try:
            found = self.service.access.chronology(ref, by=user, allowed=allowed)
        except AccessDenied:
            log.warning("chronology refused")
            return self.cards.plain(why)
        return self.cards.long_text(self.t("chronology_title", ref=ref),
                                    self.service.access.chronology_text(ref, found), pdf_of=ref)

    # -- files: PDFs and CSV, in the DSL's personal chat ------------------------------
    def offer_pdf(self, user: str, data: Payload) -> AdaptiveCard:
        """A record's PDF (``data.r``) or a child's chronology as a PDF
        (``data.ref``), for the DSL who asked (audited)."""
        ref = data.ref.strip()
        if not data.r and not ref:
            return self.cards.plain(self.t("tools_invalid"))
        return self._offer_file(user, lambda allowed: (
            self.service.access.export_record_pdf(data.r, by=user, allowed=allowed) if data.r
            else self.service.access.export_chronology_pdf(ref, by=user, allowed=allowed)))

    def _offer_file(self, user: str, make: Callable[[bool], tuple[str, bytes]]
                    ) -> AdaptiveCard:
        """A file made by ``make(allowed)`` (which audits it, and refuses it
        to anyone outside the DSL team), offered in the asker's personal chat
        as a file, which Teams asks them to allow into their OneDrive (a bot
        sends files only in a personal chat:
        https://learn.microsoft.com/microsoftteams/platform/resources/bot-v3/bots-files).
        What the clicker sees."""
        allowed, why = self._allowed(user)
        chat = self._chat(user) if allowed else None
        if allowed and chat is None:
            return self.cards.plain(self.t("file_open_chat_first"))
        try:
            name, content = make(allowed)
        except AccessDenied:
            log.warning("export refused")
            return self.cards.plain(why)
        except NotFound:
            return self.cards.plain(self.t("not_found"))
        assert chat is not None
        key = self.files.offer(user, name, content)
        try:
            self.connector.post_file(chat["chat"], self.cards.file_offer(name, len(content), key),
                                     summary=self.t("notification"), service_url=chat["url"])
        except ConnectorError as exc:
            self.files.take(user, key)
            log.warning("could not offer a file: %s", exc)
            return self.cards.plain(self.t("file_failed"))
        return self.cards.plain(self.t("file_offered"))

    def file_answered(self, user: str, accepted: bool, context: Any, upload: Any) -> None:
        """The DSL allowed (or declined) an offered file: its bytes go to
        the upload session Teams gave, then the file is shown in the chat.
        Only the person it was offered to can take it, once, while they
        are still in the DSL team."""
        key = context.get("k") if isinstance(context, dict) else None
        offered = self.files.take(user, key) if isinstance(key, str) else None
        if not accepted:
            if offered is not None:
                self.say_quietly(user, self.cards.plain(self.t("file_declined")))
            return
        allowed, _ = self._allowed(user)
        upload_url = getattr(upload, "upload_url", None)
        if offered is None or not allowed or not upload_url:
            if offered is not None and not allowed:
                log.warning("file refused: no longer in the DSL team")
            self.say_quietly(user, self.cards.plain(self.t("file_expired")))
            return
        name, content = offered
        chat = self._chat(user)
        try:
            self.connector.upload(upload_url, content)
            if chat is not None:
                self.connector.post_file(chat["chat"], self.cards.file_sent(
                    getattr(upload, "name", None) or name,
                    getattr(upload, "content_url", None) or "",
                    getattr(upload, "unique_id", None) or "",
                    getattr(upload, "file_type", None) or name.rsplit(".", 1)[-1]),
                    summary=self.t("notification"), service_url=chat["url"])
        except ConnectorError as exc:
            log.warning("could not send a file: %s", exc)
            self.say_quietly(user, self.cards.plain(self.t("file_failed")))

    def export_csv(self, user: str, data: Payload) -> AdaptiveCard:
        """The records made between two dates as a CSV file for the DSL who
        asked (audited), offered in their personal chat as the PDFs are."""
        try:
            start, end = date.fromisoformat(data.start), date.fromisoformat(data.end)
        except ValueError:
            return self.cards.plain(self.t("tools_invalid"))
        if end < start:
            return self.cards.plain(self.t("tools_invalid"))

        def make(allowed: bool) -> tuple[str, bytes]:
            name, text = self.service.access.export_csv(start, end, by=user, allowed=allowed)
            return name, text.encode("utf-8")

        return self._offer_file(user, make)

    def _alert_ts(self, event_id: str) -> str:
        """Where an alert posted before its place was kept apart went."""
        session = self.service.get(event_id.removesuffix(":urgent"))
        event = next((e for e in (session.events if session else []) if e["id"] == event_id),
                     None)
        return str((event or {}).get("ts") or "")


class Offers:
    """Files offered and not yet allowed or declined, by a one-time key,
    in memory only (a restart drops them: the DSL asks again)."""

    TTL = 30 * 60.0  # seconds
    MAX = 50

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._offers: dict[str, tuple[str, str, bytes, float]] = {}
        self._lock = threading.Lock()

    def offer(self, user: str, name: str, content: bytes) -> str:
        key = secrets.token_urlsafe(18)
        with self._lock:
            now = self.clock()
            self._offers = {k: o for k, o in self._offers.items() if now - o[3] < self.TTL}
            while len(self._offers) >= self.MAX:
                del self._offers[next(iter(self._offers))]
            self._offers[key] = (user, name, content, now)
        return key

    def take(self, user: str, key: str) -> tuple[str, bytes] | None:
        """(name, PDF) offered to ``user`` under ``key``, once, if not expired."""
        with self._lock:
            found = self._offers.get(key)
            if found is None or found[0] != user:
                return None
            del self._offers[key]
        _, name, content, at = found
        return (name, content) if self.clock() - at < self.TTL else None


def local_time(now: datetime, timezone: str) -> str:
    """``14:05 on Mon 7 Dec`` in the school's time zone."""
    local = now.astimezone(ZoneInfo(timezone))
    return f"{local:%H:%M} on {local:%a} {local.day} {local:%b}"


def _valid_due(text: str, today: date) -> bool:
    try:
        return date.fromisoformat(text) >= today
    except ValueError:
        return False
