"""Block Kit for every Jigsaw surface, built with slack_sdk's models so
Slack's length and count limits are checked before anything is sent.

All text a person typed goes through :func:`escape`, and every mrkdwn object
is ``verbatim`` (:func:`md`), so in Slack it shows literally: no mention,
link or formatting can be smuggled in, and a bare URL, ``#channel`` or
``@here`` stays text.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DatePickerElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot import record as records
from bot.conversation import USE_OFFERED
from bot.derive import SUMMARY_MAX
from bot.flow import Question, Source
from bot.prompts import Prompts
from bot.slack.wire import (
    Action,
    BlockId,
    ButtonValue,
    Modal,
    answer,
    choices_block,
    question_block,
)

# Slack's limits (text objects and blocks per message / view).
TEXT_LIMIT = 3000
BLOCKS_PER_MESSAGE = 50
BLOCKS_PER_VIEW = 100
# Slack refuses a message whose blocks carry too much text in all
# (``msg_blocks_too_long``) and does not say how much: each message is kept
# to this many characters of text.
MESSAGE_TEXT_BUDGET = 12_000
DRAFT_SHOWN = 6_000  # characters of a draft shown with its question
_ZWSP = "\u200b"
_FORMATTING = str.maketrans({c: f"{_ZWSP}{c}{_ZWSP}" for c in "*_~`"})


def escape(text: str) -> str:
    """Make typed text show literally in mrkdwn.

    Slack asks for ``&``, ``<`` and ``>`` to be entity-escaped (which defuses
    ``<!channel>``, ``<@U…>`` and ``<url|label>``); a zero-width space around
    ``* _ ~ ``` stops them pairing up into bold, italics, strike or code.
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.translate(_FORMATTING)


def escape_within(text: str, limit: int) -> str:
    """The escaped form of as much of ``text`` as fits in ``limit``
    characters, never cutting an entity or a guarded ``*`` in half.

    Escaping can make text five times longer (``&`` is ``&amp;``), so
    clipping before escaping is not enough to stay inside Slack's limits.
    """
    out: list[str] = []
    size = 0
    for ch in text:
        piece = escape(ch)
        size += len(piece)
        if size > limit:
            break
        out.append(piece)
    return "".join(out)


def chunks(text: str, size: int = TEXT_LIMIT - 100) -> list[str]:
    """Split long text on line or word breaks into pieces Slack accepts."""
    pieces: list[str] = []
    while len(text) > size:
        cut = text.rfind("\n", 0, size)
        if cut < size // 2:
            cut = text.rfind(" ", 0, size)
        if cut < size // 2:
            cut = size
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n")
    if text:
        pieces.append(text)
    return pieces


def _text_size(block: dict[str, Any]) -> int:
    size = 0
    stack: list[Any] = [block]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("type") in ("mrkdwn", "plain_text") and isinstance(item.get("text"), str):
                size += len(item["text"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return size


def split_messages(blocks: list[dict[str, Any]], *, budget: int = MESSAGE_TEXT_BUDGET
                   ) -> list[list[dict[str, Any]]]:
    """Blocks as consecutive messages, each within Slack's limits: at most
    50 blocks and ``budget`` characters of text."""
    messages: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for block in blocks:
        cost = _text_size(block)
        if current and (len(current) >= BLOCKS_PER_MESSAGE or size + cost > budget):
            messages.append(current)
            current, size = [], 0
        current.append(block)
        size += cost
    if current:
        messages.append(current)
    return messages


def md(text: str) -> MarkdownTextObject:
    """A mrkdwn text object Slack shows as sent: ``verbatim`` stops it
    turning bare URLs, ``#channel`` and ``@here`` typed by staff into links
    and mentions (escaping alone cannot: they are plain characters)."""
    return MarkdownTextObject(text=text, verbatim=True)


def to_dicts(blocks: Iterable[Block]) -> list[dict[str, Any]]:
    """Serialise and validate (slack_sdk raises on any limit broken)."""
    return [b.to_dict() for b in blocks]


class Blocks:
    """Builds the messages and views; wording comes from ``prompts/slack/``."""

    def __init__(self, prompts: Prompts, settings: Any) -> None:
        self.prompts = prompts
        self.settings = settings

    def t(self, name: str, **ctx: Any) -> str:
        return self.prompts.render(f"slack/{name}.j2", s=self.settings, **ctx)

    # -- the conversation --------------------------------------------------
    def question(self, session_id: str, q: Question, notices: list[str] | None = None,
                 *, offered: str = "") -> list[dict[str, Any]]:
        blocks: list[Block] = []
        for notice in notices or []:
            blocks.append(SectionBlock(text=md(notice)))
        if q.preface:  # typed by the member of staff: shown literally, and whole
            for piece in chunks(escape(q.preface)):
                blocks.append(SectionBlock(text=md(piece)))
        blocks.append(SectionBlock(
            block_id=question_block(q.step),
            text=md(self.t("question", q=q)),
        ))
        if q.help:
            blocks.append(ContextBlock(elements=[md(q.help)]))
        if q.earlier:
            blocks.append(ContextBlock(elements=[md(self.t("earlier", earlier=escape(q.earlier)))]))
        for _, reminder in q.reminders:
            blocks.append(SectionBlock(text=md(f"> {reminder}")))
        if q.draft:
            # The draft is kept whole in the session; shown here only as far
            # as keeps the message within Slack's limits (else the question
            # itself could never be posted again).
            shown = escape_within(q.draft, DRAFT_SHOWN)
            more = len(q.draft) - len(html.unescape(shown.replace(_ZWSP, "")))
            for piece in chunks(self.t("draft", draft=shown, more=max(more, 0))):
                blocks.append(ContextBlock(elements=[md(piece)]))
        buttons = [
            ButtonElement(text=PlainTextObject(text=label[:75], emoji=False),
                          action_id=answer(i),
                          value=ButtonValue(session=session_id, step=q.step, value=value).encode())
            for i, (value, label) in enumerate(q.choices)
        ]
        if offered:
            # A reported message's text: used with one click, or typed again.
            for piece in chunks(self.t("offered", text=escape_within(offered, DRAFT_SHOWN))):
                blocks.append(SectionBlock(text=md(piece)))
            buttons.append(ButtonElement(
                text=self.t("offered_label"), action_id=answer(len(buttons)), style="primary",
                value=ButtonValue(session=session_id, step=q.step, value=USE_OFFERED).encode()))
        if q.kind == "text":
            blocks.append(ContextBlock(elements=[md(
                self.t("type_reply", q=q))]))
            if q.optional:
                skip = ButtonValue(session=session_id, step=q.step, value="skip")
                buttons.append(ButtonElement(text=self.t("skip_label"),
                                             action_id=Action.ANSWER_SKIP, value=skip.encode()))
        for start in range(0, len(buttons), 5):
            blocks.append(ActionsBlock(block_id=choices_block(start),
                                       elements=buttons[start:start + 5]))
        blocks.append(self.nav(session_id, q))
        blocks.append(ContextBlock(elements=[md(self.prompts.render(
            "notices/footer.j2", s=self.settings))]))
        return to_dicts(blocks)

    def nav(self, session_id: str, q: Question) -> ActionsBlock:
        value = ButtonValue(session=session_id, step=q.step).encode()
        # Always all four, in the same place: at the first question Back
        # just says there is nothing to go back to; Help explains this question.
        elements = [
            ButtonElement(text=self.t("help_label"), action_id=Action.NAV_HELP, value=value),
            ButtonElement(text=self.t("back_label"), action_id=Action.NAV_BACK, value=value),
            ButtonElement(text=self.t("pause_label"), action_id=Action.NAV_PAUSE, value=value),
            ButtonElement(text=self.t("cancel_label"), action_id=Action.NAV_CANCEL, value=value,
                          style="danger"),
        ]
        return ActionsBlock(block_id=BlockId.NAV, elements=elements)

    def answered(self, q: Question, answer_label: str, notices: list[str] | None = None
                 ) -> list[dict[str, Any]]:
        """The question as it stands once answered: no buttons left to click."""
        blocks: list[Block] = [SectionBlock(text=md(
            self.t("answered", q=q, answer=escape_within(answer_label,
                                                              TEXT_LIMIT - 500))))]
        for notice in notices or []:
            blocks.append(SectionBlock(text=md(notice)))
        return to_dicts(blocks)

    def plain(self, text: str) -> list[dict[str, Any]]:
        return to_dicts([SectionBlock(text=md(p)) for p in chunks(text)])

    def resume_offer(self, session_id: str, what: str) -> list[dict[str, Any]]:
        return to_dicts([
            SectionBlock(text=md(self.t("resume_offer", what=escape(what)))),
            ActionsBlock(block_id=BlockId.RESUME, elements=[
                ButtonElement(text=self.t("resume_label"), action_id=Action.SESSION_RESUME,
                              value=ButtonValue(session=session_id).encode(), style="primary"),
                ButtonElement(text=self.t("new_label"), action_id=Action.SESSION_NEW,
                              value=ButtonValue(session=session_id).encode()),
            ]),
        ])

    # -- the DSL channel -----------------------------------------------------
    def urgent_alert(self, user: str, answer: str, mention: str,
                     event_id: str | None = None) -> list[dict[str, Any]]:
        blocks: list[Block] = [
            HeaderBlock(text=self.t("alert_header")),
            SectionBlock(text=md(
                self.t("alert", user=user, answer=answer, mention=mention))),
        ]
        if event_id:
            blocks.append(self.alert_ack(event_id))
        return to_dicts(blocks)

    def alert_ack(self, event_id: str) -> ActionsBlock:
        return ActionsBlock(block_id=BlockId.ALERT, elements=[ButtonElement(
            text=self.r("alert_ack_label"), action_id=Action.ALERT_ACK,
            value=ButtonValue(event=event_id).encode(),
            style="primary")])

    def alert_acknowledged(self, message_blocks: list[dict[str, Any]], by: str
                           ) -> list[dict[str, Any]]:
        """An alert message once acknowledged: its button replaced by who."""
        kept = [b for b in message_blocks if b.get("block_id") != "alert"]
        return kept + to_dicts([ContextBlock(elements=[md(
            self.r("alert_acked", by=by))])])

    # -- scheduled messages ----------------------------------------------------
    def r(self, block: str, **ctx: Any) -> str:
        return self.prompts.block("slack/reminders.j2", block, s=self.settings, **ctx)

    def action_text(self, action: str) -> str:
        """A follow-up's action: the flow's wording for a code, else the
        DSL's own words, escaped."""
        name = f"action_{action}"
        if self.prompts.has_block("record/labels.j2", name):
            return self.prompts.block("record/labels.j2", name)
        return escape(action)

    def done_button(self, record_id: str, follow_up_id: str) -> ButtonElement:
        return ButtonElement(text=self.r("done_label"), action_id=Action.FOLLOWUP_DONE,
                             value=ButtonValue(record=record_id, follow_up=follow_up_id).encode())

    def reminder(self, kind: str, data: dict[str, Any], *, mention: str, to_channel: bool
                 ) -> tuple[str, list[dict[str, Any]]]:
        """A scheduled message: (notification text, blocks)."""
        text = self.r(f"{kind}_text")
        blocks: list[Block] = []
        if kind == "escalate":
            blocks += [HeaderBlock(text=self.r("escalate_header")),
                       SectionBlock(text=md(self.r(
                           "escalate", d=data, mention=mention, to_channel=to_channel))),
                       self.alert_ack(data["event_id"])]
        elif kind in ("followup_due", "followup_overdue"):
            body = self.r(kind, d=data, action=self.action_text(data["action"]))
            blocks += [SectionBlock(text=md(piece))
                       for piece in chunks(body)]
            blocks.append(ActionsBlock(block_id=BlockId.FOLLOWUP, elements=[
                self.done_button(data["record_id"], data["id"])]))
        else:
            blocks += [SectionBlock(text=md(piece))
                       for piece in chunks(self.r(kind, d=data))]
        return text, to_dicts(blocks[:BLOCKS_PER_MESSAGE])

    def record_message(self, record: dict[str, Any], *, review: bool = True
                       ) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
        """The channel message for a record, one phone screen: what makes it
        urgent, then the essentials (:func:`bot.record.headline`) in two
        columns, the one-line summary, what is asked of the DSL, the buttons
        ("View full record" opens the rest). The second item (thread
        replies) is kept for callers and is always empty now."""
        rows = {key: (label, value) for key, label, value in records.headline(
            record, self.prompts)}
        blocks: list[Block] = [HeaderBlock(text=self.t("record_header", r=record)[:150])]
        if "urgency" in rows:  # trusted wording
            blocks.append(SectionBlock(block_id=BlockId.RECORD_URGENT, text=md(
                self.t("record_urgent", urgency=rows["urgency"][1]) + (
                    "\n" + escape_within(rows["urgent_detail"][1], 1500)
                    if "urgent_detail" in rows else ""))))
        shown = {key: escape_within(value, 600) for key, (_, value) in rows.items()}
        if record.get("source") == Source.SLACK and "recorded_by" in shown:
            # Slack shows a mention as the person's name, and notifies them.
            shown["recorded_by"] = f"<@{record['recorded_by']}>"
        fields = [md(f"*{label}*\n{shown[key]}")
                  for key, (label, _) in rows.items() if key in self.HEADLINE_FIELDS]
        blocks.append(SectionBlock(block_id=BlockId.RECORD_FIELDS, fields=fields[:10]))
        if "summary_line" in rows:
            label, value = rows["summary_line"]
            blocks.append(SectionBlock(block_id=BlockId.RECORD_SUMMARY, text=md(
                f"*{label}*\n{escape_within(value, 1200)}")))
        asked = [f"*{label}:* {escape_within(value, 1200)}" for key, (label, value)
                 in rows.items() if key in ("asked", "next")]
        if asked:
            blocks.append(SectionBlock(block_id=BlockId.RECORD_ASKED, text=md("\n".join(asked))))
        if review:
            blocks.append(self.review_actions(record))
        blocks.append(ContextBlock(elements=[md(self.t("record_footer", r=record))]))
        return to_dicts(blocks), []

    # The two-column part of the post, in reading order.
    HEADLINE_FIELDS = ("child_ref", "category", "recorded_by", "created_at", "decision",
                       "recipient", "requested_by", "decided_by", "outcome", "status")

    def review_actions(self, record: dict[str, Any]) -> ActionsBlock:
        value = ButtonValue(record=record["id"]).encode()
        elements = []
        if record["review_status"] == records.PENDING:
            elements.append(ButtonElement(text=self.t("ack_label"), action_id=Action.REVIEW_ACK,
                                          value=value, style="primary"))
        if records.can_take_on(record):
            elements.append(ButtonElement(text=self.t("take_on_label", r=record),
                                          action_id=Action.REVIEW_TAKE_ON, value=value))
        elements += [
            ButtonElement(text=self.t("followup_label"), action_id=Action.REVIEW_FOLLOWUP,
                          value=value),
            ButtonElement(text=self.t("note_label"), action_id=Action.REVIEW_NOTE, value=value),
        ]
        if records.outcome_due(record):
            elements.append(ButtonElement(text=self.t("outcome_label"),
                                          action_id=Action.REVIEW_OUTCOME, value=value))
        elements += [
            ButtonElement(text=self.t("correct_label"), action_id=Action.REVIEW_CORRECT,
                          value=value),
            ButtonElement(text=self.t("view_label"), action_id=Action.REVIEW_VIEW, value=value),
        ]
        if records.basis_to_confirm(record):
            elements.append(ButtonElement(text=self.t("basis_label"),
                                          action_id=Action.REVIEW_BASIS, value=value))
        if record.get("status") != records.CLOSED:
            elements.append(ButtonElement(text=self.t("close_record_label"),
                                          action_id=Action.REVIEW_CLOSE, value=value))
        return ActionsBlock(block_id=BlockId.REVIEW, elements=elements)

    # -- modals ----------------------------------------------------------------
    def followup_modal(self, record_id: str) -> dict[str, Any]:
        return self._review_modal(
            Modal.REVIEW_FOLLOWUP, record_id, "followup_title",
            InputBlock(block_id=BlockId.NOTE, label=self.t("followup_note_label"),
                       element=PlainTextInputElement(action_id=Action.INPUT, multiline=True,
                                                     max_length=1000)),
            InputBlock(block_id=BlockId.DUE, label=self.t("followup_due_label"),
                       element=DatePickerElement(action_id=Action.INPUT)))

    def note_modal(self, record_id: str) -> dict[str, Any]:
        return self._review_modal(
            Modal.REVIEW_NOTE, record_id, "note_title",
            InputBlock(block_id=BlockId.NOTE, label=self.t("note_field_label"),
                       element=PlainTextInputElement(action_id=Action.INPUT, multiline=True,
                                                     max_length=2000)))

    def outcome_modal(self, record_id: str) -> dict[str, Any]:
        """What happened after the decision: the outcome (a menu), the
        referral's reference and a note, both optional."""
        words = self.prompts.wording
        return self._review_modal(
            Modal.REVIEW_OUTCOME, record_id, "outcome_title",
            InputBlock(block_id=BlockId.OUTCOME, label=self.t("outcome_field_label"),
                       element=StaticSelectElement(action_id=Action.INPUT, options=[
                           Option(value=code, text=words(f"outcome_{code}")[:75])
                           for code in records.OUTCOMES])),
            InputBlock(block_id=BlockId.REF, label=self.t("outcome_ref_label"), optional=True,
                       element=PlainTextInputElement(action_id=Action.INPUT, max_length=100)),
            InputBlock(block_id=BlockId.NOTE, label=self.t("note_field_label"), optional=True,
                       element=PlainTextInputElement(action_id=Action.INPUT, multiline=True,
                                                     max_length=2000)))

    def correct_modal(self, record: dict[str, Any]) -> dict[str, Any]:
        """The category and the one-line summary, as the record shows them
        now, for the DSL to correct (what was read first is kept)."""
        options = [Option(value=code, text=text[:75]) for code, text in records.category_options(
            record, self.prompts, self.settings.own_categories)]
        now = records.shown_category(record)
        initial = next((o for o in options if o.value == now), None)
        return self._review_modal(
            Modal.REVIEW_CORRECT, record["id"], "correct_title",
            InputBlock(block_id=BlockId.CATEGORY, label=self.t("correct_category_label"),
                       element=StaticSelectElement(action_id=Action.INPUT, options=options,
                                                   initial_option=initial)),
            InputBlock(block_id=BlockId.SUMMARY, label=self.t("correct_summary_label"),
                       element=PlainTextInputElement(
                           action_id=Action.INPUT, max_length=SUMMARY_MAX,
                           initial_value=records.shown_summary(record)[:SUMMARY_MAX] or None)))

    def _review_modal(self, callback: Modal, record_id: str, title: str,
                      *inputs: InputBlock) -> dict[str, Any]:
        """A DSL's form on a record; the record id rides in the view's metadata."""
        return View(
            type="modal",
            callback_id=callback,
            private_metadata=ButtonValue(record=record_id).encode(),
            title=self.t(title),
            submit=self.t("save_label"),
            close=self.t("close_label"),
            blocks=list(inputs),
        ).to_dict()

    def record_modal(self, record: dict[str, Any]) -> dict[str, Any]:
        text = records.render_text(record, self.prompts)
        blocks: list[Block] = [SectionBlock(text=md(f"```{p}```"))
                               for p in chunks(escape_code(text), TEXT_LIMIT - 10)]
        blocks = blocks[:BLOCKS_PER_VIEW - 1]
        buttons = [ButtonElement(text=self.r("pdf_label"), action_id=Action.RECORD_PDF,
                                 value=ButtonValue(record=record["id"]).encode())]
        if record.get("child_ref"):
            buttons.append(ButtonElement(text=self.r("chronology_label"),
                                         action_id=Action.RECORD_CHRONOLOGY,
                                         value=ButtonValue(child_ref=record["child_ref"][:1000]).encode()))
        blocks.append(ActionsBlock(block_id=BlockId.RECORD_EXPORT, elements=buttons))
        return View(type="modal", callback_id=Modal.RECORD, title=self.t("record_title"),
                    close=self.t("close_label"), blocks=blocks).to_dict()

    # -- chronology and exports (DSL) ---------------------------------------------
    def chronology_request_modal(self) -> dict[str, Any]:
        return View(
            type="modal", callback_id=Modal.CHRONOLOGY_ASK, title=self.r("chronology_title"),
            submit=self.r("chronology_show"), close=self.t("close_label"),
            blocks=[InputBlock(block_id=BlockId.CHILD_REF, label=self.r("chronology_ref_label"),
                               element=PlainTextInputElement(action_id=Action.INPUT,
                                                             max_length=100))],
        ).to_dict()

    def chronology_modal(self, child_ref: str, text: str) -> dict[str, Any]:
        blocks: list[Block] = [SectionBlock(text=md(f"```{p}```"))
                               for p in chunks(escape_code(text), TEXT_LIMIT - 10)]
        blocks = blocks[:BLOCKS_PER_VIEW - 1]
        blocks.append(ActionsBlock(block_id=BlockId.CHRONOLOGY_EXPORT, elements=[ButtonElement(
            text=self.r("pdf_label"), action_id=Action.CHRONOLOGY_PDF,
            value=ButtonValue(child_ref=child_ref).encode())]))
        return View(type="modal", callback_id=Modal.CHRONOLOGY,
                    title=self.r("chronology_title"), close=self.t("close_label"),
                    blocks=blocks).to_dict()

    def csv_modal(self) -> dict[str, Any]:
        return View(
            type="modal", callback_id=Modal.CSV_ASK, title=self.r("csv_title")[:24],
            submit=self.r("csv_submit"), close=self.t("close_label"),
            blocks=[InputBlock(block_id=BlockId.FROM, label=self.r("csv_from_label"),
                               element=DatePickerElement(action_id=Action.INPUT)),
                    InputBlock(block_id=BlockId.TO, label=self.r("csv_to_label"),
                               element=DatePickerElement(action_id=Action.INPUT))],
        ).to_dict()

    # -- App Home -------------------------------------------------------------
    def home(self, *, open_sessions: list[dict[str, Any]], mine: Sequence[Mapping[str, Any]],
             awaiting: Sequence[Mapping[str, Any]] | None,
             my_follow_ups: list[Any] | None = None, overdue: list[Any] | None = None,
             today: Any = None, cover: str = "", away: bool | None = None) -> dict[str, Any]:
        """``cover``: who covers while the DSL is away, for everyone; ``away``:
        the DSL team's switch (None for anyone else)."""
        blocks: list[Block] = [
            HeaderBlock(text=self.t("home_header")),
            SectionBlock(text=md(self.t("home_intro"))),
            *([SectionBlock(text=md(escape(cover)))] if cover else []),
            ActionsBlock(block_id=BlockId.HOME_START, elements=[ButtonElement(
                text=self.t("start_label"), action_id=Action.HOME_START, value="start",
                style="primary")]),
            DividerBlock(),
        ]
        if open_sessions:
            blocks.append(SectionBlock(text=md(self.t("home_open"))))
            for s in open_sessions[:10]:
                blocks.append(SectionBlock(
                    text=md(self.t("home_open_row", sess=s)),
                    accessory=ButtonElement(text=self.t("resume_label"),
                                            action_id=Action.HOME_RESUME,
                                            value=ButtonValue(session=s["id"]).encode())))
        # Lists of rows can outgrow one text object (escaped child references
        # are up to five times longer than typed), so they are split.
        for piece in chunks(self.t("home_mine", rows=[self._row(r) for r in mine])):
            blocks.append(SectionBlock(text=md(piece)))
        if my_follow_ups is not None:
            blocks.append(DividerBlock())
            blocks += self._follow_up_rows(my_follow_ups, today, "home_followups",
                                           "home_no_followups", with_done=True)
        if awaiting is not None:
            blocks.append(DividerBlock())
            if not awaiting:
                blocks.append(SectionBlock(text=md(self.t("home_awaiting", rows=[]))))
            else:  # each opens its record (the view is audited), urgent first
                blocks.append(SectionBlock(text=md(self.t("home_awaiting_header"))))
            for item in awaiting[:20]:
                blocks.append(SectionBlock(
                    text=md(self.t("home_awaiting_row", r={
                        **item, "line": escape_within(item["line"], 1500)})),
                    accessory=ButtonElement(
                        text=self.t("view_label"), action_id=Action.REVIEW_VIEW,
                        value=ButtonValue(record=item["id"]).encode())))
            blocks += self._follow_up_rows(overdue or [], today, "home_overdue",
                                           "home_no_overdue", with_done=True)
            blocks += [DividerBlock(), SectionBlock(text=md(
                self.r("home_dsl_tools"))), ActionsBlock(block_id=BlockId.DSL_TOOLS, elements=[
                    ButtonElement(text=self.r("chronology_label"), action_id=Action.DSL_CHRONOLOGY,
                                  value="chronology"),
                    ButtonElement(text=self.r("csv_label"), action_id=Action.DSL_CSV,
                                  value="csv")])]
        if away is not None:
            blocks.append(ActionsBlock(block_id=BlockId.COVER, elements=[ButtonElement(
                text=self.t("cover_label", away=away), action_id=Action.HOME_COVER,
                value=ButtonValue(value="off" if away else "on").encode())]))
        return View(type="home", blocks=blocks[:BLOCKS_PER_VIEW]).to_dict()

    def _follow_up_rows(self, items: list[Any], today: Any, title: str, empty: str, *,
                        with_done: bool, limit: int = 15) -> list[Block]:
        blocks: list[Block] = [SectionBlock(text=md(self.r(title)))]
        if not items:
            blocks.append(ContextBlock(elements=[md(self.r(empty))]))
        for item in items[:limit]:
            text = self.r("home_followup_row", f=item, state=item.state(today),
                          action=escape_within(item.action, 1500)
                          if not self.prompts.has_block("record/labels.j2",
                                                        f"action_{item.action}")
                          else self.action_text(item.action))
            blocks.append(SectionBlock(
                text=md(text),
                accessory=self.done_button(item.record_id, item.id) if with_done else None))
        return blocks

    def _row(self, summary: Mapping[str, Any]) -> dict[str, str]:
        status = summary.get("review_status") or records.PENDING
        return {
            "id": summary["id"],
            "child_ref": escape(summary.get("child_ref") or ""),
            "created_at": summary.get("created_at") or "",
            "decision": self.prompts.block("record/labels.j2",
                                           f"decision_{summary.get('decision')}", default=""),
            "review": self.prompts.block("record/labels.j2", f"review_{status}", default=status),
            "recorded_by": summary.get("recorded_by") or "",
        }


def escape_code(text: str) -> str:
    """Inside a code block only the three entities matter; backticks are
    swapped for a look-alike so they cannot close the block early."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("`", "\u02cb"))
