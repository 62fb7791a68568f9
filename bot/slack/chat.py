"""Slack's side of the conversation (:mod:`bot.conversation`): the DM with
the bot, and who counts as the DSL team. The DSL's review, exports and App
Home build on it (:mod:`review`, :mod:`exports`, :mod:`home`).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.conversation import Conversation
from bot.flow import Question, Session, Source
from bot.membership import Membership, MembershipUnknown
from bot.schedule import Scheduler
from bot.service import DecisionService
from bot.slack.blocks import Blocks, escape
from bot.slack.delivery import SlackDelivery
from bot.slack.reminders import SlackReminders

log = logging.getLogger("jigsaw.slack")


class SlackChat(Conversation):
    source = Source.SLACK
    chat_errors = (SlackClientError, OSError)

    def __init__(self, service: DecisionService, client: WebClient, *, blocks: Blocks | None = None,
                 delivery: SlackDelivery | None = None) -> None:
        super().__init__(service)
        self.client = client
        self.blocks = blocks or Blocks(service.prompts, service.settings)
        self.delivery: SlackDelivery = delivery or SlackDelivery(
            service, _without_retries(client), self.blocks, on_delivered=self.delivered_late,
            on_saved=self.saved_late)
        self.membership = Membership(self._channel_members,
                                     max_stale=service.settings.membership_max_stale_minutes * 60)
        # Who starts as the DSL team: a list of its own, so starting a decision
        # never changes what a review click is checked against.
        self.starting = Membership(self._channel_members,
                                   max_stale=service.settings.membership_max_stale_minutes * 60)
        self._dms: dict[str, str] = {}
        self._named: set[str] = set()
        # Names are looked up on the way to a record: briefly, never retried.
        self._lookup = WebClient(token=client.token, base_url=client.base_url, timeout=3,
                                 retry_handlers=[])
        service.namer = self.name_of
        self._workspace: tuple[str, str] | None = None  # (team, Grid organisation)
        self._homes: dict[str, tuple[str, str]] = {}  # user -> their own (team, organisation)
        self.reminders = SlackReminders(_without_retries(client), self.blocks,
                                        self.delivery.guard, self.delivery.dsl_mention)
        self.scheduler = Scheduler(service, self.reminders)

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
            first = self.first_time(f"event:{body['event_id']}")
            if not first:
                log.info("event delivered again: ignored", extra={"event_id": body["event_id"]})
            return first
        if body.get("command") and body.get("trigger_id"):
            return self.first_time(f"command:{body['trigger_id']}")
        return True

    def _channel_members(self) -> set[str]:
        """The DSL channel's members of the school's own workspace (or Grid
        organisation): a channel shared with another organisation shows
        theirs too, and they are never the DSL team. Raises when Slack
        cannot say."""
        members: set[str] = set()
        cursor = None
        while True:
            resp = self.client.conversations_members(channel=self.service.settings.dsl_channel,
                                                     limit=500, cursor=cursor)
            members.update(resp.get("members", []))
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return {m for m in members if self._own_member(m)}

    def _own_member(self, user: str) -> bool:
        if self._workspace is None:
            auth = self.client.auth_test()
            self._workspace = (str(auth.get("team_id") or ""),
                               str(auth.get("enterprise_id") or ""))
        home = self._homes.get(user)
        if home is None:
            info = self.client.users_info(user=user)["user"]
            home = (str(info.get("team_id") or ""),
                    str((info.get("enterprise_user") or {}).get("enterprise_id") or ""))
            self._homes[user] = home  # where someone's account lives does not change
        team, org = self._workspace
        return bool(home[0] and home[0] == team) or bool(org and home[1] == org)

    def name_of(self, user: str) -> tuple[str, str] | None:
        """The person's Slack name and title (``users.info``), asked once per
        person while the app runs, when they first act on a record. A
        failure is no reason to stop: the record shows the id, marked."""
        if not user or user in self._named or user[0] not in "UW":
            return None
        self._named.add(user)
        try:
            found = self._lookup.users_info(user=user)["user"]
        except (SlackClientError, OSError, KeyError, TypeError) as exc:
            log.warning("could not look up a name: %s", type(exc).__name__)
            return None
        details = found.get("profile") or {}
        name = (details.get("real_name") or found.get("real_name")
                or details.get("display_name") or found.get("name") or "")
        role = details.get("title") or ("DSL" if self.service.reviews.is_dsl(user) else "")
        return str(name), str(role)

    def is_dsl(self, user: str) -> bool:
        """Configured DSL ids, or members of the DSL channel; nobody else
        when Slack cannot say and the last list is too old (fails closed)."""
        if self.service.reviews.is_dsl(user):
            return True
        try:
            return user in self.membership.members()
        except MembershipUnknown:
            return False

    def shown_literally(self, text: str) -> str:
        return escape(text)

    def on_dsl_team(self, user: str) -> bool:
        """The DSL channel's members too (the list is cached briefly; when
        Slack cannot say, staff: the record then waits for the DSL)."""
        if self.service.reviews.is_dsl(user):
            return True
        try:
            return user in self.starting.members()
        except MembershipUnknown:
            return False

    # -- the conversation's calls ------------------------------------------
    def chat_meta(self, user: str) -> dict[str, Any]:
        return {"dm": self.dm(user)}

    def offer_resume(self, user: str, session: Session) -> None:
        self.client.chat_postMessage(
            channel=self.dm(user), text=self.t("attention_text"),
            blocks=self.blocks.resume_offer(session.id, self.service.describe(session)))

    def show_question(self, session: Session, question: Question,
                      notices: list[str] | None) -> dict[str, Any]:
        channel = self.dm(session.user)
        response = self.client.chat_postMessage(
            channel=channel, text=question.text,
            blocks=self.blocks.question(session.id, question, notices,
                                        offered=self.offered(session, question)))
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


def _without_retries(client: WebClient) -> WebClient:
    """A twin of ``client`` that never repeats a request by itself.

    slack_sdk retries a post once on a dropped connection; if Slack had
    already posted it, that retry would bypass the outbox's "sending" check
    and post a record twice. The outbox does its own, checked, retries.
    """
    return WebClient(token=client.token, base_url=client.base_url, timeout=client.timeout,
                     retry_handlers=[])
