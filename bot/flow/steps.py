"""The question set, in order, as data.

Each step says what kind of answer it takes and when it applies, given the
answers so far. The engine walks the list: the next question is the first
later step that applies. Going back and changing an answer therefore re-routes
the rest of the flow without any extra bookkeeping.

The order follows DOMAIN.md section 3. Immediate danger is always first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

FLOW_VERSION = "2026.11-1"
# The guidance the wording was checked against (DOMAIN.md section 2).
GUIDANCE_VERSION = "HMG Information sharing 2024; KCSIE 2025; WT 2023; ICO 10-step 2023"

Answers = Mapping[str, str]
Kind = Literal["choice", "text", "confirm"]
NOT_SURE = "not_sure"


def always(_: Answers) -> bool:
    return True


# -- routing predicates (pure functions of the answers) ----------------------

def danger_now(a: Answers) -> bool:
    return a.get("danger") == "yes"


def emergency_only(a: Answers) -> bool:
    """The person chose to submit the short after-the-event record."""
    return danger_now(a) and a.get("emergency_next") == "submit"


def allegation(a: Answers) -> bool:
    return a.get("allegation") == "yes"


def full(a: Answers) -> bool:
    """The full decision: not cut short by the emergency or allegation exits."""
    return not emergency_only(a) and not allegation(a)


def before_allegation(a: Answers) -> bool:
    return not emergency_only(a)


def is_request(a: Answers) -> bool:
    return a.get("trigger") == "request"


def no_purpose(a: Answers) -> bool:
    return a.get("purpose") == "no"


def personal_data(a: Answers) -> bool:
    return full(a) and not no_purpose(a) and a.get("identifiable") != "no"


def respect_refusal(a: Answers) -> bool:
    """Consent to optional support was refused and the concern is not risk of
    significant harm: the refusal stands."""
    return a.get("consent") == "refused" and a.get("level") != "significant"


def no_share_expected(a: Answers) -> bool:
    return no_purpose(a) or respect_refusal(a)


def without_consent_needs_reason(a: Answers) -> bool:
    """Sharing without consent: which para 18(2) reason applies. When telling
    the family would add risk the reason is (c) and is set automatically."""
    if not personal_data(a) or a.get("tell_risk") == "yes":
        return False
    consent = a.get("consent")
    return consent == "not_sought" or (consent == "refused" and a.get("level") == "significant")


def decision_choices(a: Answers) -> tuple[str, ...]:
    if respect_refusal(a):
        return ("do_not_share", "defer")
    return ("share", "share_part", "do_not_share", "defer")


@dataclass(frozen=True)
class Step:
    """One question. ``key`` is where the answer is stored (several steps may
    fill one key on different routes; the first to be answered wins)."""

    id: str
    kind: Kind
    choices: tuple[str, ...] = ()
    applies: Callable[[Answers], bool] = always
    key_: str | None = None
    max_len: int = 500
    min_len: int = 1
    optional: bool = False
    check: Literal["", "child_ref", "date"] = ""
    dynamic_choices: Callable[[Answers], tuple[str, ...]] | None = None

    @property
    def key(self) -> str:
        return self.key_ or self.id

    def options(self, answers: Answers) -> tuple[str, ...]:
        return self.dynamic_choices(answers) if self.dynamic_choices else self.choices

    @property
    def allows_not_sure(self) -> bool:
        return NOT_SURE in self.choices


YES_NO_UNSURE = ("yes", "no", NOT_SURE)

STEPS: tuple[Step, ...] = (
    # 0. Immediate danger: first, always, and fast.
    Step("danger", "choice", ("yes", NOT_SURE, "no")),
    Step("emergency_action", "text", applies=danger_now, max_len=1000),
    Step("emergency_child", "text", applies=danger_now, key_="child_ref", max_len=40,
         check="child_ref"),
    Step("emergency_next", "choice", ("submit", "continue"), applies=danger_now),
    # 1. What prompted this?
    Step("trigger", "choice", ("request", "own_concern", "dsl_recording"),
         applies=before_allegation),
    Step("requester_agency", "choice",
         ("police", "social_care", "health", "school", "early_help", "private_party", "other"),
         applies=lambda a: before_allegation(a) and is_request(a)),
    Step("requester_name", "text", applies=lambda a: before_allegation(a) and is_request(a),
         max_len=200),
    Step("requester_verified", "choice",
         ("called_back", "known_contact", "secure_email", "not_verified", NOT_SURE),
         applies=lambda a: before_allegation(a) and is_request(a)),
    # 2. Allegation against an adult who works with children: another route.
    Step("allegation", "choice", YES_NO_UNSURE, applies=before_allegation),
    Step("allegation_child", "text", applies=lambda a: before_allegation(a) and allegation(a),
         key_="child_ref", max_len=40, check="child_ref"),
    Step("allegation_done", "confirm", ("submit",),
         applies=lambda a: before_allegation(a) and allegation(a)),
    # 3. The facts, kept apart from opinion.
    Step("child_ref", "text", applies=full, max_len=40, check="child_ref"),
    Step("facts", "text", applies=full, max_len=3000, min_len=10),
    Step("child_words", "text", applies=full, max_len=2000, optional=True),
    Step("opinion", "text", applies=full, max_len=2000, optional=True),
    Step("knows_family", "choice", ("yes", "no"), applies=full),
    # 4. Level of concern.
    Step("level", "choice", ("significant", "child_in_need", "low", NOT_SURE), applies=full),
    # 5. Recipient and purpose.
    Step("recipient", "choice",
         ("social_care", "police", "health", "school", "early_help", "dsl_only", "other"),
         applies=lambda a: full(a) and not is_request(a)),
    Step("recipient_other", "text", applies=lambda a: full(a) and a.get("recipient") == "other",
         max_len=200),
    Step("purpose", "choice", YES_NO_UNSURE, applies=full),
    Step("purpose_detail", "text", applies=full, max_len=1000),
    # 6. Identifiable? Confidential?
    Step("identifiable", "choice", YES_NO_UNSURE,
         applies=lambda a: full(a) and not no_purpose(a)),
    Step("confidential", "choice", YES_NO_UNSURE, applies=personal_data),
    # 7. Telling the family, and consent.
    Step("tell_risk", "choice", YES_NO_UNSURE, applies=personal_data),
    Step("tell_risk_reason", "choice",
         ("parent_source", "sexual_abuse", "fabricated_illness", "violence", "silenced",
          "evidence", "other"),
         applies=lambda a: personal_data(a) and a.get("tell_risk") == "yes"),
    Step("consent", "choice", ("given", "refused", "not_sought", NOT_SURE),
         applies=lambda a: personal_data(a) and a.get("tell_risk") != "yes"),
    Step("consent_reason", "choice", ("a", "b", "c", NOT_SURE),
         applies=without_consent_needs_reason),
    # 8. Barrier check, chosen by cues.
    Step("hesitation", "choice",
         ("trust", "confidence", "consequences", "data_protection", "someone_else", "none"),
         applies=full),
    Step("barrier_check", "choice", ("changed", "same"), applies=full),
    # 9. Lawful basis (a suggestion for the DSL to confirm).
    Step("lawful_basis", "choice", ("accept", NOT_SURE),
         applies=lambda a: personal_data(a) and not no_share_expected(a)),
    # 10. What and how.
    Step("what_to_share", "text", applies=full, max_len=2000),
    Step("how", "choice", ("secure_email", "portal", "phone_followup", "meeting", "other"),
         applies=lambda a: full(a) and not no_share_expected(a)),
    Step("when", "choice", ("today", "next_working_day", "later"),
         applies=lambda a: full(a) and not no_share_expected(a)),
    # 11. Decision, with a mandatory rationale.
    Step("decision", "choice", applies=lambda a: full(a) and not no_purpose(a),
         dynamic_choices=decision_choices),
    Step("defer_until", "text", applies=lambda a: full(a) and a.get("decision") == "defer",
         max_len=40, check="date"),
    Step("rationale", "text", applies=full, max_len=3000, min_len=10),
    Step("advice", "text", applies=full, max_len=1000, optional=True),
    # 12. Follow-up, then submit.
    Step("followup", "text", applies=full, max_len=1000, optional=True),
    Step("followup_due", "text", applies=lambda a: full(a) and bool(a.get("followup")),
         max_len=40, check="date"),
    Step("confirm", "confirm", ("submit",), applies=full),
)

BY_ID: dict[str, Step] = {s.id: s for s in STEPS}
