"""Which barrier reminders to show, chosen by cues in the answers so far.

The barriers that bend judgement (DOMAIN.md section 4) are named in the
Centre of Excellence for Information Sharing report (2016) and, for the rule
of optimism, by Dingwall, Eekelaar and Murray (1983). Cues are deliberately
simple and visible: a reminder shown when it did not fit costs a few seconds;
one missed can cost a child.
"""

from __future__ import annotations

import re

from bot.flow.steps import NOT_SURE, Answers, route

# Free text the person typed, where thinking the best of a family shows.
_SAID = ("facts", "opinion", "child_views", "rationale", "purpose_detail", "victim_wishes")


def _phrases(*words: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(words) + r")\b", re.IGNORECASE)


# The ways people say "it's fine": reassurance about the adults, and words
# that minimise what happened to the child.
# The people a reassurance is about (never "it's great that she told us").
_ADULTS = (r"(?:mum|mom|mother|dad|father|step-?dad|step-?mum|stepfather|stepmother|parents?"
           r"|carers?|nan|gran|grandad|grandma|he|she|they|the family|the parents)")
_OPTIMISTIC = _phrases(
    r"(?:i'?m |i am )?sure (?:it'?s|it is|they'?re|they are|she'?s|he'?s|she is|he is)"
    r" (?:fine|ok|okay|nothing|alright|all right)",
    r"(?:it'?s |it is )?(?:probably|likely) nothing", r"nothing to worry about",
    _ADULTS + r"(?:'s|'re| is| are|s are| seems?| seem to be)(?: such| really| so| very| a)*"
    r" (?:lovely|great|brilliant|nice|kind|caring|loving|decent|devoted|lovely people"
    r"|good people|nice people|(?:really |very )?nice (?:guy|man|woman|lady|bloke|couple)"
    r"|good (?:mum|dad|parents?|people|man|woman|family|sort))",
    r"(?:lovely|nice|good|great|caring|loving|decent|devoted|brilliant) (?:family|families"
    r"|parents?|mum|mother|dad|father|carers?|home|people|guy|bloke|couple)",
    r"(?:great|lovely|good) (?:with (?:her|his|the) kids)", r"(?:they|she|he) would never",
    r"(?:wouldn'?t|would not|could never) hurt (?:a fly|anyone|her|him|them)",
    r"(?<!n't )(?<!not )(?<!never )(?:know|known|knew) (?:the|this|that) (?:family|parents"
    r"|mum|dad)", r"(?<!n't )(?<!not )(?:know|known) (?:them|him|her) (?:well|for years|from)",
    r"(?:from|at|through) (?:church|the mosque|the temple|the gurdwara|synagogue|chapel)",
    r"family friends?", r"pillar of the community", r"salt of the earth", r"means? well",
    r"out of character", r"(?:a |just a )?one[- ]off", r"(?:had |having )a bad (?:day|week)",
    r"just (?:clumsy|a phase|tired|kids|being kids|playing|messing about|a misunderstanding)",
    r"doing (?:their|her|his) best", r"(?:very |so |really )?mature(?: for (?:her|his) age)?",
    # "Consensual" reassures; "non-consensual" and "not consensual" say the opposite.
    r"(?<!non-)(?<!non )(?<!not )consensual", r"(?<!not )(?<!never )(?<!hadn't )consented",
    r"(?:just )?banter", r"boys (?:being|will be) boys",
    r"attention[- ]seeking", r"makes? things up", r"(?:give|giving) (?:\w+ ){0,2}a chance",
    r"benefit of the doubt", r"chance to explain", r"(?:don'?t|do not) want to (?:cause|make)"
    r" (?:trouble|a fuss)", r"(?:they'?re|they are|she'?s|he'?s) (?:trying|coping)",
    r"cultural", r"that'?s just how (?:they|she|he) (?:are|is)",
)
# Facts that suggest harm, whatever level was picked: injury, sexual harm,
# fear, neglect and alcohol or drugs at home.
_HARM = _phrases(
    # "marks" alone is often school marks: a mark on someone, or red marks.
    r"bruis\w*", r"burns?", r"injur\w*", r"marks? (?:on|across|around)", r"(?:red|hand|finger"
    r"|belt|slap) ?marks?", r"hit", r"hits", r"hitting", r"kick\w*",
    r"slap\w*", r"punch\w*", r"sexual\w*", r"touch\w*", r"scared", r"afraid", r"frightened",
    r"self[- ]harm\w*", r"blood", r"weapon", r"knife", r"threat\w*",
    r"won'?t go home", r"(?:doesn'?t|does not|didn'?t) want to go home", r"missing",
    r"hungry", r"no food", r"unfed", r"starving", r"steal(?:s|ing)? food", r"thin",
    r"unwashed", r"dirty", r"smell(?:s|y|ed|ing)?", r"head lice", r"no coat",
    r"same clothes", r"left alone", r"home alone", r"locked", r"neglect\w*",
    r"tooth ?ache", r"untreated",
    r"drunk", r"alcohol\w*", r"drinking", r"hungover", r"vodka", r"wine", r"beer",
    r"drugs?", r"cannabis", r"weed", r"(?:was|is|seemed|looked|got|getting|gets) high",
    r"passed out", r"asleep on the sofa",
)
# Holding back for the relationship, or for fear of getting it wrong.
# Holding back for the family's trust, not a child trusting an adult.
_TRUST = _phrases(r"(?:their|the family'?s|the parents'?|parents'|mum'?s|dad'?s|his|her) trust"
                  r"(?! (?:me|us|school))",
                  r"relationship with (?:the )?(?:family|parents|mum|dad)",
                  r"(?:our|my|good|working) relationship",
                  r"upset (?:them|her|him|mum|dad|the family)",
                  r"(?:lose|losing|break|breaking) (?:their|her|his)? ?(?:trust|confidence)",
                  r"(?:they|she|he)(?:'ll| will) (?:stop|never) (?:talking|speaking|coming)")
_CONSEQUENCES = _phrases(r"get(?:ting)? it wrong", r"(?:get|be) in trouble", r"complain\w*",
                         r"sued", r"my job", r"blame\w*", r"over-?react\w*", r"make a fuss")
_SECRECY = _phrases(r"(?:don'?t|do not|never) tell", r"promise", r"secret",
                    r"keep it (?:between|to yourself)", r"(?:you )?can'?t tell")
_MINIMISING = _phrases(r"(?:just )?banter", r"boys (?:being|will be) boys",
                       r"(?:just )?messing about", r"(?:just )?(?:a )?joke", r"horseplay",
                       r"part of growing up")


def _said(a: Answers) -> str:
    return " ".join(a.get(k, "") for k in _SAID)


def optimism_cue(a: Answers) -> bool:
    """The rule of optimism: knowing the family, reassuring or minimising
    words anywhere the person typed (the rationale too), or a low level
    picked for facts that suggest harm."""
    if a.get("knows_family") == "yes" or _OPTIMISTIC.search(_said(a)):
        return True
    low = a.get("level") in ("low", "child_in_need") or route(a) == "record_only"
    return low and bool(_HARM.search(" ".join((a.get("facts", ""), a.get("child_words", "")))))


def rationale_optimism(a: Answers) -> bool:
    """The reasons given for the decision lean on thinking the best of the
    adults (e.g. "give dad a chance to explain")."""
    return bool(_OPTIMISTIC.search(a.get("rationale", "")))


def secrecy_cue(a: Answers) -> bool:
    """The child asked for it to be kept secret, in their own words."""
    return bool(_SECRECY.search(a.get("child_words", "")))


def minimising_cue(a: Answers) -> bool:
    return route(a) == "child_on_child" or bool(_MINIMISING.search(_said(a)))


def any_not_sure(a: Answers) -> bool:
    return any(v == NOT_SURE for v in a.values())


def reminders_for(a: Answers) -> list[str]:
    """The barrier reminders that fit these answers, in display order.

    Shown only where sharing may be right (the flow skips the barrier check
    elsewhere). ``data_protection`` and ``someone_else`` fit any such
    decision; the rest need a cue in what was answered or typed (older
    sessions also named a hesitation); ``fears`` closes every set.
    """
    said = _said(a)
    shown: list[str] = []
    if optimism_cue(a):
        shown.append("optimism")
    if minimising_cue(a):
        shown.append("minimising")
    if a.get("hesitation") == "trust" or a.get("knows_family") == "yes" or _TRUST.search(said):
        shown.append("trust")
    if a.get("hesitation") == "confidence" or any_not_sure(a):
        shown.append("confidence")
    if a.get("hesitation") == "consequences" or _CONSEQUENCES.search(said):
        shown.append("consequences")
    shown.append("data_protection")
    if a.get("family_view") in ("refused", "not_told", "told_not_asked"):
        shown.append("consent")
    shown.append("someone_else")
    shown.append("fears")  # belongs in every reminder set
    return shown


# "I already promised not to tell": said to the bot at any question, in the
# person's own words. Not a child asking for secrecy: the adult promised.
_PROMISED = re.compile(
    r"\bi(?:'ve|\u2019ve| have| had)? (?:already |just )?promised\b"
    r"|\bi (?:told|said to|swore to|gave my word to) (?:her|him|them|the (?:child|pupil|girl|boy))"
    r" (?:that )?i (?:wouldn'?t|would not|won'?t|will not|wasn'?t going to) (?:tell|say|pass)"
    r"|\bpromised (?:her|him|them|the (?:child|pupil|girl|boy)) (?:that )?i (?:wouldn'?t|would not"
    r"|won'?t|will not) (?:tell|say)"
    r"|\bpromised (?:to keep (?:it|this|that) (?:a )?secret|not to tell|i'?d keep (?:it|this) "
    r"(?:a )?secret)"
    r"|\bi said i'?d keep (?:it|this|that) (?:a )?secret|\b(?:she|he|they) made me promise",
    re.IGNORECASE)
# An aside rather than an answer: the promise and little else.
_ASIDE_WORDS = 14


def promised(text: str) -> bool:
    """The person says they promised the child not to tell."""
    return bool(_PROMISED.search(text))


def promise_aside(text: str) -> bool:
    """Said instead of an answer (short, and about the promise)."""
    return promised(text) and len(text.split()) <= _ASIDE_WORDS
