"""Suggested lawful bases (DOMAIN.md section 6): defaults for the DSL or DPO
to confirm, never legal advice."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from bot.flow.steps import Answers, danger_now


@dataclass(frozen=True)
class Basis:
    article6: str
    article9: str
    situation: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def suggest(a: Answers, school_type: str) -> Basis:
    """The usual basis for the situation; emergencies first."""
    if danger_now(a):
        return Basis("6(1)(d)", "9(2)(c)", "emergency")
    optional_support = a.get("level") in ("child_in_need", "low")
    if optional_support and a.get("consent") == "given":
        return Basis("6(1)(a)", "9(2)(a)", "consent")
    if school_type == "independent":
        return Basis("6(1)(f) or 6(1)(ea)", "9(2)(g) + DPA 2018 Sch.1 para 18", "independent")
    return Basis("6(1)(e) and/or 6(1)(c)", "9(2)(g) + DPA 2018 Sch.1 para 18", "public_task")
