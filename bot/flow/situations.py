"""Situations with their own rules (DOMAIN.md section 8): cues in what staff
type that bring a short notice of the rule, and the guidance a record on it
cites. A cue never forces anything: it says what the situation asks, and the
route stays the person's to choose (the route check offers one where a cue
points to it).

Cues are read on the staff member's facts, the child's words and what an
agency asked for. Each situation says which nations it applies in, from the
pack (physical punishment is unlawful only where the pack says so; a duty
waiting for commencement cues nothing until it starts). Pure: no chat
service, no clock, no settings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.nations import NationPack

# Answers the cues read.
CUE_STEPS = ("facts", "child_words", "what_requested")
# Engine-set answers: the situations already cued in this session (comma
# separated, in order), and the pending rules in force when it began.
SITUATIONS_KEY = "_situations"
IN_FORCE_KEY = "_in_force"
# Duties that start later by regulations (DOMAIN.md section 11).
LATER_DUTIES = ("cwsa_duty_to_share", "mandatory_reporting")


Answers = Mapping[str, str]


def _all(_: NationPack, __: Answers) -> bool:
    return True


def has_duty(pack: NationPack, a: Answers, name: str) -> bool:
    """The pack's duty; one that starts later counts only if it was in
    force when the session began (the session's day, not the pack's)."""
    return in_force(a, name) if name in LATER_DUTIES else pack.duty(name)


def _duty(name: str) -> Callable[[NationPack, Answers], bool]:
    return lambda pack, a: has_duty(pack, a, name)


def _learnt(a: Answers) -> bool:
    """Staff learnt of it themselves: not an agency's request or notification
    (the police asking already know)."""
    told = ("request", "records_request", "info_received")
    return a.get("trigger") not in told and not (
        a.get("trigger") == "dsl_recording" and a.get("concern_type") in told)


@dataclass(frozen=True)
class Situation:
    name: str
    cue: re.Pattern[str]
    applies: Callable[[NationPack, Answers], bool] = _all
    # The duty a record on it discharges (and cites), when the pack has it.
    duty: str = ""


def _words(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# Self-harm, read first: its words ("cutting again") are never FGM.
SELF_HARM = _words(
    r"self[- ]?harm|\bcutting\s+(?:again|(?:her|him|them|my|your)sel(?:f|ves)"
    r"|at\s+(?:her|his|their))"
    r"|\bcut\s+(?:her|him|them|my|your)sel(?:f|ves)|\bcuts?\s+(?:on|up)\s+(?:her|his|their|my)\s+"
    r"(?:arms?|wrists?|legs?|thighs?|stomach)|\bcuts?\s+(?:on|to)\s+(?:the|both)\s+(?:arms?|wrists?)"
    # "Hurting herself" is self-harm; "hurt himself in PE" is not, unless on purpose.
    r"|(?:burning|hurting|harming|harmed|harms|burnt|burned|burns) (?:her|him|them|my|your)"
    r"sel(?:f|ves)|\bhurts? (?:her|him|them|my|your)sel(?:f|ves) (?:on purpose|deliberately|again)"
    r"|overdos|suicid|kill (?:her|him|them|my)sel(?:f|ves)"
    r"|wants? to die|end (?:her|his|their|my) life")

SITUATIONS: tuple[Situation, ...] = (
    Situation("self_harm", SELF_HARM),
    Situation("nudes", _words(
        r"\bnudes?\b|semi[- ]?nudes?|\btopless\b|\bnaked\b(?! (?:flame|eye))|sexting|\bsexts?\b"
        r"|(?:explicit|intimate|sexual|rude|dirty) (?:photo|picture|image|pic|video|selfie)s?"
        r"|(?:photo|picture|image|pic|video|selfie)s? of (?:her|his|their) (?:body|breasts|chest)"
        r"|(?:send|sent|sending) (?:me |him |her )?(?:pics|photos) of|sextort|upskirt"
        # Images passed on, as people say it: "shared photos of her", "sent the
        # pics round", "on Snapchat", "he'll send them to everyone".
        r"|(?:shared|sharing|sent|posted|posting|forwarded|forwarding|spread|spreading|leaked|"
        r"screenshot(?:ted|ed)?|airdropped) (?:\w+ ){0,3}(?:photos?|pictures?|pics|images?|videos?)"
        r"\b(?! (?:of|from) (?:the |our |a )?(?:school |class |year \d+ )?(?:trip|match|play|"
        r"concert|class|party|event|assembly|residential|sports day|show))"
        r"|(?:photos?|pictures?|pics|images?|videos?) (?:\w+ ){0,3}(?:on|over|via) snap(?:chat)?\b"
        r"|\bsnap(?:chat|ped|s)?\b[^.]{0,40}(?:photos?|pics|pictures?|images?|videos?|body|naked)"
        r"|send (?:them|it|those|these|the (?:pics|photos|pictures|videos?)) "
        r"(?:round |out |on )?to (?:everyone|the whole|all (?:her|his|their) )")),
    Situation("forced_marriage", _words(
        r"forced (?:to )?marr|forced marriage|made to marry|(?:marry|marrying|married off to) "
        r"(?:a |an |her |his )?(?:cousin|older man|man she|stranger|someone (?:she|he) "
        r"(?:doesn't|does not|hasn't))|married off"
        # Honour as in honour-based abuse, never "the honour roll".
        r"|honou?r[- ]based|\bhonou?r (?:violence|abuse|killing|crime)|family'?s? honou?r"
        r"|dishonou?r|shame (?:on )?(?:the|her|his) family"
        r"|(?:wedding|engagement|engaged|get married|to marry)[^.]{0,40}(?:abroad|back home|"
        r"over the summer|in the holidays)|taken abroad to (?:marry|get married)")),
    Situation("physical_punishment", _words(
        r"\bsmack(?:ed|ing|s)?\b|\bslap(?:ped|ping|s)?\b|hit (?:her|him|them) with|with a belt"
        r"|left a mark|hand ?print|physical(?:ly)? punish|(?:hit|beat|beaten|hits) (?:her|him|them)"
        r" (?:for|because|when)|(?:mum|dad|mother|father|parent|step-?(?:mum|dad)) (?:hit|hits|"
        r"smacked|slapped|beat)"),
        applies=_duty("physical_punishment_unlawful")),
    Situation("private_fostering", _words(
        r"private(?:ly)? foster|(?:living|staying|lives|stays) with (?:a |her |his |their )?"
        r"(?:family friend|friend'?s (?:family|mum|dad|parents)|friends?|neighbours?|"
        r"girlfriend'?s|boyfriend'?s|aunt'?s friend)|not living with (?:mum|dad|(?:her|his|their)"
        r" (?:parents|family|mum|dad))")),
    Situation("home_education", _words(
        r"home[- ]?educat|elective home|\bEHE\b|educat\w+ (?:her|him|them) at home|"
        r"deregist|off[- ]roll|(?:taking|take|took) (?:her|him|them) (?:out of|off) (?:school|"
        r"the roll) to (?:home|teach)")),
    Situation("exploitation", _words(
        r"county lines|\bcce\b|criminal(?:ly)? exploit|(?:running|carrying|selling|dealing|"
        r"holding) (?:drugs|packages|parcels|a package|weed|cannabis)|drug (?:running|runner|"
        r"deal)|trap house|cuckoo|plugging|\bgang\b|owes? (?:money|a debt) to|burner phone|"
        r"(?:new|expensive) (?:phones?|trainers|clothes)[^.]{0,30}(?:cash|money|can't explain|"
        r"won't say)|found in another (?:town|city|county)")),
    # A duty waiting for commencement (Crime and Policing Act 2026): off until it starts.
    Situation("sexual_abuse", _words(
        r"sexual(?:ly)? abus|sexual(?:ly)? assault|\brap(?:e|ed)\b|touched (?:her|him|me|them)"
        r"[^.]{0,20}(?:private|inappropriate|where)|indecent|groom(?:ed|ing)\b|"
        r"(?:made|forced) (?:her|him|them|me) (?:to )?(?:touch|watch)"),
        applies=lambda pack, a: _learnt(a) and has_duty(pack, a, "mandatory_reporting"),
        duty="mandatory_reporting"),
    # Northern Ireland: failing to report a relevant offence is an offence.
    Situation("offence_reporting", _words(
        r"assault|\babus(?:e|ed|ing)\b|\brap(?:e|ed)\b|sexual|\bhit\b|\bhits\b|punch|kick|"
        r"\bbeat|injur|bruis|burn|neglect|cruel|indecent|exploit|strangl|choke"),
        applies=lambda pack, a: _learnt(a) and has_duty(pack, a, "offence_reporting"),
        duty="offence_reporting"),
)
BY_NAME = {s.name: s for s in SITUATIONS}
# The route a situation offers (the route check asks; it never switches).
ROUTES = {"nudes": "child_on_child"}


def offered_route(text: str) -> str | None:
    """The route the first situation cued in ``text`` offers, if any."""
    return next((r for n, r in ROUTES.items() if BY_NAME[n].cue.search(text)), None)


def _text(a: Answers) -> str:
    return " ".join(a.get(k, "") for k in CUE_STEPS)


def self_harm(text: str) -> bool:
    return bool(SELF_HARM.search(text))


def cued(a: Answers, pack: NationPack) -> list[str]:
    """The situations the answers' words point to, in this nation."""
    text = _text(a)
    return [s.name for s in SITUATIONS if s.applies(pack, a) and s.cue.search(text)]


def shown(a: Answers) -> list[str]:
    """The situations already cued in the session (and so on its record)."""
    return [n for n in a.get(SITUATIONS_KEY, "").split(",") if n in BY_NAME]


def new_cues(a: Answers, pack: NationPack) -> list[str]:
    """Situations cued by the latest answer and not yet shown."""
    before = shown(a)
    return [n for n in cued(a, pack) if n not in before]


def duties(a: Answers, pack: NationPack) -> list[str]:
    """The duties the situations on a record bear on, where the pack has them."""
    return [BY_NAME[n].duty for n in shown(a)
            if BY_NAME[n].duty and has_duty(pack, a, BY_NAME[n].duty)]


def session_facts(pack: NationPack) -> dict[str, str]:
    """What a session keeps of the day it began: the rules waiting for
    commencement that were in force then."""
    return {IN_FORCE_KEY: ",".join(r for r in LATER_DUTIES if pack.duty(r))}


def in_force(a: Answers, rule: str) -> bool:
    """A rule waiting for commencement was in force when the session began."""
    return rule in a.get(IN_FORCE_KEY, "").split(",")
