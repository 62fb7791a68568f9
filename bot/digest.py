"""The DSL's weekly picture: counts only, and a chart of the last 12 weeks.

Nothing about any one child goes in: no reference, no free text, only
numbers under fixed labels. Nothing here knows about Slack.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from bot import record as records
from bot.derive import OWN_PREFIX
from bot.followups import FollowUp
from bot.localtime import local_date
from bot.prompts import Prompts
from bot.schoolday import SchoolDay

WEEKS = 12
_WORDING = "record/reports.j2"
OUTCOMES = ("shared", "shared_in_part", "not_shared", "deferred", "record_only", "waiting")
# Colours that mean something: shared blue, not shared grey, deferred amber,
# waiting for the DSL an outline only (nothing decided yet).
COLOURS = {"shared": "#1f5fa8", "shared_in_part": "#7aa7d9", "not_shared": "#8c8c8c",
           "deferred": "#e0a100", "record_only": "#d0d0d0", "waiting": "none"}
CONSENT = ("given", "refused", "not_sought", "not_sure", "not_asked")
_OUTCOME_OF = {"share": "shared", "share_part": "shared_in_part",
               "do_not_share": "not_shared", "defer": "deferred"}
_CONSENT_OF = {c: c for c in CONSENT}


def outcome(record: dict[str, Any]) -> str:
    """The digest's bucket for a record's decision: a concern still waiting
    for the DSL's decision is its own bucket; anything else that is not a
    decision to share or not (a record-only worry, the allegations route)
    counts as record only."""
    if record.get("awaiting_dsl_decision") or record.get("decision") == "tell_dsl":
        return "waiting"
    return _OUTCOME_OF.get(str(record.get("decision") or ""), "record_only")


def category_bucket(record: dict[str, Any]) -> str:
    """The digest's bucket for a record's category (as the DSL corrected
    it); a school's own category by its code (named in ``category_names``),
    none as its own."""
    code = records.shown_category(record)
    if code.startswith(OWN_PREFIX) and record.get("category_label"):
        return code
    return code if code in records.CATEGORIES else ("other" if code else "none")


def consent_position(record: dict[str, Any]) -> str:
    family = record.get("family") or {}
    return _CONSENT_OF.get(str(family.get("consent") or ""), "not_asked")


def weekly(found: Iterable[dict[str, Any]], open_follow_ups: Iterable[FollowUp], *,
           now: datetime, day: SchoolDay) -> dict[str, Any]:
    """The digest's numbers for the week ending ``now``."""
    today = day.today(now)
    this_week = today - timedelta(days=today.weekday())
    starts = [this_week - timedelta(weeks=n) for n in range(WEEKS, 0, -1)]
    week_from = today - timedelta(days=7)
    outcomes = dict.fromkeys(OUTCOMES, 0)
    consent = dict.fromkeys(CONSENT, 0)
    by_week = {s.isoformat(): dict.fromkeys(OUTCOMES, 0) for s in starts}
    unacknowledged = 0
    referrals = 0
    to_taken: list[float] = []
    to_decided: list[float] = []
    children: dict[str, int] = {}
    categories = dict.fromkeys((*records.CATEGORIES, "none"), 0)
    own_names: dict[str, str] = {}
    # What happened after a decision (a referral accepted, no further
    # action...), counted in the week it was recorded, whenever the record was made.
    after = dict.fromkeys(records.OUTCOMES, 0)
    for record in found:
        for entry in (record.get("referral") or {}).get("outcomes") or ():
            try:
                heard = day.today(datetime.fromisoformat(str(entry.get("at"))))
            except (TypeError, ValueError):
                continue
            if week_from <= heard < today and entry.get("outcome") in after:
                after[str(entry["outcome"])] += 1
        try:
            made = day.today(datetime.fromisoformat(record["created_at"]))
        except (KeyError, TypeError, ValueError):
            continue
        bucket = outcome(record)
        if record.get("review_status") == "pending":
            unacknowledged += 1
        if week_from <= made < today:
            outcomes[bucket] += 1
            consent[consent_position(record)] += 1
            bucket_of = category_bucket(record)
            categories[bucket_of] = categories.get(bucket_of, 0) + 1
            if bucket_of.startswith(OWN_PREFIX):
                # The school's own category, under the name the school gave it.
                own_names[bucket_of] = str(record["category_label"])
            referrals += records.referral_of(record)["made"]
            taken, decided = response_minutes(record)
            if taken is not None:
                to_taken.append(taken)
            if decided is not None:
                to_decided.append(decided)
            ref = " ".join(str(record.get("child_ref") or "").split()).upper()
            if ref:
                children[ref] = children.get(ref, 0) + 1
        start = (made - timedelta(days=made.weekday())).isoformat()
        if start in by_week:
            by_week[start][bucket] += 1
    overdue = sum(1 for f in open_follow_ups if f.state(today) == "overdue")
    return {
        "from": week_from.isoformat(), "to": (today - timedelta(days=1)).isoformat(),
        "from_day": local_date(week_from), "to_day": local_date(today - timedelta(days=1)),
        # Fixed labels only (the categories, as corrected by the DSL).
        "categories": categories, "category_names": own_names,
        "total": sum(outcomes.values()), "outcomes": outcomes, "consent": consent,
        "after": after,
        "unacknowledged": unacknowledged, "overdue": overdue,
        # Counts and medians only: no child reference leaves this function.
        "referrals": referrals,
        "repeat_children": sum(1 for n in children.values() if n > 1),
        "median_to_taken": _median(to_taken), "median_to_decided": _median(to_decided),
        "weeks": [{"start": s, **counts} for s, counts in by_week.items()],
    }


def response_minutes(record: dict[str, Any]) -> tuple[float | None, float | None]:
    """Minutes from raised to first taken on or acknowledged by the DSL, and
    to decided (by the DSL team, or when the staff member's own decision
    was made at once, not counted)."""
    try:
        raised = datetime.fromisoformat(record["created_at"])
    except (KeyError, TypeError, ValueError):
        return None, None

    def first(*actions: str) -> float | None:
        for entry in record.get("audit") or []:
            if isinstance(entry, dict) and entry.get("action") in actions:
                try:
                    at = datetime.fromisoformat(str(entry.get("at")))
                except ValueError:
                    return None
                return max((at - raised).total_seconds() / 60, 0.0)
        return None

    return first("taken_on", "acknowledged"), first("decision_made")


def _median(values: list[float]) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    middle = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return round(middle)


def chart_png(numbers: dict[str, Any], prompts: Prompts) -> bytes:
    """A stacked bar chart of decisions by outcome for the last 12 weeks."""
    import matplotlib

    matplotlib.use("Agg")  # no display: render to memory
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    weeks = numbers["weeks"]
    labels = [date.fromisoformat(w["start"]).strftime("%d %b") for w in weeks]
    figure = Figure(figsize=(8, 3.6), dpi=100)
    axes = figure.subplots()
    bottom = [0] * len(weeks)
    for name in OUTCOMES:
        values = [w[name] for w in weeks]
        outline = COLOURS[name] == "none"
        bars = axes.bar(labels, values, bottom=bottom,
                        color="white" if outline else COLOURS[name],
                        edgecolor="#333333" if outline else COLOURS[name],
                        linestyle="--" if outline else "-", linewidth=1.2 if outline else 0,
                        label=prompts.block(_WORDING, f"outcome_{name}"))
        axes.bar_label(bars, labels=[str(v) if v else "" for v in values],
                       label_type="center", fontsize=7)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_title(prompts.block(_WORDING, "chart_title"))
    axes.set_ylabel(prompts.block(_WORDING, "chart_ylabel"))
    axes.tick_params(axis="x", labelrotation=45, labelsize=8)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
