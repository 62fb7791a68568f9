"""Checks and clean-up for what people type.

Every check raises :class:`InvalidAnswer` with a code; the wording of the
message the person sees lives in ``prompts/errors.j2`` under that code.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

# A draft (an answer refused, kept so nothing typed is lost) holds up to this
# many characters: more than Slack (40,000) or Teams (28 KB) delivers in one
# message, so all of any message typed is kept.
DRAFT_LIMIT = 50_000

# Words that mean "I have nothing to add" for an optional free-text step.
SKIP_WORDS = frozenset({"skip", "none", "n/a", "na", "-", "no", "nothing"})

# C0/C1 controls except tab and newline; also bidi overrides, which can make
# a record read differently from what was typed.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# Half of a UTF-16 pair, sent alone by a broken client: not text, and it
# cannot be written as UTF-8.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_FULL_NAME = re.compile(r"^[A-Z][a-z'\-]+(?:\s+[A-Z][a-z'\-]+)+$")


@dataclass
class InvalidAnswer(ValueError):
    """An answer we cannot accept; ``code`` picks the message template."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code} {self.params}" if self.params else self.code


def clean_text(raw: str, *, max_len: int, min_len: int = 1) -> str:
    """Normalise typed text and check its length.

    Control characters are dropped (they corrupt logs and displays), Unicode is
    put in NFC so the same words always compare equal, and whitespace at the
    ends is trimmed. Emoji and right-to-left scripts are kept as typed.
    """
    if not isinstance(raw, str):
        raise InvalidAnswer("not_text")
    if "\x00" in raw or _SURROGATE.search(raw) or _looks_binary(raw):
        raise InvalidAnswer("binary")
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text).strip()
    if len(text) < min_len:
        raise InvalidAnswer("empty" if not text else "too_short", {"min": min_len})
    if len(text) > max_len:
        raise InvalidAnswer("too_long", {"max": max_len, "length": len(text)})
    return text


def storable(text: str) -> str:
    """``text`` with any lone surrogate replaced, so it can be stored as
    UTF-8 (used for drafts, which keep even what was refused)."""
    return _SURROGATE.sub("\ufffd", text)


def _looks_binary(raw: str) -> bool:
    if not raw:
        return False
    bad = sum(1 for ch in raw if unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn")
              and ch not in "\n\r\t")
    return bad > max(8, len(raw) // 10)


# Initials: up to four letters, each may be followed by a dot, space or hyphen
# ("EF", "J.S.", "A B-C"), in any script.
_INITIALS = re.compile(r"^(?:[^\W\d_][.\s\-]*){1,4}$")
# A word of a name: letters (any script, so "Zoë"), joined by an apostrophe or
# hyphen ("O'Neil", "Smith-Jones"), any capitals ("McDonald", "john").
_NAME_WORD = re.compile(r"^[^\W\d_]+(?:['\u2019\-][^\W\d_]+)*\.?$")


def looks_like_name(text: str) -> bool:
    """Two or more words of letters ("john smith", "Smith, John",
    "Liam O'Neil", "Zoë Brontë"), or one that is not in capitals ("Jamie"):
    what a name looks like."""
    words = [w for w in re.split(r"[\s,]+", text.strip()) if w]
    named = [w for w in words if _NAME_WORD.match(w) and sum(c.isalpha() for c in w) >= 2]
    if len(words) == 1 and named:
        word = named[0]
        return sum(c.isalpha() for c in word) >= 3 and not word.isupper()
    return len(named) >= 2


# Characters that show nothing, or change how the rest reads, in a child's
# reference: format characters (zero-width spaces, direction marks such as
# U+200F and U+061C) and the general combining marks left after NFC (an
# overlay such as U+0336 strikes the reference through). Marks of scripts that
# need them (Devanagari, Arabic vowels) are in other blocks and kept.
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def visible(text: str) -> str:
    """``text`` without invisible or overlaid characters (see above)."""
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return _COMBINING.sub("", text).strip()


def child_reference(text: str, *, pattern: str = "", confirmed: bool = False) -> str:
    """A child is named by initials or the school's own reference (``pattern``,
    a regular expression), never a full name, because chat is not a child
    protection file. Anything else is asked about (raising ``full_name`` or
    ``child_ref_format``) and taken only when typed again (``confirmed``)."""
    text = visible(text)
    if not text:
        raise InvalidAnswer("empty")
    if len(text) > 40:
        raise InvalidAnswer("too_long", {"max": 40, "length": len(text)})
    if confirmed or (_INITIALS.match(text) and not looks_like_name(text)):
        return text
    if pattern:
        if re.fullmatch(pattern, text):
            return text
    elif not looks_like_name(text):
        return text  # no school format set: anything but a name
    raise InvalidAnswer("full_name" if looks_like_name(text) else "child_ref_format")


# Words that make another child a sibling of the child the record is about.
_SIBLING = re.compile(r"sister|brother|sibling|twin", re.IGNORECASE)
_CHILD_SEP = re.compile(r"\s*(?:[,;\n]|\band\b|&)\s*", re.IGNORECASE)


def other_children(text: str) -> list[tuple[str, str]]:
    """Other children named in one answer, e.g. ``"CD (sister), EF (Year 10)"``:
    each a reference and a note (what is in brackets or after a dash)."""
    found: list[tuple[str, str]] = []
    for part in _CHILD_SEP.split(text.strip()):
        match = re.match(r"\s*([^()\-–:]+?)\s*(?:[(\-–:]\s*(.*?)\)?\s*)?$", part)
        if match and match.group(1).strip():
            found.append((match.group(1).strip(), (match.group(2) or "").strip()))
    return found


def child_references(text: str, *, pattern: str = "", confirmed: bool = False) -> str:
    """Several children in one answer: each reference checked as
    :func:`child_reference` checks one."""
    for ref, _note in other_children(text):
        child_reference(ref, pattern=pattern, confirmed=confirmed)
    return text


def child_role(note: str, *, default: str = "other") -> str:
    return "sibling" if _SIBLING.search(note) else default


_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y", "%d.%m.%Y", "%d/%m")
# A day and month in words, with or without the year: "1 Dec", "1st December 2026".
_WORD_DATE_FORMATS = ("%d %b %Y", "%d %B %Y", "%d %b", "%d %B")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# "14:00", "14.00", "2pm", "2.30pm", "2:30 pm", "9am", "noon", "midday".
_TIME = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?$")
# Words people put around a date that say nothing about it.
_FILLER = frozenset({"at", "on", "by", "before", "this", "the", "of", ","})


def due_date(text: str, *, today: date) -> str:
    """A date (optionally with a time) that is not in the past, as ISO text.

    Takes dates and times as people type them: ``today``, ``tomorrow``, a
    weekday (``Friday``: the next one, today if it is Friday; ``next Friday``
    is never today), ``2026-12-01``, ``01/12/2026``, ``1 Dec``, each with or
    without a time (``16:00``, ``4pm``, ``4.30pm``); a time alone is today.
    ``today`` is the school's day (its time zone): the caller's clock.
    """
    words = [w for w in re.split(r"[\s,]+", text.strip().lower()) if w and w not in _FILLER]
    if not words:
        raise InvalidAnswer("bad_date")
    # "2 pm" is one time.
    joined: list[str] = []
    for word in words:
        if word in ("am", "pm") and joined and re.fullmatch(r"[\d:.]+", joined[-1]):
            joined[-1] += word
        else:
            joined.append(word)
    when: time | None = None
    rest: list[str] = []
    for word in joined:
        parsed = _parse_time(word)
        if parsed is not None and when is None:
            when = parsed
        else:
            rest.append(word)
    day = _parse_day(" ".join(rest), today) if rest else today
    if day < today:
        raise InvalidAnswer("past_date")
    if day > today + timedelta(days=366):
        raise InvalidAnswer("far_date")
    return f"{day.isoformat()} {when.strftime('%H:%M')}" if when else day.isoformat()


def _parse_time(word: str) -> time | None:
    if word in ("noon", "midday"):
        return time(12, 0)
    match = _TIME.match(word)
    if not match or (not match.group(2) and not match.group(3)):
        return None  # a bare number is not a time
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    suffix = match.group(3)
    if suffix:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _parse_day(word: str, today: date) -> date:
    if word == "today":
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    following = word.startswith("next ")
    name = word.removeprefix("next ")
    for number, weekday in enumerate(_WEEKDAYS):
        if len(name) >= 3 and weekday.startswith(name):
            ahead = (number - today.weekday()) % 7
            return today + timedelta(days=ahead or (7 if following else 0))
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(word, fmt).date()
        except ValueError:
            continue
        return _this_year(parsed, today) if "%Y" not in fmt and "%y" not in fmt else parsed
    for fmt in _WORD_DATE_FORMATS:
        try:
            parsed = datetime.strptime(re.sub(r"(\d)(?:st|nd|rd|th)\b", r"\1", word), fmt).date()
        except ValueError:
            continue
        return _this_year(parsed, today) if "%Y" not in fmt else parsed
    raise InvalidAnswer("bad_date")


def _this_year(parsed: date, today: date) -> date:
    """A day and month without a year: the next one from today."""
    day = parsed.replace(year=today.year)
    return day if day >= today else day.replace(year=today.year + 1)


def next_working_day(day: date) -> date:
    """Referrals are chased within one working day (KCSIE)."""
    nxt = day + timedelta(days=1)
    while nxt.weekday() >= 5:
        nxt += timedelta(days=1)
    return nxt
