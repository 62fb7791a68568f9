"""Slack's wire protocol, named once: the ids of actions, blocks and views,
and the value a button carries. The app, its tests and the benchmark all
speak it through this module, so an id is never spelled out twice.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields
from enum import StrEnum


class Action(StrEnum):
    """``action_id`` of every button the app makes (answers: :func:`answer`)."""

    ANSWER_SKIP = "answer_skip"
    NAV_BACK = "nav_back"
    NAV_PAUSE = "nav_pause"
    NAV_CANCEL = "nav_cancel"
    NAV_HELP = "nav_help"
    SESSION_RESUME = "session_resume"
    SESSION_NEW = "session_new"
    HOME_START = "home_start"
    HOME_RESUME = "home_resume"
    HOME_COVER = "home_cover"
    ALERT_ACK = "alert_ack"
    FOLLOWUP_DONE = "followup_done"
    REVIEW_ACK = "review_ack"
    REVIEW_TAKE_ON = "review_take_on"
    REVIEW_FOLLOWUP = "review_followup"
    REVIEW_NOTE = "review_note"
    REVIEW_VIEW = "review_view"
    REVIEW_BASIS = "review_confirm_basis"
    REVIEW_CLOSE = "review_close"
    REVIEW_OUTCOME = "review_outcome"
    REVIEW_CORRECT = "review_correct"
    RECORD_PDF = "record_pdf"
    RECORD_CHRONOLOGY = "record_chronology"
    CHRONOLOGY_PDF = "chronology_pdf"
    DSL_CHRONOLOGY = "dsl_chronology"
    DSL_CSV = "dsl_csv"
    # The one input element inside each modal input block.
    INPUT = "value"


ANSWER_PREFIX = "answer_"
NAVIGATION = (Action.NAV_BACK, Action.NAV_PAUSE, Action.NAV_CANCEL, Action.NAV_HELP)
REVIEW = (Action.REVIEW_ACK, Action.REVIEW_TAKE_ON, Action.REVIEW_FOLLOWUP,
          Action.REVIEW_NOTE, Action.REVIEW_VIEW, Action.REVIEW_BASIS, Action.REVIEW_CLOSE,
          Action.REVIEW_OUTCOME, Action.REVIEW_CORRECT)
EXPORTS = (Action.RECORD_PDF, Action.RECORD_CHRONOLOGY, Action.CHRONOLOGY_PDF)
DSL_TOOLS = (Action.DSL_CHRONOLOGY, Action.DSL_CSV)


def answer(index: int) -> str:
    """The ``action_id`` of a question's ``index``-th choice button."""
    return f"{ANSWER_PREFIX}{index}"


def one_of(actions: tuple[Action, ...]) -> re.Pattern[str]:
    """A Bolt action matcher for exactly these ids."""
    return re.compile("^(" + "|".join(re.escape(a.value) for a in actions) + ")$")


ANSWERS = re.compile("^" + re.escape(ANSWER_PREFIX))


class Modal(StrEnum):
    """``callback_id`` of every modal."""

    REVIEW_FOLLOWUP = "review_followup_submit"
    REVIEW_NOTE = "review_note_submit"
    REVIEW_OUTCOME = "review_outcome_submit"
    REVIEW_CORRECT = "review_correct_submit"
    RECORD = "record_view"
    CHRONOLOGY_ASK = "chronology_submit"
    CHRONOLOGY = "chronology_view"
    CSV_ASK = "csv_submit"


class BlockId(StrEnum):
    """``block_id`` of blocks the app reads back (inputs) or finds again."""

    NAV = "nav"
    RESUME = "resume"
    ALERT = "alert"
    FOLLOWUP = "followup"
    REVIEW = "review"
    COVER = "cover"
    NOTE = "note"
    DUE = "due"
    OUTCOME = "outcome"
    REF = "ref"
    CATEGORY = "category"
    SUMMARY = "summary_line"
    CHILD_REF = "child_ref"
    FROM = "from"
    TO = "to"
    RECORD_EXPORT = "record_export"
    CHRONOLOGY_EXPORT = "chronology_export"
    HOME_START = "home_start"
    DSL_TOOLS = "dsl_tools"
    RECORD_URGENT = "record_urgent"
    RECORD_FIELDS = "record_fields"
    RECORD_SUMMARY = "record_summary"
    RECORD_ASKED = "record_asked"


def question_block(step: str) -> str:
    return f"q:{step}"


def choices_block(first: int) -> str:
    return f"choices:{first}"


def more_block(key: str, index: int) -> str:
    return f"more:{key}:{index}"


@dataclass(frozen=True)
class ButtonValue:
    """What a button carries, as short JSON (Slack allows 2,000 characters).

    Only fields that are set are sent; decoding anything we did not make
    (tampered, or from an old version) gives an empty value, never an error.
    """

    session: str = ""
    step: str = ""
    value: str = ""
    event: str = ""
    record: str = ""
    follow_up: str = ""
    child_ref: str = ""

    # One letter a field on the wire: the values are small and many.
    _KEYS = {"session": "s", "step": "st", "value": "v", "event": "e", "record": "r",
             "follow_up": "f", "child_ref": "c"}

    def encode(self) -> str:
        data = {self._KEYS[k]: v for k, v in asdict(self).items() if v}
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def decode(cls, raw: object) -> ButtonValue:
        try:
            data = json.loads(raw) if isinstance(raw, str) else None
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return cls()
        by_key = {v: k for k, v in cls._KEYS.items()}
        return cls(**{by_key[k]: v for k, v in data.items()
                      if k in by_key and isinstance(v, str)})

    def has(self, *names: str) -> bool:
        """Whether every named field is set."""
        known = {f.name for f in fields(self)}
        return all(n in known and getattr(self, n) for n in names)
