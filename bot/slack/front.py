"""The Slack front end's behaviour, as plain methods listeners call.

Listeners only unpack Slack payloads and call these; everything here is easy
to drive from a test. The conversation itself happens only in the DM between
the staff member and the bot.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.conversation import Conversation
from bot.flow import Question, Session, Source
from bot.followups import UnknownFollowUp
from bot.membership import Membership, MembershipUnknown
from bot.schedule import Scheduler
from bot.service import AccessDenied, DecisionService, NotFound
from bot.slack.blocks import Blocks, escape
from bot.slack.delivery import Delivery
from bot.slack.reminders import SlackReminders

log = logging.getLogger("jigsaw.slack")

class SlackFront(Conversation):
    source = Source.SLACK
    chat_errors = (SlackClientError, OSError)

    def __init__(self, app: DecisionService, client: WebClient, *, blocks: Blocks | None = None,
                 delivery: Delivery | None = None) -> None:
        super().__init__(app)
        self.client = client
        self.blocks = blocks or Blocks(app.prompts, app.settings)
        self.delivery: Delivery = delivery or Delivery(
            app, _without_retries(client), self.blocks, on_delivered=self.delivered_late,
            on_saved=self.saved_late)
        self.membership = Membership(self._channel_members,
                                     max_stale=app.settings.membership_max_stale_minutes * 60)
        self._dms: dict[str, str] = {}
        self.reminders = SlackReminders(_without_retries(client), self.blocks,
                                        self.delivery.guard, self.delivery.dsl_mention)
        self.scheduler = Scheduler(app, self.reminders)

    # -- helpers ---------------------------------------------------------
    def t(self, name: str, **ctx: Any) -> str:
        return self.blocks.t(name, **ctx)

    def dm(self, user: str) -> str:
        channel = self._dms.get(user)
        if channel is None:
            channel = self.client.conversations_open(users=user)["channel"]["id"]
            self._dms[user] = channel
        return channel

    def say(self, user: str, text: str, *, private: bool = False) -> None:
        """A message in the user's DM. ``private``: it carries someone's
        words or details of a child, so the notification a phone shows on
        its lock screen is generic."""
        preview = self.t("attention_text") if private else text
        self.client.chat_postMessage(channel=self.dm(user), text=preview,
                                     blocks=self.blocks.plain(text))

    def first_delivery(self, body: dict[str, Any]) -> bool:
        """False for a redelivered event or a repeated slash command: Slack
        retries an event it thinks we missed (``X-Slack-Retry-Num``) with the
        same ``event_id``."""
        if body.get("event_id"):
            return self.first_time(f"event:{body['event_id']}")
        if body.get("command") and body.get("trigger_id"):
            return self.first_time(f"command:{body['trigger_id']}")
        return True

    def _channel_members(self) -> set[str]:
        """Everyone in the DSL channel; raises when Slack cannot say."""
        members: set[str] = set()
        cursor = None
        while True:
            resp = self.client.conversations_members(channel=self.app.settings.dsl_channel,
                                                     limit=500, cursor=cursor)
            members.update(resp.get("members", []))
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return members

    def is_dsl(self, user: str) -> bool:
        """Configured DSL ids, or members of the DSL channel; nobody else
        when Slack cannot say and the last list is too old (fails closed)."""
        if self.app.is_dsl(user):
            return True
        try:
            return user in self.membership.members()
        except MembershipUnknown:
            return False

    # -- the conversation's calls ------------------------------------------
    def chat_meta(self, user: str) -> dict[str, Any]:
        return {"dm": self.dm(user)}

    def offer_resume(self, user: str, session: Session) -> None:
        self.client.chat_postMessage(
            channel=self.dm(user), text=self.t("resume_offer", started=session.created_at),
            blocks=self.blocks.resume_offer(session.id, session.created_at))

    def show_question(self, session: Session, question: Question,
                      notices: list[str] | None) -> dict[str, Any]:
        channel = self.dm(session.user)
        response = self.client.chat_postMessage(
            channel=channel, text=question.text,
            blocks=self.blocks.question(session.id, question, notices))
        return {"dm": channel, "question_ts": response["ts"]}

    def show_answered(self, session: Session, question: Question, answer: str,
                      notices: list[str] | None) -> bool:
        ts = session.meta.get("question_ts")
        if not ts:  # a click that beat ``post_question``'s write
            return False
        try:
            self.client.chat_update(channel=session.meta.get("dm") or self.dm(session.user),
                                    ts=ts, text=question.text,
                                    blocks=self.blocks.answered(question, answer, notices))
        except SlackApiError as exc:  # cosmetic: the answer itself is stored
            log.warning("could not update question: %s", exc.response.get("error"))
            return False
        except (SlackClientError, OSError) as exc:  # slow or unreachable: carry on
            log.warning("could not update question: %s", type(exc).__name__)
            return False
        return True

    def decision_added(self, user: str, record: dict[str, Any]) -> None:
        """The channel post shows the DSL's decision, and the staff member
        who raised the concern hears the outcome in general words (nothing
        about the child they don't already know)."""
        self.refresh_record_message(record)
        self.say(user, self.t("decision_added", id=record["id"]))
        staff = record["recorded_by"]
        if staff and record.get("source") == self.source:
            self.say(staff, self.t("outcome_dm", id=record["id"], decision=record["decision"]),
                     private=True)

    # -- DSL review ------------------------------------------------------------
    def review(self, user: str, record_id: str, action: str, *, channel: str | None = None,
               **params: Any) -> dict[str, Any] | None:
        allowed = self.is_dsl(user)
        try:
            record = self.app.review(record_id, action, by=user, allowed=allowed, **params)
        except NotFound:
            self._tell(user, channel, self.t("not_found"))
            return None
        except AccessDenied:
            log.warning("review refused", extra={"record_id": record_id, "user": user,
                                                 "action": action})
            self._tell(user, channel, self.t("refused"))
            return None
        if record is None:
            return None  # a double click or a stale button: it was done already
        if action != "viewed":
            self.refresh_record_message(record)
            self._tell_staff(record, action, user, **params)
        return record

    def take_on(self, user: str, record_id: str, *, channel: str | None = None) -> None:
        """A DSL takes a staff member's concern on into the sharing decision,
        in their own DM, starting from what the staff member said."""
        if not self.is_dsl(user):
            self.review(user, record_id, "take_on", channel=channel)  # records the refusal
            return
        try:
            session = self.app.take_on(record_id, user, source=Source.SLACK,
                                       meta={"dm": self.dm(user)})
        except NotFound:
            self._tell(user, channel, self.t("not_found"))
            return
        except ValueError:
            self._tell(user, channel, self.t("already_decided", id=record_id))
            return
        self.say(user, self.t("taking_on", id=record_id))
        if session.record_id:
            self._submitted(session)
            return
        self.post_question(session)

    def open_review_modal(self, user: str, record_id: str, kind: str, trigger_id: str,
                          channel: str | None) -> None:
        if not self.is_dsl(user):
            self.review(user, record_id, kind, channel=channel)  # records the refusal
            return
        view = (self.blocks.followup_modal(record_id) if kind == "follow_up"
                else self.blocks.note_modal(record_id))
        self.client.views_open(trigger_id=trigger_id, view=view)

    def view_record(self, user: str, record_id: str, trigger_id: str,
                    channel: str | None) -> None:
        record = self.review(user, record_id, "viewed", channel=channel)
        if record is not None:
            self.client.views_open(trigger_id=trigger_id, view=self.blocks.record_modal(record))

    def refresh_record_message(self, record: dict[str, Any]) -> None:
        delivery = record.get("delivery") or {}
        if delivery.get("state") != "posted":
            self.delivery.kick()
            return
        main, _ = self.blocks.record_message(record)
        try:
            self.client.chat_update(channel=delivery["channel"], ts=delivery["ts"],
                                    text=self.t("record_fallback", r=record), blocks=main)
        except SlackApiError as exc:
            log.warning("could not update record message: %s", exc.response.get("error"),
                        extra={"record_id": record["id"]})

    def _tell_staff(self, record: dict[str, Any], action: str, by: str, **params: Any) -> None:
        template = {"acknowledge": "acknowledged_dm", "follow_up": "followup_dm",
                    "note": "note_dm"}.get(action)
        if not template or record.get("source") != Source.SLACK:
            return
        self.say(record["recorded_by"], self.t(
            template, id=record["id"], dsl_mention=f"<@{by}>",
            note=escape(params.get("note", "")), due=params.get("due", "")), private=True)

    def _tell(self, user: str, channel: str | None, text: str) -> None:
        if channel and not channel.startswith("D"):
            try:
                self.client.chat_postEphemeral(channel=channel, user=user, text=text)
                return
            except SlackApiError:
                pass
        self.say(user, text)

    # -- alerts and follow-ups ------------------------------------------------------
    def acknowledge_alert(self, user: str, event_id: str, channel: str | None,
                          ts: str | None, shown: list[dict[str, Any]]) -> None:
        try:
            first = self.app.acknowledge_alert(event_id, by=user, allowed=self.is_dsl(user))
        except AccessDenied:
            log.warning("alert acknowledgement refused", extra={"user": user})
            self._tell(user, channel, self.t("refused"))
            return
        if first and channel and ts:
            self._update_quietly(channel, ts, self.blocks.r("escalate_text"),
                                 self.blocks.alert_acknowledged(shown, user))

    def complete_follow_up(self, user: str, record_id: str, follow_up_id: str, *,
                           channel: str | None = None, ts: str | None = None,
                           shown: list[dict[str, Any]] | None = None,
                           from_home: bool = False) -> None:
        try:
            record = self.app.complete_follow_up(record_id, follow_up_id, by=user,
                                                 is_dsl=self.is_dsl(user))
        except AccessDenied:
            log.warning("follow-up done refused", extra={"record_id": record_id,
                                                         "user": user})
            self._tell(user, channel, self.t("refused"))
            return
        except (NotFound, UnknownFollowUp):
            self._tell(user, channel, self.t("not_found"))
            return
        if record is None:
            return  # done already: a double click
        if channel and ts and shown is not None and not from_home:
            kept = [b for b in shown if b.get("block_id") != "followup"]
            self._update_quietly(channel, ts, self.blocks.r("followup_due_text"),
                                 kept + self.blocks.plain(self.blocks.r("followup_done",
                                                                        by=user)))
        self.refresh_record_message(record)
        if from_home:
            self.publish_home(user)

    def _update_quietly(self, channel: str, ts: str, text: str,
                        blocks: list[dict[str, Any]]) -> None:
        """Show on a message that it was dealt with; cosmetic, so a refusal
        from Slack is only logged."""
        try:
            self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except (SlackClientError, OSError) as exc:
            log.warning("could not update message: %s", type(exc).__name__)

    # -- chronology and exports (DSL only) ------------------------------------------
    def open_dsl_modal(self, user: str, which: str, trigger_id: str) -> None:
        """The Chronology or Export CSV form, for the DSL team only."""
        if not self.is_dsl(user):
            self.app.log_access(user, which, allowed=False)
            self.say(user, self.t("refused"))
            return
        view = (self.blocks.chronology_request_modal() if which == "chronology"
                else self.blocks.csv_modal())
        self.client.views_open(trigger_id=trigger_id, view=view)

    def chronology_view(self, user: str, child_ref: str) -> dict[str, Any] | None:
        """The chronology modal for a child (audited), or None if refused."""
        try:
            found = self.app.chronology(child_ref, by=user, allowed=self.is_dsl(user))
        except AccessDenied:
            log.warning("chronology refused", extra={"user": user})
            return None
        return self.blocks.chronology_modal(child_ref,
                                            self.app.chronology_text(child_ref, found))

    def show_chronology(self, user: str, child_ref: str, view_id: str) -> None:
        """From a record's modal: the child's chronology in its place."""
        shown = self.chronology_view(user, child_ref)
        if shown is None:
            self.say(user, self.t("refused"))
            return
        self.client.views_update(view_id=view_id, view=shown)

    def export(self, user: str, what: str, **params: Any) -> None:
        """Make an export (audited) and upload it into the user's DM."""
        allowed = self.is_dsl(user)
        try:
            if what == "record_pdf":
                name, content = self.app.export_record_pdf(params["record_id"], by=user,
                                                           allowed=allowed)
            elif what == "chronology_pdf":
                name, content = self.app.export_chronology_pdf(params["child_ref"], by=user,
                                                               allowed=allowed)
            else:
                name, text = self.app.export_csv(params["start"], params["end"], by=user,
                                                 allowed=allowed)
                content = text.encode("utf-8")
        except AccessDenied:
            log.warning("export refused", extra={"user": user, "action": what})
            self.say(user, self.t("refused"))
            return
        except NotFound:
            self.say(user, self.t("not_found"))
            return
        try:
            self.client.files_upload_v2(channel=self.dm(user), filename=name, title=name,
                                        content=content)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("export upload failed: %s", type(exc).__name__,
                        extra={"action": what})
            self.say(user, self.blocks.r("export_failed"))

    # -- App Home ----------------------------------------------------------------
    def publish_home(self, user: str) -> None:
        open_sessions = [s.to_dict() for s in self.app.open_sessions(user)]
        mine = self.app.my_records(user)
        dsl = self.is_dsl(user)
        awaiting = self.app.awaiting_review() if dsl else None
        self.client.views_publish(user_id=user, view=self.blocks.home(
            open_sessions=open_sessions, mine=mine, awaiting=awaiting,
            my_follow_ups=self.app.follow_ups_for(user, is_dsl=dsl),
            overdue=self.app.overdue_follow_ups() if dsl else None,
            today=self.app.schedule.day.today(self.app.clock())))


def _without_retries(client: WebClient) -> WebClient:
    """A twin of ``client`` that never repeats a request by itself.

    slack_sdk retries a post once on a dropped connection; if Slack had
    already posted it, that retry would bypass the outbox's "sending" check
    and post a record twice. The outbox does its own, checked, retries.
    """
    return WebClient(token=client.token, base_url=client.base_url, timeout=client.timeout,
                     retry_handlers=[])
