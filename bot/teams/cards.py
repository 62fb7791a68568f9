"""Adaptive Cards for every Jigsaw surface in Teams, built with the Teams
SDK's card models, and the typed payloads their buttons carry.

Text a person typed is never put where Teams reads Markdown: it goes in a
``TextRun`` (inside a ``RichTextBlock``), which Teams shows literally, so no
formatting, link or mention can be smuggled in. Trusted wording (from
``prompts/``) goes in ``TextBlock``s.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from microsoft_teams.api.models import Attachment
from microsoft_teams.cards import (
    Action,
    ActionSet,
    AdaptiveCard,
    CardElement,
    Choice,
    ChoiceSetInput,
    Column,
    ColumnSet,
    Container,
    DateInput,
    ExecuteAction,
    Mention,
    MentionedEntity,
    RefreshDefinition,
    RichTextBlock,
    TeamsCardProperties,
    TextBlock,
    TextInput,
    TextRun,
)
from pydantic import BaseModel, ConfigDict, ValidationError

from bot import record as records
from bot.conversation import USE_OFFERED
from bot.derive import SUMMARY_MAX
from bot.flow import Question
from bot.prompts import Prompts

# Teams refuses a card message over about 28 KB; a record's long free text
# is cut in the channel card (the whole record is one click away).
FIELD_LIMIT = 1500
RECORD_MARK = "jigsaw-record-"
REMINDER_MARK = "jigsaw-reminder-"
ANCHOR_MARK = "jigsaw-anchor-"
ALERT_MARK = "jigsaw-alert-"
FILE_CONSENT = "application/vnd.microsoft.teams.card.file.consent"
FILE_INFO = "application/vnd.microsoft.teams.card.file.info"
MENTIONS_MAX = 20  # people @mentioned on one alert (a DSL team is a handful)
# Teams gives a card its own view for at most 60 people (``refresh.userIds``):
# https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/
# universal-actions-for-adaptive-cards/user-specific-views
VIEWERS_MAX = 60


class Verb(StrEnum):
    """The ``verb`` of every ``Action.Execute`` Jigsaw sends."""

    ANSWER = "answer"
    BACK = "back"
    PAUSE = "pause"
    CANCEL = "cancel"
    HELP = "help"
    RESUME = "resume"
    NEW = "new"
    ACKNOWLEDGE = "review.acknowledge"
    FOLLOW_UP = "review.follow_up"
    FOLLOW_UP_SAVE = "review.follow_up.save"
    NOTE = "review.note"
    NOTE_SAVE = "review.note.save"
    VIEW = "review.view"
    SUMMARY = "review.summary"
    ALERT_ACK = "alert.acknowledge"
    FOLLOW_UP_DONE = "followup.done"
    TAKE_ON = "review.take_on"
    CONFIRM_BASIS = "review.confirm_basis"
    CLOSE = "review.close"
    OUTCOME = "review.outcome"
    OUTCOME_SAVE = "review.outcome.save"
    CORRECT = "review.correct"
    CORRECT_SAVE = "review.correct.save"
    COVER = "dsl.cover"
    HOME = "home"
    CHRONOLOGY = "dsl.chronology"
    CSV = "dsl.csv"
    PDF = "dsl.pdf"  # a record's (r) or a chronology's (ref) PDF, as a file
    REFRESH = "review.refresh"  # a record card asking for its viewer's own view


CONVERSATION = {Verb.ANSWER, Verb.BACK, Verb.PAUSE, Verb.CANCEL, Verb.HELP, Verb.RESUME,
                Verb.NEW}


class Payload(BaseModel):
    """What a button carries (and the form's inputs, which Teams merges in).
    Anything else is ignored; a value of the wrong type fails validation."""

    model_config = ConfigDict(extra="ignore", strict=True)

    s: str = ""  # session id
    st: str = ""  # step id
    v: str = ""  # the answer's value
    r: str = ""  # record id
    e: str = ""  # urgent alert (event) id
    u: str = ""  # who raised the alert (to show it again once acknowledged)
    a: str = ""  # the alert's answer (yes / not sure)
    f: str = ""  # follow-up id
    note: str = ""
    due: str = ""
    outcome: str = ""  # the outcome form: what happened after, its reference
    oref: str = ""
    category: str = ""  # the correction form
    line: str = ""
    ref: str = ""  # a child's reference (the chronology form)
    start: str = ""  # dates (the CSV form)
    end: str = ""

    @classmethod
    def parse(cls, data: Any) -> Payload | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls.model_validate(data)
        except ValidationError:
            return None


# Where typed text would otherwise be read by Teams rather than shown: the
# Adaptive Card text functions ``{{DATE(..)}}``/``{{TIME(..)}}``, template
# expressions ``${..}`` and ``<at>`` mention tags. Each is cut between its
# first two characters into separate text runs: the renderer formats one run
# at a time, so none of them matches, and the runs read back as typed.
_READ_BY_TEAMS = re.compile(r"(?<=\{)(?=\{)|(?<=\$)(?=\{)|(?<=<)(?=/?at\b)", re.IGNORECASE)


def runs(text: str) -> list[str]:
    """``text`` in pieces none of which Teams reads as anything but text."""
    return [piece for piece in _READ_BY_TEAMS.split(text) if piece] or [""]


def literal(text: str, **style: Any) -> RichTextBlock:
    """Typed text, shown exactly as typed: text runs take no Markdown, and
    :func:`runs` keeps text functions, templates and mentions from being read."""
    inlines: list[CardElement] = [TextRun(text=piece, **style) for piece in runs(text)]
    return RichTextBlock(inlines=inlines)


def tight(block: RichTextBlock) -> RichTextBlock:
    """A value right under its label, with no gap between them."""
    block.spacing = "None"
    return block


def mention_name(name: str) -> str:
    """A display name fit to go inside ``<at>…</at>`` on one line: Teams
    matches the tag to its entity by this text, so nothing in it may read
    as markup."""
    return " ".join(re.sub(r"[<>*_`\\\[\]{}$#~|]", " ", name).split())[:80]


def clip(text: str, limit: int = FIELD_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def card(*body: CardElement, id: str | None = None) -> AdaptiveCard:  # noqa: A002
    return AdaptiveCard(version="1.5", body=list(body), id=id)


def action(title: str, verb: Verb, *, inputs: bool = False, style: str | None = None,
           **data: str) -> ExecuteAction:
    return ExecuteAction(title=title, verb=verb.value, data=data, style=style,  # type: ignore[arg-type]
                         associated_inputs="auto" if inputs else "none")


ROW_CHARACTERS = 46  # of button titles on one row of a phone-wide card


def _rows(actions: list[Action]) -> list[list[Action]]:
    """Buttons packed into rows, in order, each within :data:`ROW_CHARACTERS`."""
    rows: list[list[Action]] = []
    width = 0
    for one in actions:
        size = len(str(getattr(one, "title", "") or "")) + 4  # the button's padding
        if not rows or width + size > ROW_CHARACTERS:
            rows.append([])
            width = 0
        rows[-1].append(one)
        width += size
    return rows


class Cards:
    """Builds the cards; wording from ``prompts/teams/``, else the same
    template the Slack front uses."""

    def __init__(self, prompts: Prompts, settings: Any) -> None:
        self.prompts = prompts
        self.settings = settings

    def t(self, name: str, **ctx: Any) -> str:
        own = f"teams/{name}.j2"
        template = own if self.prompts.exists(own) else f"slack/{name}.j2"
        return self.prompts.render(template, s=self.settings, **ctx)

    def r(self, block: str, **ctx: Any) -> str:
        """Wording of scheduled messages: Teams' own, else Slack's."""
        name = ("teams/reminders.j2" if self.prompts.has_block("teams/reminders.j2", block)
                else "slack/reminders.j2")
        return self.prompts.block(name, block, s=self.settings, **ctx)

    def text(self, text: str, **style: Any) -> TextBlock:
        return TextBlock(text=text, wrap=True, **style)

    # -- the conversation ------------------------------------------------------
    def plain(self, text: str) -> AdaptiveCard:
        """A message to someone: it may carry a name or someone's words, so
        it is shown literally throughout."""
        return card(literal(text))

    def question(self, session_id: str, q: Question, notices: list[str] | None = None,
                 *, offered: str = "") -> AdaptiveCard:
        body: list[CardElement] = [self.text(n, color="Attention") for n in notices or []]
        if q.preface:  # typed by the member of staff: shown as typed
            body.append(literal(q.preface))
        body.append(self.text(self.t("question", q=q), size="Medium"))
        if q.help:
            body.append(self.text(q.help, is_subtle=True))
        body += [Container(style="emphasis", items=[self.text(reminder)])
                 for _, reminder in q.reminders]
        if q.draft:  # kept whole in the session; shown as far as a card allows
            shown = q.draft[:FIELD_LIMIT * 2]
            body.append(literal(self.t("draft", draft=shown, more=len(q.draft) - len(shown))))
        if q.earlier:
            body.append(literal(self.t("earlier", earlier=q.earlier)))
        ids: dict[str, Any] = {"s": session_id, "st": q.step}
        buttons: list[Action] = [action(label[:75], Verb.ANSWER, v=value, **ids)
                                 for value, label in q.choices]
        if offered:
            # A reported message's text: used as it is with one click, or
            # typed again as the person wants it.
            body += [self.text(self.t("offered"), weight="Bolder"),
                     literal(clip(offered, FIELD_LIMIT * 2))]
            buttons.append(action(self.t("offered_label"), Verb.ANSWER, style="positive",
                                  v=USE_OFFERED, **ids))
        if q.kind == "text":
            body.append(self.text(self.t("type_reply", q=q), is_subtle=True))
            if q.optional:
                buttons.append(action(self.t("skip_label"), Verb.ANSWER, v="skip", **ids))
        for start in range(0, len(buttons), 5):
            body.append(ActionSet(actions=buttons[start:start + 5]))
        body.append(self.nav(session_id, q))
        body.append(self.text(self.prompts.render("notices/footer.j2", s=self.settings),
                              size="Small", is_subtle=True))
        return card(*body)

    def nav(self, session_id: str, q: Question) -> ActionSet:
        ids: dict[str, Any] = {"s": session_id, "st": q.step}
        return ActionSet(actions=[
            action(self.t("help_label"), Verb.HELP, **ids),
            action(self.t("back_label"), Verb.BACK, **ids),
            action(self.t("pause_label"), Verb.PAUSE, **ids),
            action(self.t("cancel_label"), Verb.CANCEL, style="destructive", **ids),
        ])

    def answered(self, q: Question, answer: str, notices: list[str] | None = None
                 ) -> AdaptiveCard:
        """The question once answered, in place: its answer, no buttons."""
        body: list[CardElement] = [
            self.text(self.t("answered_question", q=q), is_subtle=True),
            self.text(self.t("answered"), weight="Bolder"),
            literal(clip(answer)),
        ]
        body += [self.text(n, color="Attention") for n in notices or []]
        return card(*body)

    def resume_offer(self, session_id: str, what: str) -> AdaptiveCard:
        return card(self.text(self.t("resume_offer", what=what)), ActionSet(actions=[
            action(self.t("resume_label"), Verb.RESUME, style="positive", s=session_id),
            action(self.t("new_label"), Verb.NEW, s=session_id),
        ]))

    def with_literal(self, text: str, typed: str) -> AdaptiveCard:
        """Trusted wording followed by someone's own words, shown literally."""
        return card(self.text(text), literal(clip(typed)))

    # -- the DSL channel ---------------------------------------------------------
    def urgent_alert(self, who: str, answer: str, mentions: list[tuple[str, str]],
                     event_id: str, acknowledged: tuple[str, str] | None = None,
                     *, staff: str = "") -> AdaptiveCard:
        """The alert in the DSL channel: it @mentions the DSL team (each
        member by Entra object id, ``mentions`` as (id, name)), so Teams
        notifies them whatever their channel settings; once acknowledged it
        says by whom and when (``acknowledged`` as (name, local time))."""
        shown = card()
        body: list[CardElement] = [
            self.text(self.t("alert_header"), weight="Bolder", size="Large", color="Attention"),
            *self.mentioning(shown, mentions),
            self.text(self.t("alert", answer=answer, mention=self.t("alert_mention"))),
            literal(who, weight="Bolder"),
        ]
        if acknowledged:
            by, at = acknowledged
            body.append(literal(self.t("alert_acked", by=by, at=at), weight="Bolder",
                                color="Good"))
        else:
            body.append(ActionSet(actions=[action(
                self.r("alert_ack_label"), Verb.ALERT_ACK, style="positive", e=event_id,
                u=staff, a=answer)]))
        shown.body = [Container(id=f"{ALERT_MARK}{event_id}", items=body)]
        return shown

    # The two-column part of the card, in reading order (the same fields
    # as the Slack post: bot.slack.blocks.Blocks.HEADLINE_FIELDS).
    HEADLINE_FIELDS = ("child_ref", "category", "recorded_by", "created_at", "decision",
                       "recipient", "requested_by", "decided_by", "outcome", "status")

    def record(self, record: dict[str, Any], *, review: bool = True,
               names: dict[str, str] | None = None) -> AdaptiveCard:
        """The channel card for a record, one phone screen: what makes it
        urgent, the essentials (:func:`bot.record.headline`) in two columns,
        the one-line summary, what is asked of the DSL, then the buttons
        ("View full record" shows the rest)."""
        names = names or {}
        rows = {key: (label, value) for key, label, value in records.headline(
            record, self.prompts)}
        if "recorded_by" in rows and "name not recorded" in rows["recorded_by"][1]:
            label, value = rows["recorded_by"]
            rows["recorded_by"] = (label, names.get(record["recorded_by"], value))
        items: list[CardElement] = [
            self.text(self.t("record_header", r=record), weight="Bolder", size="Large")]
        if "urgency" in rows:  # trusted wording
            items.append(self.text(rows["urgency"][1].upper(), weight="Bolder",
                                   color="Attention"))
            if "urgent_detail" in rows:  # typed by the member of staff, in part
                items.append(tight(literal(clip(rows["urgent_detail"][1], 1500),
                                           color="Attention")))
        cells = [(label, value) for key, (label, value) in rows.items()
                 if key in self.HEADLINE_FIELDS]
        for pair in range(0, len(cells), 2):
            items.append(ColumnSet(spacing="Small", columns=[
                Column(width="stretch", items=[
                    self.text(label, weight="Bolder", size="Small", is_subtle=True),
                    tight(literal(clip(value, 600)))])
                for label, value in cells[pair:pair + 2]]))
        for key in ("summary_line", "asked", "next"):
            if key in rows:
                label, value = rows[key]
                items += [self.text(label, weight="Bolder", size="Small", is_subtle=True,
                                    spacing="Medium"),
                          tight(literal(clip(value, 1200)))]
        if review:
            items += self.review_actions(record)
        items.append(self.text(self.t("record_footer", r=record), size="Small", is_subtle=True))
        return card(Container(id=f"{RECORD_MARK}{record['id']}", items=items))

    def viewed_by(self, shown: AdaptiveCard, record_id: str, viewers: list[str]
                  ) -> AdaptiveCard:
        """``shown`` (a record card) refreshing to each viewer's own view
        (Universal Actions' user-specific views): Teams asks the bot, with
        :attr:`Verb.REFRESH`, for the card each of ``viewers`` (their Teams
        ids, ``29:…``) sees when the card is shown to them; everyone else
        sees ``shown``. With no viewers known, Teams asks for everyone in a
        conversation of up to 60 people; the bot still decides who gets what."""
        shown.refresh = RefreshDefinition(
            action=ExecuteAction(verb=Verb.REFRESH.value, data={"r": record_id}),
            user_ids=list(dict.fromkeys(viewers))[:VIEWERS_MAX] or None)
        return shown

    def review_actions(self, record: dict[str, Any]) -> list[ActionSet]:
        """The DSL's buttons, in rows that fit a phone's width: Teams lays a
        set's actions out in one line, and folds any past six into a "..."
        menu (the host config's ``maxActions``), where they would be hidden."""
        rid = record["id"]
        first: list[Action] = []
        if record["review_status"] == records.PENDING:
            first.append(action(self.t("ack_label"), Verb.ACKNOWLEDGE, style="positive", r=rid))
        if records.can_take_on(record):
            first.append(action(self.t("take_on_label", r=record), Verb.TAKE_ON, r=rid))
        first += [
            action(self.t("followup_label"), Verb.FOLLOW_UP, r=rid),
            action(self.t("note_label"), Verb.NOTE, r=rid),
            action(self.t("view_label"), Verb.VIEW, r=rid),
        ]
        second: list[Action] = []
        if records.outcome_due(record):
            second.append(action(self.t("outcome_label"), Verb.OUTCOME, r=rid))
        second.append(action(self.t("correct_label"), Verb.CORRECT, r=rid))
        if records.basis_to_confirm(record):
            second.append(action(self.t("basis_label"), Verb.CONFIRM_BASIS, r=rid))
        if record.get("status") != records.CLOSED:
            second.append(action(self.t("close_record_label"), Verb.CLOSE, r=rid))
        return [ActionSet(actions=row, spacing="Small") for row in _rows([*first, *second])]

    def follow_up_form(self, record: dict[str, Any], error: str = "") -> AdaptiveCard:
        """Shown, in place of the record card, only to the DSL who asked."""
        return self._review_form(
            record, "followup_title", Verb.FOLLOW_UP_SAVE, error,
            TextInput(id="note", label=self.t("followup_note_label"), is_multiline=True,
                      is_required=True, max_length=2000),
            DateInput(id="due", label=self.t("followup_due_label"), is_required=True))

    def note_form(self, record: dict[str, Any], error: str = "") -> AdaptiveCard:
        return self._review_form(
            record, "note_title", Verb.NOTE_SAVE, error,
            TextInput(id="note", label=self.t("note_field_label"), is_multiline=True,
                      is_required=True, max_length=2000))

    def outcome_form(self, record: dict[str, Any], error: str = "") -> AdaptiveCard:
        """What happened after the decision: an outcome (a menu), the
        referral's reference and a note, both optional."""
        words = self.prompts.wording
        return self._review_form(
            record, "outcome_title", Verb.OUTCOME_SAVE, error,
            ChoiceSetInput(id="outcome", label=self.t("outcome_field_label"), is_required=True,
                           style="compact", choices=[
                               Choice(title=words(f"outcome_{code}"), value=code)
                               for code in records.OUTCOMES]),
            TextInput(id="oref", label=self.t("outcome_ref_label"), max_length=100),
            TextInput(id="note", label=self.t("note_field_label"), is_multiline=True,
                      max_length=2000))

    def correct_form(self, record: dict[str, Any], error: str = "") -> AdaptiveCard:
        """The category and one-line summary as the record shows them now,
        for the DSL to correct (what was read first is kept)."""
        return self._review_form(
            record, "correct_title", Verb.CORRECT_SAVE, error,
            ChoiceSetInput(id="category", label=self.t("correct_category_label"),
                           is_required=True, style="compact",
                           value=records.shown_category(record) or None, choices=[
                               Choice(title=text, value=code)
                               for code, text in records.category_options(
                                   record, self.prompts, self.settings.own_categories)]),
            TextInput(id="line", label=self.t("correct_summary_label"), is_required=True,
                      max_length=SUMMARY_MAX,
                      value=records.shown_summary(record)[:SUMMARY_MAX] or None))

    def _review_form(self, record: dict[str, Any], title: str, save: Verb, error: str,
                     *inputs: CardElement) -> AdaptiveCard:
        """A DSL's form on a record: its inputs, Save, and back to the summary."""
        rid = record["id"]
        body: list[CardElement] = [
            self.text(f"{self.t(title)}: {rid}", weight="Bolder", size="Medium")]
        if error:
            body.append(self.text(error, color="Attention"))
        body += [
            *inputs,
            ActionSet(actions=[
                action(self.t("save_label"), save, inputs=True, style="positive", r=rid),
                action(self.t("summary_label"), Verb.SUMMARY, r=rid),
            ]),
        ]
        return card(*body)

    def full_record(self, record: dict[str, Any]) -> AdaptiveCard:
        """The whole record, shown only to the DSL who asked (audited)."""
        text = records.render_text(record, self.prompts)
        pieces = [text[i:i + 4000] for i in range(0, min(len(text), 24000), 4000)]
        buttons: list[Action] = [action(self.t("summary_label"), Verb.SUMMARY, r=record["id"]),
                                 action(self.t("pdf_label"), Verb.PDF, r=record["id"])]
        if record.get("child_ref"):  # the child's chronology, as Slack's record view offers
            buttons.append(action(self.r("chronology_label"), Verb.CHRONOLOGY,
                                  ref=record["child_ref"]))
        return card(
            self.text(self.t("record_title"), weight="Bolder", size="Medium"),
            *[literal(p, font_type="Monospace") for p in pieces],
            ActionSet(actions=buttons),
        )

    # -- scheduled messages ----------------------------------------------------------
    def mentioning(self, shown: AdaptiveCard, mentions: list[tuple[str, str]]
                   ) -> list[CardElement]:
        """The line @mentioning ``mentions`` (id, name), its entities set on
        ``shown``; nothing for nobody."""
        tagged = [(user, mention_name(name)) for user, name in mentions[:MENTIONS_MAX]]
        tagged = [(user, name) for user, name in tagged if name]
        if not tagged:
            return []
        shown.msteams = TeamsCardProperties(entities=[
            Mention(text=f"<at>{name}</at>",
                    mentioned=MentionedEntity(id=user, name=name, mention_type="Person"))
            for user, name in tagged])
        return [self.text(" ".join(f"<at>{name}</at>" for _, name in tagged))]

    def reminder(self, kind: str, data: dict[str, Any], key: str, *, who: str = "",
                 mentions: list[tuple[str, str]] | None = None,
                 times: dict[str, str] | None = None) -> AdaptiveCard:
        """A message the schedule sends (see :mod:`bot.schedule`); its key is
        on the card, so after a crash the channel can be searched for it."""
        shown = card()
        items: list[CardElement] = []
        if kind == "escalate":
            items += [self.text(self.r("escalate_header"), weight="Bolder", size="Large",
                                color="Attention"),
                      *self.mentioning(shown, mentions or []),
                      self.text(self.r("escalate", d=data, who=mention_name(who) or who)),
                      ActionSet(actions=[action(
                          self.r("alert_ack_label"), Verb.ALERT_ACK, style="positive",
                          e=data["event_id"], u=data.get("user", ""),
                          a=data.get("answer", ""))])]
        elif kind in ("followup_due", "followup_overdue"):
            items += [*self.mentioning(shown, mentions or []),
                      self.text(self.r(kind, d=data), weight="Bolder"),
                      literal(clip(self.action_text(data["action"]))),
                      ActionSet(actions=[action(self.r("done_label"), Verb.FOLLOW_UP_DONE,
                                                style="positive", r=data["record_id"],
                                                f=data["id"])])]
        elif kind == "unacked":
            items += [self.text(self.r("unacked", d=data), weight="Bolder"),
                      *[literal(self.r("unacked_row", r=r, at=(times or {}).get(r["id"], "")))
                        for r in data["records"][:40]]]
        else:
            items += [self.text(line) for line in self.r(kind, d=data).splitlines()
                      if line.strip()]
        shown.body = [Container(id=f"{REMINDER_MARK}{key}", items=items)]
        return shown

    def action_text(self, action: str) -> str:
        """A follow-up's action: the flow's wording for a code, else the
        DSL's own words (shown literally)."""
        name = f"action_{action}"
        if self.prompts.has_block("record/labels.j2", name):
            return self.prompts.block("record/labels.j2", name)
        return action

    def follow_up_done(self, data: Payload, by: str, at: str) -> AdaptiveCard:
        """A follow-up reminder once done: who marked it, and when."""
        return card(literal(self.r("followup_done", by=by, at=at, id=data.r),
                            weight="Bolder", color="Good"))

    # -- the personal home -----------------------------------------------------------
    def home(self, *, open_sessions: list[tuple[str, str, str]], mine: list[dict[str, Any]],
             inbox: list[Any] | None, follow_ups: list[tuple[Any, str]],
             local: Any, cover: str = "", away: bool | None = None) -> AdaptiveCard:
        """The welcome card in a person's personal chat: Start, their
        unfinished decisions (Resume), their recent records, their
        follow-ups; for the DSL team, what waits for them and their tools.
        ``open_sessions`` as (id, started, status)."""
        body: list[CardElement] = [
            self.text(self.t("home_header"), weight="Bolder", size="Large"),
            self.text(self.t("home_intro")),
            *([literal(cover)] if cover else []),  # who covers while the DSL is away
            ActionSet(actions=[action(self.t("start_label"), Verb.NEW, style="positive")]),
        ]
        if away is not None:  # the DSL team's switch
            body.append(ActionSet(actions=[action(self.t("cover_label", away=away), Verb.COVER,
                                                  v="off" if away else "on")]))
        if open_sessions:
            body.append(self.text(self.t("home_open"), weight="Bolder", separator=True))
            for session_id, started, status in open_sessions[:10]:
                body += [self.text(self.t("home_open_row", started=started,
                                          sess={"status": status}), spacing="Small"),
                         ActionSet(actions=[action(self.t("resume_label"), Verb.RESUME,
                                                   s=session_id)])]
        body.append(self.text(self.t("home_mine"), weight="Bolder", separator=True))
        rows = [literal(self.t("home_mine_row", r=self._summary(r), at=local(r["created_at"])))
                for r in mine[:10]]
        body += rows or [self.text(self.t("home_none"), is_subtle=True)]
        if follow_ups:
            body.append(self.text(self.t("home_followups"), weight="Bolder", separator=True))
            for item, state in follow_ups[:15]:
                body += [literal(clip(self.t("home_followup_row", f=item, state=state,
                                             action=self.action_text(item.action)))),
                         ActionSet(actions=[action(self.r("done_label"), Verb.FOLLOW_UP_DONE,
                                                   r=item.record_id, f=item.id)])]
        if inbox is not None:
            body += self._inbox(inbox)
        return card(*body)

    def _summary(self, summary: dict[str, Any]) -> dict[str, str]:
        status = summary.get("review_status") or records.PENDING
        return {"id": summary["id"],
                "decision": self.prompts.block("record/labels.j2",
                                               f"decision_{summary.get('decision')}", default=""),
                "review": self.prompts.block("record/labels.j2", f"review_{status}",
                                             default=status)}

    def _inbox(self, inbox: list[Any]) -> list[CardElement]:
        """What waits for the DSL (each with its buttons), and their tools."""
        body: list[CardElement] = [
            self.text(self.t("home_inbox"), weight="Bolder", separator=True)]
        if not inbox:
            body.append(self.text(self.t("home_inbox_empty"), is_subtle=True))
        for item in inbox[:20]:
            buttons: list[Action] = [action(self.t("view_label"), Verb.VIEW, r=item.id)]
            if item.can_take_on:
                buttons.append(action(self.t("take_on_label", r={
                    "awaiting_dsl_decision": item.awaiting_decision}), Verb.TAKE_ON, r=item.id))
            body += [literal(f"{item.id}: " + self.t("home_inbox_row", item=item),
                             color="Attention" if item.urgent else "Default"),
                     ActionSet(actions=buttons)]
        body += [
            self.text(self.t("home_tools"), separator=True),
            TextInput(id="ref", label=self.r("chronology_ref_label"), max_length=60),
            ActionSet(actions=[action(self.t("chronology_show"), Verb.CHRONOLOGY,
                                      inputs=True),
                               action(self.t("chronology_pdf"), Verb.PDF, inputs=True)]),
            DateInput(id="start", label=self.r("csv_from_label")),
            DateInput(id="end", label=self.r("csv_to_label")),
            ActionSet(actions=[action(self.t("csv_show"), Verb.CSV, inputs=True)]),
        ]
        return body

    def long_text(self, title: str, text: str, *, monospace: bool = True,
                  pdf_of: str | None = None) -> AdaptiveCard:
        """A chronology or an export, as text on a card, for one person;
        with ``pdf_of`` (a child's reference), their chronology as a PDF too."""
        pieces = [text[i:i + 4000] for i in range(0, min(len(text), 24000), 4000)]
        style: dict[str, Any] = {"font_type": "Monospace"} if monospace else {}
        shown: list[CardElement] = [literal(title, weight="Bolder")]
        shown += [literal(p, **style) for p in pieces or [""]]
        if len(text) > 24000:
            shown.append(self.text(self.t("continued"), is_subtle=True))
        buttons: list[Action] = [action(self.t("home_header"), Verb.HOME)]
        if pdf_of is not None:
            buttons.append(action(self.t("pdf_label"), Verb.PDF, ref=pdf_of))
        shown.append(ActionSet(actions=buttons))
        return card(*shown)

    def file_offer(self, name: str, size: int, key: str) -> Attachment:
        """A file consent card: Teams asks the person to allow the file into
        their OneDrive, then tells the bot where to put it
        (https://learn.microsoft.com/microsoftteams/platform/resources/bot-v3/bots-files).
        ``key`` names the offer: the file itself stays with Jigsaw."""
        return Attachment(content_type=FILE_CONSENT, name=name, content={
            "description": self.t("file_description"), "sizeInBytes": size,
            "acceptContext": {"k": key}, "declineContext": {"k": key}})

    @staticmethod
    def file_sent(name: str, content_url: str, unique_id: str, file_type: str) -> Attachment:
        """The file once in the person's OneDrive, as Teams shows a file."""
        return Attachment(content_type=FILE_INFO, name=name, content_url=content_url,
                          content={"uniqueId": unique_id, "fileType": file_type})

    def anchor(self, n: int, mac: str) -> AdaptiveCard:
        """The ledger's head in the DSL channel; the card's id carries it,
        to be read back through Graph."""
        return card(Container(id=f"{ANCHOR_MARK}{n}-{mac}", items=[
            self.text(self.t("anchor", n=n, mac=mac), size="Small", is_subtle=True)]))
