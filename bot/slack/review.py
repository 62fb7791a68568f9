"""The DSL's review of a record in Slack: acknowledge, follow up, note, view,
take a concern on; urgent alerts and follow-ups marked done."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.flow import Source
from bot.followups import UnknownFollowUp
from bot.service import AccessDenied, AlreadyDecided, NotFound, clean_id
from bot.slack.blocks import escape
from bot.slack.home import SlackHome

log = logging.getLogger("jigsaw.slack")
# What the DSL is told when a review action typed or clicked is done.
DONE_WORDS = {"close": "closed", "confirm_basis": "basis_confirmed"}


class SlackReview(SlackHome):
    """The DSL's review; a follow-up done from the App Home refreshes it."""

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
            record = self.service.reviews.review(record_id, action, by=user, allowed=allowed,
                                                 **params)
        except NotFound:
            self._tell(user, channel, self.t("not_found", id=clean_id(record_id)))
            return None
        except AccessDenied:
            log.warning("review refused", extra={"record_id": record_id, "user": user,
                                                 "action": action})
            self._tell(user, channel, self.t("refused"))
            return None
        if record is None:
            if action in DONE_WORDS:  # said, for a command typed with an id
                self._tell(user, channel, self.t(DONE_WORDS[action], id=clean_id(record_id),
                                                 already=True))
            return None  # a double click or a stale button: it was done already
        if action != "viewed":
            self.refresh_record_message(record)
            self._tell_staff(record, action, user, **params)
        if action in DONE_WORDS:
            self._tell(user, channel, self.t(DONE_WORDS[action], id=record["id"],
                                             already=False))
        return record

    def take_on(self, user: str, record_id: str, *, channel: str | None = None) -> None:
        """A DSL takes a staff member's concern on into the sharing decision,
        in their own DM, starting from what the staff member said."""
        if not self.is_dsl(user):
            self.review(user, record_id, "take_on", channel=channel)  # records the refusal
            return
        try:
            session = self.service.take_on(record_id, user, source=Source.SLACK,
                                           meta={"dm": self.dm(user)})
        except NotFound:
            self._tell(user, channel, self.t("not_found", id=clean_id(record_id)))
            return
        except AlreadyDecided as exc:
            self._tell(user, channel, self.t("already_decided", id=exc.record_id,
                                             closed=exc.closed))
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
        if kind == "correct":
            record = self.service.record(record_id)
            if record is None:
                self._tell(user, channel, self.t("not_found", id=clean_id(record_id)))
                return
            view = self.blocks.correct_modal(record)
        else:
            view = {"follow_up": self.blocks.followup_modal, "note": self.blocks.note_modal,
                    "outcome": self.blocks.outcome_modal}[kind](record_id)
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
            first = self.service.reviews.acknowledge_alert(event_id, by=user,
                                                           allowed=self.is_dsl(user))
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
            record = self.service.follow_ups.complete_follow_up(record_id, follow_up_id, by=user,
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
