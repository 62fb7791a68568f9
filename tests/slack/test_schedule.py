"""Nothing waits unseen: escalation of urgent alerts, the end-of-day reminder
of unacknowledged records, and follow-up nudges with a Done button.

Time is a fake clock the test moves on; the scheduler's tick is called
directly (the running app calls it every half minute). Everything goes
through the real HTTP endpoint against the fake Slack, and the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.record import verify
from bot.service import DecisionService
from bot.slack.delivery import ALERT_EVENT
from bot.slack.reminders import REMINDER_EVENT
from bot.slack.wire import Action, ButtonValue
from storage import TinyDBStore
from tests import scenarios as sc
from tests.harness.clock import Clock
from tests.harness.fakeslack import DSL_CHANNEL_ID, Call, FakeSlack
from tests.harness.live import decide_in_process
from tests.harness.slack import SECRET, Harness, build_app, wait_idle
from tests.harness.slack_driver import Driver, all_text, buttons
from tests.harness.slackreq import app_home_opened, block_action, open_transport

MONDAY_9AM = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # London is on UTC in winter
STAFF, DSL, DEPUTY, OUTSIDER = "U123", "UDSL1", "UDEP1", "U999"
# On the DSL team as a member of the DSL channel: the DSL's scripts are hers
# (staff are never offered "I am the DSL"), and so are their follow-ups.
DECIDER = "UDSL2"
# The flow's own follow-up, with a staff owner and a date.
POLICE_WITH_FOLLOW_UP = [*sc.POLICE_PREJUDICE[:-2], "Ring the officer back",
                         "2026-12-02", "submit"]


@pytest.fixture
def clock() -> Clock:
    return Clock(MONDAY_9AM)


@pytest.fixture
def settings() -> Settings:
    return Settings(school_name="Hillside Primary", dsl_channel="CDSL",
                    dsl_user_ids=(DSL,), deputy_user_ids=(DEPUTY,))


@pytest.fixture
def jigsaw(settings: Settings, store: TinyDBStore, clock: Clock) -> DecisionService:
    return DecisionService(settings, store, clock=clock)


def running(jigsaw: DecisionService, fake: FakeSlack) -> Iterator[Harness]:
    app, front, executor = build_app(jigsaw, fake)
    with open_transport("http", app, signing_secret=SECRET) as transport:
        yield Harness(fake, transport, front, jigsaw, app, executor)
        wait_idle(executor)
    front.delivery.stop()
    executor.shutdown(wait=True)


@pytest.fixture
def slack(jigsaw: DecisionService, fake: FakeSlack) -> Iterator[Harness]:
    yield from running(jigsaw, fake)


def reminders(fake: FakeSlack, channel: str | None = None) -> list[Call]:
    return [c for c in fake.calls("chat.postMessage") if c.ok
            and (c.args.get("metadata") or {}).get("event_type") == REMINDER_EVENT
            and (channel is None or c.args.get("channel") == channel)]


def kinds(calls: list[Call]) -> list[str]:
    return [c.args["metadata"]["event_payload"]["key"].split(":")[0] for c in calls]


def decide(slack: Harness, script: list[str]) -> dict[str, Any]:
    """A whole decision in the person's DM (staff, or the DSL team for a DSL
    script); returns the record."""
    staff = Driver(slack, DECIDER if sc.says_dsl(script) else STAFF)
    staff.start()
    record = staff.run(script)
    assert record is not None
    return record


def raise_alert(slack: Harness) -> tuple[Driver, Call]:
    """Staff answer "yes" to immediate danger, and stop there."""
    staff = Driver(slack, STAFF)
    staff.start()
    staff.answer("yes")
    [alert] = [c for c in staff.dsl_posts()
               if (c.args.get("metadata") or {}).get("event_type") == ALERT_EVENT]
    return staff, alert


# -- escalation -----------------------------------------------------------------------

def test_an_unacknowledged_alert_escalates_once_after_15_minutes(
        slack: Harness, clock: Clock) -> None:
    raise_alert(slack)
    clock.advance(minutes=14, seconds=59)
    assert slack.front.scheduler.tick() == 0
    assert reminders(slack.fake) == []

    clock.advance(seconds=1)
    assert slack.front.scheduler.tick() == 2

    [channel_post] = reminders(slack.fake, DSL_CHANNEL_ID)
    text = all_text(channel_post)
    assert f"<@{DSL}>" in text and f"<@{STAFF}>" in text and "15 minutes" in text
    assert Action.ALERT_ACK in [b["action_id"] for b in buttons(channel_post)]
    [dm] = reminders(slack.fake, f"D{DEPUTY}")
    assert f"<@{STAFF}>" in all_text(dm)
    # The preview on a phone says what it is, not who it is about.
    assert channel_post.args["text"] == "Urgent alert still not acknowledged"

    for _ in range(3):
        clock.advance(minutes=20)
        assert slack.front.scheduler.tick() == 0
    assert len(reminders(slack.fake)) == 2


def test_an_acknowledged_alert_does_not_escalate(slack: Harness, clock: Clock) -> None:
    _, alert = raise_alert(slack)
    clock.advance(minutes=3)
    Driver(slack, DSL).click(alert, action_id=Action.ALERT_ACK)

    [update] = [c for c in slack.fake.calls("chat.update")
                if c.args.get("ts") == alert.response["ts"]]
    assert f"Acknowledged by <@{DSL}>" in all_text(update)
    assert Action.ALERT_ACK not in [b["action_id"] for b in buttons(update)]
    assert slack.jigsaw.store.get_meta("access_log")[-1]["action"] == "acknowledge_alert"

    clock.advance(minutes=30)
    assert slack.front.scheduler.tick() == 0
    assert reminders(slack.fake) == []


def test_acknowledging_the_emergency_record_stops_the_escalation(
        slack: Harness, clock: Clock) -> None:
    record = decide(slack, sc.IMMEDIATE_DANGER)
    slack.jigsaw.reviews.review(record["id"], "acknowledge", by=DSL, allowed=True)

    clock.advance(minutes=16)
    slack.front.scheduler.tick()
    assert "escalate" not in kinds(reminders(slack.fake))


def test_only_the_dsl_team_can_acknowledge_an_alert(slack: Harness, clock: Clock) -> None:
    _, alert = raise_alert(slack)
    Driver(slack, OUTSIDER).click(alert, action_id=Action.ALERT_ACK)

    assert "Only the DSL team" in all_text(slack.fake.calls("chat.postMessage")[-1])
    [entry] = slack.jigsaw.store.get_meta("access_log")
    assert entry["by"] == OUTSIDER and entry["allowed"] is False

    clock.advance(minutes=15)
    assert slack.front.scheduler.tick() == 2  # still escalates


def test_the_escalation_survives_a_restart(jigsaw: DecisionService, fake: FakeSlack, clock: Clock,
                                           tmp_path: Path, settings: Settings) -> None:
    first = running(jigsaw, fake)
    raise_alert(next(first))
    first.close()
    jigsaw.store.close()

    clock.advance(minutes=16)
    store = TinyDBStore(tmp_path / "data")
    again = running(DecisionService(settings, store, clock=clock), fake)
    slack = next(again)
    try:
        assert slack.front.scheduler.tick() == 2
        assert slack.front.scheduler.tick() == 0
    finally:
        again.close()
        store.close()

    # A third start, after the sends: nothing again.
    store = TinyDBStore(tmp_path / "data")
    third = running(DecisionService(settings, store, clock=clock), fake)
    try:
        assert next(third).front.scheduler.tick() == 0
    finally:
        third.close()
        store.close()
    assert len(reminders(fake)) == 2


def test_a_send_that_slack_refused_is_tried_again_next_tick(
        slack: Harness, clock: Clock) -> None:
    raise_alert(slack)
    clock.advance(minutes=15)
    slack.fake.fail_next("chat.postMessage", error="ratelimited", status=429, retry_after=1,
                         times=1)
    assert slack.front.scheduler.tick() == 1  # the deputy's DM went; the channel post did not
    assert slack.front.scheduler.tick() == 1
    assert slack.front.scheduler.tick() == 0
    assert len(reminders(slack.fake, DSL_CHANNEL_ID)) == 1


def test_a_send_interrupted_by_a_crash_is_found_not_repeated(
        slack: Harness, clock: Clock) -> None:
    """Posted, then the app died before marking it sent: the next tick finds
    it in the channel by its metadata instead of posting again."""
    raise_alert(slack)
    clock.advance(minutes=15)
    slack.fake.fail_next("chat.postMessage", status=500, error="internal_error", effect=True,
                         times=1)
    slack.front.scheduler.tick()  # the post landed, but the app heard an error
    assert len([m for m in slack.fake.messages(DSL_CHANNEL_ID)
                if (m.get("metadata") or {}).get("event_type") == REMINDER_EVENT]) == 1
    slack.front.scheduler.tick()
    assert len([m for m in slack.fake.messages(DSL_CHANNEL_ID)
                if (m.get("metadata") or {}).get("event_type") == REMINDER_EVENT]) == 1
    assert slack.front.scheduler.tick() == 0


# -- the end-of-day reminder ----------------------------------------------------------

def test_records_unacknowledged_at_the_end_of_the_day_are_listed_once(
        slack: Harness, clock: Clock) -> None:
    record = decide(slack, sc.ALLEGATION)
    slack.front.scheduler.tick()

    clock.to(MONDAY_9AM.replace(hour=15, minute=29))
    slack.front.scheduler.tick()
    assert "unacked" not in kinds(reminders(slack.fake, DSL_CHANNEL_ID))

    clock.to(MONDAY_9AM.replace(hour=15, minute=30))
    slack.front.scheduler.tick()
    clock.advance(minutes=30)
    slack.front.scheduler.tick()
    [reminder] = [c for c in reminders(slack.fake, DSL_CHANNEL_ID)
                  if kinds([c]) == ["unacked"]]
    assert record["id"] in all_text(reminder)
    assert record["child_ref"] not in all_text(reminder)

    # Acknowledged overnight: Tuesday's reminder has nothing to say.
    slack.jigsaw.reviews.review(record["id"], "acknowledge", by=DSL, allowed=True)
    clock.to(MONDAY_9AM.replace(day=1, month=12, hour=15, minute=31))
    slack.front.scheduler.tick()
    assert kinds(reminders(slack.fake, DSL_CHANNEL_ID)).count("unacked") == 1


# -- follow-ups -------------------------------------------------------------------------

def dm_reminders(fake: FakeSlack, user: str) -> list[Call]:
    return reminders(fake, f"D{user}")


def test_the_owner_is_nudged_on_the_day_and_once_a_day_when_overdue(
        slack: Harness, clock: Clock) -> None:
    record = decide(slack, POLICE_WITH_FOLLOW_UP)
    [mine] = [f for f in record["follow_up"] if f["owner"] == DECIDER]
    assert mine["due"] == "2026-12-02"

    slack.front.scheduler.tick()  # Monday
    clock.to(datetime(2026, 12, 2, 8, 29, tzinfo=UTC))  # Wednesday, before school
    slack.front.scheduler.tick()
    assert dm_reminders(slack.fake, DECIDER) == []

    clock.to(datetime(2026, 12, 2, 8, 30, tzinfo=UTC))
    slack.front.scheduler.tick()
    clock.advance(hours=3)
    slack.front.scheduler.tick()
    [due] = dm_reminders(slack.fake, DECIDER)
    assert "due today" in all_text(due) and "Ring the officer back" in all_text(due)
    assert due.args["text"] == "A follow-up is due today"
    assert "Ring the officer" not in due.args["text"]

    for day in (3, 4):  # Thursday and Friday: overdue, once each
        for hour in (9, 12, 15):
            clock.to(datetime(2026, 12, day, hour, tzinfo=UTC))
            slack.front.scheduler.tick()
    for day in (5, 6):  # the weekend: no nudges
        clock.to(datetime(2026, 12, day, 10, tzinfo=UTC))
        slack.front.scheduler.tick()
    sent = dm_reminders(slack.fake, DECIDER)
    assert [c.args["text"] for c in sent] == ["A follow-up is due today",
                                              "A follow-up is overdue", "A follow-up is overdue"]
    assert "*Follow-up overdue* (due 2026-12-02)" in all_text(sent[-1].args["blocks"])


def test_done_is_audited_and_stops_the_nudges(slack: Harness, clock: Clock) -> None:
    record = decide(slack, POLICE_WITH_FOLLOW_UP)
    clock.to(datetime(2026, 12, 2, 9, tzinfo=UTC))
    slack.front.scheduler.tick()
    [nudge] = dm_reminders(slack.fake, DECIDER)

    Driver(slack, OUTSIDER).click(nudge, action_id=Action.FOLLOWUP_DONE)
    refused = slack.jigsaw.store.get_record(record["id"])
    assert refused is not None
    assert refused["audit"][-1]["action"] == "access_refused"
    assert refused["audit"][-1]["detail"] == {"attempted": "follow_up_done"}

    owner = Driver(slack, DECIDER)
    owner.click(nudge, action_id=Action.FOLLOWUP_DONE)
    owner.click(nudge, action_id=Action.FOLLOWUP_DONE)  # a double click changes nothing more
    done = slack.jigsaw.store.get_record(record["id"])
    assert done is not None and verify(done) == []
    [item] = [f for f in done["follow_up"] if f["owner"] == DECIDER]
    assert item["done"]["by"] == DECIDER
    assert [e["action"] for e in done["audit"]].count("follow_up_done") == 1
    [update] = [c for c in slack.fake.calls("chat.update")
                if c.args.get("ts") == nudge.response["ts"]]
    assert Action.FOLLOWUP_DONE not in [b["action_id"] for b in buttons(update)]

    clock.to(datetime(2026, 12, 3, 9, tzinfo=UTC))
    slack.front.scheduler.tick()
    assert len(dm_reminders(slack.fake, DECIDER)) == 1


def test_dsl_team_follow_ups_go_to_the_dsl(slack: Harness, clock: Clock) -> None:
    decide(slack, sc.IMMEDIATE_DANGER)  # the flow adds "follow up the emergency today"
    slack.front.scheduler.tick()
    [nudge] = dm_reminders(slack.fake, DSL)
    assert "emergency" in all_text(nudge) and "DSL team" in all_text(nudge)
    assert dm_reminders(slack.fake, STAFF) == []


def test_records_from_before_follow_up_ids_still_work(slack: Harness, clock: Clock) -> None:
    """Older records have follow-ups without id or done state."""
    record = decide(slack, sc.IMMEDIATE_DANGER)
    assert "id" not in record["follow_up"][0]
    assert slack.jigsaw.follow_ups.complete_follow_up(record["id"], "1", by=DSL, is_dsl=True)
    done = slack.jigsaw.store.get_record(record["id"])
    assert done is not None and done["follow_up"][0]["done"]["by"] == DSL
    assert verify(done) == []


# -- App Home -----------------------------------------------------------------------------

def home(slack: Harness, user: str) -> dict[str, Any]:
    slack.send(app_home_opened(user))
    view = slack.fake.home_view(user)
    assert view is not None
    return view


def test_home_lists_my_follow_ups_and_for_the_dsl_everyones_overdue(
        slack: Harness, clock: Clock) -> None:
    decide(slack, POLICE_WITH_FOLLOW_UP)

    mine = home(slack, DECIDER)
    assert "Ring the officer back" in all_text(mine["blocks"])

    clock.to(datetime(2026, 12, 3, 9, tzinfo=UTC))
    dsl_home = home(slack, DSL)
    text = all_text(dsl_home["blocks"])
    overdue_at = text.index("Overdue follow-ups")
    assert "Ring the officer back" in text[overdue_at:] and "*overdue*" in text[overdue_at:]
    # Someone outside the DSL team sees neither everyone's overdue nor the DSL's tools.
    staff_home = all_text(home(slack, STAFF)["blocks"])
    assert "Overdue follow-ups" not in staff_home and "Ring the officer back" not in staff_home
    assert Action.DSL_CHRONOLOGY not in [
        b["action_id"] for b in buttons(slack.fake.home_view(STAFF)["blocks"])]

    # Done from the App Home: the row goes.
    [done] = [b for b in buttons(mine["blocks"]) if b["action_id"] == Action.FOLLOWUP_DONE]
    slack.send(block_action(DECIDER, action_id=Action.FOLLOWUP_DONE, value=done["value"],
                            view=mine))
    assert "Ring the officer back" not in all_text(slack.fake.home_view(DECIDER)["blocks"])


def test_nothing_is_posted_to_a_dsl_channel_that_is_not_private(
        slack: Harness, clock: Clock) -> None:
    slack.fake.add_channel(DSL_CHANNEL_ID, name="safeguarding-dsl", is_private=False,
                           members=["UBOT", DSL])
    staff = Driver(slack, STAFF)
    staff.start()
    staff.answer("yes")  # the alert itself is held in the outbox
    clock.advance(minutes=15)
    assert slack.front.scheduler.tick() == 1  # only the deputy's DM
    assert slack.fake.messages(DSL_CHANNEL_ID) == []
    [dm] = reminders(slack.fake, f"D{DEPUTY}")
    assert "15 minutes" in all_text(dm)


def test_recent_records_from_before_the_schedule_get_their_follow_ups(
        slack: Harness, clock: Clock) -> None:
    """A data directory from an older version: records, no schedule."""
    recent = decide(slack, POLICE_WITH_FOLLOW_UP)
    old = decide_in_process_at(slack.jigsaw, clock, MONDAY_9AM - timedelta(days=60),
                               POLICE_WITH_FOLLOW_UP)
    slack.jigsaw.store.set_meta("schedule", None)
    assert slack.jigsaw.follow_ups.follow_ups_for(DECIDER, is_dsl=False) == []

    slack.front.scheduler.tick()
    assert [f.record_id for f in slack.jigsaw.follow_ups.follow_ups_for(DECIDER, is_dsl=False)] == [
        recent["id"]]
    assert old["id"] not in {f.record_id for f in slack.jigsaw.schedule.follow_ups()}
    slack.jigsaw.store.set_meta("schedule", None)
    slack.front.scheduler.tick()  # once only: what was done since is not undone
    assert slack.jigsaw.follow_ups.follow_ups_for(DECIDER, is_dsl=False) == []


def decide_in_process_at(jigsaw: DecisionService, clock: Clock, when: datetime, script: list[str]
                         ) -> dict[str, Any]:
    now = clock.now
    clock.to(when)
    try:
        return decide_in_process(jigsaw, script, user=DECIDER)
    finally:
        clock.to(now)


# -- DSL cover ------------------------------------------------------------------------
def test_the_dsl_marks_herself_away_and_staff_and_deputies_hear_at_once(
        slack: Harness, settings: Settings, clock: Clock) -> None:
    slack.send(app_home_opened(DSL))
    view = slack.fake.home_view(DSL)
    assert view is not None
    [away] = [b for b in buttons(view["blocks"]) if b["action_id"] == Action.HOME_COVER]
    slack.send(block_action(DSL, action_id=Action.HOME_COVER, value=away["value"], view=view))
    assert slack.jigsaw.cover().away
    # Staff are told who covers, by name, as they start and at the end.
    record = decide(slack, sc.STAFF_CONCERN)
    name = settings.deputy.name or "the deputy DSL"
    staff_dm = "\n".join(all_text(c) for c in Driver(slack, STAFF).dm_posts())
    assert staff_dm.count(f"is away: {name} is covering") >= 2
    # The concern reaches the deputy at once, by its id and nothing about the child.
    assert slack.front.scheduler.tick() >= 1
    [told] = [c for c in reminders(slack.fake) if c.args.get("channel") != DSL_CHANNEL_ID
              and kinds([c]) == ["cover"]]
    assert record["id"] in all_text(told) and record["facts"] not in all_text(told)
    # An urgent alert goes to the deputy at once too, not after 15 minutes.
    raise_alert(slack)
    slack.front.scheduler.tick()
    escalated = [c for c in reminders(slack.fake) if kinds([c]) == ["escalate"]]
    assert escalated and "you are covering" in all_text(escalated[-1])
    # Back: staff are no longer told so.
    view = slack.fake.home_view(DSL)
    assert view is not None
    [back] = [b for b in buttons(view["blocks"]) if b["action_id"] == Action.HOME_COVER]
    slack.send(block_action(DSL, action_id=Action.HOME_COVER, value=back["value"], view=view))
    assert not slack.jigsaw.cover().away


def test_only_the_dsl_team_can_mark_the_dsl_away(slack: Harness) -> None:
    slack.send(app_home_opened(OUTSIDER))
    view = slack.fake.home_view(OUTSIDER)
    assert view is not None
    assert Action.HOME_COVER not in [b["action_id"] for b in buttons(view["blocks"])]
    forged = ButtonValue(value="on").encode()
    slack.send(block_action(OUTSIDER, action_id=Action.HOME_COVER, value=forged, view=view))
    assert not slack.jigsaw.cover().away
    assert (slack.jigsaw.store.get_meta("access_log") or [])[-1]["allowed"] is False


def test_the_escalation_does_not_depend_on_the_store_taking_its_write(
        slack: Harness, clock: Clock, store: TinyDBStore) -> None:
    # The schedule's file refuses writes while the alert is raised (its write
    # lock cannot be taken; reads still work).
    lock = Path(f"{store.meta_path}.lock")
    lock.unlink(missing_ok=True)
    lock.mkdir()
    try:
        raise_alert(slack)
        assert "escalate:" not in repr(store.get_meta("schedule"))
    finally:
        lock.rmdir()
    clock.advance(minutes=5)
    assert slack.front.scheduler.tick() == 0
    assert "escalate:" in repr(store.get_meta("schedule"))  # taken by the store now
    clock.advance(minutes=10)
    assert slack.front.scheduler.tick() == 2
    assert kinds(reminders(slack.fake)) == ["escalate", "escalate"]
    clock.advance(minutes=20)
    assert slack.front.scheduler.tick() == 0


def test_two_instances_send_one_escalation_while_slack_answers_late(
        fake: FakeSlack, settings: Settings, clock: Clock) -> None:
    import threading
    from contextlib import ExitStack

    from storage.postgres import Database
    from tests.harness.pg import fresh_schema

    with fresh_schema() as url, ExitStack() as stack:
        dbs = [Database(url), Database(url)]
        for db in dbs:
            stack.callback(db.close)
        apps = [DecisionService(settings, db.store("default"), clock=clock) for db in dbs]
        first, second = (stack.enter_context(_harness(app, fake)) for app in apps)
        raise_alert(first)
        clock.advance(minutes=15)
        # The first instance's escalation post is answered late, and the
        # second cannot read the channel's history meanwhile.
        fake.fail_next("chat.postMessage", delay=4.0, times=1)
        ticking = threading.Thread(target=first.front.scheduler.tick)
        ticking.start()
        fake.wait_until(lambda f: any(c.fault for c in f.calls("chat.postMessage")))
        fake.fail_next("conversations.history", status=500, error="internal_error", times=5)
        second.front.scheduler.tick()
        fake.release_delayed()
        ticking.join(timeout=10)
        for _ in range(2):
            second.front.scheduler.tick()
            first.front.scheduler.tick()
        assert len(reminders(fake, DSL_CHANNEL_ID)) == 1
        assert len(reminders(fake, f"D{DEPUTY}")) == 1


def _harness(app: DecisionService, fake: FakeSlack):  # type: ignore[no-untyped-def]
    from contextlib import contextmanager

    return contextmanager(running)(app, fake)


def test_an_escalation_deleted_while_waiting_is_sent_after_a_restart(
        jigsaw: DecisionService, fake: FakeSlack, clock: Clock, tmp_path: Path,
        settings: Settings) -> None:
    first = running(jigsaw, fake)
    raise_alert(next(first))
    first.close()

    def delete(value: Any) -> Any:
        value["jobs"] = {k: v for k, v in value["jobs"].items() if not k.startswith("escalate:")}
        return value

    jigsaw.store.update_meta("schedule", delete)  # as someone editing meta.json would
    jigsaw.store.close()

    clock.advance(minutes=15)
    store = TinyDBStore(tmp_path / "data")
    again = running(DecisionService(settings, store, clock=clock), fake)
    slack = next(again)
    try:
        assert slack.front.scheduler.tick() == 2  # raised again, and due: sent
        assert slack.front.scheduler.tick() == 0
        assert store.pending_escalations() == set()  # finished with, in the ledger
    finally:
        again.close()
        store.close()
    assert kinds(reminders(fake)) == ["escalate", "escalate"]


# -- finished sessions in a long-running app ----------------------------------------

def test_cancelled_sessions_leave_the_hot_store_without_a_restart(
        slack: Harness, clock: Clock) -> None:
    staff = Driver(slack, STAFF)
    for _ in range(3):
        staff.start()
        staff.type("cancel")
        assert (staff.session() or {})["status"] == "cancelled"
    slack.front.scheduler.tick()
    cancelled = [d["id"] for d in slack.jigsaw.store.all_sessions()]
    assert len(cancelled) == 3

    clock.advance(days=6, hours=23)
    slack.front.scheduler.tick()
    assert [d["id"] for d in slack.jigsaw.store.all_sessions()] == cancelled  # within the week

    staff.start()  # one still in play, and one finished today
    staff.type("cancel")
    staff.start()
    clock.advance(hours=1, minutes=1)
    slack.front.scheduler.tick()
    kept = slack.jigsaw.store.all_sessions()
    assert len(kept) == 2 and not set(cancelled) & {d["id"] for d in kept}
    assert sorted(d["status"] for d in kept) == ["cancelled", "in_progress"]
    clock.advance(days=30)
    slack.front.scheduler.tick()
    assert [d["status"] for d in slack.jigsaw.store.all_sessions()] == ["in_progress"]
