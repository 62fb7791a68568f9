"""The benchmark's scripted walks are played by the right person.

Slack and Teams offer "I am the DSL" only to the DSL team (DOMAIN.md section
10), so the benchmark walks each script as the person the chat service would
let make it: the DSL team's decisions by members of the DSL channel, staff
worries by staff. Each walk is played here through the flow exactly as a
chat service starts it (it knows who is on the team), and must reach its
record.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import run as bench
from bench.driver import _is_plain_dm
from bench.fake import Seen
from bot import record as records
from bot.config import Settings
from bot.flow import Flow
from bot.slack.blocks import Blocks

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # a Wednesday
OPTS = bench.parse_args(["--quick", "--sizes", "0", "--samples", "15"])
WALKS = {w.name: w for w in [*(bench.scenario_for(i) for i in range(OPTS.samples * 6)),
                             *(bench.crowd_for(i) for i in range(OPTS.staff)),
                             bench.walk_of("POLICE_PREJUDICE"),
                             bench.walk_of("IMMEDIATE_DANGER")]}


def test_the_benchmark_walks_both_the_dsl_teams_decisions_and_staff_worries() -> None:
    assert {name for name, w in WALKS.items() if w.dsl} == set(bench.FULL)
    assert {"STAFF_CONCERN", "ALLEGATION", "IMMEDIATE_DANGER"} <= {
        name for name, w in WALKS.items() if not w.dsl}
    assert bench.crowd_for(0).dsl and not bench.crowd_for(1).dsl  # the crowd has both


@pytest.mark.parametrize("name", sorted(WALKS))
def test_each_walk_is_accepted_from_the_person_who_plays_it(name: str) -> None:
    walk = WALKS[name]
    flow = Flow(Settings(school_name="Hillside Primary"), clock=lambda: NOW)
    session = flow.start("U1", dsl=walk.dsl, team_known=True)
    for answer in walk.answers:
        step = flow.current(session)
        result = flow.answer(session, answer)
        assert result.accepted, f"{name} {step.id if step else None}: {answer!r}: {result.error}"
    assert flow.done(session), flow.current(session)
    record = records.build(session, flow.settings, flow.prompts, now=NOW)
    if walk.dsl:
        assert record["kind"] == "decision" and record["recorded_by_dsl"]
    else:
        assert not record["recorded_by_dsl"] and record["kind"] != "decision"


def test_every_dsl_walker_is_in_the_dsl_channel_and_no_staff_walker_is() -> None:
    team = set(bench.dsl_team(OPTS))
    for i in range(OPTS.samples):
        assert (f"UB{i:05d}" in team) == bench.scenario_for(i).dsl
    for i in range(OPTS.staff):
        assert (f"UC{i:05d}" in team) == bench.crowd_for(i).dsl
    assert {bench.DSL_USER, "UWARM0"} <= team and "UWARM1" not in team


def _dm(blocks: list[dict[str, object]], text: str) -> Seen:
    return Seen(0.0, "chat.postMessage", {"channel": "DUB00000", "text": text,
                                          "blocks": blocks}, 200, {"ok": True})


def test_a_follow_up_reminder_in_the_dm_is_not_taken_for_the_reply(tmp_path: Path) -> None:
    """The schedule DMs each configured DSL when a follow-up falls due, a
    walk under way or not: that message is not the app's reply to an answer."""
    flow = Flow(Settings(school_name="Hillside Primary"), clock=lambda: NOW)
    blocks = Blocks(flow.prompts, flow.settings)
    data = {"record_id": "R-1", "id": "f1", "action": "emergency_followup", "owner": "dsl",
            "due": NOW.date().isoformat(), "due_shown": "today", "state": "due",
            "today": NOW.date().isoformat()}
    text, reminder = blocks.reminder("followup_due", data, mention="", to_channel=False)
    reply = _is_plain_dm("DUB00000")
    assert not reply(_dm(reminder, text))
    assert reply(_dm([{"type": "section", "block_id": "x"}], "Please pick one of the options."))
