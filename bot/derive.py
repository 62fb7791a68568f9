"""What a record says at a glance, read from answers already given: the
category of concern, a one-line summary and when and where it happened.

The member of staff is asked nothing more for these. The category comes
from the route, the situations their words cued and a few plain words; the
summary is the first sentence of what they wrote; when and where are the
phrases in it that say so. Each is marked as read from the answers, so the
DSL knows it is a starting point to correct, not something the staff member
chose. Pure: no chat service, no storage.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

SUMMARY_MAX = 110
# The categories of concern a DSL records: KCSIE's abuse and neglect, and
# exploitation, online, child-on-child, domestic abuse, mental health.
CATEGORIES = ("physical_abuse", "emotional_abuse", "sexual_abuse", "neglect", "exploitation",
              "online", "child_on_child", "domestic_abuse", "mental_health", "fgm",
              "radicalisation", "other")

# A school's own categories (``[records] categories`` in its settings) are
# coded ``own:<slug>``; the record keeps the name beside the code, as it was
# named then.
OWN_PREFIX = "own:"
OWN_MAX = 10  # a short list the DSL can read on one screen
OWN_LABEL_MAX = 40


def own_code(label: str) -> str:
    """The code of a school's own category, from its name."""
    slug = re.sub(r"[^a-z0-9]+", "_", label.casefold()).strip("_")
    return f"{OWN_PREFIX}{slug}"


def own_categories(labels: tuple[str, ...]) -> dict[str, str]:
    """A school's own categories: code -> name, in the settings' order."""
    return {own_code(label): label for label in labels}


# Engine-set answer: the school's own categories when the session began
# (one per line), so its question and its record agree whatever changes later.
OWN_KEY = "_own_categories"


def own_labels(answers: Mapping[str, str]) -> tuple[str, ...]:
    """The names of the school's own categories a session began with."""
    return tuple(x for x in answers.get(OWN_KEY, "").split("\n") if x)


def own_in(answers: Mapping[str, str]) -> dict[str, str]:
    """The school's own categories a session began with: code -> name."""
    return own_categories(own_labels(answers))


def category_choices(labels: tuple[str, ...]) -> tuple[str, ...]:
    """Every category a DSL can choose: the standard ones, the school's own,
    then "other"."""
    return (*CATEGORIES[:-1], *own_categories(labels), CATEGORIES[-1])


# A route that is a category in itself.
_BY_ROUTE = {"child_on_child": "child_on_child", "fgm": "fgm", "prevent": "radicalisation"}
# Situations (bot.flow.situations) cued by the staff member's words.
_BY_SITUATION = (
    ("sexual_abuse", "sexual_abuse"), ("exploitation", "exploitation"),
    ("nudes", "child_on_child"), ("physical_punishment", "physical_abuse"),
    ("self_harm", "mental_health"),
)


def _words(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# Plain words, most serious first; the first that matches is the category.
_BY_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("sexual_abuse", _words(r"sexual|\brap(?:e|ed)\b|indecent|groom(?:ed|ing)\b|"
                            r"touched (?:her|him|me|them)[^.]{0,20}(?:private|inappropriate)")),
    ("exploitation", _words(r"county lines|exploit|trap house|cuckoo|\bgang\b")),
    ("domestic_abuse", _words(
        r"domestic|(?:hit|hits|hitting|hurt|hurts|punched|beat|beats|shouting at|"
        r"screaming at|threaten(?:s|ed)?) (?:mum|mom|mother|dad|father)\b|"
        r"(?:mum|dad|mother|father)'s (?:boyfriend|girlfriend|partner)[^.]{0,40}"
        r"(?:hit|hurt|shout|scream|fight|angry|scared|frighten)|police (?:were )?called to the "
        r"(?:house|home|flat)|fighting at home")),
    ("physical_abuse", _words(r"bruis|\binjur|\bburns?\b|\bmarks? on\b|hand ?print|\bhit\b|"
                              r"\bhits\b|\bkick(?:ed|s)?\b|punch|slap|smack|\bbeat(?:en)?\b")),
    ("neglect", _words(r"neglect|hungry|not (?:been )?fed|no (?:food|breakfast|lunch|coat)|"
                       r"unwashed|smell(?:s|y)?\b|dirty (?:clothes|uniform)|head lice|"
                       r"left (?:alone|home alone|on (?:her|his|their) own)|"
                       r"nobody (?:picked|collected)|not collected")),
    ("online", _words(r"online|internet|snapchat|tiktok|instagram|whatsapp|discord|roblox|"
                      r"fortnite|youtube|facebook|gaming|messag(?:ed|es) (?:her|him|them) on")),
    ("mental_health", _words(r"anxi|depress|low mood|panic|eating|not eating|self[- ]?harm|"
                             r"suicid|wants? to die|crying every|withdrawn")),
    ("emotional_abuse", _words(r"worthless|called (?:her|him|them) (?:stupid|names)|"
                               r"shout(?:s|ed|ing)? at (?:her|him|them)|scared of (?:mum|dad|"
                               r"going home)|frightened of|belittl|humiliat")),
)

_WHEN = _words(
    r"\b(?:this (?:morning|afternoon|evening|week)|today|yesterday(?: (?:morning|afternoon|"
    r"evening))?|last (?:night|week|weekend)|(?:at|over) the weekend|"
    r"(?:on|last) (?:mon|tues|wednes|thurs|fri|satur|sun)day(?: (?:morning|afternoon|evening|"
    r"night))?|at (?:break(?:time)?|lunch(?:time)?|registration|home time|pick[- ]?up|"
    r"drop[- ]?off|playtime|assembly)|(?:before|after) school|during (?:the )?[a-z]+ "
    r"(?:lesson|class)|at \d{1,2}(?:[.:]\d{2})?\s?(?:am|pm)\b|at \d{1,2}[.:]\d{2}\b)")
_WHERE = _words(
    r"\b(?:in|at|on|near|outside|by) (?:the |her |his |their |a )?(?:playground|classroom|"
    r"class|toilets?|loos?|corridor|canteen|dining hall|school hall|hall|gym|changing rooms?|"
    r"field|school gates?|gates?|school bus|bus stop|bus|home(?! time)|park|library|"
    r"car park|reception|after[- ]school club|breakfast club|swimming pool|cloakroom)\b")


def category(answers: dict[str, str], route: str, situations: list[str]) -> str:
    """The category code read from the route, situations and the staff
    member's words; empty when nothing says."""
    if route in _BY_ROUTE:
        return _BY_ROUTE[route]
    for situation, code in _BY_SITUATION:
        if situation in situations:
            return code
    text = _text(answers)
    for code, pattern in _BY_WORDS:
        if pattern.search(text):
            return code
    return ""


def summary_line(answers: dict[str, str]) -> str:
    """The first sentence of what the member of staff wrote (what happened,
    else what was asked for), on one line and at most ``SUMMARY_MAX``
    characters, cut at a word."""
    text = " ".join((answers.get("facts") or answers.get("what_requested") or "").split())
    if not text:
        return ""
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    if len(first) <= SUMMARY_MAX:
        return first
    cut = first[:SUMMARY_MAX - 1]
    if " " in cut[SUMMARY_MAX // 2:]:
        cut = cut[:cut.rfind(" ")]
    return cut.rstrip(",;: ") + "…"


def happened(answers: dict[str, str]) -> dict[str, Any] | None:
    """When and where it happened, as the staff member's own words said it
    (the first phrase of each); None when they said neither."""
    text = " ".join((answers.get("facts") or "").split())
    when = _WHEN.search(text)
    where = _WHERE.search(text)
    if not when and not where:
        return None
    return {"when": when.group(0) if when else "", "where": where.group(0) if where else "",
            "derived": True}


def _text(answers: dict[str, str]) -> str:
    return " ".join(answers.get(step) or "" for step in ("facts", "child_words", "opinion",
                                                        "what_requested"))
