"""Suggested lawful bases (DOMAIN.md section 6): defaults for the DSL or DPO
to confirm, never legal advice, and never something staff are asked to pick.

Each basis carries its plain-English name first and its citation second.
Sources: UK GDPR Art. 6, 9 and 10; DPA 2018 s.10(5) and Sch.1 paras 18 and
36; Data (Use and Access) Act 2025 s.70 (Art. 6(1)(ea) and Annex 1 para 6,
in force since 5 February 2026 per DOMAIN.md section 6); ICO 10-step guide
(2023) step 8: don't rely on consent where you would share anyway.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from bot.flow.steps import Answers, danger_now, final_decision, route

# The data protection routes that are the DPO's, not a safeguarding share.
NO_SHARING_DECISIONS = ("do_not_share", "refer_dpo", "record_only", "received",
                        "allegations_route", "tell_dsl", "alert_only")


@dataclass(frozen=True)
class Basis:
    """A suggestion: keys of ``prompts/record/labels.j2`` (``basis_<key>``)
    hold the plain-English name and the citation of each part."""

    article6: str
    article9: str
    article10: str
    situation: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def criminal_offence_data(a: Answers) -> bool:
    """Allegations or evidence of an offence (Art. 10): the police are asking
    or receiving, the route is about a crime against the child, or the DSL
    said what is shared includes it (e.g. about an alleged abuser, to any
    recipient, not only the police)."""
    return (a.get("requester_agency") == "police" or a.get("recipient") == "police"
            or route(a) == "fgm" or a.get("coc_kind") == "sexual_violence"
            or a.get("data_kind") in ("criminal", "both"))


def suggest(a: Answers, school_type: str, *, decision: str = "") -> Basis | None:
    """The usual basis for the situation, or None when nothing is shared."""
    if route(a) == "emergency":
        return Basis("vital_interests", "vital_interests", "", "emergency")
    decision = decision or final_decision(a)
    if decision in NO_SHARING_DECISIONS:
        return None
    art10 = "offence_data" if criminal_offence_data(a) else ""
    if route(a) == "fgm" and a.get("fgm_role") == "teacher":
        # The duty binds the teacher personally: a legal obligation.
        return Basis("legal_obligation_fgm", "safeguarding_condition", "offence_data",
                     "fgm_duty")
    # Art. 9 only where special category data is shared (or may be: the DSL
    # was not asked, or was not sure).
    art9 = "" if a.get("data_kind") in ("ordinary", "criminal") else "safeguarding_condition"
    if school_type == "independent":
        return Basis("independent", art9, art10, "independent")
    return Basis("public_task", art9, art10, "public_task")


def emergency_basis(a: Answers) -> Basis | None:
    """The 999 call itself, kept apart from any later referral's basis."""
    return Basis("vital_interests", "vital_interests", "", "emergency") if danger_now(
        a) else None
