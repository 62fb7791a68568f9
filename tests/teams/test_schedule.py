"""The schedule in Teams: escalation of an unacknowledged urgent alert to the
DSL team and the deputies by name, the end-of-day list, follow-up nudges with
Done, and the weekly digest with its chart, as proactive posts.

Time is a clock the test moves on; the scheduler's tick is called directly
(the running app's ticker calls it every half minute). Everything goes
through the real endpoint and the fake Bot Connector, and the store.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.record import verify
from bot.service import DecisionService
from storage import TinyDBStore
from tests import scenarios as sc
from tests.harness.clock import Clock
from tests.harness.faketeams import FakeTeams, Fault, Post
from tests.harness.teams import Harness, running
from tests.harness.teams_driver import (
    CHANNEL,
    DSL,
    DSL_MEMBER,
    OUTSIDER,
    STAFF,
    button,
    chat_of,
)

MONDAY_9AM = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # London is on UTC in winter
DEPUTY = DSL_MEMBER  # in the DSL channel, and has never written to the bot
POLICE_WITH_FOLLOW_UP = [*sc.POLICE_PREJUDICE[:-2], "Ring the officer back",
                         "2026-12-02", "submit"]


@pytest.fixture
def clock() -> Clock:
    return Clock(MONDAY_9AM)


@pytest.fixture
def settings() -> Settings:
    return Settings(school_name="Hillside Primary", dsl_user_ids=(DSL,),
                    deputy_user_ids=(DEPUTY,), escalation_minutes=1)


@pytest.fixture
def jigsaw(settings: Settings, store: TinyDBStore, clock: Clock) -> DecisionService:
    return DecisionService(settings, store, clock=clock)


def reminders(fake: FakeTeams, conversation: str, kind: str = "") -> list[Post]:
    return [p for p in fake.posts_to(conversation)
            if f'"jigsaw-reminder-{kind}' in str(p.card).replace("'", '"')]


def raise_alert(teams: Harness) -> Post:
    teams.say(STAFF, "hello")
    teams.answer(STAFF, "yes")
    [alert] = [p for p in teams.channel() if "immediate danger" in p.text]
    return alert


def test_an_unacknowledged_alert_escalates_at_the_setting_once_by_name(
        teams: Harness, clock: Clock) -> None:
    raise_alert(teams)
    clock.advance(seconds=59)
    assert teams.front.scheduler.tick() == 0
    clock.advance(seconds=1)  # exactly escalation_minutes = 1
    assert teams.front.scheduler.tick() == 2

    [post] = reminders(teams.fake, CHANNEL, "escalate")
    assert "Sam Teacher" in post.text and "after 1 minute." in post.text
    assert STAFF not in post.text
    mentioned = {(e["mentioned"]["id"], e["mentioned"]["name"])
                 for e in post.card["msteams"]["entities"]}
    assert {(DSL, "Dana DSL"), (DEPUTY, "Deputy Dev")} <= mentioned
    assert post.activity["summary"] == "Urgent alert still not acknowledged"
    # The deputy is told in a personal chat the bot opened for them.
    [dm] = reminders(teams.fake, chat_of(DEPUTY), "escalate")
    assert "Sam Teacher" in dm.text
    assert teams.fake.chats_opened[0]["members"] == [{"id": f"29:{DEPUTY}"}]

    for _ in range(3):
        clock.advance(minutes=20)
        assert teams.front.scheduler.tick() == 0
    assert len(reminders(teams.fake, CHANNEL)) == 1


def test_acknowledged_from_the_escalation_nothing_more_is_sent(
        teams: Harness, clock: Clock) -> None:
    alert = raise_alert(teams)
    clock.advance(minutes=1)
    teams.front.scheduler.tick()
    [post] = reminders(teams.fake, CHANNEL, "escalate")
    reply = teams.send(teams.client.execute_activity(
        DSL, button(post, "Acknowledge"), conversation=CHANNEL, name="Dana DSL"))
    assert "Acknowledged by Dana DSL at 09:01 on Mon 30 Nov" in str(reply.body)
    assert "Acknowledged by Dana DSL" in alert.text  # the alert itself, for everyone
    clock.advance(minutes=30)
    teams.front.scheduler.tick()
    assert len(reminders(teams.fake, CHANNEL, "escalate")) == 1


def test_an_alert_acknowledged_in_time_does_not_escalate(teams: Harness, clock: Clock) -> None:
    alert = raise_alert(teams)
    clock.advance(seconds=30)
    teams.send(teams.client.execute_activity(DSL, button(alert, "Acknowledge"),
                                             conversation=CHANNEL, name="Dana DSL"))
    clock.advance(minutes=5)
    assert teams.front.scheduler.tick() == 0
    assert reminders(teams.fake, CHANNEL) == []


def test_only_the_dsl_team_can_acknowledge_and_it_still_escalates(
        teams: Harness, clock: Clock) -> None:
    alert = raise_alert(teams)
    reply = teams.send(teams.client.execute_activity(OUTSIDER, button(alert, "Acknowledge"),
                                                     conversation=CHANNEL))
    assert "Only the DSL team" in str(reply.body)
    clock.advance(minutes=1)
    assert teams.front.scheduler.tick() == 2


def test_the_escalation_survives_a_restart(jigsaw: DecisionService, fake_teams: FakeTeams,
                                           clock: Clock, tmp_path: Path,
                                           settings: Settings) -> None:
    with running(jigsaw, fake_teams) as first:
        raise_alert(first)
    jigsaw.store.close()
    clock.advance(minutes=5)
    for sends in (2, 0):  # after a restart: sent; after another: nothing again
        store = TinyDBStore(tmp_path / "data")
        try:
            with running(DecisionService(settings, store, clock=clock), fake_teams) as again:
                assert again.front.scheduler.tick() == sends
                assert again.front.scheduler.tick() == 0
        finally:
            store.close()
    assert len(reminders(fake_teams, CHANNEL)) == 1


def test_two_instances_never_send_it_twice(teams: Harness, fake_teams: FakeTeams,
                                           clock: Clock, tmp_path: Path,
                                           settings: Settings) -> None:
    raise_alert(teams)
    clock.advance(minutes=1)
    store = TinyDBStore(tmp_path / "data")  # a second instance on the same store
    try:
        with running(DecisionService(settings, store, clock=clock), fake_teams) as other:
            sent = teams.front.scheduler.tick() + other.front.scheduler.tick()
            sent += other.front.scheduler.tick() + teams.front.scheduler.tick()
    finally:
        store.close()
    assert sent == 2
    assert len(reminders(fake_teams, CHANNEL)) == 1
    assert len(reminders(fake_teams, chat_of(DEPUTY))) == 1


def test_a_send_interrupted_by_a_crash_is_found_not_repeated(
        teams: Harness, clock: Clock) -> None:
    raise_alert(teams)
    clock.advance(minutes=1)
    teams.fake.fail_posts(Fault(500, after_post=True), conversation=CHANNEL)
    teams.front.scheduler.tick()  # posted, but the app heard an error
    assert len(reminders(teams.fake, CHANNEL)) == 1
    teams.front.scheduler.tick()  # found in the channel by the key on its card
    assert len(reminders(teams.fake, CHANNEL)) == 1
    assert teams.front.scheduler.tick() == 0


def test_the_owner_is_nudged_and_done_stops_the_nudges(teams: Harness, clock: Clock) -> None:
    teams.decide(DEPUTY, POLICE_WITH_FOLLOW_UP)  # the DSL team decides
    [summary] = teams.jigsaw.store.list_records()
    teams.front.scheduler.tick()
    clock.to(datetime(2026, 12, 2, 9, tzinfo=UTC))
    teams.front.scheduler.tick()
    [nudge] = reminders(teams.fake, chat_of(DEPUTY), "followup:")
    assert "due today" in nudge.text and "Ring the officer back" in nudge.text
    assert nudge.activity["summary"] == "A follow-up is due today"

    refused = teams.send(teams.client.execute_activity(OUTSIDER, button(nudge, "Done")))
    assert "Only the DSL team" in str(refused.body)
    done = teams.send(teams.client.execute_activity(DEPUTY, button(nudge, "Done")))
    assert "Done: marked by Sam Teacher at 09:00 on Wed 2 Dec" in str(done.body)
    again = teams.send(teams.client.execute_activity(DEPUTY, button(nudge, "Done")))
    assert "Done: marked by Sam Teacher" in str(again.body)
    record = teams.jigsaw.record(summary["id"])
    assert verify(record) == []
    assert [e["action"] for e in record["audit"]].count("follow_up_done") == 1
    clock.to(datetime(2026, 12, 3, 9, tzinfo=UTC))
    teams.front.scheduler.tick()
    assert len(reminders(teams.fake, chat_of(DEPUTY), "followup:")) == 1


def test_the_end_of_day_list_and_the_weekly_digest_with_its_chart(
        teams: Harness, clock: Clock) -> None:
    teams.decide(STAFF, sc.STAFF_CONCERN)
    [summary] = teams.jigsaw.store.list_records()
    teams.front.scheduler.tick()
    clock.to(datetime(2026, 11, 30, 15, 30, tzinfo=UTC))  # the end of the school day
    teams.front.scheduler.tick()
    clock.advance(minutes=5)
    teams.front.scheduler.tick()
    [unacked] = reminders(teams.fake, CHANNEL, "unacked")
    assert summary["id"] in unacked.text and "09:00 on Mon 30 Nov" in unacked.text

    digest_at = teams.front.scheduler.day.next_digest(clock.now)
    clock.to(digest_at - timedelta(seconds=1))
    teams.front.scheduler.tick()
    assert reminders(teams.fake, CHANNEL, "digest") == []
    clock.to(digest_at)
    teams.front.scheduler.tick()
    clock.advance(minutes=1)
    teams.front.scheduler.tick()
    [digest] = reminders(teams.fake, CHANNEL, "digest")
    assert "Weekly digest" in digest.text
    assert "By category:" in digest.text and not re.search(r"\d{4}-\d{2}-\d{2}", digest.text)
    [image] = [a for a in digest.activity["attachments"] if a["contentType"] == "image/png"]
    assert image["contentUrl"].startswith("data:image/png;base64,iVBOR")
