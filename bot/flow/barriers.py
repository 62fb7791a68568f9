"""Which barrier reminders to show, chosen by cues in the answers so far.

The barriers that bend judgement (DOMAIN.md section 4) are named in the
Centre of Excellence for Information Sharing report (2016) and, for the rule
of optimism, by Dingwall, Eekelaar and Murray (1983). Cues are deliberately
simple and visible: a reminder shown when it did not fit costs a few seconds;
one missed can cost a child.
"""

from __future__ import annotations

import re

from bot.flow.steps import NOT_SURE, Answers

# Order is the order shown.
BARRIERS = (
    "optimism",
    "trust",
    "confidence",
    "consequences",
    "data_protection",
    "consent",
    "someone_else",
    "oversharing",
    "fears",
)

# Phrases that often come with thinking the best of a family.
_OPTIMISTIC = re.compile(
    r"\b(sure (it'?s|it is|they'?re|they are) (fine|ok|okay)|lovely (family|parents?|mum|dad)"
    r"|nice (family|parents?)|good (family|parents?)|(they|she|he) would never"
    r"|probably nothing|just (clumsy|a phase)|doing their best)\b",
    re.IGNORECASE,
)
# Facts that suggest harm, whatever level was picked.
_HARM = re.compile(
    r"\b(bruis\w*|burns?|injur\w*|marks?|hit|hits|hitting|kick\w*|slap\w*|punch\w*|"
    r"sexual\w*|touch\w*|scared|afraid|frightened|hungry|no food|unfed|locked|"
    r"self[- ]harm\w*|cut(s|ting)?|blood|drunk|drugs?|weapon|knife|threat\w*|"
    r"won'?t go home|doesn'?t want to go home|left alone|missing)\b",
    re.IGNORECASE,
)


def optimism_cue(a: Answers) -> bool:
    """The rule of optimism: knowing the family, reassuring words, or a low
    level picked for facts that suggest harm."""
    if a.get("knows_family") == "yes":
        return True
    said = " ".join(a.get(k, "") for k in ("opinion", "facts"))
    if _OPTIMISTIC.search(said):
        return True
    return a.get("level") == "low" and bool(_HARM.search(a.get("facts", "")))


def any_not_sure(a: Answers) -> bool:
    return any(v == NOT_SURE for v in a.values())


def reminders_for(a: Answers) -> list[str]:
    """The barrier reminders that fit these answers, in display order.

    ``data_protection`` and ``someone_else`` fit any decision; the rest need a
    cue; ``fears`` closes every set. Oversharing is shown at the "what to share" step instead.
    """
    hesitation = a.get("hesitation")
    shown: list[str] = []
    if optimism_cue(a):
        shown.append("optimism")
    if hesitation == "trust":
        shown.append("trust")
    if hesitation == "confidence" or any_not_sure(a):
        shown.append("confidence")
    if hesitation == "consequences":
        shown.append("consequences")
    shown.append("data_protection")
    if a.get("consent") in ("refused", "not_sought") or hesitation == "data_protection":
        shown.append("consent")
    shown.append("someone_else")
    shown.append("fears")  # belongs in every reminder set
    return shown
